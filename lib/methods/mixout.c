/* mixout.c — MixOut (Lee et al.; bloodwass/mixout), masktrain --method mixout.
 *
 * variant train (the authors'): in every training forward each Linear weight W of the encoder
 * (the pooler's too) with its pre-trained value U becomes U + M⊙(W − U)/(1 − p), M one
 * Bernoulli(1 − p) draw per input column (dynamics.h: the dropout contract, call 128 + j),
 * fresh every step; the backward is the reference's g⊙M (no 1/(1 − p)); W itself is what
 * AdamW updates and what evaluation sees.  U is the optimiser's θ0 (one copy); W waits in
 * a stash while the mixed weights sit in the model (one more copy of the Linear weights).
 * With p = 0 nothing is mixed (bit-identical to full fine-tuning).
 * variant eval (the paper's code): plain full fine-tuning; at every evaluation (and in the
 * delta) each encoder entry is replaced by its pre-trained value with probability p, no
 * rescaling, the same draw every time (sub MIXOUT_EVAL_SUB) so early stopping sees one model. */
#include <string.h>

#include "methods/dynamics.h"
#include "methods/masklog.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

#define MIXOUT_EVAL_SUB 0xFFFFFFu

typedef struct Mixed {
    int idx;
    const float *U; /* the optimiser's θ0 */
    float *W;       /* stash: W while the mixed weights sit in the model */
    float *mask;    /* [in] 0/1 of the current step (train) */
} Mixed;

typedef struct MixoutState {
    Mixed *t;
    int n;
    float *buf; /* host scratch, the largest tensor */
    uint32_t *cols;
} MixoutState;

void mixout_columns(uint64_t seed, long step, int j, int in, float p, float *mask01) {
    float *ones = xmalloc((size_t)in * sizeof *ones);
    for (int i = 0; i < in; i++) ones[i] = 1.0f;
    float *dev = ops_alloc((size_t)in);
    ops_upload(dev, ones, (size_t)in * sizeof *ones);
    op_dropout_fwd(dev, dev, (size_t)in, p, seed, op_dropout_sub((uint32_t)step, MIXOUT_CALL0 + (uint32_t)j));
    ops_download(ones, dev, (size_t)in * sizeof *ones);
    for (int i = 0; i < in; i++) mask01[i] = ones[i] != 0.0f ? 1.0f : 0.0f;
    ops_free(dev);
    free(ones);
}

static int is_linear_weight(const ParamInfo *p) {
    size_t n = strlen(p->name);
    return p->ndim == 2 && !strstr(p->name, "embeddings") && n > 7 && strcmp(p->name + n - 7, ".weight") == 0;
}

/* The mixed weights of step into the model, W into the stash. */
static void pre_forward(Dyn *d, long step) {
    MixoutState *s = d->state;
    float p = (float)d->cfg.mixout_p;
    if (p == 0.0f) return;
    const float scale = (float)(1.0 / (1.0 - (double)p)); /* the dropout contract's */
    for (int j = 0; j < s->n; j++) {
        Mixed *x = &s->t[j];
        const ParamInfo *pi = &d->m->info[x->idx];
        size_t out = (size_t)pi->shape[0], in = (size_t)pi->shape[1];
        mixout_columns(d->cfg.seed, step, j, (int)in, p, x->mask);
        model_get_tensor(d->m, x->idx, x->W);
        for (size_t o = 0; o < out; o++)
            for (size_t i = 0; i < in; i++) {
                size_t e = o * in + i;
                s->buf[e] = x->mask[i] != 0.0f ? x->U[e] + (x->W[e] - x->U[e]) * scale : x->U[e];
            }
        model_set_tensor(d->m, x->idx, s->buf);
        if (d->log) {
            size_t k = 0;
            for (size_t i = 0; i < in; i++)
                if (x->mask[i] != 0.0f) s->cols[k++] = (uint32_t)i;
            char name[MODEL_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s:columns", pi->name);
            int64_t shape[1] = {(int64_t)in};
            masklog_put((MaskLog *)d->log, step, name, shape, 1, s->cols, k);
        }
    }
}

/* W back into the model; the gradient of W is g⊙M. */
static void post_backward(Dyn *d, long step) {
    (void)step;
    MixoutState *s = d->state;
    if (d->cfg.mixout_p == 0) return;
    for (int j = 0; j < s->n; j++) {
        Mixed *x = &s->t[j];
        const ParamInfo *pi = &d->m->info[x->idx];
        size_t out = (size_t)pi->shape[0], in = (size_t)pi->shape[1];
        model_set_tensor(d->m, x->idx, x->W);
        dyn_grad_get(d->m, x->idx, s->buf);
        for (size_t o = 0; o < out; o++)
            for (size_t i = 0; i < in; i++) s->buf[o * in + i] *= x->mask[i];
        dyn_grad_set(d->m, x->idx, s->buf);
    }
}

/* eval: entries back to U with probability p (the same draw every evaluation). */
static void eval_begin(Dyn *d) {
    MixoutState *s = d->state;
    for (int j = 0; j < s->n; j++) {
        Mixed *x = &s->t[j];
        const ParamInfo *pi = &d->m->info[x->idx];
        model_get_tensor(d->m, x->idx, x->W);
        for (size_t e = 0; e < pi->numel; e++) {
            uint32_t w = philox_word_at(d->cfg.seed, RNG_STREAM_DYNAMICS, MIXOUT_EVAL_SUB, pi->offset + e);
            s->buf[e] = rng_u32_to_unit_float(w) < (float)d->cfg.mixout_p ? x->U[e] : x->W[e];
        }
        model_set_tensor(d->m, x->idx, s->buf);
    }
}

static void eval_end(Dyn *d) {
    MixoutState *s = d->state;
    for (int j = 0; j < s->n; j++) model_set_tensor(d->m, s->t[j].idx, s->t[j].W);
}

static void mixout_free(Dyn *d) {
    MixoutState *s = d->state;
    for (int j = 0; j < s->n; j++) free(s->t[j].W), free(s->t[j].mask);
    free(s->t);
    free(s->buf);
    free(s->cols);
    free(s);
}

static const DynOps train_ops = {.pre_forward = pre_forward, .post_backward = post_backward, .free = mixout_free};
static const DynOps eval_ops = {.eval_begin = eval_begin, .eval_end = eval_end, .free = mixout_free};

void mixout_init(Dyn *d) {
    DynConfig *c = &d->cfg;
    if (c->mixout_p < 0) c->mixout_p = c->mixout_eval ? 1.0 - c->ratio : 0.9;
    MixoutState *s = xcalloc(1, sizeof *s);
    s->t = xcalloc((size_t)(d->n_enc ? d->n_enc : 1), sizeof *s->t);
    size_t big = 1, widest = 1;
    for (int t = 0; t < d->n_enc; t++) {
        const ParamInfo *pi = &d->m->info[d->enc[t]];
        if (!c->mixout_eval && !is_linear_weight(pi)) continue; /* trained as in full fine-tuning */
        if (!c->mixout_eval && s->n >= 256 - (int)MIXOUT_CALL0)
            die(NULL, "--method mixout: more than %u Linear weights", 256 - MIXOUT_CALL0);
        Mixed *x = &s->t[s->n++];
        x->idx = d->enc[t];
        x->U = dyn_tt(d, x->idx)->theta0;
        x->W = xmalloc(pi->numel * sizeof *x->W);
        if (!c->mixout_eval) x->mask = xmalloc((size_t)pi->shape[1] * sizeof *x->mask);
        if (pi->numel > big) big = pi->numel;
        if (pi->ndim == 2 && (size_t)pi->shape[1] > widest) widest = (size_t)pi->shape[1];
    }
    s->buf = xmalloc(big * sizeof *s->buf);
    s->cols = xmalloc(widest * sizeof *s->cols);
    d->state = s;
    d->ops = c->mixout_eval ? &eval_ops : &train_ops;
}
