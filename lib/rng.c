#include "rng.h"

#include <math.h>

/* Constants of Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void rng_init(Rng *r, uint64_t seed, uint32_t stream, uint32_t sub) {
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->stream = stream;
    r->sub = sub;
    r->block = 0;
    r->pos = 4;
}

uint32_t rng_u32(Rng *r) {
    if (r->pos == 4) {
        uint32_t ctr[4] = {(uint32_t)r->block, (uint32_t)(r->block >> 32), r->sub, r->stream};
        philox4x32_10(ctr, r->key, r->buf);
        r->block++;
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

double rng_uniform(Rng *r) {
    uint64_t a = rng_u32(r) >> 5, b = rng_u32(r) >> 6; /* 27 + 26 = 53 bits */
    return (double)(a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

uint64_t rng_below(Rng *r, uint64_t n) {
    if (n <= 1) return 0;
    /* Rejection sampling on 64-bit words: no modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x = ((uint64_t)rng_u32(r) << 32) | rng_u32(r);
        if (x < limit) return x % n;
    }
}

double rng_normal(Rng *r) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void rng_shuffle_u32(Rng *r, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

uint32_t philox_word_at(uint64_t seed, uint32_t stream, uint32_t sub, uint64_t i) {
    uint64_t block = i >> 2;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), sub, stream};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    philox4x32_10(ctr, key, out);
    return out[i & 3];
}
