/* rng.h — Philox4x32-10, the one counter-based RNG of sparsetune.
 *
 * Key = the user's --seed (64 bits).  Counter = {block lo, block hi, sub-stream, stream}, so
 * every purpose (data order, dropout, head initialisation, random masks, splits) has its own
 * stream and any value can be computed directly from its position: the same seed gives the
 * same numbers on CPU and GPU, whatever the thread count. */
#ifndef SPARSETUNE_RNG_H
#define SPARSETUNE_RNG_H

#include <stddef.h>
#include <stdint.h>

enum {
    RNG_STREAM_DATA_ORDER = 1,
    RNG_STREAM_DROPOUT = 2,
    RNG_STREAM_HEAD_INIT = 3,
    RNG_STREAM_RANDOM_MASK = 4,
    RNG_STREAM_SPLIT = 5,
    RNG_STREAM_MODEL_INIT = 6,
    RNG_STREAM_METHOD_INIT = 7, /* extra tensors of LoRA and adapters (lib/methods/), sub = tensor */
};

/* One Philox4x32-10 block. */
void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Sequential generator over one (seed, stream, sub) stream. */
typedef struct Rng {
    uint32_t key[2];
    uint32_t stream, sub;
    uint64_t block;
    uint32_t buf[4];
    int pos; /* next unused word in buf; 4 = empty */
} Rng;

void rng_init(Rng *r, uint64_t seed, uint32_t stream, uint32_t sub);
uint32_t rng_u32(Rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(Rng *r);
/* Uniform float in [0, 1) with 24 random bits from one 32-bit word (as used for dropout). */
static inline float rng_u32_to_unit_float(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
/* Unbiased integer in [0, n). */
uint64_t rng_below(Rng *r, uint64_t n);
/* Standard normal (Box–Muller on two fresh uniforms; the sine value is not kept, so the
 * n-th normal depends only on its position). */
double rng_normal(Rng *r);
/* Fisher–Yates shuffle of a[0..n). */
void rng_shuffle_u32(Rng *r, uint32_t *a, size_t n);

/* The i-th 32-bit word of stream (seed, stream, sub) without state: block i/4, word i%4. */
uint32_t philox_word_at(uint64_t seed, uint32_t stream, uint32_t sub, uint64_t i);

#endif
