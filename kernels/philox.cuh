/* philox.cuh — Philox4x32-10 for host and device, the same numbers as lib/rng.c's
 * philox4x32_10 / philox_word_at and rng_u32_to_unit_float (ops.h's dropout contract:
 * key = (seed lo, seed hi), counter = (block lo, block hi, sub, stream), word i % 4 of block
 * i / 4).  The 32x32 -> 64 products are plain uint64 multiplies (nvcc turns them into
 * mul.lo/mul.hi; the emulator needs nothing special). */
#ifndef SPARSETUNE_PHILOX_CUH
#define SPARSETUNE_PHILOX_CUH

#include <stdint.h>

#include "cuda_compat.h"

#define CU_PHILOX_M0 0xD2511F53u
#define CU_PHILOX_M1 0xCD9E8D57u
#define CU_PHILOX_W0 0x9E3779B9u
#define CU_PHILOX_W1 0xBB67AE85u

__host__ __device__ __forceinline__ void cu_philox_mulhilo(uint32_t a, uint32_t b, uint32_t *hi,
                                                           uint32_t *lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* One block: ctr c0..c3 in, the four words out in r[0..3]. */
__host__ __device__ __forceinline__ void cu_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2,
                                                          uint32_t c3, uint32_t k0, uint32_t k1,
                                                          uint32_t r[4]) {
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        cu_philox_mulhilo(CU_PHILOX_M0, c0, &hi0, &lo0);
        cu_philox_mulhilo(CU_PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += CU_PHILOX_W0;
        k1 += CU_PHILOX_W1;
    }
    r[0] = c0, r[1] = c1, r[2] = c2, r[3] = c3;
}

/* The four words of block `block` of stream (seed, stream, sub). */
__host__ __device__ __forceinline__ void cu_philox_block(uint64_t seed, uint32_t stream,
                                                         uint32_t sub, uint64_t block,
                                                         uint32_t r[4]) {
    cu_philox4x32_10((uint32_t)block, (uint32_t)(block >> 32), sub, stream, (uint32_t)seed,
                     (uint32_t)(seed >> 32), r);
}

/* lib/rng.c's philox_word_at: the i-th word of the stream. */
__host__ __device__ __forceinline__ uint32_t cu_philox_word_at(uint64_t seed, uint32_t stream,
                                                               uint32_t sub, uint64_t i) {
    uint32_t r[4];
    cu_philox_block(seed, stream, sub, i >> 2, r);
    return r[i & 3];
}

/* lib/rng.h's rng_u32_to_unit_float: 24 random bits, exact. */
__host__ __device__ __forceinline__ float cu_u32_to_unit_float(uint32_t x) {
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

#endif
