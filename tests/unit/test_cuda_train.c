/* The CUDA backend's training, selection and sparse-gradient ops (kernels/train.cu,
 * kernels/sparse.cu) against the CPU backend, both through their ops_backend.h tables.  In the
 * test build the CUDA backend is the emulator (same kernel code on the CPU), so this runs on
 * CI; skipped when the build has no CUDA backend at all. */
#include <stdlib.h>
#include <string.h>

#include "cuda_fixture.h"
#include "harness.h"
#include "ops_backend.h"
#include "rng.h"
#include "select.h"
#include "util.h"

static void fill_normal(Rng *r, float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_normal(r) * scale;
}

/* k sorted unique positions of [0, n), uniformly chosen. */
static uint32_t *random_index(Rng *r, size_t n, size_t k) {
    uint32_t *idx = xmalloc((k ? k : 1) * sizeof *idx);
    CHECK(select_random(rng_u32(r), 0, n, k, idx) == SELECT_OK);
    return idx;
}

static int same_bits(const float *a, const float *b, size_t n, size_t *bad) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0) {
            *bad = i;
            return 0;
        }
    return 1;
}

/* ---------------------------------------------------------------- topk */

/* Both backends' top k of x, compared (return code and indices). */
static void topk_case(const OpsBackend *cu, const float *x, size_t n, size_t k, int key,
                      const char *what) {
    uint32_t *want = xmalloc((k ? k : 1) * sizeof *want), *got = xmalloc((k ? k : 1) * sizeof *got);
    float *d = tc_put(cu, x, n);
    int rw = ops_cpu_backend.topk(x, n, k, key, want);
    int rg = cu->topk(d, n, k, key, got);
    CHECK_MSG(rw == rg, "%s n=%zu k=%zu key=%d: rc %d vs cpu %d", what, n, k, key, rg, rw);
    if (rw == 0 && rg == 0)
        for (size_t i = 0; i < k; i++)
            if (got[i] != want[i]) {
                harness_fail(__FILE__, __LINE__, "%s n=%zu k=%zu key=%d: out[%zu] = %u, cpu %u",
                             what, n, k, key, i, got[i], want[i]);
                break;
            }
    cu->free(d);
    free(want);
    free(got);
}

/* Inputs: 0 normal, 1 heavy ties (a few values incl. ±0), 2 all equal, 3 ±Inf and ±0 mixed
 * into normal values, 4 all -0/+0. */
static void make_input(Rng *r, float *x, size_t n, int kind) {
    static const float few[] = {0.0f, -0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f};
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = (float)rng_normal(r); break;
        case 1: x[i] = few[rng_below(r, 7)]; break;
        case 2: x[i] = 3.0f; break;
        case 3: {
            uint64_t c = rng_below(r, 10);
            x[i] = c == 0 ? INFINITY : c == 1 ? -INFINITY : c == 2 ? -0.0f : c == 3 ? 0.0f
                                                                             : (float)rng_normal(r);
            break;
        }
        default: x[i] = rng_below(r, 2) ? 0.0f : -0.0f; break;
        }
    }
}

TEST(cuda_topk_matches_cpu) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 41, RNG_STREAM_RANDOM_MASK, 0);
    /* n around the block (256), the histogram/compaction range (4096) and several ranges */
    static const size_t ns[] = {1, 7, 255, 257, 2049, 4097};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a];
        float *x = xmalloc(n * sizeof *x);
        for (int kind = 0; kind < 5; kind++) {
            make_input(&r, x, n, kind);
            size_t ks[] = {0, 1, n / 3, n / 2 + 1, n - 1, n};
            for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
                for (int key = 0; key < 2; key++) topk_case(cu, x, n, ks[b], key, "topk");
        }
        free(x);
    }
    /* many compaction ranges (4096 entries each), ties spread over them (the emulator is
     * slow: a few cases only) */
    size_t n = 50001;
    float *x = xmalloc(n * sizeof *x);
    for (int kind = 0; kind < 4; kind += 3) {
        make_input(&r, x, n, kind == 0 ? 1 : 3);
        for (int key = 0; key < 2; key++) topk_case(cu, x, n, n / 2 + 7, key, "topk large");
    }
    make_input(&r, x, n, 0);
    topk_case(cu, x, n, 250, 0, "topk large");
    free(x);
}

TEST(cuda_topk_errors) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    float x[300];
    for (int i = 0; i < 300; i++) x[i] = (float)(i % 17);
    x[123] = NAN;
    uint32_t out[300];
    float *d = tc_put(cu, x, 300);
    for (int key = 0; key < 2; key++) {
        CHECK_EQ_INT(cu->topk(d, 300, 10, key, out), SELECT_ENAN);
        CHECK_EQ_INT(cu->topk(d, 300, 0, key, out), SELECT_ENAN);   /* as the CPU: any k */
        CHECK_EQ_INT(cu->topk(d, 300, 300, key, out), SELECT_ENAN);
        CHECK_EQ_INT(cu->topk(d, 300, 301, key, out), SELECT_ERANGE);
        CHECK_EQ_INT(cu->topk(d, 0, 0, key, out), SELECT_OK);
        CHECK_EQ_INT(cu->topk(d, (size_t)UINT32_MAX + 1, 1, key, out), SELECT_ERANGE);
    }
    /* a negative NaN in the value key as well */
    x[123] = -NAN;
    cu->upload(d, x, sizeof x);
    CHECK_EQ_INT(cu->topk(d, 300, 10, 1, out), SELECT_ENAN);
    cu->free(d);
}

/* ---------------------------------------------------------------- reductions */

TEST(cuda_sumsq_matches_double_loop) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 42, RNG_STREAM_RANDOM_MASK, 0);
    static const size_t ns[] = {0, 1, 31, 1000, 100003};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a];
        float *x = xmalloc((n ? n : 1) * sizeof *x);
        fill_normal(&r, x, n, 3.0f);
        double want = 0;
        for (size_t i = 0; i < n; i++) want += (double)x[i] * x[i];
        float *d = tc_put(cu, x, n);
        double got = cu->sumsq(d, n), again = cu->sumsq(d, n);
        CHECK_NEAR(got, want, 1e-12 * (want + 1));
        CHECK(memcmp(&got, &again, sizeof got) == 0); /* deterministic */
        CHECK_NEAR(ops_cpu_backend.sumsq(x, n), want, 1e-12 * (want + 1));
        cu->free(d);
        free(x);
    }
}

/* Many tensors at once: the same bits as adding the single sums in order. */
TEST(cuda_sumsq_many_equals_single_sums) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 44, RNG_STREAM_RANDOM_MASK, 0);
    static const size_t ns[] = {5, 0, 100003, 1, 4096, 77};
    enum { T = sizeof ns / sizeof *ns };
    float *h[T];
    const float *d[T], *hc[T];
    double want = 0, cpu_want = 0;
    for (int t = 0; t < T; t++) {
        h[t] = xmalloc((ns[t] ? ns[t] : 1) * sizeof(float));
        fill_normal(&r, h[t], ns[t], 2.0f);
        d[t] = tc_put(cu, h[t], ns[t]);
        hc[t] = h[t];
        want += cu->sumsq(d[t], ns[t]);
        cpu_want += ops_cpu_backend.sumsq(h[t], ns[t]);
    }
    double got = cu->sumsq_many(d, ns, T);
    CHECK(memcmp(&got, &want, sizeof got) == 0);
    CHECK_NEAR(ops_cpu_backend.sumsq_many(hc, ns, T), cpu_want, 0);
    CHECK_NEAR(got, cpu_want, 1e-12 * cpu_want);
    CHECK(cu->sumsq_many(d, ns, 0) == 0.0);
    for (int t = 0; t < T; t++) cu->free((void *)d[t]), free(h[t]);
}

TEST(cuda_reduce_into_exact) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 43, RNG_STREAM_RANDOM_MASK, 0);
    size_t n = 5003, bad = 0;
    float *acc = xmalloc(n * sizeof *acc), *g = xmalloc(n * sizeof *g);
    for (int kind = 0; kind < 3; kind++) {
        fill_normal(&r, acc, n, 1.0f);
        fill_normal(&r, g, n, 0.7f);
        float *dacc = tc_put(cu, acc, n), *dg = tc_put(cu, g, n);
        for (int rep = 0; rep < 3; rep++) {
            ops_cpu_backend.reduce_into(acc, g, n, kind);
            cu->reduce_into(dacc, dg, n, kind);
        }
        float *got = tc_get(cu, dacc, n);
        CHECK_MSG(same_bits(got, acc, n, &bad), "kind %d: [%zu] %.9g vs cpu %.9g", kind, bad,
                  got[bad], acc[bad]);
        free(got);
        cu->free(dacc);
        cu->free(dg);
    }
    free(acc);
    free(g);
}

/* ---------------------------------------------------------------- gather, scatter, scale */

TEST(cuda_gather_scatter_scale_exact) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 44, RNG_STREAM_RANDOM_MASK, 0);
    size_t n = 3001, k = 777, bad = 0;
    float *src = xmalloc(n * sizeof *src), *comp = xmalloc(k * sizeof *comp);
    fill_normal(&r, src, n, 1.0f);
    fill_normal(&r, comp, k, 1.0f);
    uint32_t *idx = random_index(&r, n, k);
    float *dsrc = tc_put(cu, src, n), *dcomp = tc_put(cu, comp, k);
    uint32_t *didx = tc_put_u32(cu, idx, k);

    float *g_want = xmalloc(k * sizeof *g_want);
    ops_cpu_backend.gather(g_want, src, idx, k);
    float *dg = cu->alloc(k);
    cu->gather(dg, dsrc, didx, k);
    float *got = tc_get(cu, dg, k);
    CHECK_MSG(same_bits(got, g_want, k, &bad), "gather [%zu]", bad);
    free(got);

    ops_cpu_backend.scatter(src, idx, k, comp);
    cu->scatter(dsrc, didx, k, dcomp);
    ops_cpu_backend.scale(src, n, -0.37f);
    cu->scale(dsrc, n, -0.37f);
    got = tc_get(cu, dsrc, n);
    CHECK_MSG(same_bits(got, src, n, &bad), "scatter+scale [%zu]", bad);
    free(got);

    cu->free(dg);
    cu->free(dsrc);
    cu->free(dcomp);
    cu->free(didx);
    free(g_want);
    free(src);
    free(comp);
    free(idx);
}

/* ---------------------------------------------------------------- adamw */

static void adamw_case(const OpsBackend *cu, Rng *r, size_t n, size_t k, int sparse) {
    uint32_t *idx = sparse ? random_index(r, n, k) : NULL;
    float *theta = xmalloc(n * sizeof *theta), *g = xmalloc(k * sizeof *g);
    float *m = xcalloc(k, sizeof *m), *v = xcalloc(k, sizeof *v);
    fill_normal(r, theta, n, 0.05f);
    float *dth = tc_put(cu, theta, n), *dg = cu->alloc(k), *dm = tc_put(cu, m, k),
          *dv = tc_put(cu, v, k);
    uint32_t *didx = sparse ? tc_put_u32(cu, idx, k) : NULL;
    size_t bad = 0;
    for (int step = 1; step <= 5; step++) {
        fill_normal(r, g, k, step == 3 ? 1e-3f : 0.2f);
        if (k > 2) g[1] = 0.0f, g[2] = -0.0f;
        cu->upload(dg, g, k * sizeof *g);
        double lr = 1e-3, b1 = 0.9, b2 = 0.999;
        AdamwStep s = {
            .decay = (float)(1.0 - lr * 0.01),
            .clip = step == 2 ? 0.5f : 1.0f,
            .beta1 = (float)b1,
            .beta2 = (float)b2,
            .step_size = (float)(lr / (1.0 - pow(b1, step))),
            .bc2_sqrt = (float)sqrt(1.0 - pow(b2, step)),
            .eps = 1e-8f,
        };
        ops_cpu_backend.adamw(theta, g, m, v, idx, k, &s);
        cu->adamw(dth, dg, dm, dv, didx, k, &s);
    }
    float *gt = tc_get(cu, dth, n), *gm = tc_get(cu, dm, k), *gv = tc_get(cu, dv, k),
          *gg = tc_get(cu, dg, k);
    /* the same operations in the same order, each rounded: equal bits (rel 1e-6 would do) */
    CHECK_MSG(same_bits(gt, theta, n, &bad), "theta[%zu] %.9g vs %.9g", bad, gt[bad], theta[bad]);
    CHECK_MSG(same_bits(gm, m, k, &bad), "m[%zu] %.9g vs %.9g", bad, gm[bad], m[bad]);
    CHECK_MSG(same_bits(gv, v, k, &bad), "v[%zu] %.9g vs %.9g", bad, gv[bad], v[bad]);
    for (size_t j = 0; j < k; j++)
        if (gg[j] != 0.0f) {
            harness_fail(__FILE__, __LINE__, "g[%zu] = %g, not zeroed", j, gg[j]);
            break;
        }
    free(gt), free(gm), free(gv), free(gg);
    cu->free(dth), cu->free(dg), cu->free(dm), cu->free(dv);
    if (didx) cu->free(didx);
    free(theta), free(g), free(m), free(v), free(idx);
}

TEST(cuda_adamw_matches_cpu) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 45, RNG_STREAM_RANDOM_MASK, 0);
    adamw_case(cu, &r, 4099, 4099, 0); /* dense (idx NULL) */
    adamw_case(cu, &r, 20000, 613, 1); /* sparse */
}

/* ---------------------------------------------------------------- sparse gradients */

static void dw_sparse_case(const OpsBackend *cu, Rng *r, int N, int in, int out, size_t k) {
    size_t nW = (size_t)in * out;
    uint32_t *idx = random_index(r, nW, k);
    float *dy = xmalloc((size_t)N * out * sizeof *dy), *x = xmalloc((size_t)N * in * sizeof *x);
    float *dW = xmalloc((k ? k : 1) * sizeof *dW);
    float *scratch = xmalloc(((size_t)(in + out) * N) * sizeof *scratch);
    fill_normal(r, dy, (size_t)N * out, 1.0f);
    fill_normal(r, x, (size_t)N * in, 1.0f);
    fill_normal(r, dW, k, 1.0f);
    float *ddy = tc_put(cu, dy, (size_t)N * out), *dx = tc_put(cu, x, (size_t)N * in);
    float *ddW = tc_put(cu, dW, k), *dscr = cu->alloc((size_t)(in + out) * N);
    uint32_t *didx = tc_put_u32(cu, idx, k);
    ops_cpu_backend.linear_dw_sparse(dW, idx, k, dy, x, N, in, out, scratch);
    cu->linear_dw_sparse(ddW, didx, k, ddy, dx, N, in, out, dscr);
    float *got = tc_get(cu, ddW, k);
    /* summation orders differ: compare against the sum's magnitude scale (sqrt(N) per term) */
    double tol = 1e-5 * sqrt((double)N) + 1e-6;
    for (size_t j = 0; j < k; j++)
        if (!(fabs((double)got[j] - dW[j]) <= tol * (1 + fabs((double)dW[j])))) {
            harness_fail(__FILE__, __LINE__, "N=%d in=%d out=%d: dW[%zu] %.9g vs cpu %.9g", N, in,
                         out, j, got[j], dW[j]);
            break;
        }
    free(got);
    cu->free(ddy), cu->free(dx), cu->free(ddW), cu->free(dscr), cu->free(didx);
    free(idx), free(dy), free(x), free(dW), free(scratch);
}

TEST(cuda_linear_dw_sparse_matches_cpu) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    /* both ways to the entries (kernels/sparse.cu): the sampled product and dense + gather,
     * forced in turn, then the automatic choice */
    static const char *const mode[] = {"sampled", "dense", NULL};
    for (int m = 0; m < 3; m++) {
        if (mode[m]) setenv("SPARSETUNE_SPARSE_DW", mode[m], 1);
        else unsetenv("SPARSETUNE_SPARSE_DW");
        Rng r;
        rng_init(&r, 46, RNG_STREAM_RANDOM_MASK, 0);
        dw_sparse_case(cu, &r, 37, 19, 23, 50);       /* awkward: scalar path, partial tiles */
        dw_sparse_case(cu, &r, 37, 19, 23, 19 * 23);  /* every entry */
        dw_sparse_case(cu, &r, 64, 40, 33, 301);      /* float4 path */
        dw_sparse_case(cu, &r, 300, 70, 65, 1000);    /* float4 path with a tail, many tiles */
        dw_sparse_case(cu, &r, 300, 70, 65, 30);      /* sparse: sampled under auto in fp32 */
        dw_sparse_case(cu, &r, 5, 3, 2, 0);           /* k = 0: nothing */
    }
}

TEST(cuda_add_selected_exact) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 47, RNG_STREAM_RANDOM_MASK, 0);
    size_t n = 1537, k = 300, bad = 0;
    uint32_t *idx = random_index(&r, n, k);
    float *src = xmalloc(n * sizeof *src), *dst = xmalloc(k * sizeof *dst);
    fill_normal(&r, src, n, 1.0f);
    fill_normal(&r, dst, k, 1.0f);
    float *dsrc = tc_put(cu, src, n), *ddst = tc_put(cu, dst, k);
    uint32_t *didx = tc_put_u32(cu, idx, k);
    ops_cpu_backend.add_selected(dst, idx, k, src);
    cu->add_selected(ddst, didx, k, dsrc);
    float *got = tc_get(cu, ddst, k);
    CHECK_MSG(same_bits(got, dst, k, &bad), "[%zu]", bad);
    free(got);
    cu->free(dsrc), cu->free(ddst), cu->free(didx);
    free(idx), free(src), free(dst);
}

/* Tokens of a few rows, repeated (the sums run over several tokens each, in token order:
 * the GPU keeps that order, so the bits agree). */
static void embed_sparse_case(const OpsBackend *cu, Rng *r, int N, int H, int V, int null_rows,
                              double ratio) {
    size_t nW = (size_t)V * H, k = select_count(ratio, nW), bad = 0;
    uint32_t *idx = random_index(r, nW, k);
    int32_t *rows = xmalloc((size_t)N * sizeof *rows);
    for (int n = 0; n < N; n++) rows[n] = (int32_t)rng_below(r, (uint64_t)V);
    float *dout = xmalloc((size_t)N * H * sizeof *dout), *dw = xmalloc((k ? k : 1) * sizeof *dw);
    fill_normal(r, dout, (size_t)N * H, 1.0f);
    fill_normal(r, dw, k, 1.0f);
    float *ddout = tc_put(cu, dout, (size_t)N * H), *ddw = tc_put(cu, dw, k);
    int32_t *drows = null_rows ? NULL : tc_put_i32(cu, rows, (size_t)N);
    uint32_t *didx = tc_put_u32(cu, idx, k);
    ops_cpu_backend.embed_bwd_sparse(dw, idx, k, null_rows ? NULL : rows, dout, N, H);
    cu->embed_bwd_sparse(ddw, didx, k, drows, ddout, N, H);
    float *got = tc_get(cu, ddw, k);
    CHECK_MSG(same_bits(got, dw, k, &bad), "N=%d H=%d V=%d null=%d: dw[%zu] %.9g vs %.9g", N, H,
              V, null_rows, bad, got[bad], dw[bad]);
    free(got);
    cu->free(ddout), cu->free(ddw), cu->free(didx);
    if (drows) cu->free(drows);
    free(idx), free(rows), free(dout), free(dw);
}

TEST(cuda_embed_bwd_sparse_exact) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    Rng r;
    rng_init(&r, 48, RNG_STREAM_RANDOM_MASK, 0);
    embed_sparse_case(cu, &r, 300, 24, 40, 0, 0.3);  /* repeated rows; more tokens than a block */
    embed_sparse_case(cu, &r, 1100, 8, 700, 0, 0.5); /* > one staging chunk of rows */
    embed_sparse_case(cu, &r, 77, 16, 1, 1, 0.6);    /* rows NULL: every token in row 0 */
    embed_sparse_case(cu, &r, 1500, 4, 1, 1, 1.0);   /* a row of > one chunk of tokens */
    embed_sparse_case(cu, &r, 1300, 4, 2, 0, 0.7);   /* two such rows, interleaved */
    embed_sparse_case(cu, &r, 50, 16, 30, 0, 1.0);   /* every entry */
    embed_sparse_case(cu, &r, 50, 16, 30, 0, 0.0);   /* k = 0 */
}
