/* test_cuda_model.c — the whole engine on the CUDA backend against the CPU backend: loss,
 * logits and every gradient for all four heads with dropout on, dense and masked (sparse /
 * frozen) gradient modes, and a few AdamW steps of masked training.  In the test build the
 * CUDA backend is the CPU emulator (kernels/emu/) running the real kernel code; with an nvcc
 * build on a GPU machine (make test SAN=0) it is the GPU.  Skips when there is no CUDA
 * backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_fixture.h"
#include "harness.h"
#include "model.h"
#include "ops_backend.h"
#include "optim.h"
#include "rng.h"
#include "util.h"

static HfConfig cuda_cfg(void) {
    HfConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 48;
    c.hidden_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 72; /* not a multiple of the block sizes */
    c.max_position_embeddings = 24;
    c.type_vocab_size = 1;
    c.pad_token_id = 1;
    c.layer_norm_eps = 1e-5;
    c.initializer_range = 0.2; /* large weights: nontrivial attention and GELU ranges */
    c.hidden_dropout_prob = 0.1;
    c.attention_probs_dropout_prob = 0.1;
    c.classifier_dropout = -1;
    snprintf(c.hidden_act, sizeof c.hidden_act, "gelu");
    return c;
}

/* Three examples (two choices each for multiple choice) of different lengths. */
static void make_batch(Batch *b, HeadKind head) {
    int nc = head == HEAD_MULTIPLE_CHOICE ? 2 : 1, T = 9;
    batch_alloc(b, 3, nc, T, 1);
    Rng r;
    rng_init(&r, 11, RNG_STREAM_DATA_ORDER, 0);
    for (int s = 0; s < 3 * nc; s++) {
        int len = 4 + (s * 5) % 6, ids[16];
        ids[0] = 0;
        for (int t = 1; t < len - 1; t++) ids[t] = 3 + (int)rng_below(&r, 45);
        ids[len - 1] = 2;
        batch_set_seq(b, s, ids, len);
    }
    for (int i = 0; i < 3; i++) {
        b->label[i] = i % 2;
        b->target[i] = 0.7f * (float)i - 0.5f;
        int len = b->len[i * nc];
        b->spans[i * 4 + 0] = 1, b->spans[i * 4 + 1] = 1 + i % 2;
        b->spans[i * 4 + 2] = 2, b->spans[i * 4 + 3] = len - 2;
    }
}

typedef struct Result {
    float loss;
    float *logits; /* logits_n */
    int logits_n;
    float **grad;  /* per tensor, host, NULL for frozen */
    size_t *n;     /* floats per tensor gradient */
} Result;

static void result_free(Result *r, int n_params) {
    for (int i = 0; i < n_params; i++) free(r->grad[i]);
    free(r->grad), free(r->n), free(r->logits);
}

/* sparse: tensor i is sparse (i % 3 == 0: ~15% of entries), frozen (i % 3 == 1) or dense. */
static Model *make_model(HeadKind head, HeadArch arch, int nl, const float *params, int sparse,
                         uint32_t ***idx_out) {
    HfConfig c = cuda_cfg();
    Model *m = model_create(&c, head, arch, nl);
    for (int i = 0; i < m->n_params; i++) model_set_tensor(m, i, params + m->info[i].offset);
    if (sparse) {
        uint32_t **idx = xcalloc((size_t)m->n_params, sizeof *idx);
        Rng r;
        rng_init(&r, 5, RNG_STREAM_RANDOM_MASK, 0);
        for (int i = 0; i < m->n_params; i++) {
            const ParamInfo *p = &m->info[i];
            if (i % 3 == 0 || i == m->pooler) {
                idx[i] = xmalloc(p->numel * sizeof(uint32_t));
                size_t k = 0;
                for (size_t j = 0; j < p->numel; j++)
                    if (rng_uniform(&r) < 0.15 || (i == 0 && j / p->shape[1] < 8)) idx[i][k++] = (uint32_t)j;
                model_set_grad_mode(m, i, GRAD_SPARSE, idx[i], k);
            } else if (i % 3 == 1) {
                model_set_grad_mode(m, i, GRAD_NONE, NULL, 0);
            }
        }
        *idx_out = idx;
    }
    return m;
}

static void run_step(const OpsBackend *be, HeadKind head, HeadArch arch, int nl, const float *params,
                     int sparse, Result *res) {
    ops_use(be);
    uint32_t **idx = NULL;
    Model *m = make_model(head, arch, nl, params, sparse, &idx);
    Batch b;
    make_batch(&b, head);
    model_zero_grad(m);
    res->loss = model_forward(m, &b, 1, 77, 3);
    model_backward(m, &b);
    res->logits_n = m->logits_n;
    res->logits = xmalloc((size_t)m->logits_n * sizeof(float));
    memcpy(res->logits, m->logits, (size_t)m->logits_n * sizeof(float));
    res->grad = xcalloc((size_t)m->n_params, sizeof *res->grad);
    res->n = xcalloc((size_t)m->n_params, sizeof *res->n);
    for (int i = 0; i < m->n_params; i++) {
        const GradSpec *g = &m->gspec[i];
        size_t n = g->mode == GRAD_DENSE ? m->info[i].numel : g->mode == GRAD_SPARSE ? g->k : 0;
        if (g->mode == GRAD_NONE) continue;
        res->n[i] = n;
        res->grad[i] = xmalloc((n ? n : 1) * sizeof(float));
        ops_download(res->grad[i], model_grad(m, i), n * sizeof(float));
    }
    int np = m->n_params;
    batch_free(&b);
    model_free(m);
    ops_use(&ops_cpu_backend);
    if (idx)
        for (int i = 0; i < np; i++) free(idx[i]);
    free(idx);
}

static double rel(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    if (!isfinite(d)) return INFINITY;
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

static double norm2(const float *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

static double diff2(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s);
}

static void random_params(HeadKind head, HeadArch arch, int nl, float **out, size_t *total) {
    HfConfig c = cuda_cfg();
    ops_use(&ops_cpu_backend);
    Model *m = model_create(&c, head, arch, nl);
    model_init_random(m, 21);
    *total = m->total;
    *out = xmalloc(m->total * sizeof(float));
    model_get_params(m, *out);
    model_free(m);
}

static void compare_head(HeadKind head, HeadArch arch, int nl, int sparse) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    float *params;
    size_t total;
    random_params(head, arch, nl, &params, &total);
    Result a, g;
    run_step(&ops_cpu_backend, head, arch, nl, params, sparse, &a);
    run_step(cu, head, arch, nl, params, sparse, &g);
    CHECK_MSG(fabs(a.loss - g.loss) <= 1e-5 * fabs(a.loss) + 1e-6, "head %d: loss cpu %.9g cuda %.9g",
              (int)head, a.loss, g.loss);
    CHECK_EQ_INT(a.logits_n, g.logits_n);
    CHECK_MSG(rel(g.logits, a.logits, (size_t)a.logits_n) < 1e-5, "head %d: logits differ", (int)head);
    HfConfig c = cuda_cfg();
    ops_use(&ops_cpu_backend);
    Model *m = model_create(&c, head, arch, nl);
    /* Gradients that are zero in exact arithmetic (the key bias: softmax ignores a constant
     * added to a row of scores; the span attention bias likewise) are rounding noise on
     * both backends; they are compared against the largest gradient norm instead. */
    double top = 0;
    for (int i = 0; i < m->n_params; i++)
        if (a.grad[i]) top = fmax(top, norm2(a.grad[i], a.n[i]));
    double worst = 0;
    for (int i = 0; i < m->n_params; i++) {
        CHECK_EQ_INT(a.n[i], g.n[i]);
        if (!a.grad[i] || a.n[i] != g.n[i]) continue;
        double e;
        if (norm2(a.grad[i], a.n[i]) < 1e-6 * top) {
            e = diff2(g.grad[i], a.grad[i], a.n[i]) / top;
            CHECK_MSG(e <= 1e-6, "head %d sparse %d: %s: a zero gradient is %.3g of the largest", (int)head,
                      sparse, m->info[i].name, e);
            continue;
        }
        e = rel(g.grad[i], a.grad[i], a.n[i]);
        worst = e > worst ? e : worst;
        CHECK_MSG(e <= 1e-4, "head %d sparse %d: %s: relative error %.3g", (int)head, sparse,
                  m->info[i].name, e);
    }
    printf("    head %d %s %s: loss %.6f, worst gradient relative error %.2e\n", (int)head,
           head_arch_name(arch), sparse ? "masked" : "dense", a.loss, worst);
    result_free(&a, m->n_params);
    result_free(&g, m->n_params);
    model_free(m);
    free(params);
}

TEST(cuda_model_classification_matches_cpu) { compare_head(HEAD_CLASSIFICATION, ARCH_HF, 3, 0); }
TEST(cuda_model_regression_matches_cpu) { compare_head(HEAD_REGRESSION, ARCH_HF, 1, 0); }
TEST(cuda_model_multiple_choice_matches_cpu) { compare_head(HEAD_MULTIPLE_CHOICE, ARCH_HF, 1, 0); }
TEST(cuda_model_span_matches_cpu) { compare_head(HEAD_SPAN, ARCH_HF, 2, 0); }
TEST(cuda_model_jiant_heads_match_cpu) {
    compare_head(HEAD_CLASSIFICATION, ARCH_JIANT, 3, 0);
    compare_head(HEAD_REGRESSION, ARCH_JIANT, 1, 0);
    compare_head(HEAD_MULTIPLE_CHOICE, ARCH_JIANT, 1, 0);
}
TEST(cuda_model_masked_gradients_match_cpu) {
    compare_head(HEAD_CLASSIFICATION, ARCH_HF, 3, 1);
    compare_head(HEAD_SPAN, ARCH_HF, 2, 1);
    compare_head(HEAD_CLASSIFICATION, ARCH_JIANT, 3, 1); /* the pooler sparse */
}

/* Masked AdamW training: 4 steps (sparse encoder tensors, dense head, frozen rest), with
 * clipping and the reference's decay of frozen entries; parameters after training agree. */
/* dense_grads: clip with the dense gradient of every tensor (--clip-scope all), the trained
 * entries then read out of the dense gradients by op_gather. */
static void train_steps(const OpsBackend *be, const float *params, int decay_frozen,
                        int dense_grads, float *out) {
    ops_use(be);
    HfConfig c = cuda_cfg();
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 3);
    for (int i = 0; i < m->n_params; i++) model_set_tensor(m, i, params + m->info[i].offset);
    Optim o;
    optim_init(&o, 0.9, 0.999, 1e-8, 0.01, decay_frozen);
    o.dense_grads = dense_grads;
    Rng r;
    rng_init(&r, 8, RNG_STREAM_RANDOM_MASK, 1);
    uint32_t *idx = xmalloc(m->total * sizeof *idx);
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        if (p->is_head) { optim_add(&o, m, i, NULL, 0); continue; }
        if (i % 2 || strstr(p->name, "key.bias")) continue; /* zero in exact arithmetic: Adam
                                                              * would amplify rounding noise */
        size_t k = 0;
        for (size_t j = 0; j < p->numel; j++)
            if (rng_uniform(&r) < 0.2) idx[k++] = (uint32_t)j;
        optim_add(&o, m, i, idx, k);
    }
    optim_freeze_rest(&o, m);
    Batch b;
    make_batch(&b, HEAD_CLASSIFICATION);
    for (int step = 0; step < 4; step++) {
        model_zero_grad(m);
        model_forward(m, &b, 1, 5, (uint32_t)step);
        model_backward(m, &b);
        double norm = optim_grad_norm(&o, m);
        optim_step(&o, m, 1e-2 * (step + 1) / 4.0, norm > 0.5 ? 0.5 / norm : 1.0);
    }
    model_get_params(m, out);
    batch_free(&b);
    optim_free(&o);
    model_free(m);
    free(idx);
    ops_use(&ops_cpu_backend);
}

TEST(cuda_masked_adamw_training_matches_cpu) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    float *params;
    size_t total;
    random_params(HEAD_CLASSIFICATION, ARCH_HF, 3, &params, &total);
    for (int df = 0; df <= 1; df++)
        for (int dense = 0; dense <= 1; dense++) {
            float *a = xmalloc(total * sizeof *a), *g = xmalloc(total * sizeof *g);
            train_steps(&ops_cpu_backend, params, df, dense, a);
            train_steps(cu, params, df, dense, g);
            double e = rel(g, a, total), moved = rel(a, params, total);
            CHECK_MSG(moved > 1e-4, "training did not change the parameters (%.3g)", moved);
            CHECK_MSG(e < 1e-5, "decay_frozen %d, clip all %d: parameters after training differ, relative %.3g",
                      df, dense, e);
            printf("    decay_frozen %d, clip all %d: parameters moved %.3g, cpu/cuda relative difference %.2e\n",
                   df, dense, moved, e);
            free(a), free(g);
        }
    free(params);
}
