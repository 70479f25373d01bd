/* childtuning_f.c — ChildTuning-F (Xu et al.; alibaba/AliceMind), masktrain --method
 * childtuning-f: every step a fresh Bernoulli(reserve_p) mask on the gradient of every encoder
 * entry, the kept gradients scaled by 1/reserve_p; AdamW as in full fine-tuning (the head
 * unmasked).  Entry e of tensor i at step t is kept iff
 *   rng_u32_to_unit_float(philox_word_at(seed, RNG_STREAM_DYNAMICS, t, offset_i + e)) < reserve_p.
 * Nothing is projected: the delta is dense. */
#include "methods/dynamics.h"
#include "rng.h"
#include "util.h"

typedef struct { float *buf; } CtfState;

static void post_backward(Dyn *d, long step) {
    CtfState *s = d->state;
    const float keep = (float)d->cfg.reserve_p, scale = (float)(1.0 / d->cfg.reserve_p);
    for (int t = 0; t < d->n_enc; t++) {
        const ParamInfo *p = &d->m->info[d->enc[t]];
        dyn_grad_get(d->m, d->enc[t], s->buf);
        for (size_t e = 0; e < p->numel; e++) {
            uint32_t w = philox_word_at(d->cfg.seed, RNG_STREAM_DYNAMICS, (uint32_t)step, p->offset + e);
            s->buf[e] = rng_u32_to_unit_float(w) < keep ? s->buf[e] * scale : 0.0f;
        }
        dyn_grad_set(d->m, d->enc[t], s->buf);
    }
}

static void ctf_free(Dyn *d) {
    CtfState *s = d->state;
    free(s->buf);
    free(s);
}

static const DynOps ops = {.post_backward = post_backward, .free = ctf_free};

void childtuning_f_init(Dyn *d) {
    if (!(d->cfg.reserve_p > 0 && d->cfg.reserve_p <= 1)) die_usage("--reserve-p: expected a value in (0, 1]");
    CtfState *s = xcalloc(1, sizeof *s);
    size_t big = 1;
    for (int t = 0; t < d->n_enc; t++)
        if (d->m->info[d->enc[t]].numel > big) big = d->m->info[d->enc[t]].numel;
    s->buf = xmalloc(big * sizeof *s->buf);
    d->state = s;
    d->ops = &ops;
}
