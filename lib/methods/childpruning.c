/* childpruning.c — ChildPruning as the paper describes it ("iteratively train the full model,
 * then project"; the code's `sgpa`), masktrain --method childpruning: full fine-tuning; every
 * --project-every G steps up to --burnin N (and at N) keep the top floor(ratio · numel) of
 * |θ − θ0| per encoder tensor (--scope global: over all of them) and reset the rest to θ0;
 * after the burn-in train the last mask only (gradients masked, the entries outside it held
 * at θ0, so the delta is exactly that mask).  Each projection goes to --mask-log and a
 * {"projection": true} line to --log.  State: the masks, host scratch; θ0 is the optimiser's. */
#include <string.h>

#include "methods/dynamics.h"
#include "util.h"

typedef struct CpState {
    DynMasks x;
    float **score; /* |θ − θ0| per tensor, host */
} CpState;

static void project(Dyn *d, long steps, Progress *prog) {
    CpState *s = d->state;
    for (int t = 0; t < d->n_enc; t++) {
        int i = d->enc[t];
        const float *th0 = dyn_theta0(d, i);
        model_get_tensor(d->m, i, s->score[t]);
        for (size_t e = 0; e < d->m->info[i].numel; e++) s->score[t][e] -= th0[e];
    }
    dyn_project(d, s->score, s->x.idx, s->x.k);
    for (int t = 0; t < d->n_enc; t++)
        dyn_reset_outside(d, d->enc[t], s->x.idx[t], s->x.k[t], dyn_theta0(d, d->enc[t]), s->x.buf, s->x.tmp);
    s->x.have = s->x.on = 1;
    dyn_log_masks(d, steps, s->x.idx, s->x.k);
    dyn_log_projection(prog, steps, s->x.k, d->n_enc);
}

static void post_backward(Dyn *d, long step) {
    CpState *s = d->state;
    if (step < d->cfg.burnin || !s->x.have) return;
    for (int t = 0; t < d->n_enc; t++) dyn_mask_grad(d, d->enc[t], s->x.idx[t], s->x.k[t], s->x.buf, s->x.tmp);
}

static void post_step(Dyn *d, long steps, Progress *prog) {
    CpState *s = d->state;
    long g = d->cfg.project_every;
    if (steps < d->cfg.burnin) {
        s->x.on = 0; /* trained fully since the last projection */
        if (g > 0 && steps % g == 0) project(d, steps, prog);
    } else if (steps == d->cfg.burnin) {
        project(d, steps, prog);
    } else { /* AdamW's momentum and decay would move the entries outside the mask */
        for (int t = 0; t < d->n_enc; t++)
            dyn_reset_outside(d, d->enc[t], s->x.idx[t], s->x.k[t], dyn_theta0(d, d->enc[t]), s->x.buf, s->x.tmp);
    }
}

static int final_index(Dyn *d, int i, const uint32_t **index, size_t *k) {
    return dyn_masks_index(d, &((CpState *)d->state)->x, i, index, k);
}

static void snapshot(Dyn *d) { dyn_masks_snapshot(d, &((CpState *)d->state)->x); }

static void cp_free(Dyn *d) {
    CpState *s = d->state;
    for (int t = 0; t < d->n_enc; t++) free(s->score[t]);
    free(s->score);
    dyn_masks_free(d, &s->x);
    free(s);
}

static const DynOps ops = {.post_backward = post_backward, .post_step = post_step,
                           .snapshot = snapshot, .final_index = final_index, .free = cp_free};

void childpruning_init(Dyn *d) {
    CpState *s = xcalloc(1, sizeof *s);
    dyn_masks_init(d, &s->x);
    s->score = xcalloc((size_t)(d->n_enc ? d->n_enc : 1), sizeof *s->score);
    for (int t = 0; t < d->n_enc; t++) s->score[t] = xmalloc(d->m->info[d->enc[t]].numel * sizeof(float));
    d->state = s;
    d->ops = &ops;
}
