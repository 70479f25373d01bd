#include "optim.h"

#include <math.h>
#include <string.h>

#include "util.h"

int optim_decays(const char *name) {
    return !strstr(name, "bias") && !strstr(name, "LayerNorm.weight");
}

void optim_init(Optim *o, double beta1, double beta2, double eps, double weight_decay,
                int decay_frozen) {
    memset(o, 0, sizeof *o);
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    o->decay_frozen = decay_frozen;
}

void optim_add(Optim *o, Model *m, int idx, const uint32_t *index, size_t k) {
    o->t = xrealloc(o->t, (size_t)(o->n + 1) * sizeof *o->t);
    TrainTensor *t = &o->t[o->n++];
    memset(t, 0, sizeof *t);
    const ParamInfo *p = &m->info[idx];
    t->idx = idx;
    t->sparse = index != NULL;
    t->k = index ? k : p->numel;
    t->decay = optim_decays(p->name);
    size_t n = t->k ? t->k : 1;
    t->m = xcalloc(n, sizeof *t->m);
    t->v = xcalloc(n, sizeof *t->v);
    t->theta0 = xmalloc(n * sizeof *t->theta0);
    const float *theta = model_param(m, idx);
    if (index) {
        t->index = xmalloc(n * sizeof *t->index);
        memcpy(t->index, index, k * sizeof *index);
        for (size_t j = 0; j < k; j++) t->theta0[j] = theta[index[j]];
        model_set_grad_mode(m, idx, GRAD_SPARSE, t->index, k);
    } else {
        memcpy(t->theta0, theta, p->numel * sizeof *theta);
        model_set_grad_mode(m, idx, GRAD_DENSE, NULL, 0);
    }
}

void optim_freeze_rest(Optim *o, Model *m) {
    char *trained = xcalloc((size_t)m->n_params, 1);
    for (int i = 0; i < o->n; i++) trained[o->t[i].idx] = 1;
    for (int i = 0; i < m->n_params; i++)
        if (!trained[i]) model_set_grad_mode(m, i, GRAD_NONE, NULL, 0);
    free(trained);
}

size_t optim_trainable(const Optim *o) {
    size_t n = 0;
    for (int i = 0; i < o->n; i++) n += o->t[i].k;
    return n;
}

double optim_grad_norm(const Optim *o, Model *m) {
    double s = 0;
    for (int i = 0; i < o->n; i++) {
        const TrainTensor *t = &o->t[i];
        const float *g = model_grad(m, t->idx); /* k floats: compact for sparse tensors */
        double ts = 0;
#pragma omp parallel for reduction(+ : ts) if (t->k > 65536)
        for (size_t j = 0; j < t->k; j++) ts += (double)g[j] * g[j];
        s += ts;
    }
    return sqrt(s);
}

/* The AdamW update of one entry (PyTorch's operation order, in float as PyTorch does). */
static inline float adamw_entry(float theta, float g, float *m, float *v, float decay_factor,
                                float b1, float b2, float step_size, float bc2_sqrt, float eps) {
    theta *= decay_factor;
    *m = b1 * *m + (1.0f - b1) * g;
    *v = b2 * *v + (1.0f - b2) * g * g;
    float denom = sqrtf(*v) / bc2_sqrt + eps;
    return theta - step_size * (*m / denom);
}

void optim_step(Optim *o, Model *m, double lr, double clip) {
    o->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)o->step);
    double bc2 = 1.0 - pow(o->beta2, (double)o->step);
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float cf = (float)clip;
    const float decayed = (float)(1.0 - lr * o->weight_decay);
    if (o->decay_frozen) {
        /* The reference's dense AdamW decays every decayed tensor at all entries (its masked
         * gradients are zero, so decay is the only change at frozen entries).  Trained entries
         * are decayed in the update below, so they are skipped here. */
        TrainTensor **of = xcalloc((size_t)m->n_params, sizeof *of);
        for (int i = 0; i < o->n; i++) of[o->t[i].idx] = &o->t[i];
        for (int i = 0; i < m->n_params; i++) {
            const TrainTensor *t = of[i];
            if ((t && !t->sparse) || !optim_decays(m->info[i].name)) continue;
            float *theta = model_param(m, i);
            size_t n = m->info[i].numel;
            if (!t) {
#pragma omp parallel for if (n > 65536)
                for (size_t j = 0; j < n; j++) theta[j] *= decayed;
            } else {
                size_t p = 0;
                for (size_t j = 0; j < n; j++) {
                    if (p < t->k && t->index[p] == j) { p++; continue; }
                    theta[j] *= decayed;
                }
            }
        }
        free(of);
    }
    for (int i = 0; i < o->n; i++) {
        TrainTensor *t = &o->t[i];
        float *theta = model_param(m, t->idx);
        float *g = model_grad(m, t->idx); /* compact: g[j] belongs to entry index[j] */
        const float df = t->decay ? decayed : 1.0f;
        if (t->sparse) {
#pragma omp parallel for if (t->k > 65536)
            for (size_t j = 0; j < t->k; j++) {
                uint32_t e = t->index[j];
                theta[e] = adamw_entry(theta[e], g[j] * cf, &t->m[j], &t->v[j], df, b1, b2,
                                       step_size, bc2_sqrt, eps);
                g[j] = 0;
            }
        } else {
#pragma omp parallel for if (t->k > 65536)
            for (size_t j = 0; j < t->k; j++) {
                theta[j] = adamw_entry(theta[j], g[j] * cf, &t->m[j], &t->v[j], df, b1, b2,
                                       step_size, bc2_sqrt, eps);
                g[j] = 0;
            }
        }
    }
}

void optim_free(Optim *o) {
    for (int i = 0; i < o->n; i++) {
        free(o->t[i].index);
        free(o->t[i].m);
        free(o->t[i].v);
        free(o->t[i].theta0);
    }
    free(o->t);
    memset(o, 0, sizeof *o);
}

double lr_at(double lr, long step, long warmup, long total, int constant) {
    if (step < warmup) return lr * (double)step / (double)(warmup > 1 ? warmup : 1);
    if (constant) return lr;
    long rest = total - warmup;
    double f = (double)(total - step) / (double)(rest > 1 ? rest : 1);
    return lr * (f > 0 ? f : 0);
}
