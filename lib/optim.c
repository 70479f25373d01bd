#include "optim.h"

#include <math.h>
#include <string.h>

#include "ops.h"
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
    t->m = ops_alloc(n);
    t->v = ops_alloc(n);
    ops_zero(t->m, n);
    ops_zero(t->v, n);
    t->theta0 = xmalloc(n * sizeof *t->theta0);
    if (index) {
        t->index = xmalloc(n * sizeof *t->index);
        memcpy(t->index, index, k * sizeof *index);
        if (o->dense_grads) { /* a dense gradient; the entries are read out in optim_step */
            model_set_grad_mode(m, idx, GRAD_DENSE, NULL, 0);
            t->dindex_own = (uint32_t *)ops_alloc_i32(n);
            ops_upload(t->dindex_own, t->index, k * sizeof *index);
            t->dindex = t->dindex_own;
            if (k > o->gsel_n) {
                ops_free(o->gsel);
                o->gsel = ops_alloc(o->gsel_n = k);
            }
        } else {
            model_set_grad_mode(m, idx, GRAD_SPARSE, t->index, k);
            t->dindex = m->gspec[idx].dindex;
        }
        float *tmp = ops_alloc(n);
        op_gather(tmp, model_param(m, idx), t->dindex, k);
        ops_download(t->theta0, tmp, k * sizeof *tmp);
        ops_free(tmp);
    } else {
        model_get_tensor(m, idx, t->theta0);
        model_set_grad_mode(m, idx, GRAD_DENSE, NULL, 0);
    }
}

void optim_freeze_rest(Optim *o, Model *m) {
    if (o->dense_grads) return; /* every tensor keeps its dense gradient for the norm */
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
    /* k floats per tensor: compact for sparse tensors; one round trip for all of them.  With
     * dense_grads: every tensor's whole gradient, as clip_grad_norm_(model.parameters()). */
    int count = o->dense_grads ? m->n_params : o->n;
    const float **g = xmalloc((size_t)(count ? count : 1) * sizeof *g);
    size_t *n = xmalloc((size_t)(count ? count : 1) * sizeof *n);
    for (int i = 0; i < count; i++) {
        if (o->dense_grads) g[i] = model_grad(m, i), n[i] = m->info[i].numel;
        else g[i] = model_grad(m, o->t[i].idx), n[i] = o->t[i].k;
    }
    double s = op_sumsq_many(g, n, count);
    free(g), free(n);
    return sqrt(s);
}

void optim_step(Optim *o, Model *m, double lr, double clip) {
    o->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)o->step);
    double bc2 = 1.0 - pow(o->beta2, (double)o->step);
    const float decayed = (float)(1.0 - lr * o->weight_decay);
    AdamwStep st = {1.0f, (float)clip, (float)o->beta1, (float)o->beta2, (float)(lr / bc1),
                    (float)sqrt(bc2), (float)o->eps};
    if (o->decay_frozen) {
        /* The reference's dense AdamW decays every decayed tensor at all entries (its masked
         * gradients are zero, so decay is the only change at frozen entries).  Trained entries
         * are decayed in the update below, so they are kept out of this scaling (saved and
         * put back). */
        TrainTensor **of = xcalloc((size_t)m->n_params, sizeof *of);
        for (int i = 0; i < o->n; i++) of[o->t[i].idx] = &o->t[i];
        for (int i = 0; i < m->n_params; i++) {
            const TrainTensor *t = of[i];
            if ((t && !t->sparse) || !optim_decays(m->info[i].name)) continue;
            float *theta = model_param(m, i);
            if (t && t->k) {
                if (t->k > o->keep_n) { /* once: a device allocation per step would sync */
                    ops_free(o->keep);
                    o->keep = ops_alloc(o->keep_n = t->k);
                }
                op_gather(o->keep, theta, t->dindex, t->k);
            }
            op_scale(theta, m->info[i].numel, decayed);
            if (t && t->k) op_scatter(theta, t->dindex, t->k, o->keep);
        }
        free(of);
    }
    for (int i = 0; i < o->n; i++) {
        TrainTensor *t = &o->t[i];
        st.decay = t->decay ? decayed : 1.0f;
        /* compact gradients: g[j] belongs to entry index[j] (dense_grads: gathered first) */
        float *g = model_grad(m, t->idx);
        if (t->sparse && o->dense_grads) {
            op_gather(o->gsel, g, t->dindex, t->k);
            g = o->gsel;
        }
        op_adamw(model_param(m, t->idx), g, t->m, t->v, t->sparse ? t->dindex : NULL, t->k, &st);
    }
    if (o->dense_grads) model_zero_grad(m); /* frozen tensors' and unselected entries' too */
}

void optim_free(Optim *o) {
    for (int i = 0; i < o->n; i++) {
        free(o->t[i].index);
        ops_free(o->t[i].m);
        ops_free(o->t[i].v);
        free(o->t[i].theta0);
        ops_free(o->t[i].dindex_own);
    }
    free(o->t);
    ops_free(o->keep);
    ops_free(o->gsel);
    memset(o, 0, sizeof *o);
}

double lr_at(double lr, long step, long warmup, long total, int constant) {
    if (step < warmup) return lr * (double)step / (double)(warmup > 1 ? warmup : 1);
    if (constant) return lr;
    long rest = total - warmup;
    double f = (double)(total - step) / (double)(rest > 1 ? rest : 1);
    return lr * (f > 0 ? f : 0);
}
