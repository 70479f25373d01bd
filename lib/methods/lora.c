/* lora.c — LoRA: the plan's configuration, the extra tensors, the engine hooks, the merge
 * (lora.h). */
#include "methods/lora.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/methods.h"
#include "ops.h"
#include "outdir.h"
#include "safetensors.h"
#include "util.h"

static const char *const TARGET_NAME[LORA_NTARGETS] = {
    "query", "key", "value", "attention.output", "intermediate", "output"};
static const char *const TARGET_MODULE[LORA_NTARGETS] = {
    "attention.self.query", "attention.self.key", "attention.self.value",
    "attention.output.dense", "intermediate.dense", "output.dense"};

struct Lora {
    LoraConfig cfg;
    float scaling;
    int n;        /* size of the maps below (the model's n_params at attach) */
    int *a_of;    /* [n] weight tensor -> its lora_A tensor (B follows), -1 */
    int *slot_of; /* [n] weight tensor -> LoRA Linear number (saved u, dropout call) */
    int *call_of; /* [n] dropout call */
    int n_lin, max_in;
    size_t capN;
    float *u;      /* [n_lin][capN, r] drop(x) A^T of the last forward */
    float *du;     /* [capN, r] */
    float *xd, *tmp; /* [capN, max_in] dropout scratch (dropout > 0 only) */
    int train;
    uint64_t seed;
    uint32_t step;
};

const char *lora_target_name(int t) { return TARGET_NAME[t]; }
const char *lora_target_module(int t) { return TARGET_MODULE[t]; }

int lora_parse_targets(const char *list, unsigned *out, char *err, size_t errlen) {
    *out = 0;
    char *copy = xstrdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = strcmp(tok, "all") == 0;
        if (found) *out |= LORA_TARGETS_ALL;
        for (int t = 0; t < LORA_NTARGETS && !found; t++)
            if (strcmp(tok, TARGET_NAME[t]) == 0) *out |= 1u << t, found = 1;
        if (!found) {
            snprintf(err, errlen, "unknown LoRA target '%s' (query, key, value, attention.output, "
                     "intermediate, output, all)", tok);
            free(copy);
            return -1;
        }
    }
    free(copy);
    if (!*out) {
        snprintf(err, errlen, "no LoRA target given");
        return -1;
    }
    return 0;
}

json_t *lora_config_json(const LoraConfig *c) {
    json_t *t = json_array();
    for (int i = 0; i < LORA_NTARGETS; i++)
        if (c->targets & (1u << i)) json_array_append_new(t, json_string(TARGET_NAME[i]));
    return json_pack("{s:i, s:f, s:f, s:o, s:f, s:s, s:s}", "r", c->r, "alpha", c->alpha, "scaling",
                     c->alpha / c->r, "targets", t, "dropout", c->dropout, "init_a", "kaiming_uniform",
                     "init_b", c->init_b_kaiming ? "kaiming_uniform" : "zeros");
}

int lora_config_parse(json_t *j, LoraConfig *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    json_t *r = json_object_get(j, "r"), *a = json_object_get(j, "alpha"), *t = json_object_get(j, "targets");
    json_t *d = json_object_get(j, "dropout");
    const char *ib = json_string_value(json_object_get(j, "init_b"));
    if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > 65536 || !json_is_number(a) ||
        !json_is_array(t) || (d && !json_is_number(d)) || !ib) {
        snprintf(err, errlen, "\"lora\" needs an integer r >= 1, a number alpha, a targets array and init_b");
        return -1;
    }
    c->r = (int)json_integer_value(r);
    c->alpha = json_number_value(a);
    c->dropout = d ? json_number_value(d) : 0.0;
    if (!(c->dropout >= 0 && c->dropout < 1)) {
        snprintf(err, errlen, "\"lora\": dropout %g is not in [0, 1)", c->dropout);
        return -1;
    }
    if (strcmp(ib, "zeros") && strcmp(ib, "kaiming_uniform")) {
        snprintf(err, errlen, "\"lora\": init_b '%s' is neither zeros nor kaiming_uniform", ib);
        return -1;
    }
    c->init_b_kaiming = strcmp(ib, "kaiming_uniform") == 0;
    size_t i;
    json_t *v;
    json_array_foreach(t, i, v) {
        const char *s = json_string_value(v);
        int found = 0;
        for (int k = 0; k < LORA_NTARGETS && s; k++)
            if (strcmp(s, TARGET_NAME[k]) == 0) c->targets |= 1u << k, found = 1;
        if (!found) {
            snprintf(err, errlen, "\"lora\": unknown target %s", s ? s : "(not a string)");
            return -1;
        }
    }
    if (!c->targets) {
        snprintf(err, errlen, "\"lora\": no targets");
        return -1;
    }
    return 0;
}

/* Base weight of target t in layer l, -1 when the model has none. */
static int base_weight(const Model *m, int l, int t) {
    char name[MODEL_NAME_MAX];
    snprintf(name, sizeof name, "roberta.encoder.layer.%d.%s.weight", l, TARGET_MODULE[t]);
    return model_find(m, name);
}

int lora_extras(const Model *m, const LoraConfig *c, ExtraTensor **out) {
    int L = m->cfg.num_hidden_layers, n = 0;
    ExtraTensor *x = xcalloc((size_t)L * LORA_NTARGETS * 2, sizeof *x);
    for (int l = 0; l < L; l++)
        for (int t = 0; t < LORA_NTARGETS; t++) {
            if (!(c->targets & (1u << t))) continue;
            int wi = base_weight(m, l, t);
            if (wi < 0) die("lora", "the model has no %s in layer %d", TARGET_MODULE[t], l);
            const ParamInfo *p = &m->info[wi];
            for (int ab = 0; ab < 2; ab++, n++) {
                snprintf(x[n].name, sizeof x[n].name, "roberta.encoder.layer.%d.%s.lora_%c.weight", l,
                         TARGET_MODULE[t], ab ? 'B' : 'A');
                x[n].ndim = 2;
                x[n].shape[0] = ab ? p->shape[0] : c->r;
                x[n].shape[1] = ab ? c->r : p->shape[1];
            }
        }
    *out = x;
    return n;
}

void lora_attach(Model *m, const LoraConfig *c, uint64_t seed) {
    if (m->lora) die("lora", "the model has LoRA already");
    int L = m->cfg.num_hidden_layers;
    if (c->dropout > 0 && 3 + 9 * L > 255)
        die("lora", "LoRA dropout needs dropout calls 3+3L..2+9L below 256; %d layers are too many", L);
    ExtraTensor *x;
    int n = lora_extras(m, c, &x);
    int first = model_add_extras(m, x, n);
    free(x);
    struct Lora *lo = xcalloc(1, sizeof *lo);
    lo->cfg = *c;
    lo->scaling = (float)(c->alpha / c->r);
    lo->n = m->n_params;
    lo->a_of = xmalloc((size_t)lo->n * sizeof *lo->a_of);
    lo->slot_of = xmalloc((size_t)lo->n * sizeof *lo->slot_of);
    lo->call_of = xmalloc((size_t)lo->n * sizeof *lo->call_of);
    for (int i = 0; i < lo->n; i++) lo->a_of[i] = lo->slot_of[i] = lo->call_of[i] = -1;
    int j = first;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < LORA_NTARGETS; t++) {
            if (!(c->targets & (1u << t))) continue;
            int wi = base_weight(m, l, t);
            lo->a_of[wi] = j;
            lo->slot_of[wi] = lo->n_lin++;
            lo->call_of[wi] = 3 + 3 * L + 6 * l + t;
            int in = (int)m->info[wi].shape[1];
            if (in > lo->max_in) lo->max_in = in;
            methods_fill(m, j, seed, (uint32_t)(j - first), 0, 1.0 / sqrt((double)in));
            if (c->init_b_kaiming) methods_fill(m, j + 1, seed, (uint32_t)(j + 1 - first), 0, 1.0 / sqrt((double)c->r));
            j += 2;
        }
    m->lora = lo;
}

void lora_merge(Model *m) {
    struct Lora *lo = m->lora;
    if (!lo) return;
    for (int wi = 0; wi < lo->n; wi++) {
        int ai = lo->a_of[wi];
        if (ai < 0) continue;
        int out = (int)m->info[wi].shape[0], in = (int)m->info[wi].shape[1], r = lo->cfg.r;
        op_gemm('N', 'N', out, in, r, lo->scaling, model_param(m, ai + 1), r, model_param(m, ai), in, 1.0f,
                model_param(m, wi), in);
    }
    lora_free(lo);
    m->lora = NULL;
}

void lora_free(struct Lora *lo) {
    if (!lo) return;
    free(lo->a_of), free(lo->slot_of), free(lo->call_of);
    ops_free(lo->u), ops_free(lo->du), ops_free(lo->xd), ops_free(lo->tmp);
    free(lo);
}

/* ---------------------------------------------------------------- engine hooks */

void lora_begin(Model *m, int N, int train, uint64_t seed, uint32_t step) {
    struct Lora *lo = m->lora;
    lo->train = train, lo->seed = seed, lo->step = step;
    if ((size_t)N <= lo->capN) return;
    ops_free(lo->u), ops_free(lo->du), ops_free(lo->xd), ops_free(lo->tmp);
    lo->capN = (size_t)N;
    size_t r = (size_t)lo->cfg.r;
    lo->u = ops_alloc(lo->capN * r * (size_t)lo->n_lin);
    lo->du = ops_alloc(lo->capN * r);
    lo->xd = lo->cfg.dropout > 0 ? ops_alloc(lo->capN * (size_t)lo->max_in) : NULL;
    lo->tmp = lo->cfg.dropout > 0 ? ops_alloc(lo->capN * (size_t)lo->max_in) : NULL;
}

static float dropout_p(const struct Lora *lo) { return lo->train ? (float)lo->cfg.dropout : 0.0f; }

/* drop(x): x itself without dropout, else the mask applied into xd. */
static const float *lora_input(struct Lora *lo, int wi, const float *x, int N, int in) {
    float p = dropout_p(lo);
    if (p == 0.0f) return x;
    op_dropout_fwd(lo->xd, x, (size_t)N * in, p, lo->seed, op_dropout_sub(lo->step, (uint32_t)lo->call_of[wi]));
    return lo->xd;
}

void lora_fwd(Model *m, int wi, float *y, const float *x, int N, int in, int out) {
    struct Lora *lo = m->lora;
    if (wi >= lo->n || lo->a_of[wi] < 0) return;
    int ai = lo->a_of[wi], r = lo->cfg.r;
    float *u = lo->u + (size_t)lo->slot_of[wi] * lo->capN * r;
    const float *xin = lora_input(lo, wi, x, N, in);
    op_gemm('N', 'T', N, r, in, 1.0f, xin, in, model_param(m, ai), in, 0.0f, u, r);
    op_gemm('N', 'T', N, out, r, lo->scaling, u, r, model_param(m, ai + 1), r, 1.0f, y, out);
}

void lora_bwd(Model *m, int wi, float *dx, const float *dy, const float *x, int N, int in, int out) {
    struct Lora *lo = m->lora;
    if (wi >= lo->n || lo->a_of[wi] < 0) return;
    int ai = lo->a_of[wi], r = lo->cfg.r;
    const float *u = lo->u + (size_t)lo->slot_of[wi] * lo->capN * r;
    float *gA = m->gspec[ai].mode == GRAD_DENSE ? model_grad(m, ai) : NULL;
    float *gB = m->gspec[ai + 1].mode == GRAD_DENSE ? model_grad(m, ai + 1) : NULL;
    if (gB) op_gemm('T', 'N', out, r, N, lo->scaling, dy, out, u, r, 1.0f, gB, r);
    op_gemm('N', 'N', N, r, out, lo->scaling, dy, out, model_param(m, ai + 1), r, 0.0f, lo->du, r);
    if (gA) op_gemm('T', 'N', r, in, N, 1.0f, lo->du, r, lora_input(lo, wi, x, N, in), in, 1.0f, gA, in);
    if (dx) lora_bwd_dx(m, wi, dx, N, in);
}

void lora_bwd_dx(Model *m, int wi, float *dx, int N, int in) {
    struct Lora *lo = m->lora;
    if (wi >= lo->n || lo->a_of[wi] < 0) return;
    int ai = lo->a_of[wi], r = lo->cfg.r;
    float p = dropout_p(lo);
    if (p == 0.0f) {
        op_gemm('N', 'N', N, in, r, 1.0f, lo->du, r, model_param(m, ai), in, 1.0f, dx, in);
        return;
    }
    op_gemm('N', 'N', N, in, r, 1.0f, lo->du, r, model_param(m, ai), in, 0.0f, lo->tmp, in);
    op_dropout_bwd(lo->tmp, lo->tmp, (size_t)N * in, p, lo->seed, op_dropout_sub(lo->step, (uint32_t)lo->call_of[wi]));
    op_accumulate(dx, lo->tmp, (size_t)N * in);
}

/* ---------------------------------------------------------------- PEFT export */

/* PEFT's target_modules: the names themselves when they are unambiguous (query, key, value),
 * else a regular expression PEFT full-matches against the module names ("dense" alone would
 * also catch the pooler and the head). */
static json_t *peft_targets(unsigned targets) {
    if (!(targets & ~((1u << LORA_QUERY) | (1u << LORA_KEY) | (1u << LORA_VALUE)))) {
        json_t *a = json_array();
        for (int t = 0; t < LORA_NTARGETS; t++)
            if (targets & (1u << t)) json_array_append_new(a, json_string(TARGET_NAME[t]));
        return a;
    }
    char re[512] = "roberta\\.encoder\\.layer\\.\\d+\\.(";
    for (int t = 0, first = 1; t < LORA_NTARGETS; t++) {
        if (!(targets & (1u << t))) continue;
        if (!first) strcat(re, "|");
        first = 0;
        for (const char *p = TARGET_MODULE[t]; *p; p++) {
            size_t n = strlen(re);
            if (*p == '.') re[n++] = '\\';
            re[n++] = *p, re[n] = '\0';
        }
    }
    strcat(re, ")");
    return json_string(re);
}

void lora_export_peft(const Model *m, const LoraConfig *c, const char *base, const char *task_type,
                      const char *outdir) {
    outdir_open(outdir);
    json_t *cfg = json_pack("{s:s, s:o, s:i, s:f, s:o, s:f, s:s, s:[s], s:s, s:b, s:b, s:b, s:n, s:n, s:n, s:{}, s:{}}",
                            "peft_type", "LORA", "task_type", task_type ? json_string(task_type) : json_null(),
                            "r", c->r, "lora_alpha", c->alpha, "target_modules", peft_targets(c->targets),
                            "lora_dropout", c->dropout, "bias", "none", "modules_to_save", "classifier",
                            "base_model_name_or_path", base, "fan_in_fan_out", 0, "init_lora_weights",
                            !c->init_b_kaiming, "inference_mode", 1, "revision", "layers_to_transform",
                            "layers_pattern", "rank_pattern", "alpha_pattern");
    char *text = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    outdir_write("adapter_config.json", text, strlen(text));
    free(text);
    json_decref(cfg);

    ExtraTensor *x;
    int n = lora_extras(m, c, &x);
    SafeTensorsWriter *w = safetensors_writer_new();
    safetensors_writer_meta(w, "format", "pt");
    float **bufs = xcalloc((size_t)m->n_params, sizeof *bufs);
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        int want = p->is_head;
        for (int j = 0; j < n && !want; j++) want = strcmp(p->name, x[j].name) == 0;
        if (!want) continue;
        char name[MODEL_NAME_MAX + 32];
        snprintf(name, sizeof name, "base_model.model.%s", p->name);
        bufs[i] = xmalloc(p->numel * sizeof(float));
        model_get_tensor(m, i, bufs[i]);
        safetensors_writer_add(w, name, ST_F32, p->shape, p->ndim, bufs[i]);
    }
    safetensors_writer_save(w, outdir_path("adapter_model.safetensors"));
    for (int i = 0; i < m->n_params; i++) free(bufs[i]);
    free(bufs);
    free(x);
    outdir_commit();
}
