#include "batching.h"

#include <string.h>

#include "rng.h"
#include "util.h"

static void shuffle_epoch(Sampler *s) {
    for (uint32_t i = 0; i < s->n; i++) s->perm[i] = i;
    Rng r;
    rng_init(&r, s->seed, RNG_STREAM_DATA_ORDER, s->epoch);
    rng_shuffle_u32(&r, s->perm, s->n);
    s->pos = 0;
}

void sampler_init(Sampler *s, uint32_t n, uint64_t seed) {
    if (n == 0) die(NULL, "no examples to sample from");
    s->seed = seed;
    s->n = n;
    s->perm = xmalloc(n * sizeof *s->perm);
    s->epoch = 0;
    shuffle_epoch(s);
}

uint32_t sampler_next(Sampler *s) {
    if (s->pos == s->n) {
        s->epoch++;
        shuffle_epoch(s);
    }
    return s->perm[s->pos++];
}

void sampler_free(Sampler *s) {
    free(s->perm);
    s->perm = NULL;
}

void batch_from_examples(Batch *b, const ExampleSet *set, const uint32_t *idx, int B) {
    int nc = set->type == TASK_MULTIPLE_CHOICE ? set->ex[idx[0]].n_seq : 1;
    int T = 1;
    for (int i = 0; i < B; i++) {
        const Example *e = &set->ex[idx[i]];
        if (e->n_seq != nc) die(NULL, "examples have different numbers of choices (%d and %d)", nc, e->n_seq);
        for (int c = 0; c < e->n_seq; c++)
            if (e->len[c] > T) T = e->len[c];
    }
    batch_alloc(b, B, nc, T, set->pad_id);
    for (int i = 0; i < B; i++) {
        const Example *e = &set->ex[idx[i]];
        for (int c = 0; c < nc; c++) batch_set_seq(b, i * nc + c, e->seq[c], e->len[c]);
        b->label[i] = e->label;
        b->target[i] = e->target;
        for (int k = 0; k < e->n_spans && set->type == TASK_SPAN_CLASSIFICATION; k++) {
            b->spans[(i * 2 + k) * 2] = e->spans[k][0];
            b->spans[(i * 2 + k) * 2 + 1] = e->spans[k][1];
        }
    }
}
