/* diffpruning.c — DiffPruning (Guo et al.; dguo98/DiffPruning), masktrain --method diffpruning.
 *
 * θ = θ0 + z⊙w for every encoder tensor, with a hard-concrete gate per entry
 *   u ~ U(0,1), s = sigmoid(log u − log(1 − u) + α), z = clamp(s (r − l) + l, 0, 1)
 * (l = −stretch, r = stretch; Guo: 1.5, the paper's code: 3), w = 0 and α = alpha_init at the
 * start (Guo: 5; the paper's code sigmoid(randn)), the L0 penalty λ Σ sigmoid(α − log(−l/r))
 * (Guo: λ = 1.25e-7; the paper's code λ = 1 on the mean gate, --l0-mean).  w and α have AdamW
 * of their own (w: --lr and the schedule, weight decay as the trainer's; α: --alpha-lr, no decay),
 * each clipped to --max-grad-norm separately; the head is the trainer's.  u of entry e at step t:
 * philox_word_at(seed, RNG_STREAM_DYNAMICS, t, offset + e) mapped to ((x >> 8) + 0.5) / 2^24.
 * Evaluation uses the deterministic gate s = sigmoid(α).
 *
 * Projection at --burnin N: the top floor(ratio · numel) per tensor (--scope global: over all)
 * of |z⊙w| (--project-by alpha: of |α|, the paper's code), w := z⊙w there and 0 elsewhere, and
 * from then on fixed-mask fine-tuning θ = θ0 + mask⊙w (w's gradient and Adam state 0 outside
 * the mask, so nothing outside it moves).  --reproject-every R instead keeps the gates training
 * and projects every R steps (w := mask⊙w, Figure 3's discontinuity); the evaluated model (and
 * the delta) is then θ0 + mask⊙z⊙w of the last mask.
 * State per encoder tensor (host): θ0, w, α, Adam's m and v of both, their gradients: nine
 * copies of the encoder beside the model's θ and gradient. */
#include <math.h>
#include <string.h>

#include "methods/dynamics.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

enum { TH0, W, A, MW, VW, MA, VA, GW, GA, NBUF };

typedef struct DpState {
    float *(*b)[NBUF]; /* per tensor */
    DynMasks x;
    float **score;
    float *tmp; /* x.tmp */
    int fixed;
    long adam_t;
    float l, r;
} DpState;

static float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
static double sigmoid_(double x) { return 1.0 / (1.0 + exp(-x)); }

/* In double inside: the stretch amplifies float rounding of s beyond 1e-6. */
float diffpruning_gate(float u, float alpha, float l, float r, float *dz_dalpha) {
    double s = u < 0 ? sigmoid_(alpha) : sigmoid_(log((double)u) - log1p(-(double)u) + alpha);
    double zt = s * ((double)r - l) + l;
    if (dz_dalpha) *dz_dalpha = zt > 0 && zt < 1 ? (float)(((double)r - l) * s * (1 - s)) : 0.0f;
    return zt < 0 ? 0.0f : zt > 1 ? 1.0f : (float)zt;
}

float diffpruning_l0(float alpha, float l, float r, float *dl0_dalpha) {
    double s = sigmoid_(alpha - log(-(double)l / r));
    if (dl0_dalpha) *dl0_dalpha = (float)(s * (1 - s));
    return (float)s;
}

static float u_at(const Dyn *d, long step, size_t pos) {
    uint32_t x = philox_word_at(d->cfg.seed, RNG_STREAM_DYNAMICS, (uint32_t)step, pos);
    return ((float)(x >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

/* θ of tensor t into the model: step >= 0 a training draw, -1 the evaluation gate. */
static void put_theta(Dyn *d, int t, long step) {
    DpState *s = d->state;
    const ParamInfo *p = &d->m->info[d->enc[t]];
    float **b = s->b[t];
    for (size_t e = 0; e < p->numel; e++) {
        float z = s->fixed ? 1.0f : diffpruning_gate(step < 0 ? -1.0f : u_at(d, step, p->offset + e), b[A][e], s->l, s->r, NULL);
        s->tmp[e] = b[TH0][e] + z * b[W][e];
    }
    if (step < 0 && s->x.have && !s->fixed) { /* the last mask's entries only */
        float *full = s->score[t];
        memcpy(full, s->tmp, p->numel * sizeof *full);
        memcpy(s->tmp, b[TH0], p->numel * sizeof *full);
        for (size_t j = 0; j < s->x.k[t]; j++) s->tmp[s->x.idx[t][j]] = full[s->x.idx[t][j]];
    }
    model_set_tensor(d->m, d->enc[t], s->tmp);
}

static void pre_forward(Dyn *d, long step) {
    for (int t = 0; t < d->n_enc; t++) put_theta(d, t, step);
}

static void post_backward(Dyn *d, long step) {
    DpState *s = d->state;
    size_t total = 0;
    for (int t = 0; t < d->n_enc; t++) total += d->m->info[d->enc[t]].numel;
    const float lam = (float)(d->cfg.l0_mean ? d->cfg.l0_weight / (double)total : d->cfg.l0_weight);
    for (int t = 0; t < d->n_enc; t++) {
        int i = d->enc[t];
        const ParamInfo *p = &d->m->info[i];
        float **b = s->b[t];
        dyn_grad_get(d->m, i, s->tmp);
        ops_zero(model_grad(d->m, i), p->numel);
        for (size_t e = 0; e < p->numel; e++) {
            float g = s->tmp[e];
            if (s->fixed) {
                b[GW][e] = g; /* masked below */
                continue;
            }
            float dz, dl0;
            float z = diffpruning_gate(u_at(d, step, p->offset + e), b[A][e], s->l, s->r, &dz);
            diffpruning_l0(b[A][e], s->l, s->r, &dl0);
            b[GW][e] = g * z;
            b[GA][e] = g * b[W][e] * dz + lam * dl0;
        }
        if (s->fixed) {
            memcpy(s->tmp, b[GW], p->numel * sizeof *s->tmp);
            memset(b[GW], 0, p->numel * sizeof *s->tmp);
            for (size_t j = 0; j < s->x.k[t]; j++) b[GW][s->x.idx[t][j]] = s->tmp[s->x.idx[t][j]];
        }
    }
}

static double clip_of(Dyn *d, int which) {
    DpState *s = d->state;
    double sq = 0;
    for (int t = 0; t < d->n_enc; t++)
        for (size_t e = 0; e < d->m->info[d->enc[t]].numel; e++) sq += (double)s->b[t][which][e] * s->b[t][which][e];
    double c = d->cfg.max_grad_norm > 0 ? d->cfg.max_grad_norm / (sqrt(sq) + 1e-6) : 1.0;
    return c > 1.0 ? 1.0 : c;
}

static void adamw(const DynConfig *c, float *th, const float *g, float *m, float *v, size_t n, double lr,
                  double wd, long t, double clip) {
    const float decay = (float)(1.0 - lr * wd), cl = (float)clip, b1 = (float)c->beta1, b2 = (float)c->beta2;
    const float step_size = (float)(lr / (1.0 - pow(c->beta1, (double)t)));
    const float bc2 = (float)sqrt(1.0 - pow(c->beta2, (double)t)), eps = (float)c->eps;
    for (size_t e = 0; e < n; e++) {
        float gj = g[e] * cl, x = th[e] * decay;
        m[e] = b1 * m[e] + (1 - b1) * gj;
        v[e] = b2 * v[e] + (1 - b2) * gj * gj;
        th[e] = x - step_size * (m[e] / (sqrtf(v[e]) / bc2 + eps));
    }
}

static void update(Dyn *d, long step, double lr, double lr_base, double clip) {
    (void)step, (void)clip;
    DpState *s = d->state;
    s->adam_t++;
    double cw = clip_of(d, GW), ca = s->fixed ? 1.0 : clip_of(d, GA);
    double factor = lr_base > 0 ? lr / lr_base : 1.0;
    for (int t = 0; t < d->n_enc; t++) {
        const ParamInfo *p = &d->m->info[d->enc[t]];
        float **b = s->b[t];
        adamw(&d->cfg, b[W], b[GW], b[MW], b[VW], p->numel, lr, optim_decays(p->name) ? d->cfg.weight_decay : 0,
              s->adam_t, cw);
        if (s->fixed) { /* decay of w outside the mask would be 0·(1 − lr wd) = 0 anyway */
            continue;
        }
        adamw(&d->cfg, b[A], b[GA], b[MA], b[VA], p->numel, d->cfg.alpha_lr * factor, 0, s->adam_t, ca);
    }
}

static void project(Dyn *d, long steps, Progress *prog) {
    DpState *s = d->state;
    for (int t = 0; t < d->n_enc; t++) {
        float **b = s->b[t];
        for (size_t e = 0; e < d->m->info[d->enc[t]].numel; e++)
            s->score[t][e] = d->cfg.project_alpha ? b[A][e] : diffpruning_gate(-1.0f, b[A][e], s->l, s->r, NULL) * b[W][e];
    }
    dyn_project(d, s->score, s->x.idx, s->x.k);
    int fold = d->cfg.reproject_every == 0; /* the fixed phase follows */
    for (int t = 0; t < d->n_enc; t++) {
        float **b = s->b[t];
        size_t n = d->m->info[d->enc[t]].numel;
        memcpy(s->tmp, b[W], n * sizeof *s->tmp);
        if (fold)
            for (size_t j = 0; j < s->x.k[t]; j++) {
                uint32_t e = s->x.idx[t][j];
                s->tmp[e] *= diffpruning_gate(-1.0f, b[A][e], s->l, s->r, NULL);
            }
        memset(b[W], 0, n * sizeof *s->tmp);
        for (size_t j = 0; j < s->x.k[t]; j++) b[W][s->x.idx[t][j]] = s->tmp[s->x.idx[t][j]];
        for (int q = MW; q <= VW; q++) {
            memcpy(s->tmp, b[q], n * sizeof *s->tmp);
            memset(b[q], 0, n * sizeof *s->tmp);
            for (size_t j = 0; j < s->x.k[t]; j++) b[q][s->x.idx[t][j]] = s->tmp[s->x.idx[t][j]];
        }
    }
    s->x.have = s->x.on = 1; /* evaluations use the mask from now on */
    if (fold) s->fixed = 1;
    dyn_log_masks(d, steps, s->x.idx, s->x.k);
    dyn_log_projection(prog, steps, s->x.k, d->n_enc);
}

static void post_step(Dyn *d, long steps, Progress *prog) {
    long R = d->cfg.reproject_every;
    if (R > 0 ? steps % R == 0 : steps == d->cfg.burnin) project(d, steps, prog);
}

static void eval_begin(Dyn *d) {
    for (int t = 0; t < d->n_enc; t++) put_theta(d, t, -1);
}

static int final_index(Dyn *d, int i, const uint32_t **index, size_t *k) {
    return dyn_masks_index(d, &((DpState *)d->state)->x, i, index, k);
}

static void snapshot(Dyn *d) { dyn_masks_snapshot(d, &((DpState *)d->state)->x); }

static const float *theta0_of(Dyn *d, int i) {
    DpState *s = d->state;
    for (int t = 0; t < d->n_enc; t++)
        if (d->enc[t] == i) return s->b[t][TH0];
    return NULL;
}

static void dp_free(Dyn *d) {
    DpState *s = d->state;
    for (int t = 0; t < d->n_enc; t++) {
        for (int q = 0; q < NBUF; q++) free(s->b[t][q]);
        free(s->score[t]);
    }
    free(s->b), free(s->score);
    dyn_masks_free(d, &s->x);
    free(s);
}

static const DynOps ops = {.pre_forward = pre_forward, .post_backward = post_backward, .update = update,
                           .post_step = post_step, .eval_begin = eval_begin, .snapshot = snapshot, .final_index = final_index,
                           .free = dp_free};

const float *diffpruning_theta0(Dyn *d, int i) { return theta0_of(d, i); }

void diffpruning_init(Dyn *d) {
    const DynConfig *c = &d->cfg;
    if (!(c->stretch > 1)) die_usage("--gate-stretch: expected a value > 1");
    DpState *s = xcalloc(1, sizeof *s);
    int n = d->n_enc ? d->n_enc : 1;
    s->b = xcalloc((size_t)n, sizeof *s->b);
    dyn_masks_init(d, &s->x);
    s->score = xcalloc((size_t)n, sizeof *s->score);
    s->l = (float)-c->stretch, s->r = (float)c->stretch;
    for (int t = 0; t < d->n_enc; t++) {
        int i = d->enc[t];
        size_t numel = d->m->info[i].numel;
        for (int q = 0; q < NBUF; q++) s->b[t][q] = xcalloc(numel, sizeof(float));
        s->score[t] = xmalloc(numel * sizeof(float));
        model_get_tensor(d->m, i, s->b[t][TH0]);
        Rng g;
        rng_init(&g, c->seed, RNG_STREAM_DYNAMICS, 0xFFFFFEu - (uint32_t)t);
        for (size_t e = 0; e < numel; e++)
            s->b[t][A][e] = isnan(c->alpha_init) ? sigmoidf_((float)rng_normal(&g)) : (float)c->alpha_init;
    }
    s->tmp = s->x.tmp;
    d->state = s;
    d->ops = &ops;
}
