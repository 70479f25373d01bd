#include "split.h"

#include <math.h>
#include <string.h>

#include "rng.h"
#include "util.h"

static uint32_t *permutation(size_t n, uint64_t seed, uint32_t sub) {
    uint32_t *p = xmalloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (uint32_t)i;
    Rng r;
    rng_init(&r, seed, RNG_STREAM_SPLIT, sub);
    rng_shuffle_u32(&r, p, n);
    return p;
}

void split_select(size_t n, uint64_t seed, double holdout, SplitPart part, double drop,
                  uint8_t *keep) {
    memset(keep, 1, n);
    if (holdout > 0 && part != PART_ALL) {
        uint32_t *p = permutation(n, seed, 0);
        size_t n_dev = (size_t)floor(holdout * (double)n);
        for (size_t i = 0; i < n; i++) {
            int is_dev = i < n_dev;
            keep[p[i]] = (part == PART_DEV) ? is_dev : !is_dev;
        }
        free(p);
    }
    if (drop > 0) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += keep[i];
        uint32_t *kept = xmalloc((m ? m : 1) * sizeof *kept);
        for (size_t i = 0, j = 0; i < n; i++)
            if (keep[i]) kept[j++] = (uint32_t)i;
        Rng r;
        rng_init(&r, seed, RNG_STREAM_SPLIT, 1);
        rng_shuffle_u32(&r, kept, m);
        size_t n_drop = (size_t)floor(drop * (double)m);
        for (size_t i = 0; i < n_drop; i++) keep[kept[i]] = 0;
        free(kept);
    }
}
