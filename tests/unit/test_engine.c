/* Engine tests: ops against naive code, the model against the float64 PyTorch reference
 * (tests/ref/gen_reference.py -> tests/fixtures/engine/<head>.safetensors), central finite
 * differences, loading, batch checks, head initialisation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "die_capture.h"
#include "engine_fixture.h"
#include "harness.h"
#include "hfconfig.h"
#include "model.h"
#include "ops.h"
#include "rng.h"
#include "safetensors.h"
#include "util.h"

/* ------------------------------------------------------------------ helpers */

/* ||a - b|| / ||b||.  Some gradients are exactly 0 in exact arithmetic (key biases and the
 * span-attention bias: softmax is shift invariant; the out_proj bias of the multiple-choice
 * head: one score per choice); fp32 leaves ~1e-9 there.  Below ||b|| = 1e-7 the absolute
 * error is returned instead, so such tensors pass when ||a - b|| <= 1e-4. */
static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - b[i];
        d += e * e;
        s += (double)b[i] * b[i];
    }
    return s > 1e-14 ? sqrt(d / s) : sqrt(d);
}


/* Compare logits, loss and every gradient with the reference for one dropout mode. */
static void compare_mode(Case *c, int mode, const char *label) {
    Model *m = c->m;
    char name[200];
    model_zero_grad(m);
    float loss = model_forward(m, &c->b, mode, c->seed, c->step);
    model_backward(m, &c->b);
    snprintf(name, sizeof name, "logits%d", mode);
    const SafeTensor *t = need(c->st, name);
    float *ref = xmalloc((size_t)t->numel * sizeof(float));
    safetensor_to_f32(t, ref);
    CHECK_EQ_INT(m->logits_n, t->numel);
    double e = rel_err(m->logits, ref, (size_t)t->numel);
    CHECK_MSG(e <= 1e-4, "%s dropout=%d logits rel err %.3g", label, mode, e);
    free(ref);
    snprintf(name, sizeof name, "loss%d", mode);
    float rl;
    safetensor_to_f32(need(c->st, name), &rl);
    CHECK_MSG(fabs(loss - rl) <= 1e-4 * fabs(rl), "%s dropout=%d loss %.8g vs %.8g", label, mode, loss, rl);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        snprintf(name, sizeof name, "grad%d.%s", mode, p->name);
        t = need(c->st, name);
        ref = xmalloc((size_t)t->numel * sizeof(float));
        safetensor_to_f32(t, ref);
        const float *g = model_grad(m, i);
        if (i == 0) { /* word embeddings: stored at the used rows; all others must be 0 */
            const SafeTensor *rt = need(c->st, "wgrad_rows");
            int32_t *rows = xmalloc(rt->nbytes);
            memcpy(rows, rt->data, rt->nbytes);
            int H = m->cfg.hidden_size, nr = (int)rt->numel;
            float *got = xmalloc((size_t)nr * H * sizeof(float));
            char *used = xcalloc((size_t)m->cfg.vocab_size, 1);
            for (int r = 0; r < nr; r++) {
                memcpy(got + (size_t)r * H, g + (size_t)rows[r] * H, (size_t)H * sizeof(float));
                used[rows[r]] = 1;
            }
            e = rel_err(got, ref, (size_t)nr * H);
            int nonzero = 0;
            for (int r = 0; r < m->cfg.vocab_size; r++)
                if (!used[r])
                    for (int h = 0; h < H; h++) nonzero += g[(size_t)r * H + h] != 0.0f;
            CHECK_MSG(nonzero == 0, "%s: %d word-embedding gradients outside the batch's rows", label, nonzero);
            free(rows);
            free(got);
            free(used);
        } else {
            CHECK_EQ_INT(t->numel, (int64_t)p->numel);
            e = rel_err(g, ref, p->numel);
        }
        CHECK_MSG(e <= 1e-4, "%s dropout=%d grad %s rel err %.3g", label, mode, p->name, e);
        if (e > worst) worst = e, worst_name = p->name;
        free(ref);
    }
    if (getenv("ENGINE_VERBOSE"))
        fprintf(stderr, "    %s dropout=%d: worst gradient rel err %.2e (%s)\n", label, mode, worst, worst_name);
}

static void reference_case(const char *file, HeadKind head) {
    Case c;
    if (case_open(&c, file, head) != 0) return;
    compare_mode(&c, 0, file);
    compare_mode(&c, 1, file);
    case_close(&c);
}

TEST(engine_reference_classification) { reference_case("classification", HEAD_CLASSIFICATION); }
TEST(engine_reference_regression) { reference_case("regression", HEAD_REGRESSION); }
TEST(engine_reference_multiple_choice) { reference_case("multiple_choice", HEAD_MULTIPLE_CHOICE); }
TEST(engine_reference_span) { reference_case("span", HEAD_SPAN); }
TEST(engine_reference_jiant_classification) { reference_case("jiant_classification", HEAD_CLASSIFICATION); }
TEST(engine_reference_jiant_regression) { reference_case("jiant_regression", HEAD_REGRESSION); }
TEST(engine_reference_jiant_multiple_choice) { reference_case("jiant_multiple_choice", HEAD_MULTIPLE_CHOICE); }
TEST(engine_reference_jiant_span) { reference_case("jiant_span", HEAD_SPAN); }

/* Central differences of the (dropout-on, fixed-mask) loss at sampled entries of every
 * tensor; loss differences accumulated in double. */
static void finite_difference_case(const char *file, HeadKind head) {
    Case c;
    if (case_open(&c, file, head) != 0) return;
    Model *m = c.m;
    model_zero_grad(m);
    model_forward(m, &c.b, 1, c.seed, c.step);
    model_backward(m, &c.b);
    Rng r;
    rng_init(&r, 7, RNG_STREAM_DATA_ORDER, (uint32_t)head);
    const float h = 1e-2f;
    int checked = 0, bad = 0;
    double worst = 0, worst_an = 0;
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        for (int rep = 0; rep < 2; rep++) {
            size_t j;
            if (i == 0) /* a word-embedding entry of a token in the batch */
                j = (size_t)c.b.ids[rng_below(&r, (uint64_t)c.b.B * c.b.n_choices * c.b.T)] * p->shape[1] +
                    rng_below(&r, (uint64_t)p->shape[1]);
            else if (i == 1) /* a position-embedding row that is used (<= pad + T) */
                j = (size_t)(2 + rng_below(&r, (uint64_t)c.b.T)) * p->shape[1] + rng_below(&r, (uint64_t)p->shape[1]);
            else
                j = rng_below(&r, p->numel);
            float *w = model_param(m, i) + j, w0 = *w;
            *w = w0 + h;
            double lp = model_forward(m, &c.b, 1, c.seed, c.step);
            *w = w0 - h;
            double lm = model_forward(m, &c.b, 1, c.seed, c.step);
            *w = w0;
            double fd = (lp - lm) / (2.0 * h), an = model_grad(m, i)[j];
            double tol = 5e-4 + 5e-3 * fabs(an);
            checked++;
            if (fabs(fd - an) > worst) worst = fabs(fd - an), worst_an = an;
            if (!(fabs(fd - an) <= tol)) {
                bad++;
                harness_fail(__FILE__, __LINE__, "%s: d loss / d %s[%zu]: finite diff %.6g, analytic %.6g",
                             file, p->name, j, fd, an);
            }
        }
    }
    CHECK(checked > 60 && bad == 0);
    if (getenv("ENGINE_VERBOSE"))
        fprintf(stderr, "    %s: %d entries, worst |fd - analytic| %.2e (analytic %.3g)\n", file, checked, worst, worst_an);
    case_close(&c);
}

TEST(engine_finite_differences_classification) { finite_difference_case("classification", HEAD_CLASSIFICATION); }
TEST(engine_finite_differences_regression) { finite_difference_case("regression", HEAD_REGRESSION); }
TEST(engine_finite_differences_multiple_choice) { finite_difference_case("multiple_choice", HEAD_MULTIPLE_CHOICE); }
TEST(engine_finite_differences_span) { finite_difference_case("span", HEAD_SPAN); }
TEST(engine_finite_differences_jiant_classification) {
    finite_difference_case("jiant_classification", HEAD_CLASSIFICATION);
}
TEST(engine_finite_differences_jiant_multiple_choice) {
    finite_difference_case("jiant_multiple_choice", HEAD_MULTIPLE_CHOICE);
}

/* ------------------------------------------------------------------ ops */

TEST(ops_gemm_all_transpositions) {
    int M = 5, N = 7, K = 3;
    float A[5 * 3 * 2], B[3 * 7 * 2], C[5 * 7 * 2], R[5 * 7];
    for (int i = 0; i < 30; i++) A[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < 42; i++) B[i] = (float)((i * 5) % 13) - 6.0f;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* A stored [M,K] (lda K+1) or [K,M] (lda M+1); B [K,N] (ldb N+2) or [N,K] (ldb K+2) */
            int lda = ta ? M + 1 : K + 1, ldb = tb ? K + 2 : N + 2, ldc = N + 1;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                    R[i * N + j] = (float)(2.0 * s + 0.5 * (i - j));
                    C[i * ldc + j] = (float)(i - j);
                }
            op_gemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 2.0f, A, lda, B, ldb, 0.5f, C, ldc);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) CHECK_NEAR(C[i * ldc + j], R[i * N + j], 1e-4);
        }
}

TEST(ops_position_ids_like_hf) {
    int32_t ids[2 * 5] = {0, 713, 16, 2, 1, 0, 2, 1, 1, 1}, pos[10];
    op_position_ids(pos, ids, 2, 5, 1);
    int32_t want[10] = {2, 3, 4, 5, 1, 2, 3, 1, 1, 1};
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(pos[i], want[i]);
}

TEST(ops_dropout_contract) {
    /* Same value as gen_reference.py prints: philox_word_at(42, 2, 7, 0) */
    CHECK_EQ_INT(philox_word_at(42, RNG_STREAM_DROPOUT, 7, 0), 0x655f62c3u);
    CHECK_EQ_INT(philox_word_at(42, RNG_STREAM_DROPOUT, 7, 3), 0xca58a7eau);
    CHECK_EQ_INT(op_dropout_sub(5, 7), (5u << 8) | 7u);
    size_t n = 10007;
    float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float)), *g = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = 1.0f + (float)(i % 3);
    op_dropout_fwd(y, x, n, 0.25f, 99, op_dropout_sub(3, 1));
    size_t kept = 0;
    float scale = (float)(1.0 / 0.75);
    for (size_t i = 0; i < n; i++) {
        int keep = rng_u32_to_unit_float(philox_word_at(99, RNG_STREAM_DROPOUT, op_dropout_sub(3, 1), i)) >= 0.25f;
        CHECK(y[i] == (keep ? x[i] * scale : 0.0f));
        kept += keep;
    }
    CHECK(kept > n * 0.72 && kept < n * 0.78);
    op_dropout_bwd(g, x, n, 0.25f, 99, op_dropout_sub(3, 1)); /* same mask */
    CHECK(memcmp(g, y, n * sizeof(float)) == 0);
    op_dropout_fwd(g, x, n, 0.0f, 99, 0); /* p = 0: identity */
    CHECK(memcmp(g, x, n * sizeof(float)) == 0);
    free(x), free(y), free(g);
}

TEST(ops_dropout_contract_all_sizes_and_rates) {
    /* the vector path (whole 64-element groups, threaded chunks) and the scalar tail must
     * give exactly the contract's mask for any size, rate, seed and sub-stream */
    size_t sizes[] = {1, 3, 63, 64, 65, 4095, 4097, 70001};
    float ps[] = {0.1f, 0.5f, 1e-8f, 0.9999999f, 1.0f};
    size_t nmax = 70001;
    float *x = xmalloc(nmax * sizeof(float)), *y = xmalloc(nmax * sizeof(float));
    for (size_t i = 0; i < nmax; i++) x[i] = 0.5f + (float)(i % 17) * 0.125f;
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof ps / sizeof *ps; b++) {
            size_t n = sizes[a], bad = 0;
            float p = ps[b], scale = (float)(1.0 / (1.0 - (double)p));
            uint64_t seed = 0x123456789abcdefull + a;
            uint32_t sub = op_dropout_sub((uint32_t)(7 + b), 3);
            op_dropout_fwd(y, x, n, p, seed, sub);
            for (size_t i = 0; i < n; i++) {
                int keep = rng_u32_to_unit_float(philox_word_at(seed, RNG_STREAM_DROPOUT, sub, i)) >= p;
                bad += y[i] != (keep ? x[i] * scale : 0.0f);
            }
            CHECK_MSG(bad == 0, "n=%zu p=%g: %zu elements differ from the contract", n, p, bad);
        }
    free(x), free(y);
}

TEST(ops_gelu_matches_erff) {
    /* the vectorised erf is within 1 ulp of erff: GELU and its derivative then differ from
     * the erff formulas by at most ~0.5 |x| ulp(1) (the erf error, scaled) plus rounding */
    size_t n = 200003;
    float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float)), *d = xmalloc(n * sizeof(float));
    float *g = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1), g[i] = 1.0f - (float)(i % 3);
    x[0] = -INFINITY, x[1] = INFINITY, x[2] = 0.0f, x[3] = -0.0f, x[4] = 1e-30f;
    op_gelu_fwd(y, x, n);
    op_gelu_bwd(d, g, x, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i], cdf = 0.5f * (1.0f + erff(v * 0.70710678f));
        float ry = v * cdf, rd = g[i] * (cdf + v * 0.39894228f * expf(-0.5f * v * v));
        if (!isfinite(v)) {
            bad += !(v > 0 ? y[i] == INFINITY : isnan(y[i]) || y[i] == 0.0f);
            continue;
        }
        double tol = 0.5 * fabs(v) * 2.4e-7 + 2.4e-7 * fabs(ry) + 1e-30;
        bad += fabs(y[i] - ry) > tol;
        bad += fabs(d[i] - rd) > 0.5 * fabs(v) * 2.4e-7 + 2.4e-7 * (fabs(rd) + 1e-30) + 1e-30;
    }
    CHECK_MSG(bad == 0, "%zu GELU values differ from the erff formula", bad);
    CHECK(y[2] == 0.0f && y[4] == 0.5f * 1e-30f);
    free(x), free(y), free(d), free(g);
}

TEST(ops_span_pool_matches_naive) {
    int S = 2, T = 5, H = 3, NS = 2;
    float x[2 * 5 * 3], a[10], out[2 * 2 * 3], w[2 * 2 * 5];
    for (int i = 0; i < 30; i++) x[i] = sinf((float)i);
    for (int i = 0; i < 10; i++) a[i] = cosf((float)i * 0.7f);
    int32_t spans[8] = {1, 3, 2, 2, 0, 4, 3, 4};
    op_span_pool_fwd(out, w, x, a, spans, S, T, H, NS);
    for (int sj = 0; sj < 4; sj++) {
        int s = sj / 2, st = spans[2 * sj], en = spans[2 * sj + 1];
        double z = 0;
        for (int t = st; t <= en; t++) z += exp(a[s * T + t]);
        for (int hh = 0; hh < H; hh++) {
            double v = 0;
            for (int t = st; t <= en; t++) v += exp(a[s * T + t]) / z * x[(s * T + t) * H + hh];
            CHECK_NEAR(out[sj * H + hh], v, 1e-5);
        }
        for (int t = 0; t < T; t++)
            if (t < st || t > en) CHECK(w[sj * T + t] == 0.0f);
    }
}

/* ------------------------------------------------------------------ model API */

static HfConfig small_cfg(void) {
    HfConfig c;
    tiny_config(&c);
    c.vocab_size = 60;
    return c;
}

TEST(model_param_table_names_and_layout) {
    HfConfig c = small_cfg();
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 3);
    CHECK_EQ_INT(m->n_params, 5 + 16 * 2 + 4);
    CHECK_STR(m->info[0].name, "roberta.embeddings.word_embeddings.weight");
    int q = model_find(m, "roberta.encoder.layer.1.attention.self.query.weight");
    CHECK(q > 0);
    CHECK_EQ_INT(m->info[q].shape[0], 32);
    int o2 = model_find(m, "roberta.encoder.layer.0.output.dense.weight");
    CHECK_EQ_INT(m->info[o2].shape[0], 32);
    CHECK_EQ_INT(m->info[o2].shape[1], 37);
    int op = model_find(m, "classifier.out_proj.weight");
    CHECK_EQ_INT(m->info[op].shape[0], 3);
    CHECK(m->info[op].is_head && !m->info[q].is_head);
    for (int i = 1; i < m->n_params; i++) {
        CHECK(m->info[i].offset >= m->info[i - 1].offset + m->info[i - 1].numel);
        CHECK(m->info[i].offset % 16 == 0);
    }
    CHECK(m->info[m->n_params - 1].offset + m->info[m->n_params - 1].numel <= m->total);
    model_free(m);
    m = model_create(&c, HEAD_SPAN, ARCH_HF, 2);
    int sa = model_find(m, "classifier.span_attention.weight");
    CHECK(sa > 0 && m->info[sa].shape[0] == 1 && m->info[sa].shape[1] == 32);
    op = model_find(m, "classifier.out_proj.weight");
    CHECK(m->info[op].shape[0] == 2 && m->info[op].shape[1] == 64);
    CHECK_EQ_INT(model_find(m, "classifier.dense.weight"), -1);
    model_free(m);
}

TEST(model_head_init_deterministic) {
    HfConfig c = small_cfg();
    Model *a = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2), *b = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2);
    model_init_head(a, 11);
    model_init_head(b, 11);
    int dw = model_find(a, "classifier.dense.weight"), db = model_find(a, "classifier.dense.bias");
    CHECK(memcmp(model_param(a, dw), model_param(b, dw), a->info[dw].numel * sizeof(float)) == 0);
    /* first value = initializer_range * first normal of the HEAD_INIT stream */
    Rng r;
    rng_init(&r, 11, RNG_STREAM_HEAD_INIT, 0);
    CHECK(model_param(a, dw)[0] == (float)(0.02 * rng_normal(&r)));
    double s2 = 0;
    for (size_t i = 0; i < a->info[dw].numel; i++) s2 += (double)model_param(a, dw)[i] * model_param(a, dw)[i];
    CHECK_NEAR(sqrt(s2 / a->info[dw].numel), 0.02, 0.003);
    for (size_t i = 0; i < a->info[db].numel; i++) CHECK(model_param(a, db)[i] == 0.0f);
    model_init_head(b, 12);
    CHECK(memcmp(model_param(a, dw), model_param(b, dw), a->info[dw].numel * sizeof(float)) != 0);
    model_free(a);
    model_free(b);
}

TEST(model_backward_accumulates_and_padding_is_inert) {
    HfConfig c = small_cfg();
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2);
    model_init_random(m, 3);
    Batch b, b2;
    int32_t s0[] = {0, 13, 17, 2}, s1[] = {0, 5, 2};
    batch_alloc(&b, 2, 1, 4, 1);
    batch_set_seq(&b, 0, s0, 4);
    batch_set_seq(&b, 1, s1, 3);
    b.label[0] = 1;
    /* the same batch padded further: logits and gradients must not change */
    batch_alloc(&b2, 2, 1, 9, 1);
    batch_set_seq(&b2, 0, s0, 4);
    batch_set_seq(&b2, 1, s1, 3);
    b2.label[0] = 1;
    model_zero_grad(m);
    float l1 = model_forward(m, &b, 0, 1, 0);
    float lg[4];
    memcpy(lg, m->logits, sizeof lg);
    model_backward(m, &b);
    float *g1 = xmalloc(m->total * sizeof(float));
    memcpy(g1, m->grads, m->total * sizeof(float));
    model_backward(m, &b);
    double e = 0;
    for (size_t i = 0; i < m->total; i++) e = fmax(e, fabs(m->grads[i] - 2 * g1[i]));
    CHECK(e < 1e-6);
    model_zero_grad(m);
    float l2 = model_forward(m, &b2, 0, 1, 0);
    CHECK_NEAR(l1, l2, 1e-5);
    for (int i = 0; i < 4; i++) CHECK_NEAR(lg[i], m->logits[i], 1e-5);
    model_backward(m, &b2);
    CHECK(rel_err(m->grads, g1, m->total) < 1e-4);
    free(g1);
    batch_free(&b);
    batch_free(&b2);
    model_free(m);
}

TEST(model_check_batch_rejects_bad_input) {
    HfConfig c = small_cfg();
    Model *m = model_create(&c, HEAD_SPAN, ARCH_HF, 2);
    Batch b;
    int32_t s0[] = {0, 13, 17, 2};
    batch_alloc(&b, 1, 1, 4, 1);
    batch_set_seq(&b, 0, s0, 4);
    b.spans[0] = 1, b.spans[1] = 2, b.spans[2] = 3, b.spans[3] = 3;
    char err[256];
    CHECK_EQ_INT(model_check_batch(m, &b, err, sizeof err), 0);
    b.spans[3] = 4;
    CHECK_EQ_INT(model_check_batch(m, &b, err, sizeof err), -1);
    CHECK(strstr(err, "span 1") != NULL);
    b.spans[3] = 3;
    b.label[0] = 2;
    CHECK_EQ_INT(model_check_batch(m, &b, err, sizeof err), -1);
    CHECK(strstr(err, "label 2") != NULL);
    b.label[0] = 1;
    b.ids[1] = 60;
    CHECK_EQ_INT(model_check_batch(m, &b, err, sizeof err), -1);
    CHECK(strstr(err, "vocabulary") != NULL);
    batch_free(&b);
    batch_alloc(&b, 1, 1, 31, 1); /* pad 1 + 31 tokens needs 33 positions, the model has 32 */
    batch_set_seq(&b, 0, s0, 4);
    CHECK_EQ_INT(model_check_batch(m, &b, err, sizeof err), -1);
    CHECK(strstr(err, "positions") != NULL);
    batch_free(&b);
    model_free(m);
}

/* ---- loading ---- */

typedef struct LoadArgs {
    const char *path;
    HeadKind head;
    int num_labels;
    HeadArch arch;
} LoadArgs;

static void load_child(void *arg) {
    LoadArgs *a = arg;
    HfConfig c = small_cfg();
    Model *m = model_create(&c, a->head, a->arch, a->num_labels);
    SafeTensors *st = safetensors_open(a->path);
    int head = model_load(m, st, a->path);
    fprintf(stderr, "loaded head=%d\n", head);
    exit(0);
}

/* Load in a child: its exit status is status and its stderr contains part. */
static void expect_load(const char *path, HeadKind head, int num_labels, HeadArch arch, int status,
                        const char *part) {
    LoadArgs a = {path, head, num_labels, arch};
    char msg[1024];
    CHECK_EQ_INT(die_capture(load_child, &a, msg, sizeof msg), status);
    CHECK_MSG(strstr(msg, part) != NULL, "expected \"%s\" in: %s", part, msg);
}

/* Write the tensors of a (random) model under checkpoint-style names. */
static void write_checkpoint(const char *path, Model *m, int bare, int with_head, const char *drop,
                             const char *reshape, int foreign_pooler) {
    SafeTensorsWriter *w = safetensors_writer_new();
    char (*names)[MODEL_NAME_MAX + 16] = xcalloc((size_t)m->n_params, sizeof *names);
    int64_t extra_shape[2] = {4, 32};
    static float lm[4 * 32];
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        if (p->is_head && !with_head) continue;
        if (drop && strcmp(p->name, drop) == 0) continue;
        snprintf(names[i], sizeof names[i], "%s", bare && !p->is_head ? p->name + 8 : p->name);
        int64_t shape[2] = {p->shape[0], p->shape[1]};
        if (reshape && strcmp(p->name, reshape) == 0) shape[0] = 1, shape[1] = (int64_t)p->numel;
        safetensors_writer_add(w, names[i], ST_F32, shape, p->ndim == 2 || (reshape && strcmp(p->name, reshape) == 0) ? 2 : 1,
                               model_param(m, i));
    }
    safetensors_writer_add(w, "lm_head.dense.weight", ST_F32, extra_shape, 2, lm);
    if (foreign_pooler) /* a pooler the model does not use is ignored, whatever its shape */
        safetensors_writer_add(w, bare ? "pooler.dense.weight" : "roberta.pooler.dense.weight", ST_F32, extra_shape, 2, lm);
    safetensors_writer_save(w, path);
    free(names);
}

TEST(model_load_names_heads_and_errors) {
    char dir[] = "/tmp/engine-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p1[600], p2[600], p3[600], p4[600];
    snprintf(p1, sizeof p1, "%s/bare.safetensors", dir);
    snprintf(p2, sizeof p2, "%s/full.safetensors", dir);
    snprintf(p3, sizeof p3, "%s/missing.safetensors", dir);
    snprintf(p4, sizeof p4, "%s/shape.safetensors", dir);
    HfConfig c = small_cfg();
    Model *src = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 3);
    model_init_random(src, 5);
    write_checkpoint(p1, src, 1, 0, NULL, NULL, 1);
    write_checkpoint(p2, src, 0, 1, NULL, NULL, 1);
    write_checkpoint(p3, src, 0, 1, "roberta.encoder.layer.1.output.LayerNorm.bias", NULL, 1);
    write_checkpoint(p4, src, 1, 0, NULL, "roberta.encoder.layer.0.attention.self.key.weight", 1);

    /* bare names, no head: encoder equal, head untouched (0) */
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 3);
    SafeTensors *st = safetensors_open(p1);
    CHECK_EQ_INT(model_load(m, st, p1), 0);
    safetensors_close(st);
    size_t enc = m->info[m->head_first].offset;
    CHECK(memcmp(m->params, src->params, enc * sizeof(float)) == 0);
    int op = model_find(m, "classifier.out_proj.weight");
    CHECK(model_param(m, op)[0] == 0.0f);
    /* prefixed names with a head of the right shape: used as is */
    st = safetensors_open(p2);
    CHECK_EQ_INT(model_load(m, st, p2), 1);
    safetensors_close(st);
    CHECK(memcmp(m->params, src->params, m->total * sizeof(float)) == 0);
    model_free(m);

    /* a head of 3 labels where the model wants 2, a classification head in a span model: left
     * out (MODEL_HEAD_IGNORED), the encoder loaded */
    expect_load(p2, HEAD_CLASSIFICATION, 2, ARCH_HF, 0, "loaded head=4");
    expect_load(p2, HEAD_SPAN, 2, ARCH_HF, 0, "loaded head=4");
    expect_load(p3, HEAD_CLASSIFICATION, 3, ARCH_HF, 1, "lacks tensor roberta.encoder.layer.1.output.LayerNorm.bias");
    expect_load(p4, HEAD_CLASSIFICATION, 3, ARCH_HF, 1, "attention.self.key.weight has shape [1,1024]");
    expect_load(p1, HEAD_REGRESSION, 1, ARCH_HF, 0, "loaded head=0");
    model_free(src);
    unlink(p1), unlink(p2), unlink(p3), unlink(p4);
    rmdir(dir);
}

/* ---- head architectures: the pooler's place in the table, loading and initialisation ---- */

TEST(model_head_architectures_tables) {
    HfConfig c = small_cfg();
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_JIANT, 3);
    CHECK_EQ_INT(m->n_params, 5 + 16 * 2 + 2 + 4);
    CHECK_EQ_INT(m->pooler, m->head_first - 2);
    CHECK_STR(m->info[m->pooler].name, "roberta.pooler.dense.weight");
    CHECK_STR(m->info[m->pooler + 1].name, "roberta.pooler.dense.bias");
    CHECK(m->info[m->pooler].shape[0] == 32 && m->info[m->pooler].shape[1] == 32 && !m->info[m->pooler].is_head);
    CHECK(model_find(m, "classifier.dense.weight") == m->head_first);
    model_free(m);
    m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 3); /* RobertaForSequenceClassification */
    CHECK_EQ_INT(m->pooler, -1);
    CHECK_EQ_INT(model_find(m, "roberta.pooler.dense.weight"), -1);
    model_free(m);
    m = model_create(&c, HEAD_MULTIPLE_CHOICE, ARCH_HF, 1); /* RobertaForMultipleChoice */
    CHECK(m->pooler >= 0 && m->n_params - m->head_first == 2);
    int cw = model_find(m, "classifier.weight");
    CHECK(cw == m->head_first && m->info[cw].shape[0] == 1 && m->info[cw].shape[1] == 32);
    CHECK_EQ_INT(model_find(m, "classifier.bias"), cw + 1);
    model_free(m);
    m = model_create(&c, HEAD_MULTIPLE_CHOICE, ARCH_JIANT, 1);
    CHECK(m->pooler >= 0 && model_find(m, "classifier.out_proj.weight") >= 0);
    model_free(m);
    m = model_create(&c, HEAD_SPAN, ARCH_JIANT, 2); /* jiant's encoder always has the pooler */
    CHECK(m->pooler >= 0 && model_find(m, "classifier.span_attention.weight") >= 0);
    model_free(m);
    m = model_create(&c, HEAD_SPAN, ARCH_HF, 2);
    CHECK_EQ_INT(m->pooler, -1);
    model_free(m);
    HeadArch a;
    CHECK(head_arch_parse("jiant", &a) == 0 && a == ARCH_JIANT);
    CHECK(head_arch_parse("hf", &a) == 0 && a == ARCH_HF);
    CHECK(head_arch_parse("HF", &a) == -1);
    CHECK_STR(head_arch_name(ARCH_JIANT), "jiant");
}

TEST(model_load_and_init_pooler) {
    char dir[] = "/tmp/engine-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char with[600], without[600], partial[600];
    snprintf(with, sizeof with, "%s/with.safetensors", dir);
    snprintf(without, sizeof without, "%s/without.safetensors", dir);
    snprintf(partial, sizeof partial, "%s/partial.safetensors", dir);
    HfConfig c = small_cfg();
    Model *src = model_create(&c, HEAD_CLASSIFICATION, ARCH_JIANT, 3), *hf = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 3);
    model_init_random(src, 5);
    model_init_random(hf, 5);
    write_checkpoint(with, src, 1, 0, NULL, NULL, 0); /* bare names: pooler.dense.* */
    write_checkpoint(without, hf, 0, 0, NULL, NULL, 0);
    write_checkpoint(partial, src, 0, 0, "roberta.pooler.dense.bias", NULL, 0);

    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_JIANT, 3);
    SafeTensors *st = safetensors_open(with);
    CHECK_EQ_INT(model_load(m, st, with), MODEL_LOADED_POOLER);
    safetensors_close(st);
    CHECK(memcmp(model_param(m, m->pooler), model_param(src, src->pooler), 32 * 32 * sizeof(float)) == 0);
    /* the encoder before the pooler is what model_init_random gave both tables */
    CHECK(memcmp(m->params, hf->params, m->info[m->pooler].offset * sizeof(float)) == 0);
    model_free(m);

    /* a checkpoint without a pooler: initialised from the seed's own head-init sub-stream */
    m = model_create(&c, HEAD_CLASSIFICATION, ARCH_JIANT, 3);
    st = safetensors_open(without);
    CHECK_EQ_INT(model_load(m, st, without), 0);
    safetensors_close(st);
    model_init_pooler(m, 3);
    model_init_head(m, 3);
    Rng r;
    rng_init(&r, 3, RNG_STREAM_HEAD_INIT, 1);
    CHECK(model_param(m, m->pooler)[0] == (float)(0.02 * rng_normal(&r)));
    CHECK(model_param(m, m->pooler)[1] == (float)(0.02 * rng_normal(&r)));
    for (int i = 0; i < 32; i++) CHECK(model_param(m, m->pooler + 1)[i] == 0.0f);
    model_init_head(hf, 3); /* the head's values do not depend on the pooler */
    int dw = model_find(m, "classifier.dense.weight");
    CHECK(memcmp(model_param(m, dw), model_param(hf, model_find(hf, "classifier.dense.weight")),
                 32 * 32 * sizeof(float)) == 0);
    model_free(m);

    /* an hf model ignores a checkpoint's pooler */
    expect_load(with, HEAD_CLASSIFICATION, 3, ARCH_HF, 0, "loaded head=0");
    expect_load(with, HEAD_MULTIPLE_CHOICE, 1, ARCH_HF, 0, "loaded head=2");
    expect_load(partial, HEAD_CLASSIFICATION, 3, ARCH_JIANT, 1,
                "partial pooler: roberta.pooler.dense.bias is missing");
    model_free(src);
    model_free(hf);
    unlink(with), unlink(without), unlink(partial);
    rmdir(dir);
}

/* ---- gradient modes: sparse (selected entries only), none (frozen) ---- */

static void grad_modes_case(HeadKind head, HeadArch arch, int nl) {
    HfConfig c = small_cfg();
    Model *m = model_create(&c, head, arch, nl);
    model_init_random(m, 9);
    Batch b;
    int32_t s0[] = {0, 13, 17, 21, 2}, s1[] = {0, 5, 2};
    batch_alloc(&b, 2, 1, 5, 1);
    batch_set_seq(&b, 0, s0, 5);
    batch_set_seq(&b, 1, s1, 3);
    b.label[0] = 1;
    b.target[0] = 0.5f, b.target[1] = -1.0f;
    b.spans[0] = 1, b.spans[1] = 2, b.spans[2] = 3, b.spans[3] = 3;
    b.spans[4] = 1, b.spans[5] = 1, b.spans[6] = 0, b.spans[7] = 2;
    model_zero_grad(m);
    model_forward(m, &b, 1, 4, 2);
    model_backward(m, &b);
    float *dense = xmalloc(m->total * sizeof(float));
    memcpy(dense, m->grads, m->total * sizeof(float));
    /* every tensor: alternately sparse (random ~10% + the entries of used rows), none, dense */
    uint32_t **idx = xcalloc((size_t)m->n_params, sizeof *idx);
    Rng r;
    rng_init(&r, 5, RNG_STREAM_RANDOM_MASK, 0);
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        if (i % 3 == 0 || i == 0 || i == 1 || i == m->pooler) {
            idx[i] = xmalloc(p->numel * sizeof(uint32_t));
            size_t k = 0;
            for (size_t j = 0; j < p->numel; j++)
                if (rng_uniform(&r) < 0.1 || (i == 0 && j / p->shape[1] == 13 && j % 3 == 0)) idx[i][k++] = (uint32_t)j;
            model_set_grad_mode(m, i, GRAD_SPARSE, idx[i], k);
        } else if (i % 3 == 1) {
            model_set_grad_mode(m, i, GRAD_NONE, NULL, 0);
        }
    }
    model_zero_grad(m);
    model_forward(m, &b, 1, 4, 2);
    model_backward(m, &b);
    CHECK(m->grads == NULL); /* masked: no model-sized gradient buffer */
    size_t expect_bytes = 0;
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        const float *g = model_grad(m, i), *d = dense + p->offset;
        const GradSpec *gs = &m->gspec[i];
        int bad = 0;
        if (gs->mode == GRAD_NONE) {
            CHECK_MSG(g == NULL, "%s: a frozen tensor has gradient storage", p->name);
            continue;
        }
        /* dense: numel floats; sparse: compact, g[j] is the gradient of entry index[j] */
        size_t n = gs->mode == GRAD_DENSE ? p->numel : gs->k;
        expect_bytes += n * sizeof(float);
        for (size_t j = 0; j < n; j++) {
            float want = d[gs->mode == GRAD_DENSE ? j : gs->index[j]];
            bad += !(fabsf(g[j] - want) <= 1e-5f + 1e-4f * fabsf(want));
        }
        CHECK_MSG(bad == 0, "head %d: %s (mode %d): %d entries differ", (int)head, p->name, (int)gs->mode, bad);
    }
    CHECK_EQ_INT(model_grad_bytes(m), expect_bytes);
    /* back to all dense: the contiguous layout again, same gradients */
    for (int i = 0; i < m->n_params; i++) model_set_grad_mode(m, i, GRAD_DENSE, NULL, 0);
    model_zero_grad(m);
    model_forward(m, &b, 1, 4, 2);
    model_backward(m, &b);
    CHECK(m->grads != NULL && model_grad(m, 1) == m->grads + m->info[1].offset);
    CHECK(rel_err(m->grads, dense, m->total) < 1e-6);
    for (int i = 0; i < m->n_params; i++) free(idx[i]);
    free(idx);
    free(dense);
    batch_free(&b);
    model_free(m);
}

TEST(model_sparse_and_frozen_gradients) {
    grad_modes_case(HEAD_CLASSIFICATION, ARCH_HF, 2);
    grad_modes_case(HEAD_SPAN, ARCH_HF, 2);
    grad_modes_case(HEAD_CLASSIFICATION, ARCH_JIANT, 2); /* the pooler sparse */
}
