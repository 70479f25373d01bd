/* dynamics.c — masktrain --method: configuration, dispatch and the helpers the moving-mask
 * methods share (dynamics.h). */
#include "methods/dynamics.h"

#include <math.h>
#include <string.h>

#include "methods/masklog.h"
#include "ops.h"
#include "select.h"
#include "util.h"

void dyn_config_defaults(DynConfig *c) {
    memset(c, 0, sizeof *c);
    c->ratio = 0.005;
    c->burnin = -1; /* per method (dyn_create) */
    c->mixout_p = -1;
    c->reserve_p = 0.3; /* ChildTuning's default reserve_p */
    c->project_every = 100;
    c->stretch = 1.5;
    c->alpha_init = 5;
    c->l0_weight = 1.25e-7;
    c->alpha_lr = 0.1;
    c->max_grad_norm = 1.0;
    c->beta1 = 0.9, c->beta2 = 0.999, c->eps = 1e-8, c->weight_decay = 0.01;
}

static const char *const names[] = {"none", "mixout", "diffpruning", "childpruning", "childtuning-f",
                                    "magpruning"};

int dyn_method_parse(const char *s, DynMethod *out) {
    for (int i = 1; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0) return *out = (DynMethod)i, 0;
    return -1;
}

const char *dyn_method_name(const DynConfig *c) { return names[c->method]; }

int dyn_claims(const DynConfig *c) { return c->method == DYN_DIFFPRUNING; }

Dyn *dyn_create(const DynConfig *c, Model *m, Optim *o, const int *enc, int n_enc) {
    Dyn *d = xcalloc(1, sizeof *d);
    d->cfg = *c;
    if (d->cfg.burnin < 0) d->cfg.burnin = 500; /* the paper code's default burn-in */
    d->m = m;
    d->o = o;
    d->n_enc = n_enc;
    d->enc = xmalloc((size_t)(n_enc ? n_enc : 1) * sizeof *d->enc);
    memcpy(d->enc, enc, (size_t)n_enc * sizeof *enc);
    if (c->mask_log) {
        json_t *meta = json_object();
        json_object_set_new(meta, "method", json_string(dyn_method_name(c)));
        json_object_set_new(meta, "ratio", json_real(c->ratio));
        json_object_set_new(meta, "scope", json_string(c->scope_global ? "global" : "tensor"));
        json_object_set_new(meta, "head", json_string(head_arch_name(m->arch)));
        d->log = masklog_open(c->mask_log, meta);
    }
    switch (c->method) {
    case DYN_MIXOUT: mixout_init(d); break;
    case DYN_DIFFPRUNING: diffpruning_init(d); break;
    case DYN_CHILDPRUNING: childpruning_init(d); break;
    case DYN_CHILDTUNING_F: childtuning_f_init(d); break;
    case DYN_MAGPRUNING: magpruning_init(d); break;
    default: die(NULL, "internal error: no dynamics %d", (int)c->method);
    }
    return d;
}

void dyn_free(Dyn *d) {
    if (!d) return;
    if (d->ops->free) d->ops->free(d);
    masklog_close(d->log);
    free(d->enc);
    free(d);
}

TrainTensor *dyn_tt(Dyn *d, int i) {
    for (int s = 0; s < d->o->n; s++)
        if (d->o->t[s].idx == i) return &d->o->t[s];
    die(NULL, "internal error: '%s' is not trained", d->m->info[i].name);
}

json_t *dyn_config_json(const Dyn *d) {
    const DynConfig *c = &d->cfg;
    json_t *j = json_object();
    json_object_set_new(j, "method", json_string(dyn_method_name(c)));
    switch (c->method) {
    case DYN_MIXOUT:
        json_object_set_new(j, "mixout_p", json_real(c->mixout_p));
        json_object_set_new(j, "variant", json_string(c->mixout_eval ? "eval" : "train"));
        break;
    case DYN_DIFFPRUNING:
        json_object_set_new(j, "stretch", json_real(c->stretch));
        json_object_set_new(j, "alpha_init", isnan(c->alpha_init) ? json_string("sigmoid(randn)")
                                                                   : json_real(c->alpha_init));
        json_object_set_new(j, "l0_weight", json_real(c->l0_weight));
        json_object_set_new(j, "l0", json_string(c->l0_mean ? "mean" : "sum"));
        json_object_set_new(j, "project_by", json_string(c->project_alpha ? "alpha" : "diff"));
        json_object_set_new(j, "alpha_lr", json_real(c->alpha_lr));
        json_object_set_new(j, "reproject_every", json_integer(c->reproject_every));
        break;
    case DYN_CHILDPRUNING: json_object_set_new(j, "project_every", json_integer(c->project_every)); break;
    case DYN_CHILDTUNING_F: json_object_set_new(j, "reserve_p", json_real(c->reserve_p)); break;
    default: break;
    }
    if (c->method != DYN_CHILDTUNING_F && !(c->method == DYN_MIXOUT)) {
        json_object_set_new(j, "ratio", json_real(c->ratio));
        json_object_set_new(j, "burnin", json_integer(c->burnin));
        json_object_set_new(j, "scope", json_string(c->scope_global ? "global" : "tensor"));
    }
    return j;
}

const float *dyn_theta0(Dyn *d, int i) {
    return d->cfg.method == DYN_DIFFPRUNING ? diffpruning_theta0(d, i) : dyn_tt(d, i)->theta0;
}

void dyn_grad_get(Model *m, int i, float *host) {
    ops_download(host, model_grad(m, i), m->info[i].numel * sizeof *host);
}

void dyn_grad_set(Model *m, int i, const float *host) {
    ops_upload(model_grad(m, i), host, m->info[i].numel * sizeof *host);
}

void dyn_project(Dyn *d, float *const *score, uint32_t **idx, size_t *k) {
    int n = d->n_enc;
    size_t *numel = xmalloc((size_t)n * sizeof *numel);
    size_t total = 0;
    for (int t = 0; t < n; t++) total += numel[t] = d->m->info[d->enc[t]].numel;
    for (int t = 0; t < n; t++) {
        free(idx[t]);
        idx[t] = xmalloc((numel[t] ? numel[t] : 1) * sizeof **idx);
        k[t] = select_count(d->cfg.ratio, numel[t]);
    }
    int rc;
    if (d->cfg.scope_global) {
        rc = select_topk_global((const float *const *)score, numel, (size_t)n, select_count(d->cfg.ratio, total),
                                SELECT_ABS, idx, k);
    } else {
        rc = select_topk_each((const float *const *)score, numel, k, (size_t)n, SELECT_ABS, idx, NULL);
    }
    if (rc != SELECT_OK) die(NULL, "projection: %s", rc == SELECT_ENAN ? "a NaN in the scores" : "a tensor too large");
    free(numel);
}

void dyn_log_masks(Dyn *d, long step, uint32_t *const *idx, const size_t *k) {
    if (!d->log) return;
    for (int t = 0; t < d->n_enc; t++) {
        const ParamInfo *p = &d->m->info[d->enc[t]];
        masklog_put(d->log, step, p->name, p->shape, p->ndim, idx[t], k[t]);
    }
}

void dyn_log_projection(Progress *prog, long step, const size_t *k, int n) {
    if (!prog || !prog->log) return;
    size_t kept = 0;
    for (int t = 0; t < n; t++) kept += k[t];
    json_t *o = json_object();
    json_object_set_new(o, "step", json_integer(step));
    json_object_set_new(o, "projection", json_true());
    json_object_set_new(o, "kept", json_integer((json_int_t)kept));
    progress_log(prog, o);
}

void dyn_mask_grad(Dyn *d, int i, const uint32_t *idx, size_t k, float *buf, float *tmp) {
    const ParamInfo *p = &d->m->info[i];
    dyn_grad_get(d->m, i, buf);
    memset(tmp, 0, p->numel * sizeof *tmp);
    for (size_t j = 0; j < k; j++) tmp[idx[j]] = buf[idx[j]];
    dyn_grad_set(d->m, i, tmp);
}

void dyn_reset_outside(Dyn *d, int i, const uint32_t *idx, size_t k, const float *ref, float *buf, float *tmp) {
    const ParamInfo *p = &d->m->info[i];
    model_get_tensor(d->m, i, buf);
    memcpy(tmp, ref, p->numel * sizeof *tmp);
    for (size_t j = 0; j < k; j++) tmp[idx[j]] = buf[idx[j]];
    model_set_tensor(d->m, i, tmp);
}

size_t dyn_largest(const Dyn *d) {
    size_t big = 1;
    for (int t = 0; t < d->n_enc; t++)
        if (d->m->info[d->enc[t]].numel > big) big = d->m->info[d->enc[t]].numel;
    return big;
}

void dyn_masks_init(const Dyn *d, DynMasks *x) {
    size_t n = (size_t)(d->n_enc ? d->n_enc : 1), big = dyn_largest(d);
    x->idx = xcalloc(n, sizeof *x->idx);
    x->k = xcalloc(n, sizeof *x->k);
    x->buf = xmalloc(big * sizeof *x->buf);
    x->tmp = xmalloc(big * sizeof *x->tmp);
    x->have = x->on = x->kept = 0;
    x->kidx = xcalloc(n, sizeof *x->kidx);
    x->kk = xcalloc(n, sizeof *x->kk);
}

void dyn_masks_snapshot(const Dyn *d, DynMasks *x) {
    x->kept = x->have && x->on;
    for (int t = 0; x->kept && t < d->n_enc; t++) {
        x->kidx[t] = xrealloc(x->kidx[t], (x->k[t] ? x->k[t] : 1) * sizeof **x->kidx);
        memcpy(x->kidx[t], x->idx[t], x->k[t] * sizeof **x->kidx);
        x->kk[t] = x->k[t];
    }
}

void dyn_masks_free(const Dyn *d, DynMasks *x) {
    for (int t = 0; t < d->n_enc; t++) free(x->idx[t]), free(x->kidx[t]);
    free(x->idx), free(x->k), free(x->buf), free(x->tmp), free(x->kidx), free(x->kk);
}

int dyn_masks_index(const Dyn *d, const DynMasks *x, int i, const uint32_t **index, size_t *k) {
    if (!x->kept) return 0;
    for (int t = 0; t < d->n_enc; t++)
        if (d->enc[t] == i) return *index = x->kidx[t], *k = x->kk[t], 1;
    return 0;
}
