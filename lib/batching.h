/* batching.h — batches of examples: the shuffled order of training (reshuffled every epoch
 * from the seed) and dynamic padding (each batch is padded to its longest sequence). */
#ifndef SPARSETUNE_BATCHING_H
#define SPARSETUNE_BATCHING_H

#include <stdint.h>

#include "examples.h"
#include "model.h"

/* Draws example indices from the concatenation of per-epoch permutations: epoch e is a
 * Fisher–Yates shuffle with Philox (seed, RNG_STREAM_DATA_ORDER, sub = e).  Batches are
 * consecutive runs of that sequence, so every batch is full and a batch may span two
 * epochs; with B = n the first batch is every example once. */
typedef struct Sampler {
    uint64_t seed;
    uint32_t n;
    uint32_t *perm;
    uint32_t epoch; /* epoch of perm */
    uint32_t pos;   /* next position in perm */
} Sampler;

void sampler_init(Sampler *s, uint32_t n, uint64_t seed);
uint32_t sampler_next(Sampler *s);
void sampler_free(Sampler *s);

/* Fill a batch with the examples idx[0..B) of set (allocates; free with batch_free). */
void batch_from_examples(Batch *b, const ExampleSet *set, const uint32_t *idx, int B);

#endif
