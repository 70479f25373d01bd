/* adapter.c — Pfeiffer adapters: configuration, extra tensors, engine hooks (adapter.h). */
#include "methods/adapter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/methods.h"
#include "model_hooks.h"
#include "ops.h"
#include "outdir.h"
#include "safetensors.h"
#include "util.h"

struct Adapter {
    AdapterConfig cfg;
    int L;
    int *first; /* [L] adapter_down.0.weight of layer l */
    int *ln;    /* [L] the layer's output.LayerNorm.weight */
    size_t capN;
    float *pre;              /* [L][capN, M] z D^T + b_d */
    float *z, *r3, *dz;      /* [capN, H] */
    float *act, *da;         /* [capN, M] */
    float *mean, *rstd;      /* [capN] of the first LayerNorm */
};

json_t *adapter_config_json(const AdapterConfig *c, int hidden) {
    return json_pack("{s:s, s:s, s:i, s:f, s:s, s:s}", "config", "pfeiffer", "name", ADAPTER_NAME,
                     "bottleneck", c->bottleneck, "reduction_factor", (double)hidden / c->bottleneck,
                     "non_linearity", "relu", "init", c->init_zero ? "zero" : "bert");
}

int adapter_config_parse(json_t *j, AdapterConfig *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    json_t *b = json_object_get(j, "bottleneck");
    const char *init = json_string_value(json_object_get(j, "init"));
    const char *kind = json_string_value(json_object_get(j, "config"));
    if (!json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > 1 << 20 || !init || !kind) {
        snprintf(err, errlen, "\"adapter\" needs config, an integer bottleneck >= 1 and init");
        return -1;
    }
    if (strcmp(kind, "pfeiffer") != 0) {
        snprintf(err, errlen, "\"adapter\": config '%s' is not supported (pfeiffer)", kind);
        return -1;
    }
    if (strcmp(init, "bert") && strcmp(init, "zero")) {
        snprintf(err, errlen, "\"adapter\": init '%s' is neither bert nor zero", init);
        return -1;
    }
    c->bottleneck = (int)json_integer_value(b);
    c->init_zero = strcmp(init, "zero") == 0;
    return 0;
}

int adapter_extras(const Model *m, const AdapterConfig *c, ExtraTensor **out) {
    int L = m->cfg.num_hidden_layers, H = m->cfg.hidden_size, M = c->bottleneck, n = 0;
    ExtraTensor *x = xcalloc((size_t)L * 4, sizeof *x);
    static const char *const part[4] = {"adapter_down.0.weight", "adapter_down.0.bias", "adapter_up.weight",
                                        "adapter_up.bias"};
    const int64_t shape[4][2] = {{M, H}, {M, 1}, {H, M}, {H, 1}};
    for (int l = 0; l < L; l++)
        for (int k = 0; k < 4; k++, n++) {
            snprintf(x[n].name, sizeof x[n].name, "roberta.encoder.layer.%d.output.adapters.%s.%s", l, ADAPTER_NAME,
                     part[k]);
            x[n].ndim = k % 2 ? 1 : 2;
            x[n].shape[0] = shape[k][0];
            x[n].shape[1] = shape[k][1];
        }
    *out = x;
    return n;
}

void adapter_attach(Model *m, const AdapterConfig *c, uint64_t seed) {
    if (m->adapter) die("adapter", "the model has adapters already");
    ExtraTensor *x;
    int n = adapter_extras(m, c, &x);
    int first = model_add_extras(m, x, n);
    free(x);
    struct Adapter *a = xcalloc(1, sizeof *a);
    a->cfg = *c;
    a->L = m->cfg.num_hidden_layers;
    a->first = xmalloc((size_t)a->L * sizeof *a->first);
    a->ln = xmalloc((size_t)a->L * sizeof *a->ln);
    int H = m->cfg.hidden_size;
    for (int l = 0; l < a->L; l++) {
        char name[MODEL_NAME_MAX];
        snprintf(name, sizeof name, "roberta.encoder.layer.%d.output.LayerNorm.weight", l);
        a->ln[l] = model_find(m, name);
        if (a->ln[l] < 0) die("adapter", "the model has no %s", name);
        int j = a->first[l] = first + 4 * l;
        if (c->init_zero) {
            methods_fill(m, j, seed, (uint32_t)(j - first), 0, 1.0 / sqrt((double)H));
        } else {
            methods_fill(m, j, seed, (uint32_t)(j - first), 1, 0.02);
            methods_fill(m, j + 2, seed, (uint32_t)(j + 2 - first), 1, 0.02);
        }
    }
    m->adapter = a;
}

int adapter_first(const Model *m, int l) {
    return m->adapter && l >= 0 && l < m->adapter->L ? m->adapter->first[l] : -1;
}

void adapter_free(struct Adapter *a) {
    if (!a) return;
    free(a->first), free(a->ln);
    void *bufs[] = {a->pre, a->z, a->r3, a->dz, a->act, a->da, a->mean, a->rstd};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ops_free(bufs[i]);
    free(a);
}

/* ---------------------------------------------------------------- engine hooks */

void adapter_begin(Model *m, int N) {
    struct Adapter *a = m->adapter;
    if ((size_t)N <= a->capN) return;
    void *bufs[] = {a->pre, a->z, a->r3, a->dz, a->act, a->da, a->mean, a->rstd};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ops_free(bufs[i]);
    size_t n = a->capN = (size_t)N, H = (size_t)m->cfg.hidden_size, M = (size_t)a->cfg.bottleneck;
    a->pre = ops_alloc((size_t)a->L * n * M);
    a->z = ops_alloc(n * H), a->r3 = ops_alloc(n * H), a->dz = ops_alloc(n * H);
    a->act = ops_alloc(n * M), a->da = ops_alloc(n * M);
    a->mean = ops_alloc(n), a->rstd = ops_alloc(n);
}

/* z = LN(r2), act = ReLU(pre), r3 = r2 + act U^T + b_u (the forward's values, recomputed in
 * the backward from r2 and the kept pre). */
static void inner(Model *m, int l, const float *r2, int N, int with_pre) {
    struct Adapter *a = m->adapter;
    int H = m->cfg.hidden_size, M = a->cfg.bottleneck, j = a->first[l];
    float *pre = a->pre + (size_t)l * a->capN * M;
    op_layernorm_fwd(a->z, a->mean, a->rstd, r2, model_param(m, a->ln[l]), model_param(m, a->ln[l] + 1), N, H,
                     (float)m->cfg.layer_norm_eps);
    if (with_pre) op_linear_fwd(pre, a->z, model_param(m, j), model_param(m, j + 1), N, H, M);
    op_relu_fwd(a->act, pre, (size_t)N * M);
    op_linear_fwd(a->r3, a->act, model_param(m, j + 2), model_param(m, j + 3), N, M, H);
    op_accumulate(a->r3, r2, (size_t)N * H);
}

void adapter_fwd(Model *m, int l, float *out, float *mean2, float *rstd2, const float *r2, int N) {
    struct Adapter *a = m->adapter;
    inner(m, l, r2, N, 1);
    op_layernorm_fwd(out, mean2, rstd2, a->r3, model_param(m, a->ln[l]), model_param(m, a->ln[l] + 1), N,
                     m->cfg.hidden_size, (float)m->cfg.layer_norm_eps);
}

void adapter_bwd(Model *m, int l, float *dr2, const float *dout, const float *r2, const float *mean2,
                 const float *rstd2, int N) {
    struct Adapter *a = m->adapter;
    int H = m->cfg.hidden_size, M = a->cfg.bottleneck, j = a->first[l];
    inner(m, l, r2, N, 0);
    /* dr2 = d r3 (the residual path), then += the bottleneck's path through the first LN */
    model_layernorm_grads(m, a->ln[l], dr2, 0, dout, a->r3, mean2, rstd2, N, H);
    model_linear_grads(m, j + 2, a->da, 0, dr2, a->act, N, M, H);
    op_relu_bwd(a->da, a->da, a->act, (size_t)N * M);
    model_linear_grads(m, j, a->dz, 0, a->da, a->z, N, H, M);
    model_layernorm_grads(m, a->ln[l], dr2, 1, a->dz, r2, a->mean, a->rstd, N, H);
}

/* ---------------------------------------------------------------- AdapterHub export */

/* AdapterHub's saved config of "pfeiffer" (seq_bn) with this bottleneck and init. */
static json_t *hub_config(const AdapterConfig *c, int H) {
    return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:f, s:s, s:f, s:b, s:b, s:b, s:b, s:b}",
                     "mh_adapter", 0, "output_adapter", 1, "original_ln_before", 1, "original_ln_after", 1,
                     "residual_before_ln", 1, "ln_before", 0, "ln_after", 0, "non_linearity", "relu",
                     "reduction_factor", (double)H / c->bottleneck, "init_weights", c->init_zero ? "mam_adapter" : "bert",
                     "scaling", 1.0, "is_parallel", 0, "adapter_residual_before_ln", 0, "use_gating", 0,
                     "phm_layer", 0, "cross_adapter", 0);
}

static void put_json(const char *name, json_t *j) {
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    outdir_write(name, text, strlen(text));
    free(text);
    json_decref(j);
}

void adapter_export_hub(const Model *m, const AdapterConfig *c, const char *base, json_t *labels,
                        const char *outdir) {
    if (m->head == HEAD_SPAN) die(outdir, "AdapterHub has no head for the span comparison (WSC) task");
    int H = m->cfg.hidden_size, two = m->n_base - m->head_first == 4;
    outdir_open(outdir);
    put_json("adapter_config.json",
             json_pack("{s:o, s:i, s:s, s:s, s:s, s:s, s:s}", "config", hub_config(c, H), "hidden_size", H,
                       "model_class", "RobertaAdapterModel", "model_name", base, "model_type", "roberta", "name",
                       ADAPTER_NAME, "version", "sparsetune"));
    json_t *l2i = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(labels, i, v)
        if (json_is_string(v)) json_object_set_new(l2i, json_string_value(v), json_integer((json_int_t)i));
    json_t *hc = json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:o}", "head_type",
                           m->head == HEAD_MULTIPLE_CHOICE ? "multiple_choice" : "classification", "num_labels",
                           m->head == HEAD_MULTIPLE_CHOICE ? 2 : m->num_labels, "layers", two ? 2 : 1,
                           "activation_function", "tanh", "use_pooler", m->pooler >= 0, "bias", 1, "label2id", l2i);
    put_json("head_config.json", json_pack("{s:o, s:i, s:s, s:s, s:s, s:s, s:s}", "config", hc, "hidden_size", H,
                                           "model_class", "RobertaAdapterModel", "model_name", base, "model_type",
                                           "roberta", "name", ADAPTER_NAME, "version", "sparsetune"));
    /* the adapter's tensors under their own names; the head's as AdapterHub's Sequential
     * (Dropout, Linear, Activation, Dropout, Linear: Linears 1 and 4; one Linear: 1) */
    SafeTensorsWriter *wa = safetensors_writer_new(), *wh = safetensors_writer_new();
    float **bufs = xcalloc((size_t)m->n_params, sizeof *bufs);
    for (int k = 0; k < m->n_params; k++) {
        const ParamInfo *p = &m->info[k];
        int in_head = p->is_head, in_adapter = strstr(p->name, ".output.adapters." ADAPTER_NAME ".") != NULL;
        if (!in_head && !in_adapter) continue;
        bufs[k] = xmalloc(p->numel * sizeof(float));
        model_get_tensor(m, k, bufs[k]);
        char name[MODEL_NAME_MAX + 32];
        if (in_adapter) {
            safetensors_writer_add(wa, p->name, ST_F32, p->shape, p->ndim, bufs[k]);
            continue;
        }
        int j = k - m->head_first; /* weight, bias of the first Linear, then of the second */
        snprintf(name, sizeof name, "heads.%s.%d.%s", ADAPTER_NAME, j < 2 ? 1 : 4, j % 2 ? "bias" : "weight");
        safetensors_writer_add(wh, name, ST_F32, p->shape, p->ndim, bufs[k]);
    }
    safetensors_writer_save(wa, outdir_path("adapter.safetensors"));
    safetensors_writer_save(wh, outdir_path("model_head.safetensors"));
    for (int k = 0; k < m->n_params; k++) free(bufs[k]);
    free(bufs);
    outdir_commit();
}
