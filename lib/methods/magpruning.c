/* magpruning.c — MagPruning the paper's way, masktrain --method magpruning: full fine-tuning
 * for --burnin N steps, then per encoder tensor (--scope global: over all) the largest |θ|
 * of the fine-tuned weights, then training of that mask only; the entries outside it keep
 * the values they reached in the burn-in (so the delta is dense: the paper's code).  The
 * authors' MagPruning of the pre-trained weights is sam-select --method magnitude.
 * State: the masks and the burn-in values of every encoder tensor (one model-sized copy). */
#include <string.h>

#include "methods/dynamics.h"
#include "util.h"

typedef struct MpState {
    DynMasks x;
    float **ref; /* θ at the burn-in */
} MpState;

static void post_backward(Dyn *d, long step) {
    MpState *s = d->state;
    if (!s->x.have) return;
    (void)step;
    for (int t = 0; t < d->n_enc; t++) dyn_mask_grad(d, d->enc[t], s->x.idx[t], s->x.k[t], s->x.buf, s->x.tmp);
}

static void post_step(Dyn *d, long steps, Progress *prog) {
    MpState *s = d->state;
    if (steps == d->cfg.burnin) {
        for (int t = 0; t < d->n_enc; t++) {
            s->ref[t] = xmalloc(d->m->info[d->enc[t]].numel * sizeof(float));
            model_get_tensor(d->m, d->enc[t], s->ref[t]);
        }
        dyn_project(d, s->ref, s->x.idx, s->x.k);
        s->x.have = 1;
        dyn_log_masks(d, steps, s->x.idx, s->x.k);
        dyn_log_projection(prog, steps, s->x.k, d->n_enc);
    } else if (s->x.have) {
        for (int t = 0; t < d->n_enc; t++)
            dyn_reset_outside(d, d->enc[t], s->x.idx[t], s->x.k[t], s->ref[t], s->x.buf, s->x.tmp);
    }
}

static void mp_free(Dyn *d) {
    MpState *s = d->state;
    for (int t = 0; t < d->n_enc; t++) free(s->ref[t]);
    free(s->ref);
    dyn_masks_free(d, &s->x);
    free(s);
}

static const DynOps ops = {.post_backward = post_backward, .post_step = post_step, .free = mp_free};

void magpruning_init(Dyn *d) {
    MpState *s = xcalloc(1, sizeof *s);
    dyn_masks_init(d, &s->x);
    s->ref = xcalloc((size_t)(d->n_enc ? d->n_enc : 1), sizeof *s->ref);
    d->state = s;
    d->ops = &ops;
}
