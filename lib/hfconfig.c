/* hfconfig.c — parse, validate and write HuggingFace RoBERTa config.json (jansson). */
#include "hfconfig.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void hfconfig_default(HfConfig *c) {
    memset(c, 0, sizeof *c);
    c->vocab_size = 50265;
    c->hidden_size = 768;
    c->num_hidden_layers = 12;
    c->num_attention_heads = 12;
    c->intermediate_size = 3072;
    c->max_position_embeddings = 512;
    c->type_vocab_size = 2;
    c->pad_token_id = 1;
    c->bos_token_id = 0;
    c->eos_token_id = 2;
    c->layer_norm_eps = 1e-12;
    c->hidden_dropout_prob = 0.1;
    c->attention_probs_dropout_prob = 0.1;
    c->classifier_dropout = -1;
    c->initializer_range = 0.02;
    strcpy(c->hidden_act, "gelu");
    strcpy(c->position_embedding_type, "absolute");
    strcpy(c->model_type, "roberta");
}

void hfconfig_free(HfConfig *c) {
    if (c->id2label)
        for (int i = 0; i < c->num_labels; i++) free(c->id2label[i]);
    free(c->id2label);
    c->id2label = NULL;
}

void hfconfig_set_labels(HfConfig *c, int n, const char *const *names) {
    hfconfig_free(c);
    c->num_labels = n > 0 ? n : 0;
    if (n <= 0) return;
    c->id2label = xcalloc((size_t)n, sizeof *c->id2label);
    for (int i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "LABEL_%d", i);
        c->id2label[i] = xstrdup(names && names[i] ? names[i] : buf);
    }
}

/* ---------------------------------------------------------------- parsing */

typedef struct {
    char *err;
    size_t errlen;
} Ctx;

static int fail(Ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Ctx *x, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (x->err && x->errlen) vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* An integer key in [lo, hi]; absent (or null when nullable) keeps *out. */
static int get_int(Ctx *x, json_t *o, const char *key, int required, int nullable, long long lo,
                   long long hi, int *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return required ? fail(x, "missing required key \"%s\"", key) : 0;
    if (json_is_null(v) && nullable) return 0;
    if (!json_is_integer(v)) return fail(x, "\"%s\" must be an integer", key);
    long long n = json_integer_value(v);
    if (n < lo || n > hi) return fail(x, "\"%s\" is %lld, must be in [%lld, %lld]", key, n, lo, hi);
    *out = (int)n;
    return 0;
}

/* A finite number key in [lo, hi) (hi_open) or [lo, hi]; absent keeps *out. */
static int get_num(Ctx *x, json_t *o, const char *key, double lo, double hi, int lo_open,
                   double *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_number(v)) return fail(x, "\"%s\" must be a number", key);
    double d = json_number_value(v);
    if (!isfinite(d) || (lo_open ? d <= lo : d < lo) || d >= hi)
        return fail(x, "\"%s\" is %g, must be in %c%g, %g)", key, d, lo_open ? '(' : '[', lo, hi);
    *out = d;
    return 0;
}

static int get_str(Ctx *x, json_t *o, const char *key, char *out, size_t cap) {
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_string(v)) return fail(x, "\"%s\" must be a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) >= cap) return fail(x, "\"%s\" is too long: '%.40s...'", key, s);
    strcpy(out, s);
    return 0;
}

/* id2label: {"0": "neg", "1": "pos"} with keys exactly 0..n-1. */
static int get_labels(Ctx *x, json_t *o, HfConfig *c) {
    json_t *v = json_object_get(o, "id2label");
    json_t *nl = json_object_get(o, "num_labels");
    int n_key = -1;
    if (nl && !json_is_null(nl)) {
        if (!json_is_integer(nl) || json_integer_value(nl) < 1 || json_integer_value(nl) > 1000000)
            return fail(x, "\"num_labels\" must be a positive integer");
        n_key = (int)json_integer_value(nl);
    }
    if (!v || json_is_null(v)) {
        if (n_key > 0) hfconfig_set_labels(c, n_key, NULL);
        return 0;
    }
    if (!json_is_object(v)) return fail(x, "\"id2label\" must be an object");
    size_t n = json_object_size(v);
    if (n == 0) return fail(x, "\"id2label\" is empty");
    if (n > 1000000) return fail(x, "\"id2label\" has too many labels");
    if (n_key > 0 && (size_t)n_key != n)
        return fail(x, "\"num_labels\" is %d but \"id2label\" has %zu labels", n_key, n);
    char **names = xcalloc(n, sizeof *names);
    const char *k;
    json_t *lv;
    int rc = 0;
    json_object_foreach(v, k, lv) {
        char *end;
        long id = strtol(k, &end, 10);
        if (!*k || *end || id < 0 || (size_t)id >= n) {
            rc = fail(x, "\"id2label\" key '%s' is not a label index in [0, %zu)", k, n);
            break;
        }
        if (names[id]) {
            rc = fail(x, "\"id2label\" has label %ld twice", id);
            break;
        }
        if (!json_is_string(lv)) {
            rc = fail(x, "\"id2label\" value of '%s' is not a string", k);
            break;
        }
        names[id] = (char *)json_string_value(lv);
    }
    if (rc == 0) hfconfig_set_labels(c, (int)n, (const char *const *)names);
    free(names); /* the strings belong to the JSON object */
    return rc;
}

static int parse_obj(Ctx *x, json_t *o, HfConfig *c) {
    if (!json_is_object(o)) return fail(x, "config is not a JSON object");
    const long long BIG = INT_MAX;
    /* The sizes are required (see hfconfig.h). */
    if (get_int(x, o, "vocab_size", 1, 0, 1, BIG, &c->vocab_size) ||
        get_int(x, o, "hidden_size", 1, 0, 1, BIG, &c->hidden_size) ||
        get_int(x, o, "num_hidden_layers", 1, 0, 1, BIG, &c->num_hidden_layers) ||
        get_int(x, o, "num_attention_heads", 1, 0, 1, BIG, &c->num_attention_heads) ||
        get_int(x, o, "intermediate_size", 1, 0, 1, BIG, &c->intermediate_size) ||
        get_int(x, o, "max_position_embeddings", 0, 0, 1, BIG, &c->max_position_embeddings) ||
        get_int(x, o, "type_vocab_size", 0, 0, 1, BIG, &c->type_vocab_size) ||
        get_int(x, o, "pad_token_id", 0, 1, 0, BIG, &c->pad_token_id) ||
        get_int(x, o, "bos_token_id", 0, 1, 0, BIG, &c->bos_token_id) ||
        get_int(x, o, "eos_token_id", 0, 1, 0, BIG, &c->eos_token_id))
        return -1;
    if (get_num(x, o, "layer_norm_eps", 0, 1, 1, &c->layer_norm_eps) ||
        get_num(x, o, "hidden_dropout_prob", 0, 1, 0, &c->hidden_dropout_prob) ||
        get_num(x, o, "attention_probs_dropout_prob", 0, 1, 0, &c->attention_probs_dropout_prob) ||
        get_num(x, o, "initializer_range", 0, INFINITY, 0, &c->initializer_range))
        return -1;
    json_t *cd = json_object_get(o, "classifier_dropout");
    if (cd && !json_is_null(cd) &&
        get_num(x, o, "classifier_dropout", 0, 1, 0, &c->classifier_dropout))
        return -1;
    if (get_str(x, o, "hidden_act", c->hidden_act, sizeof c->hidden_act) ||
        get_str(x, o, "position_embedding_type", c->position_embedding_type,
                sizeof c->position_embedding_type) ||
        get_str(x, o, "model_type", c->model_type, sizeof c->model_type))
        return -1;
    if (!json_is_null(json_object_get(o, "problem_type")) && /* save_pretrained may write null */
        get_str(x, o, "problem_type", c->problem_type, sizeof c->problem_type))
        return -1;
    json_t *arch = json_object_get(o, "architectures");
    if (arch && !json_is_null(arch)) {
        if (!json_is_array(arch)) return fail(x, "\"architectures\" must be an array of strings");
        if (json_array_size(arch) > 0) {
            json_t *a0 = json_array_get(arch, 0);
            if (!json_is_string(a0)) return fail(x, "\"architectures\" must be an array of strings");
            const char *a = json_string_value(a0);
            if (strlen(a) >= sizeof c->architecture)
                return fail(x, "\"architectures\" entry is too long");
            strcpy(c->architecture, a);
        }
    }

    /* What the engine supports. */
    if (strcmp(c->model_type, "roberta") != 0 && strcmp(c->model_type, "xlm-roberta") != 0 &&
        strcmp(c->model_type, HFCONFIG_OWN_MODEL_TYPE) != 0)
        return fail(x, "model_type '%s' is not supported (only RoBERTa models: \"roberta\")",
                    c->model_type);
    if (strcmp(c->hidden_act, "gelu") != 0)
        return fail(x, "hidden_act '%s' is not supported (only \"gelu\")", c->hidden_act);
    if (strcmp(c->position_embedding_type, "absolute") != 0)
        return fail(x, "position_embedding_type '%s' is not supported (only \"absolute\")",
                    c->position_embedding_type);
    if (c->hidden_size % c->num_attention_heads != 0)
        return fail(x, "hidden_size %d is not a multiple of num_attention_heads %d",
                    c->hidden_size, c->num_attention_heads);
    if (c->pad_token_id >= c->vocab_size || c->bos_token_id >= c->vocab_size ||
        c->eos_token_id >= c->vocab_size)
        return fail(x, "special token ids (pad %d, bos %d, eos %d) must be below vocab_size %d",
                    c->pad_token_id, c->bos_token_id, c->eos_token_id, c->vocab_size);
    /* RoBERTa numbers positions from pad_token_id + 1. */
    if (c->max_position_embeddings <= c->pad_token_id + 1)
        return fail(x, "max_position_embeddings %d leaves no positions after pad_token_id %d",
                    c->max_position_embeddings, c->pad_token_id);
    return get_labels(x, o, c);
}

int hfconfig_parse_err(const char *text, size_t len, HfConfig *cfg, char *err, size_t errlen) {
    Ctx x = {err, errlen};
    hfconfig_default(cfg);
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    if (!o) return fail(&x, "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    int rc = parse_obj(&x, o, cfg);
    json_decref(o);
    if (rc != 0) hfconfig_free(cfg), cfg->num_labels = 0;
    return rc;
}

void hfconfig_parse(const char *text, size_t len, const char *where, HfConfig *cfg) {
    char err[512];
    if (hfconfig_parse_err(text, len, cfg, err, sizeof err) != 0) die(where, "%s", err);
}

/* ---------------------------------------------------------------- writing */

typedef struct {
    char *buf;
    size_t n, cap;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->buf + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) die(NULL, "hfconfig: formatting failed");
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        b->buf = xrealloc(b->buf, b->cap = 2 * b->cap + (size_t)k);
    }
}

/* A JSON string literal (escaped by jansson), malloc'ed. */
static char *jstr(const char *s) {
    json_t *j = json_string(s);
    if (!j) die(NULL, "hfconfig: label or name '%s' is not valid UTF-8", s);
    char *r = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    return r;
}

/* The shortest decimal that reads back as the same double, with a '.' or exponent so it stays
 * a JSON real (as Python's repr writes 1e-05, 0.1, 2.0). */
static void put_real(Buf *b, double d) {
    char s[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*g", p, d);
        if (strtod(s, NULL) == d) break;
    }
    if (!strpbrk(s, ".e")) strcat(s, ".0");
    put(b, "%s", s);
}

typedef struct {
    const char *key;
    int kind; /* 0 int, 1 real, 2 string, 3 raw text */
    long long i;
    double d;
    const char *s;
} Field;

static int field_cmp(const void *a, const void *b) {
    return strcmp(((const Field *)a)->key, ((const Field *)b)->key);
}

char *hfconfig_to_json(const HfConfig *c) {
    Buf b = {xmalloc(1024), 0, 1024};
    Buf labels = {xmalloc(256), 0, 256}, rev = {xmalloc(256), 0, 256};
    const char *arch = c->architecture[0] ? c->architecture
                       : c->num_labels > 0 ? "RobertaForSequenceClassification"
                                           : "RobertaForMaskedLM";
    char *arch_s = jstr(arch);
    Buf archb = {xmalloc(128), 0, 128};
    put(&archb, "[\n    %s\n  ]", arch_s);
    free(arch_s);
    /* The extra object, indented one level deeper (its continuation lines get 2 spaces). */
    Buf extra = {xmalloc(256), 0, 256};
    for (const char *p = c->extra_json; p && *p; p++) {
        if (*p == '\n') put(&extra, "\n  ");
        else put(&extra, "%c", *p);
    }
    Field f[32];
    int n = 0;
#define I(k, v) f[n++] = (Field){k, 0, (v), 0, NULL}
#define R(k, v) f[n++] = (Field){k, 1, 0, (v), NULL}
#define S(k, v) f[n++] = (Field){k, 2, 0, 0, (v)}
#define RAW(k, v) f[n++] = (Field){k, 3, 0, 0, (v)}
    RAW("architectures", archb.buf);
    R("attention_probs_dropout_prob", c->attention_probs_dropout_prob);
    I("bos_token_id", c->bos_token_id);
    if (c->classifier_dropout >= 0) R("classifier_dropout", c->classifier_dropout);
    else RAW("classifier_dropout", "null");
    I("eos_token_id", c->eos_token_id);
    S("hidden_act", c->hidden_act);
    R("hidden_dropout_prob", c->hidden_dropout_prob);
    I("hidden_size", c->hidden_size);
    R("initializer_range", c->initializer_range);
    I("intermediate_size", c->intermediate_size);
    R("layer_norm_eps", c->layer_norm_eps);
    I("max_position_embeddings", c->max_position_embeddings);
    S("model_type", c->model_type[0] ? c->model_type : "roberta");
    I("num_attention_heads", c->num_attention_heads);
    I("num_hidden_layers", c->num_hidden_layers);
    I("pad_token_id", c->pad_token_id);
    S("position_embedding_type", c->position_embedding_type[0] ? c->position_embedding_type
                                                               : "absolute");
    S("torch_dtype", "float32");
    I("type_vocab_size", c->type_vocab_size);
    if (c->problem_type[0]) S("problem_type", c->problem_type);
    if (c->extra_json) RAW("sparsetune", extra.buf);
    RAW("use_cache", "true");
    I("vocab_size", c->vocab_size);
    if (c->num_labels > 0) {
        /* Python sorts the keys as strings: "10" before "2". */
        int nl = c->num_labels;
        char (*keys)[16] = xmalloc((size_t)nl * sizeof *keys);
        int *order = xmalloc((size_t)nl * sizeof *order);
        for (int i = 0; i < nl; i++) snprintf(keys[i], 16, "%d", i), order[i] = i;
        for (int i = 1; i < nl; i++) /* insertion sort by key string */
            for (int j = i; j > 0 && strcmp(keys[order[j - 1]], keys[order[j]]) > 0; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        char buf[32];
        put(&labels, "{");
        for (int k = 0; k < nl; k++) {
            int i = order[k];
            snprintf(buf, sizeof buf, "LABEL_%d", i);
            char *v = jstr(c->id2label ? c->id2label[i] : buf);
            put(&labels, "%s\n    \"%s\": %s", k ? "," : "", keys[i], v);
            free(v);
        }
        put(&labels, "\n  }");
        /* label2id: sorted by name. */
        const char **names = xmalloc((size_t)nl * sizeof *names);
        char **owned = xcalloc((size_t)nl, sizeof *owned);
        for (int i = 0; i < nl; i++) {
            if (c->id2label) names[i] = c->id2label[i];
            else {
                snprintf(buf, sizeof buf, "LABEL_%d", i);
                names[i] = owned[i] = xstrdup(buf);
            }
            order[i] = i;
        }
        for (int i = 1; i < nl; i++)
            for (int j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        put(&rev, "{");
        for (int k = 0; k < nl; k++) {
            char *key = jstr(names[order[k]]);
            put(&rev, "%s\n    %s: %d", k ? "," : "", key, order[k]);
            free(key);
        }
        put(&rev, "\n  }");
        RAW("id2label", labels.buf);
        RAW("label2id", rev.buf);
        I("num_labels", nl);
        for (int i = 0; i < nl; i++) free(owned[i]);
        free(owned);
        free(names);
        free(keys);
        free(order);
    }
#undef I
#undef R
#undef S
#undef RAW
    qsort(f, (size_t)n, sizeof f[0], field_cmp);
    put(&b, "{");
    for (int i = 0; i < n; i++) {
        put(&b, "%s\n  \"%s\": ", i ? "," : "", f[i].key);
        switch (f[i].kind) {
        case 0: put(&b, "%lld", f[i].i); break;
        case 1: put_real(&b, f[i].d); break;
        case 2: {
            char *s = jstr(f[i].s);
            put(&b, "%s", s);
            free(s);
            break;
        }
        default: put(&b, "%s", f[i].s); break;
        }
    }
    put(&b, "\n}\n");
    free(labels.buf);
    free(rev.buf);
    free(archb.buf);
    free(extra.buf);
    return b.buf;
}
