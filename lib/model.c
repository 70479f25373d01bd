/* model.c — RoBERTa encoder + task heads: parameter table, loading, forward, backward.
 * All arithmetic goes through ops.h; see model.h for the exact architecture. */
#include "model.h"
#include "model_hooks.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "ops_backend.h"
#include "rng.h"
#include "util.h"
#include "methods/adapter.h"
#include "methods/lora.h"

/* Additive mask of padded keys: exp() of it underflows to exactly 0 in fp32, like HF's
 * finfo.min / -10000 masks. */
#define MASK_NEG (-1e30f)

/* Tensors of one encoder layer, in HF's state-dict order. */
enum {
    L_QW, L_QB, L_KW, L_KB, L_VW, L_VB, L_OW, L_OB, L_LN1W, L_LN1B,
    L_IW, L_IB, L_O2W, L_O2B, L_LN2W, L_LN2B, L_COUNT
};
static const char *const layer_suffix[L_COUNT] = {
    "attention.self.query.weight", "attention.self.query.bias",
    "attention.self.key.weight", "attention.self.key.bias",
    "attention.self.value.weight", "attention.self.value.bias",
    "attention.output.dense.weight", "attention.output.dense.bias",
    "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
    "intermediate.dense.weight", "intermediate.dense.bias",
    "output.dense.weight", "output.dense.bias",
    "output.LayerNorm.weight", "output.LayerNorm.bias",
};
enum { E_WORD, E_POS, E_TYPE, E_LNW, E_LNB, E_COUNT };
/* head tensors: classification-style (dense, out_proj) or span (span_attention, out_proj) */
enum { H_0W, H_0B, H_OUTW, H_OUTB, H_COUNT };

struct Acts {
    int S, T, N;            /* sizes the buffers are used for now */
    size_t capN, capAtt;    /* allocated capacity: token rows, attention entries per layer */
    int32_t *ids, *pos, *spans, *labels;
    float *maskadd, *target;
    float *emb, *emb_mean, *emb_rstd;
    float *xs;              /* [L+1][N,H] layer inputs/outputs */
    float *q, *k, *v, *ctx, *r1, *a, *r2; /* [L][N,H] */
    float *mean1, *rstd1, *mean2, *rstd2; /* [L][N] */
    float *f1;              /* [L][N,I] */
    float *P;               /* [L][S,NH,T,T] */
    float *g1, *g2, *g3, *g4, *gi, *att1, *att2; /* scratch */
    /* head */
    float *cls, *pool, *hd1, *th, *hd2, *out, *probs, *dout, *dh1, *dh2; /* [S, max(2H, C)] */
    float *atok, *spw;      /* [N], [S,NS,T] */
    float *sp, *sp1;        /* sparse-gradient scratch: [N*(H+I)] (lazy), [max(I, 2H, C)] */
    /* last forward */
    int train;
    uint64_t seed;
    uint32_t step;
};

/* ------------------------------------------------------------------ batches */

void batch_alloc(Batch *b, int B, int n_choices, int T, int pad_id) {
    memset(b, 0, sizeof *b);
    if (B < 1 || n_choices < 1 || T < 1) die("batch", "invalid size %d x %d x %d", B, n_choices, T);
    b->B = B;
    b->n_choices = n_choices;
    b->T = T;
    size_t S = (size_t)B * n_choices;
    b->ids = xmalloc(S * T * sizeof(int32_t));
    for (size_t i = 0; i < S * T; i++) b->ids[i] = pad_id;
    b->len = xcalloc(S, sizeof(int32_t));
    b->label = xcalloc(B, sizeof(int32_t));
    b->target = xcalloc(B, sizeof(float));
    b->spans = xcalloc((size_t)B * SPAN_COUNT * 2, sizeof(int32_t));
}

void batch_set_seq(Batch *b, int seq, const int32_t *ids, int len) {
    if (seq < 0 || seq >= b->B * b->n_choices || len < 0 || len > b->T)
        die("batch", "sequence %d of length %d does not fit", seq, len);
    memcpy(b->ids + (size_t)seq * b->T, ids, (size_t)len * sizeof(int32_t));
    b->len[seq] = len;
}

void batch_free(Batch *b) {
    free(b->ids);
    free(b->len);
    free(b->label);
    free(b->target);
    free(b->spans);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ head architectures */

const char *head_arch_name(HeadArch a) { return a == ARCH_HF ? "hf" : "jiant"; }

int head_arch_parse(const char *s, HeadArch *out) {
    if (strcmp(s, "jiant") == 0) *out = ARCH_JIANT;
    else if (strcmp(s, "hf") == 0) *out = ARCH_HF;
    else return -1;
    return 0;
}

int head_arch_has_pooler(HeadArch a, HeadKind head) {
    return a == ARCH_JIANT || head == HEAD_MULTIPLE_CHOICE;
}

/* ------------------------------------------------------------------ parameter table */

static void add_param(Model *m, int *cap, const char *name, int ndim, int64_t d0, int64_t d1,
                      int is_head) {
    if (m->n_params == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        m->info = xrealloc(m->info, (size_t)*cap * sizeof(ParamInfo));
    }
    ParamInfo *p = &m->info[m->n_params++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = ndim == 2 ? d1 : 1;
    p->numel = (size_t)d0 * (ndim == 2 ? (size_t)d1 : 1);
    p->offset = m->total;
    p->is_head = is_head;
    /* keep every tensor 16-float (64-byte) aligned for vector code */
    m->total += (p->numel + 15) & ~(size_t)15;
}

Model *model_create(const HfConfig *cfg, HeadKind head, HeadArch arch, int num_labels) {
    const HfConfig *c = cfg;
    if (c->hidden_size <= 0 || c->num_attention_heads <= 0 || c->hidden_size % c->num_attention_heads)
        die("model", "hidden_size %d is not a multiple of num_attention_heads %d", c->hidden_size,
            c->num_attention_heads);
    if (c->num_hidden_layers < 1 || c->intermediate_size < 1 || c->vocab_size < 1 ||
        c->max_position_embeddings < 1 || c->type_vocab_size < 1)
        die("model", "invalid model sizes in config");
    if (c->pad_token_id < 0 || c->pad_token_id >= c->vocab_size || c->pad_token_id >= c->max_position_embeddings)
        die("model", "pad_token_id %d out of range", c->pad_token_id);
    if (strcmp(c->hidden_act, "gelu") != 0)
        die("model", "hidden_act \"%s\" is not supported (only \"gelu\")", c->hidden_act);
    if (head == HEAD_CLASSIFICATION || head == HEAD_SPAN) {
        if (num_labels < 2) die("model", "a classification head needs at least 2 labels, got %d", num_labels);
    } else if (head == HEAD_REGRESSION || head == HEAD_MULTIPLE_CHOICE) {
        num_labels = 1;
    } else {
        die("model", "unknown head kind %d", (int)head);
    }
    if (arch != ARCH_JIANT && arch != ARCH_HF) die("model", "unknown head architecture %d", (int)arch);
    Model *m = xcalloc(1, sizeof *m);
    m->cfg = *c;
    m->cfg.id2label = NULL; /* the labels stay the caller's */
    m->head = head;
    m->arch = arch;
    m->pooler = -1;
    m->num_labels = num_labels;
    int cap = 0, H = c->hidden_size, I = c->intermediate_size;
    char name[MODEL_NAME_MAX];
    add_param(m, &cap, "roberta.embeddings.word_embeddings.weight", 2, c->vocab_size, H, 0);
    add_param(m, &cap, "roberta.embeddings.position_embeddings.weight", 2, c->max_position_embeddings, H, 0);
    add_param(m, &cap, "roberta.embeddings.token_type_embeddings.weight", 2, c->type_vocab_size, H, 0);
    add_param(m, &cap, "roberta.embeddings.LayerNorm.weight", 1, H, 0, 0);
    add_param(m, &cap, "roberta.embeddings.LayerNorm.bias", 1, H, 0, 0);
    for (int l = 0; l < c->num_hidden_layers; l++) {
        for (int k = 0; k < L_COUNT; k++) {
            snprintf(name, sizeof name, "roberta.encoder.layer.%d.%s", l, layer_suffix[k]);
            int64_t rows = H, cols = H;
            if (k == L_IW || k == L_IB) rows = I;
            if (k == L_O2W) cols = I;
            int is_w = k == L_QW || k == L_KW || k == L_VW || k == L_OW || k == L_IW || k == L_O2W;
            add_param(m, &cap, name, is_w ? 2 : 1, rows, cols, 0);
        }
    }
    if (head_arch_has_pooler(arch, head)) {
        m->pooler = m->n_params;
        add_param(m, &cap, "roberta.pooler.dense.weight", 2, H, H, 0);
        add_param(m, &cap, "roberta.pooler.dense.bias", 1, H, 0, 0);
    }
    m->head_first = m->n_params;
    if (head == HEAD_MULTIPLE_CHOICE && arch == ARCH_HF) { /* RobertaForMultipleChoice */
        add_param(m, &cap, "classifier.weight", 2, 1, H, 1);
        add_param(m, &cap, "classifier.bias", 1, 1, 0, 1);
    } else if (head == HEAD_SPAN) {
        add_param(m, &cap, "classifier.span_attention.weight", 2, 1, H, 1);
        add_param(m, &cap, "classifier.span_attention.bias", 1, 1, 0, 1);
        add_param(m, &cap, "classifier.out_proj.weight", 2, num_labels, (int64_t)SPAN_COUNT * H, 1);
        add_param(m, &cap, "classifier.out_proj.bias", 1, num_labels, 0, 1);
    } else {
        add_param(m, &cap, "classifier.dense.weight", 2, H, H, 1);
        add_param(m, &cap, "classifier.dense.bias", 1, H, 0, 1);
        add_param(m, &cap, "classifier.out_proj.weight", 2, num_labels, H, 1);
        add_param(m, &cap, "classifier.out_proj.bias", 1, num_labels, 0, 1);
    }
    m->n_base = m->n_params;
    m->params = ops_alloc(m->total);
    ops_zero(m->params, m->total);
    m->gspec = xcalloc((size_t)m->n_params, sizeof(GradSpec));
    m->gptr = xcalloc((size_t)m->n_params, sizeof(float *)); /* built on first use */
    m->acts = xcalloc(1, sizeof(Acts));
    return m;
}

static void acts_release(Acts *a) {
    void *bufs[] = {a->ids, a->pos, a->spans, a->labels, a->maskadd, a->target, a->emb,
                    a->emb_mean, a->emb_rstd, a->xs, a->q, a->k, a->v, a->ctx, a->r1, a->a,
                    a->r2, a->mean1, a->rstd1, a->mean2, a->rstd2, a->f1, a->P, a->g1, a->g2,
                    a->g3, a->g4, a->gi, a->att1, a->att2, a->cls, a->pool, a->hd1, a->th, a->hd2,
                    a->out, a->probs, a->dout, a->dh1, a->dh2, a->atok, a->spw, a->sp, a->sp1};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ops_free(bufs[i]);
    memset(a, 0, sizeof *a);
}

static void grads_release(Model *m) {
    if (m->grads) ops_free(m->grads);
    else
        for (int i = 0; i < m->n_params; i++) ops_free(m->gptr[i]);
    m->grads = NULL;
    memset(m->gptr, 0, (size_t)m->n_params * sizeof(float *));
    m->grad_ready = 0;
}

static void gspec_release(GradSpec *g) {
    if (g->dindex && g->dindex != g->index) ops_free(g->dindex);
    g->dindex = NULL;
}

void model_free(Model *m) {
    if (!m) return;
    lora_free(m->lora);
    adapter_free(m->adapter);
    for (int i = 0; i < m->n_params; i++) gspec_release(&m->gspec[i]);
    acts_release(m->acts);
    free(m->acts);
    grads_release(m);
    free(m->gptr);
    ops_free(m->params);
    free(m->info);
    free(m->gspec);
    free(m->logits);
    free(m);
}

int model_add_extras(Model *m, const ExtraTensor *t, int n) {
    int first = m->n_params, cap = m->n_params;
    grads_release(m); /* (over the old table) the layout changes */
    for (int j = 0; j < n; j++) {
        if (model_find(m, t[j].name) >= 0) die("model", "tensor %s exists already", t[j].name);
        add_param(m, &cap, t[j].name, t[j].ndim, t[j].shape[0], t[j].shape[1], 0);
    }
    /* the values move to a bigger buffer (once, at set-up: through the host) */
    size_t old_total = m->info[first].offset;
    float *host = xmalloc((old_total ? old_total : 1) * sizeof *host);
    ops_download(host, m->params, old_total * sizeof *host);
    ops_free(m->params);
    m->params = ops_alloc(m->total);
    ops_zero(m->params, m->total);
    ops_upload(m->params, host, old_total * sizeof *host);
    free(host);
    m->gspec = xrealloc(m->gspec, (size_t)m->n_params * sizeof *m->gspec);
    memset(m->gspec + first, 0, (size_t)n * sizeof *m->gspec);
    m->gptr = xrealloc(m->gptr, (size_t)m->n_params * sizeof *m->gptr);
    memset(m->gptr, 0, (size_t)m->n_params * sizeof *m->gptr);
    return first;
}

int model_find(const Model *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->info[i].name, name) == 0) return i;
    return -1;
}

static size_t grad_floats(const Model *m, int i) {
    const GradSpec *g = &m->gspec[i];
    return g->mode == GRAD_DENSE ? m->info[i].numel : g->mode == GRAD_SPARSE ? g->k : 0;
}

/* Storage for the current GradModes (model.h, GRADIENTS): the contiguous layout when every
 * tensor is dense, else one compact buffer per tensor and none for frozen tensors, so masked
 * training never holds a model-sized gradient. */
static void grads_ensure(Model *m) {
    if (m->grad_ready) return;
    grads_release(m);
    int all_dense = 1;
    for (int i = 0; i < m->n_params; i++) all_dense &= m->gspec[i].mode == GRAD_DENSE;
    if (all_dense) {
        m->grads = ops_alloc(m->total);
        ops_zero(m->grads, m->total);
        for (int i = 0; i < m->n_params; i++) m->gptr[i] = m->grads + m->info[i].offset;
    } else {
        for (int i = 0; i < m->n_params; i++) {
            size_t n = grad_floats(m, i);
            if (!n) continue;
            m->gptr[i] = ops_alloc(n);
            ops_zero(m->gptr[i], n);
        }
    }
    m->grad_ready = 1;
}

float *model_grad(Model *m, int idx) {
    grads_ensure(m);
    return m->gptr[idx];
}

size_t model_grad_bytes(const Model *m) {
    int all_dense = 1;
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++) {
        all_dense &= m->gspec[i].mode == GRAD_DENSE;
        n += grad_floats(m, i);
    }
    return (all_dense ? m->total : n) * sizeof(float);
}

void model_zero_grad(Model *m) {
    if (!m->grad_ready) {
        grads_ensure(m); /* fresh storage is zero */
        return;
    }
    if (m->grads) {
        ops_zero(m->grads, m->total);
        return;
    }
    for (int i = 0; i < m->n_params; i++)
        if (m->gptr[i]) ops_zero(m->gptr[i], grad_floats(m, i));
}

void model_set_grad_mode(Model *m, int idx, GradMode mode, const uint32_t *index, size_t k) {
    if (idx < 0 || idx >= m->n_params) die("model", "no tensor %d", idx);
    const ParamInfo *p = &m->info[idx];
    if (mode == GRAD_SPARSE) {
        for (size_t j = 0; j < k; j++)
            if (index[j] >= p->numel || (j > 0 && index[j] <= index[j - 1]))
                die(p->name, "sparse gradient index is not sorted, unique and below %zu (entry %zu)",
                    p->numel, j);
    } else if (mode != GRAD_DENSE && mode != GRAD_NONE) {
        die(p->name, "unknown gradient mode %d", (int)mode);
    }
    gspec_release(&m->gspec[idx]);
    m->gspec[idx] = (GradSpec){mode, mode == GRAD_SPARSE ? index : NULL, mode == GRAD_SPARSE ? k : 0, NULL};
    if (mode == GRAD_SPARSE) {
        if (ops_current() == &ops_cpu_backend) {
            m->gspec[idx].dindex = (uint32_t *)index;
        } else {
            m->gspec[idx].dindex = (uint32_t *)ops_alloc_i32(k);
            ops_upload(m->gspec[idx].dindex, index, k * sizeof *index);
        }
    }
    m->grad_ready = 0;
}

void model_get_tensor(const Model *m, int idx, float *host) {
    ops_download(host, m->params + m->info[idx].offset, m->info[idx].numel * sizeof(float));
}

void model_set_tensor(Model *m, int idx, const float *host) {
    ops_upload(m->params + m->info[idx].offset, host, m->info[idx].numel * sizeof(float));
}

void model_get_params(const Model *m, float *host) {
    ops_download(host, m->params, m->total * sizeof(float));
}

/* ------------------------------------------------------------------ initialisation */

static void fill_normal(Model *m, int idx, Rng *r, double std) {
    size_t n = m->info[idx].numel;
    float *host = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) host[i] = (float)(std * rng_normal(r));
    ops_upload(model_param(m, idx), host, n * sizeof(float));
    free(host);
}

static void fill_const(Model *m, int idx, float v) {
    size_t n = m->info[idx].numel;
    float *host = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) host[i] = v;
    ops_upload(model_param(m, idx), host, n * sizeof(float));
    free(host);
}

static int is_layernorm(const char *name) { return strstr(name, "LayerNorm.") != NULL; }
static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

void model_init_head(Model *m, uint64_t seed) {
    Rng r;
    rng_init(&r, seed, RNG_STREAM_HEAD_INIT, 0);
    for (int i = m->head_first; i < m->n_base; i++) {
        if (ends_with(m->info[i].name, ".weight")) fill_normal(m, i, &r, m->cfg.initializer_range);
        else fill_const(m, i, 0.0f);
    }
}

void model_init_pooler(Model *m, uint64_t seed) {
    if (m->pooler < 0) return;
    Rng r;
    rng_init(&r, seed, RNG_STREAM_HEAD_INIT, 1);
    fill_normal(m, m->pooler, &r, m->cfg.initializer_range);
    fill_const(m, m->pooler + 1, 0.0f);
}

void model_init_random(Model *m, uint64_t seed) {
    Rng r;
    rng_init(&r, seed, RNG_STREAM_MODEL_INIT, 0);
    for (int i = 0; i < m->head_first; i++) {
        const char *nm = m->info[i].name;
        if (is_layernorm(nm)) fill_const(m, i, ends_with(nm, ".weight") ? 1.0f : 0.0f);
        else if (ends_with(nm, ".weight")) fill_normal(m, i, &r, m->cfg.initializer_range);
        else fill_const(m, i, 0.0f);
    }
    /* nn.Embedding(padding_idx=pad): that row starts at zero */
    int H = m->cfg.hidden_size;
    ops_zero(model_param(m, E_WORD) + (size_t)m->cfg.pad_token_id * H, (size_t)H);
    model_init_head(m, seed);
}

/* ------------------------------------------------------------------ loading */

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t off = 0;
    off += (size_t)snprintf(buf + off, n - off, "[");
    for (int i = 0; i < ndim && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (off < n) snprintf(buf + off, n - off, "]");
}

/* Does the checkpoint's classifier.* head fit this model's exactly (every tensor, same shapes)?
 * -1: it has none. */
static int head_fits(const Model *m, const SafeTensors *st) {
    int n = 0, fits = 1;
    for (int t = 0; t < st->n; t++) {
        const SafeTensor *x = &st->t[t];
        if (strncmp(x->name, "classifier.", 11) != 0) continue;
        n++;
        int idx = model_find(m, x->name);
        int same = idx >= 0 && m->info[idx].is_head && x->ndim == m->info[idx].ndim;
        for (int d = 0; same && d < x->ndim; d++) same = x->shape[d] == m->info[idx].shape[d];
        fits &= same;
    }
    return n == 0 ? -1 : fits && n == m->n_base - m->head_first;
}

int model_load(Model *m, const SafeTensors *st, const char *where) {
    char *loaded = xcalloc((size_t)m->n_params, 1);
    int head_loaded = 0;
    /* A head of another task (other labels, kind or architecture: an MNLI checkpoint for CB) is
     * left out, as HF's ignore_mismatched_sizes does; the caller initialises a new one. */
    int fits = head_fits(m, st);
    for (int t = 0; t < st->n; t++) {
        const SafeTensor *x = &st->t[t];
        const char *nm = x->name;
        if (fits == 0 && strncmp(nm, "classifier.", 11) == 0) continue;
        const char *bare = strncmp(nm, "roberta.", 8) == 0 ? nm + 8 : nm;
        if (strncmp(bare, "lm_head.", 8) == 0 || (strncmp(bare, "pooler.", 7) == 0 && m->pooler < 0) ||
            ends_with(bare, "position_ids") || ends_with(bare, "token_type_ids"))
            continue; /* not used by the engine (HF buffers, MLM head, a pooler this head lacks) */
        char full[MODEL_NAME_MAX + 16];
        if (strncmp(bare, "embeddings.", 11) == 0 || strncmp(bare, "encoder.", 8) == 0 ||
            strncmp(bare, "pooler.", 7) == 0)
            snprintf(full, sizeof full, "roberta.%s", bare);
        else
            snprintf(full, sizeof full, "%s", nm);
        int idx = model_find(m, full);
        if (idx < 0) {
            if (strncmp(nm, "classifier.", 11) == 0)
                die(where, "checkpoint head tensor %s does not belong to the %s head of --head %s "
                    "(a head of another task type or architecture?)", nm,
                    m->head == HEAD_SPAN ? "span comparison" : m->head == HEAD_MULTIPLE_CHOICE ? "multiple choice"
                                                                                              : "classification",
                    head_arch_name(m->arch));
            die(where, "unknown tensor %s (not a RoBERTa encoder parameter)", nm);
        }
        const ParamInfo *p = &m->info[idx];
        if (loaded[idx]) die(where, "tensor %s given twice (with and without \"roberta.\")", p->name);
        if (x->dtype != ST_F32 && x->dtype != ST_F16 && x->dtype != ST_BF16 && x->dtype != ST_F64)
            die(where, "tensor %s has dtype %s, expected a float type", nm, st_dtype_name(x->dtype));
        int same = x->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = x->shape[d] == p->shape[d];
        if (!same) {
            char a[64], b[64];
            shape_str(a, sizeof a, x->ndim, x->shape);
            shape_str(b, sizeof b, p->ndim, p->shape);
            die(where, "tensor %s has shape %s, the model (config.json and head) needs %s", nm, a, b);
        }
        float *host = xmalloc(p->numel * sizeof(float));
        safetensor_to_f32(x, host);
        ops_upload(model_param(m, idx), host, p->numel * sizeof(float));
        free(host);
        loaded[idx] = 1;
        head_loaded += p->is_head;
    }
    for (int i = 0; i < m->head_first; i++)
        if (!loaded[i] && (m->pooler < 0 || (i != m->pooler && i != m->pooler + 1)))
            die(where, "checkpoint lacks tensor %s", m->info[i].name);
    int pooler_loaded = m->pooler >= 0 && loaded[m->pooler] + loaded[m->pooler + 1];
    if (pooler_loaded && !(loaded[m->pooler] && loaded[m->pooler + 1]))
        die(where, "checkpoint has a partial pooler: %s is missing",
            m->info[loaded[m->pooler] ? m->pooler + 1 : m->pooler].name);
    int n_head = m->n_base - m->head_first;
    if (head_loaded && head_loaded != n_head) {
        for (int i = m->head_first; i < m->n_base; i++)
            if (!loaded[i]) die(where, "checkpoint has a partial task head: %s is missing", m->info[i].name);
    }
    free(loaded);
    return (head_loaded == n_head ? MODEL_LOADED_HEAD : 0) | (pooler_loaded ? MODEL_LOADED_POOLER : 0) |
           (fits == 0 ? MODEL_HEAD_IGNORED : 0);
}

/* ------------------------------------------------------------------ batch checks */

static int errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

int model_check_batch(const Model *m, const Batch *b, char *err, size_t errlen) {
    const HfConfig *c = &m->cfg;
    if (b->B < 1 || b->T < 1 || b->n_choices < 1) return errf(err, errlen, "empty batch");
    if (m->head != HEAD_MULTIPLE_CHOICE && b->n_choices != 1)
        return errf(err, errlen, "%d choices per example but the head is not multiple choice", b->n_choices);
    if (c->pad_token_id + b->T >= c->max_position_embeddings)
        return errf(err, errlen, "sequence length %d exceeds the model's %d positions", b->T,
                    c->max_position_embeddings - c->pad_token_id - 1);
    int S = b->B * b->n_choices;
    for (int s = 0; s < S; s++) {
        if (b->len[s] < 1 || b->len[s] > b->T)
            return errf(err, errlen, "sequence %d has length %d (padded length %d)", s, b->len[s], b->T);
        for (int t = 0; t < b->T; t++) {
            int32_t id = b->ids[(size_t)s * b->T + t];
            if (id < 0 || id >= c->vocab_size)
                return errf(err, errlen, "token id %d of sequence %d is outside the vocabulary (%d)", id, s, c->vocab_size);
        }
    }
    for (int i = 0; i < b->B; i++) {
        if (m->head == HEAD_REGRESSION) {
            if (!isfinite(b->target[i])) return errf(err, errlen, "example %d has a non-finite target", i);
            continue;
        }
        int C = m->head == HEAD_MULTIPLE_CHOICE ? b->n_choices : m->num_labels;
        if (b->label[i] < 0 || b->label[i] >= C)
            return errf(err, errlen, "example %d has label %d, expected 0..%d", i, b->label[i], C - 1);
        if (m->head == HEAD_SPAN) {
            for (int j = 0; j < SPAN_COUNT; j++) {
                int st = b->spans[(i * SPAN_COUNT + j) * 2], en = b->spans[(i * SPAN_COUNT + j) * 2 + 1];
                if (st < 0 || en < st || en >= b->len[i])
                    return errf(err, errlen, "example %d: span %d [%d,%d] is not inside its %d tokens", i, j, st, en, b->len[i]);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ activations */

static void acts_reserve(Model *m, int S, int T) {
    Acts *a = m->acts;
    const HfConfig *c = &m->cfg;
    size_t N = (size_t)S * T, H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers;
    size_t att = (size_t)S * c->num_attention_heads * T * T;
    if (N > a->capN || att > a->capAtt) {
        acts_release(a);
        a->capN = N;
        a->capAtt = att;
        size_t Sx = (size_t)S, wide = 2 * H > (size_t)m->num_labels ? 2 * H : (size_t)m->num_labels;
        a->ids = ops_alloc_i32(N);
        a->pos = ops_alloc_i32(N);
        a->spans = ops_alloc_i32(Sx * SPAN_COUNT * 2);
        a->labels = ops_alloc_i32(Sx);
        a->maskadd = ops_alloc(N);
        a->target = ops_alloc(Sx);
        a->emb = ops_alloc(N * H);
        a->emb_mean = ops_alloc(N);
        a->emb_rstd = ops_alloc(N);
        a->xs = ops_alloc((L + 1) * N * H);
        a->q = ops_alloc(L * N * H);
        a->k = ops_alloc(L * N * H);
        a->v = ops_alloc(L * N * H);
        a->ctx = ops_alloc(L * N * H);
        a->r1 = ops_alloc(L * N * H);
        a->a = ops_alloc(L * N * H);
        a->r2 = ops_alloc(L * N * H);
        a->mean1 = ops_alloc(L * N);
        a->rstd1 = ops_alloc(L * N);
        a->mean2 = ops_alloc(L * N);
        a->rstd2 = ops_alloc(L * N);
        a->f1 = ops_alloc(L * N * I);
        a->P = ops_alloc(L * att);
        a->g1 = ops_alloc(N * H);
        a->g2 = ops_alloc(N * H);
        a->g3 = ops_alloc(N * H);
        a->g4 = ops_alloc(N * H);
        a->gi = ops_alloc(N * I);
        a->att1 = ops_alloc(att);
        a->att2 = ops_alloc(att);
        a->cls = ops_alloc(Sx * wide);
        a->pool = ops_alloc(Sx * wide);
        a->hd1 = ops_alloc(Sx * wide);
        a->th = ops_alloc(Sx * wide);
        a->hd2 = ops_alloc(Sx * wide);
        a->out = ops_alloc(Sx * wide);
        a->probs = ops_alloc(Sx * wide);
        a->dout = ops_alloc(Sx * wide);
        a->dh1 = ops_alloc(Sx * wide);
        a->dh2 = ops_alloc(Sx * wide);
        a->atok = ops_alloc(N);
        a->spw = ops_alloc(Sx * SPAN_COUNT * T);
        size_t small = I > wide ? I : wide;
        a->sp1 = ops_alloc(small);
        a->sp = NULL; /* allocated by the first backward with a sparse tensor */
    }
    a->S = S;
    a->T = T;
    a->N = (int)N;
}

/* ------------------------------------------------------------------ forward */

/* HF's RobertaClassificationHead: classifier_dropout when set, else hidden_dropout_prob;
 * jiant's heads and HF's RobertaForMultipleChoice: hidden_dropout_prob. */
static float head_dropout(const Model *m) {
    const HfConfig *c = &m->cfg;
    int hf_seq = m->arch == ARCH_HF && m->head != HEAD_MULTIPLE_CHOICE;
    return (float)(hf_seq && c->classifier_dropout >= 0 ? c->classifier_dropout : c->hidden_dropout_prob);
}

#define LP(m, l, k) model_param(m, E_COUNT + (l) * L_COUNT + (k))
#define LI(l, k) (E_COUNT + (l) * L_COUNT + (k))

/* An encoder Linear (weight wi, bias wi + 1) with its LoRA, if it has one. */
static void linear_fwd(Model *m, int wi, float *y, const float *x, int N, int in, int out) {
    op_linear_fwd(y, x, model_param(m, wi), model_param(m, wi + 1), N, in, out);
    if (m->lora) lora_fwd(m, wi, y, x, N, in, out);
}

float model_forward(Model *m, const Batch *b, int train, uint64_t seed, uint32_t step) {
    char err[256];
    if (model_check_batch(m, b, err, sizeof err) != 0) die("batch", "%s", err);
    if (step >= (1u << 24)) die("model", "step %u is too large for the dropout counter (< 2^24)", step);
    const HfConfig *c = &m->cfg;
    int S = b->B * b->n_choices, T = b->T, N = S * T;
    int H = c->hidden_size, I = c->intermediate_size, NH = c->num_attention_heads, HD = H / NH;
    int L = c->num_hidden_layers, C = m->num_labels;
    size_t NHs = (size_t)N * H, att = (size_t)S * NH * T * T;
    float ph = train ? (float)c->hidden_dropout_prob : 0.0f;
    float pa = train ? (float)c->attention_probs_dropout_prob : 0.0f;
    float pc = train ? head_dropout(m) : 0.0f;
    float eps = (float)c->layer_norm_eps;
    acts_reserve(m, S, T);
    Acts *a = m->acts;
    a->train = train;
    a->seed = seed;
    a->step = step;
    if (m->lora) lora_begin(m, N, train, seed, step);
    if (m->adapter) adapter_begin(m, N);

    /* host-side inputs: ids, position ids, key mask, labels */
    int32_t *pos = xmalloc((size_t)N * sizeof(int32_t));
    float *mask = xmalloc((size_t)N * sizeof(float));
    op_position_ids(pos, b->ids, S, T, c->pad_token_id);
    for (int s = 0; s < S; s++)
        for (int t = 0; t < T; t++) mask[(size_t)s * T + t] = t < b->len[s] ? 0.0f : MASK_NEG;
    ops_upload(a->ids, b->ids, (size_t)N * sizeof(int32_t));
    ops_upload(a->pos, pos, (size_t)N * sizeof(int32_t));
    ops_upload(a->maskadd, mask, (size_t)N * sizeof(float));
    ops_upload(a->labels, b->label, (size_t)b->B * sizeof(int32_t));
    ops_upload(a->target, b->target, (size_t)b->B * sizeof(float));
    ops_upload(a->spans, b->spans, (size_t)b->B * SPAN_COUNT * 2 * sizeof(int32_t));
    free(pos);
    free(mask);

    /* embeddings */
    op_embed_fwd(a->emb, a->ids, a->pos, NULL, model_param(m, E_WORD), model_param(m, E_POS),
                 model_param(m, E_TYPE), N, H);
    op_layernorm_fwd(a->xs, a->emb_mean, a->emb_rstd, a->emb, model_param(m, E_LNW),
                     model_param(m, E_LNB), N, H, eps);
    op_dropout_fwd(a->xs, a->xs, NHs, ph, seed, op_dropout_sub(step, 0));

    float scale = 1.0f / sqrtf((float)HD);
    for (int l = 0; l < L; l++) {
        const float *x = a->xs + l * NHs;
        float *q = a->q + l * NHs, *k = a->k + l * NHs, *v = a->v + l * NHs;
        float *ctx = a->ctx + l * NHs, *r1 = a->r1 + l * NHs, *aa = a->a + l * NHs;
        float *r2 = a->r2 + l * NHs, *f1 = a->f1 + (size_t)l * N * I, *P = a->P + l * att;
        float *out = a->xs + (l + 1) * NHs;
        linear_fwd(m, LI(l, L_QW), q, x, N, H, H);
        linear_fwd(m, LI(l, L_KW), k, x, N, H, H);
        linear_fwd(m, LI(l, L_VW), v, x, N, H, H);
        op_attn_scores_fwd(P, q, k, a->maskadd, S, T, NH, HD, scale);
        op_softmax_fwd(P, P, (size_t)S * NH * T, T);
        op_dropout_fwd(a->att1, P, att, pa, seed, op_dropout_sub(step, 1 + 3 * l));
        op_attn_context_fwd(ctx, a->att1, v, S, T, NH, HD);
        linear_fwd(m, LI(l, L_OW), a->g1, ctx, N, H, H);
        op_dropout_fwd(a->g1, a->g1, NHs, ph, seed, op_dropout_sub(step, 2 + 3 * l));
        op_add(r1, a->g1, x, NHs);
        op_layernorm_fwd(aa, a->mean1 + (size_t)l * N, a->rstd1 + (size_t)l * N, r1,
                         LP(m, l, L_LN1W), LP(m, l, L_LN1B), N, H, eps);
        linear_fwd(m, LI(l, L_IW), f1, aa, N, H, I);
        op_gelu_fwd(a->gi, f1, (size_t)N * I);
        linear_fwd(m, LI(l, L_O2W), a->g1, a->gi, N, I, H);
        op_dropout_fwd(a->g1, a->g1, NHs, ph, seed, op_dropout_sub(step, 3 + 3 * l));
        op_add(r2, a->g1, aa, NHs);
        if (m->adapter) /* the bottleneck between the block and its LayerNorm */
            adapter_fwd(m, l, out, a->mean2 + (size_t)l * N, a->rstd2 + (size_t)l * N, r2, N);
        else
            op_layernorm_fwd(out, a->mean2 + (size_t)l * N, a->rstd2 + (size_t)l * N, r2,
                             LP(m, l, L_LN2W), LP(m, l, L_LN2B), N, H, eps);
    }

    /* head */
    const float *hL = a->xs + (size_t)L * NHs;
    float *W0 = model_param(m, m->head_first + H_0W), *b0 = model_param(m, m->head_first + H_0B);
    /* RobertaForMultipleChoice's head is one Linear (two tensors) */
    int two_layer = m->n_base - m->head_first == H_COUNT;
    float *Wo = two_layer ? model_param(m, m->head_first + H_OUTW) : NULL;
    float *bo = two_layer ? model_param(m, m->head_first + H_OUTB) : NULL;
    uint32_t c1 = op_dropout_sub(step, 1 + 3 * L), c2 = op_dropout_sub(step, 2 + 3 * L);
    if (m->head == HEAD_SPAN) {
        int W2 = SPAN_COUNT * H;
        op_linear_fwd(a->atok, hL, W0, b0, N, H, 1);
        op_span_pool_fwd(a->cls, a->spw, hL, a->atok, a->spans, S, T, H, SPAN_COUNT);
        op_dropout_fwd(a->hd1, a->cls, (size_t)S * W2, pc, seed, c1);
        op_linear_fwd(a->out, a->hd1, Wo, bo, S, W2, C);
    } else if (m->pooler < 0) { /* hf: RobertaClassificationHead on h<s> */
        op_gather_first_fwd(a->cls, hL, S, T, H);
        op_dropout_fwd(a->hd1, a->cls, (size_t)S * H, pc, seed, c1);
        op_linear_fwd(a->th, a->hd1, W0, b0, S, H, H);
        op_tanh_fwd(a->th, a->th, (size_t)S * H);
        op_dropout_fwd(a->hd2, a->th, (size_t)S * H, pc, seed, c2);
        op_linear_fwd(a->out, a->hd2, Wo, bo, S, H, C);
    } else { /* pooled = tanh(pooler(h<s>)), then RobertaForMultipleChoice's or jiant's head */
        op_gather_first_fwd(a->cls, hL, S, T, H);
        op_linear_fwd(a->pool, a->cls, model_param(m, m->pooler), model_param(m, m->pooler + 1), S, H, H);
        op_tanh_fwd(a->pool, a->pool, (size_t)S * H);
        op_dropout_fwd(a->hd1, a->pool, (size_t)S * H, pc, seed, c1);
        if (m->arch == ARCH_HF) { /* classifier.weight/bias are the first two head tensors */
            op_linear_fwd(a->out, a->hd1, W0, b0, S, H, 1);
        } else {
            op_linear_fwd(a->th, a->hd1, W0, b0, S, H, H);
            op_tanh_fwd(a->th, a->th, (size_t)S * H);
            op_dropout_fwd(a->hd2, a->th, (size_t)S * H, pc, seed, c2);
            op_linear_fwd(a->out, a->hd2, Wo, bo, S, H, C);
        }
    }
    int nlog = S * C; /* == B*C, B (regression), B*NC (multiple choice) */
    float loss;
    if (m->head == HEAD_REGRESSION) loss = op_mse_fwd(a->out, a->target, b->B);
    else if (m->head == HEAD_MULTIPLE_CHOICE)
        loss = op_cross_entropy_fwd(a->probs, a->out, a->labels, b->B, b->n_choices);
    else loss = op_cross_entropy_fwd(a->probs, a->out, a->labels, b->B, C);
    if (m->logits_n < nlog) m->logits = xrealloc(m->logits, (size_t)nlog * sizeof(float));
    m->logits_n = nlog;
    ops_download(m->logits, a->out, (size_t)nlog * sizeof(float));
    m->loss = loss;
    return loss;
}

/* ------------------------------------------------------------------ backward */

/* Gradient of a Linear (weight tensor wi, bias wi + 1) honouring the tensors' GradModes;
 * dx as op_linear_bwd. */
static void linear_grads(Model *m, int wi, float *dx, int acc, const float *dy, const float *x,
                         int N, int in, int out) {
    Acts *a = m->acts;
    const GradSpec *gw = &m->gspec[wi], *gb = &m->gspec[wi + 1];
    op_linear_bwd(dx, gw->mode == GRAD_DENSE ? model_grad(m, wi) : NULL,
                  gb->mode == GRAD_DENSE ? model_grad(m, wi + 1) : NULL, dy, x, model_param(m, wi),
                  N, in, out, acc);
    if (gw->mode == GRAD_SPARSE)
        op_linear_dw_sparse(model_grad(m, wi), gw->dindex, gw->k, dy, x, N, in, out, a->sp);
    if (gb->mode == GRAD_SPARSE) {
        ops_zero(a->sp1, (size_t)out);
        op_linear_bwd(NULL, NULL, a->sp1, dy, x, NULL, N, in, out, 0);
        op_add_selected(model_grad(m, wi + 1), gb->dindex, gb->k, a->sp1);
    }
    if (m->lora) lora_bwd(m, wi, dx, dy, x, N, in, out);
}

void model_linear_grads(Model *m, int wi, float *dx, int acc, const float *dy, const float *x,
                        int N, int in, int out) {
    linear_grads(m, wi, dx, acc, dy, x, N, in, out);
}

/* LayerNorm backward (weight wi, bias wi + 1) honouring the GradModes. */
void model_layernorm_grads(Model *m, int wi, float *dx, int acc, const float *dy, const float *x,
                           const float *mean, const float *rstd, int N, int H) {
    Acts *a = m->acts;
    const GradSpec *gw = &m->gspec[wi], *gb = &m->gspec[wi + 1];
    float *dw = gw->mode == GRAD_DENSE ? model_grad(m, wi) : gw->mode == GRAD_SPARSE ? a->sp1 : NULL;
    float *db = gb->mode == GRAD_DENSE ? model_grad(m, wi + 1) : gb->mode == GRAD_SPARSE ? a->sp1 + H : NULL;
    if (gw->mode == GRAD_SPARSE || gb->mode == GRAD_SPARSE) ops_zero(a->sp1, 2 * (size_t)H);
    op_layernorm_bwd(dx, dw, db, dy, x, mean, rstd, model_param(m, wi), N, H, acc);
    if (gw->mode == GRAD_SPARSE) op_add_selected(model_grad(m, wi), gw->dindex, gw->k, a->sp1);
    if (gb->mode == GRAD_SPARSE) op_add_selected(model_grad(m, wi + 1), gb->dindex, gb->k, a->sp1 + H);
}

static void embedding_grads(Model *m, int wi, const int32_t *rows, const float *dout, int N, int H) {
    const GradSpec *g = &m->gspec[wi];
    if (g->mode == GRAD_DENSE) {
        if (wi == E_WORD) op_embed_bwd(dout, rows, NULL, NULL, model_grad(m, wi), NULL, NULL, N, H);
        else if (wi == E_POS) op_embed_bwd(dout, NULL, rows, NULL, NULL, model_grad(m, wi), NULL, N, H);
        else op_embed_bwd(dout, NULL, NULL, rows, NULL, NULL, model_grad(m, wi), N, H);
    } else if (g->mode == GRAD_SPARSE) {
        op_embed_bwd_sparse(model_grad(m, wi), g->dindex, g->k, rows, dout, N, H);
    }
}

void model_backward(Model *m, const Batch *b) {
    const HfConfig *c = &m->cfg;
    Acts *a = m->acts;
    int S = b->B * b->n_choices, T = b->T, N = S * T;
    if (S != a->S || T != a->T) die("model", "model_backward called with another batch than the forward");
    grads_ensure(m);
    int H = c->hidden_size, I = c->intermediate_size, NH = c->num_attention_heads, HD = H / NH;
    int L = c->num_hidden_layers, C = m->num_labels;
    size_t NHs = (size_t)N * H, att = (size_t)S * NH * T * T;
    float ph = a->train ? (float)c->hidden_dropout_prob : 0.0f;
    float pa = a->train ? (float)c->attention_probs_dropout_prob : 0.0f;
    float pc = a->train ? head_dropout(m) : 0.0f;
    uint64_t seed = a->seed;
    uint32_t step = a->step;
    float scale = 1.0f / sqrtf((float)HD);

    int any_sparse = 0;
    for (int i = 0; i < m->n_params; i++) any_sparse |= m->gspec[i].mode == GRAD_SPARSE;
    if (any_sparse && !a->sp) { /* transposes of dY and X of the widest Linear */
        size_t w = (size_t)(H + I) > 2 * (size_t)H + C ? (size_t)(H + I) : 2 * (size_t)H + C;
        a->sp = ops_alloc(a->capN * w);
    }

    /* loss -> logits */
    if (m->head == HEAD_REGRESSION) op_mse_bwd(a->dout, a->out, a->target, b->B, 1.0f);
    else if (m->head == HEAD_MULTIPLE_CHOICE)
        op_cross_entropy_bwd(a->dout, a->probs, a->labels, b->B, b->n_choices, 1.0f);
    else op_cross_entropy_bwd(a->dout, a->probs, a->labels, b->B, C, 1.0f);

    /* head -> dH (gradient of the last hidden states), kept in g4 */
    float *dH = a->g4;
    ops_zero(dH, NHs);
    const float *hL = a->xs + (size_t)L * NHs;
    int hf = m->head_first;
    uint32_t c1 = op_dropout_sub(step, 1 + 3 * L), c2 = op_dropout_sub(step, 2 + 3 * L);
    if (m->head == HEAD_SPAN) {
        int W2 = SPAN_COUNT * H;
        linear_grads(m, hf + H_OUTW, a->dh1, 0, a->dout, a->hd1, S, W2, C);
        op_dropout_bwd(a->dh1, a->dh1, (size_t)S * W2, pc, seed, c1);
        /* g3 (as [S,T]) receives d(span attention logits) */
        op_span_pool_bwd(dH, a->g3, a->dh1, a->cls, a->spw, hL, a->spans, S, T, H, SPAN_COUNT);
        linear_grads(m, hf + H_0W, dH, 1, a->g3, hL, N, H, 1);
    } else {
        if (m->pooler >= 0 && m->arch == ARCH_HF) { /* RobertaForMultipleChoice: one Linear */
            linear_grads(m, hf, a->dh1, 0, a->dout, a->hd1, S, H, 1);
        } else {
            linear_grads(m, hf + H_OUTW, a->dh2, 0, a->dout, a->hd2, S, H, C);
            op_dropout_bwd(a->dh2, a->dh2, (size_t)S * H, pc, seed, c2);
            op_tanh_bwd(a->dh2, a->dh2, a->th, (size_t)S * H);
            linear_grads(m, hf + H_0W, a->dh1, 0, a->dh2, a->hd1, S, H, H);
        }
        op_dropout_bwd(a->dh1, a->dh1, (size_t)S * H, pc, seed, c1);
        if (m->pooler >= 0) { /* d pooled -> d h<s> through tanh and the pooler (dh2 = d h<s>) */
            op_tanh_bwd(a->dh1, a->dh1, a->pool, (size_t)S * H);
            linear_grads(m, m->pooler, a->dh2, 0, a->dh1, a->cls, S, H, H);
            op_gather_first_bwd(dH, a->dh2, S, T, H);
        } else {
            op_gather_first_bwd(dH, a->dh1, S, T, H);
        }
    }

    /* encoder layers, last to first; dH: gradient of the layer output, then of its input */
    for (int l = L - 1; l >= 0; l--) {
        const float *x = a->xs + l * NHs;
        const float *q = a->q + l * NHs, *k = a->k + l * NHs, *v = a->v + l * NHs;
        const float *ctx = a->ctx + l * NHs, *r1 = a->r1 + l * NHs, *aa = a->a + l * NHs;
        const float *r2 = a->r2 + l * NHs, *f1 = a->f1 + (size_t)l * N * I, *P = a->P + l * att;
        /* output LayerNorm; g1 = d r2 = d a (residual) */
        if (m->adapter) adapter_bwd(m, l, a->g1, dH, r2, a->mean2 + (size_t)l * N, a->rstd2 + (size_t)l * N, N);
        else model_layernorm_grads(m, LI(l, L_LN2W), a->g1, 0, dH, r2, a->mean2 + (size_t)l * N, a->rstd2 + (size_t)l * N, N, H);
        op_dropout_bwd(a->g2, a->g1, NHs, ph, seed, op_dropout_sub(step, 3 + 3 * l));
        /* FFN: dW2 needs gelu(f1) (recomputed), then gi becomes d gelu -> d f1 */
        op_gelu_fwd(a->gi, f1, (size_t)N * I);
        linear_grads(m, LI(l, L_O2W), NULL, 0, a->g2, a->gi, N, I, H);
        op_linear_bwd(a->gi, NULL, NULL, a->g2, NULL, LP(m, l, L_O2W), N, I, H, 0);
        if (m->lora) lora_bwd_dx(m, LI(l, L_O2W), a->gi, N, I); /* its part of d gelu */
        op_gelu_bwd(a->gi, a->gi, f1, (size_t)N * I);
        linear_grads(m, LI(l, L_IW), a->g1, 1, a->gi, aa, N, H, I);
        /* attention LayerNorm; dH = d r1 = d x (residual part), then accumulates d x */
        model_layernorm_grads(m, LI(l, L_LN1W), dH, 0, a->g1, r1, a->mean1 + (size_t)l * N, a->rstd1 + (size_t)l * N, N, H);
        op_dropout_bwd(a->g2, dH, NHs, ph, seed, op_dropout_sub(step, 2 + 3 * l));
        linear_grads(m, LI(l, L_OW), a->g1, 0, a->g2, ctx, N, H, H);
        /* context = dropout(P) v */
        op_dropout_fwd(a->att1, P, att, pa, seed, op_dropout_sub(step, 1 + 3 * l));
        op_attn_context_bwd(a->att2, a->g2, a->g1, a->att1, v, S, T, NH, HD); /* g2 = dv */
        op_dropout_bwd(a->att2, a->att2, att, pa, seed, op_dropout_sub(step, 1 + 3 * l));
        op_softmax_bwd(a->att2, a->att2, P, (size_t)S * NH * T, T);
        op_attn_scores_bwd(a->g1, a->g3, a->att2, q, k, S, T, NH, HD, scale); /* g1 = dq, g3 = dk */
        linear_grads(m, LI(l, L_QW), dH, 1, a->g1, x, N, H, H);
        linear_grads(m, LI(l, L_KW), dH, 1, a->g3, x, N, H, H);
        linear_grads(m, LI(l, L_VW), dH, 1, a->g2, x, N, H, H);
    }

    /* embeddings */
    op_dropout_bwd(a->g1, dH, NHs, ph, seed, op_dropout_sub(step, 0));
    model_layernorm_grads(m, E_LNW, a->g2, 0, a->g1, a->emb, a->emb_mean, a->emb_rstd, N, H);
    embedding_grads(m, E_WORD, a->ids, a->g2, N, H);
    embedding_grads(m, E_POS, a->pos, a->g2, N, H);
    embedding_grads(m, E_TYPE, NULL, a->g2, N, H);
}
