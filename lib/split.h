/* split.h — deterministic data splits (the paper's 90/10 hold-out and the data-perturbation
 * experiment), keyed by --seed through Philox (RNG_STREAM_SPLIT).
 *
 *   hold-out: a random permutation of the n rows (sub-stream 0); its first ⌊frac·n⌋ rows are
 *             the dev part, the others the train part;
 *   drop:     of the rows kept so far, a random ⌊frac·m⌋ are removed (sub-stream 1).
 * Selected rows keep their original order, so the output is a subsequence of the input. */
#ifndef SPARSETUNE_SPLIT_H
#define SPARSETUNE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PART_ALL, PART_TRAIN, PART_DEV } SplitPart;

/* keep[i] = 1 for the rows to output. holdout in [0, 1) (0 = none), drop in [0, 1). */
void split_select(size_t n, uint64_t seed, double holdout, SplitPart part, double drop,
                  uint8_t *keep);

#endif
