/* CUDA backend, products (kernels/gemm.cu, kernels/backend.cu): every product op against the
 * CPU backend through the two backend tables, on random data — all transposes, non-square,
 * row strides above the column count, the attention shapes of a tiny and of a roberta-base
 * layer — in fp32 (rel. err <= 1e-5), tf32 and bf16 (close, and really different from fp32).
 * In the emulated build (CI) these run the kernels on the CPU emulator; without a CUDA build
 * or device they skip with the reason. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "cuda_fixture.h"
#include "ops_backend.h"

static int differs(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) != 0;
}

/* ---------------------------------------------------------------- gemm */

/* One op_gemm on both backends from the same host data; returns the rel. error of the CUDA
 * result (and its copy in *out when out != NULL, to be freed). */
static double gemm_case(const OpsBackend *cu, char ta, char tb, int M, int N, int K, int pad,
                        float alpha, float beta, float **out) {
    const OpsBackend *cpu = &ops_cpu_backend;
    int na_ = ta == 'N' || ta == 'n', nb_ = tb == 'N' || tb == 'n';
    int ar = na_ ? M : K, ac = na_ ? K : M;
    int br = nb_ ? K : N, bc = nb_ ? N : K;
    int lda = ac + pad, ldb = bc + 2 * pad, ldc = N + pad;
    size_t na = (size_t)ar * lda, nb = (size_t)br * ldb, nc = (size_t)M * ldc;
    float *A = tc_rand(na, 1 + M, -1.0f, 1.0f), *B = tc_rand(nb, 2 + N, -1.0f, 1.0f), *C = tc_rand(nc, 3 + K, -1.0f, 1.0f);
    float *dA = tc_put(cu, A, na), *dB = tc_put(cu, B, nb), *dC = tc_put(cu, C, nc);
    if (beta == 0.0f) { /* C must not be read: NaN on the device would show */
        for (size_t i = 0; i < nc; i++) C[i] = NAN;
        cu->upload(dC, C, nc * sizeof(float));
        memset(C, 0, nc * sizeof(float));
    }
    cpu->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    cu->gemm(ta, tb, M, N, K, alpha, dA, lda, dB, ldb, beta, dC, ldc);
    float *got = tc_get(cu, dC, nc);
    /* the padding columns of C must be untouched: compare them too (the CPU left them) */
    if (beta == 0.0f)
        for (int r = 0; r < M; r++)
            for (int c = N; c < ldc; c++) got[(size_t)r * ldc + c] = C[(size_t)r * ldc + c];
    double e = tc_rel_err(got, C, nc);
    if (out) *out = got;
    else free(got);
    cu->free(dA);
    cu->free(dB);
    cu->free(dC);
    free(A);
    free(B);
    free(C);
    return e;
}

TEST(cuda_blas_gemm_all_transposes) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    static const int shapes[][3] = {{5, 7, 3}, {33, 17, 65}, {1, 40, 9}, {64, 1, 31}, {16, 16, 16}};
    const char *t = "NT";
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int pad = 0; pad <= 3; pad += 3)
                    for (int bz = 0; bz < 2; bz++) {
                        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                        double e = gemm_case(cu, t[i], t[j], M, N, K, pad, 0.75f, bz ? 0.5f : 0.0f, NULL);
                        CHECK_MSG(e <= 1e-5, "gemm %c%c M=%d N=%d K=%d pad=%d beta=%g: rel err %.3g",
                                  t[i], t[j], M, N, K, pad, bz ? 0.5 : 0.0, e);
                    }
}

TEST(cuda_blas_gemm_edge_sizes) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    /* K = 0: C = beta C, as ops.h (and BLAS) say; oneDNN leaves C as it is, so the
     * reference is computed here */
    for (int bz = 0; bz < 2; bz++) {
        float beta = bz ? 0.5f : 0.0f, C[4 * 6], want[4 * 6];
        tc_fill(C, 24, 77, -1.0f, 1.0f);
        for (int i = 0; i < 24; i++) want[i] = i % 6 == 5 ? C[i] : beta == 0.0f ? 0.0f : beta * C[i];
        float *dC = tc_put(cu, C, 24), *dA = cu->alloc(1), *dB = cu->alloc(1);
        cu->gemm('N', 'N', 4, 5, 0, 1.0f, dA, 1, dB, 6, beta, dC, 6);
        float *got = tc_get(cu, dC, 24);
        CHECK_MSG(!differs(got, want, 24), "gemm K=0 beta=%g", beta);
        free(got);
        cu->free(dA), cu->free(dB), cu->free(dC);
    }
    /* lower-case flags as BLAS accepts them */
    CHECK(gemm_case(cu, 'n', 't', 9, 3, 4, 2, -1.5f, 1.0f, NULL) <= 1e-5);
    /* M = 0 / N = 0: nothing happens (no crash, no launch with an empty grid) */
    CHECK(gemm_case(cu, 'N', 'N', 0, 5, 3, 0, 1.0f, 0.0f, NULL) == 0);
    CHECK(gemm_case(cu, 'T', 'N', 4, 0, 3, 1, 1.0f, 0.0f, NULL) == 0);
}

/* ---------------------------------------------------------------- linear */

static void linear_case(const OpsBackend *cu, int N, int in, int out, int with_bias, double tol) {
    const OpsBackend *cpu = &ops_cpu_backend;
    size_t nx = (size_t)N * in, nw = (size_t)out * in, ny = (size_t)N * out;
    float *x = tc_rand(nx, 11, -1.0f, 1.0f), *W = tc_rand(nw, 12, -1.0f, 1.0f), *b = with_bias ? tc_rand(out, 13, -1.0f, 1.0f) : NULL;
    float *y = malloc(ny * sizeof *y);
    float *dx_ = tc_put(cu, x, nx), *dW_ = tc_put(cu, W, nw), *db_ = tc_put(cu, b, out), *dy_ = cu->alloc(ny);
    cpu->linear_fwd(y, x, W, b, N, in, out);
    cu->linear_fwd(dy_, dx_, dW_, db_, N, in, out);
    float *got = tc_get(cu, dy_, ny);
    double e = tc_rel_err(got, y, ny);
    CHECK_MSG(e <= tol, "linear_fwd N=%d in=%d out=%d bias=%d: rel err %.3g", N, in, out, with_bias, e);
    free(got);

    /* backward: dx = / += dy W, dW += dy^T x, db += colsum dy, with every subset */
    float *gy = tc_rand(ny, 14, -1.0f, 1.0f), *gx = tc_rand(nx, 15, -1.0f, 1.0f), *gW = tc_rand(nw, 16, -1.0f, 1.0f), *gb = tc_rand(out, 17, -1.0f, 1.0f);
    float *d_gy = tc_put(cu, gy, ny);
    for (int acc = 0; acc < 2; acc++)
        for (int mask = 1; mask < 8; mask++) {
            int want_dx = mask & 1, want_dW = mask & 2, want_db = mask & 4;
            float *hx = malloc(nx * sizeof *hx), *hW = malloc(nw * sizeof *hW), *hb = malloc(out * sizeof *hb);
            memcpy(hx, gx, nx * sizeof *hx);
            memcpy(hW, gW, nw * sizeof *hW);
            memcpy(hb, gb, out * sizeof *hb);
            float *d_gx = tc_put(cu, gx, nx), *d_gW = tc_put(cu, gW, nw), *d_gb = tc_put(cu, gb, out);
            cpu->linear_bwd(want_dx ? hx : NULL, want_dW ? hW : NULL, want_db ? hb : NULL, gy, x, W, N, in, out, acc);
            cu->linear_bwd(want_dx ? d_gx : NULL, want_dW ? d_gW : NULL, want_db ? d_gb : NULL, d_gy, dx_, dW_, N, in, out, acc);
            float *rx = tc_get(cu, d_gx, nx), *rW = tc_get(cu, d_gW, nw), *rb = tc_get(cu, d_gb, out);
            double ex = tc_rel_err(rx, hx, nx), eW = tc_rel_err(rW, hW, nw), eb = tc_rel_err(rb, hb, out);
            CHECK_MSG(ex <= tol && eW <= tol && eb <= tol,
                      "linear_bwd N=%d in=%d out=%d acc=%d set=%d: rel err dx %.3g dW %.3g db %.3g",
                      N, in, out, acc, mask, ex, eW, eb);
            /* untouched outputs stay as they were */
            if (!want_dx) CHECK(!differs(rx, gx, nx));
            if (!want_dW) CHECK(!differs(rW, gW, nw));
            if (!want_db) CHECK(!differs(rb, gb, out));
            free(rx), free(rW), free(rb), free(hx), free(hW), free(hb);
            cu->free(d_gx), cu->free(d_gW), cu->free(d_gb);
        }
    cu->free(d_gy), cu->free(dx_), cu->free(dW_), cu->free(db_), cu->free(dy_);
    free(x), free(W), free(b), free(y), free(gy), free(gx), free(gW), free(gb);
}

TEST(cuda_blas_linear_fwd_bwd) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    linear_case(cu, 5, 7, 3, 1, 1e-5);
    linear_case(cu, 300, 24, 40, 1, 1e-5); /* > 256 rows: the two-pass bias sum */
    linear_case(cu, 600, 17, 70, 0, 1e-5);
}

TEST(cuda_blas_bias_sum_is_deterministic) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    int N = 1000, in = 8, out = 50;
    float *dy = tc_rand((size_t)N * out, 21, -1.0f, 1.0f), *x = tc_rand((size_t)N * in, 22, -1.0f, 1.0f), *W = tc_rand((size_t)out * in, 23, -1.0f, 1.0f);
    float *d_dy = tc_put(cu, dy, (size_t)N * out), *d_x = tc_put(cu, x, (size_t)N * in), *d_W = tc_put(cu, W, (size_t)out * in);
    float *r[2];
    for (int run = 0; run < 2; run++) {
        float *db = cu->alloc(out);
        cu->zero(db, out);
        cu->linear_bwd(NULL, NULL, db, d_dy, d_x, d_W, N, in, out, 0);
        r[run] = tc_get(cu, db, out);
        cu->free(db);
    }
    CHECK(!differs(r[0], r[1], out));
    /* and it is the column sum (double reference) */
    for (int c = 0; c < out; c++) {
        double s = 0;
        for (int n = 0; n < N; n++) s += dy[(size_t)n * out + c];
        CHECK_NEAR(r[0][c], s, 1e-4);
    }
    free(r[0]), free(r[1]), free(dy), free(x), free(W);
    cu->free(d_dy), cu->free(d_x), cu->free(d_W);
}

/* ---------------------------------------------------------------- attention */

typedef struct {
    double scores, dq, dk, ctx, dp, dv;
} AttnErr;

/* All four attention ops on both backends from the same data; rel. errors of the CUDA ones.
 * keep (may be NULL) receives the CUDA outputs in order scores, dq, dk, ctx, dp, dv. */
static AttnErr attn_case(const OpsBackend *cu, int S, int T, int NH, int HD, float **keep) {
    const OpsBackend *cpu = &ops_cpu_backend;
    int H = NH * HD;
    size_t nt = (size_t)S * T * H, ns = (size_t)S * NH * T * T;
    float scale = 1.0f / sqrtf((float)HD);
    float *q = tc_rand(nt, 31, -1.0f, 1.0f), *k = tc_rand(nt, 32, -1.0f, 1.0f), *v = tc_rand(nt, 33, -1.0f, 1.0f);
    float *mask = malloc((size_t)S * T * sizeof *mask);
    for (int s = 0; s < S; s++) /* the last positions of each sequence are padding */
        for (int j = 0; j < T; j++) mask[(size_t)s * T + j] = j >= T - 1 - s ? -3.0f : 0.0f;
    float *pr = tc_rand(ns, 34, -1.0f, 1.0f), *gs = tc_rand(ns, 35, -1.0f, 1.0f), *gc = tc_rand(nt, 36, -1.0f, 1.0f);
    float *out[6], *ref[6];
    size_t sz[6] = {ns, nt, nt, nt, ns, nt};
    for (int i = 0; i < 6; i++) {
        ref[i] = malloc(sz[i] * sizeof(float));
        out[i] = cu->alloc(sz[i]);
    }
    float *dq_ = tc_put(cu, q, nt), *dk_ = tc_put(cu, k, nt), *dv_ = tc_put(cu, v, nt), *dm_ = tc_put(cu, mask, (size_t)S * T);
    float *dpr = tc_put(cu, pr, ns), *dgs = tc_put(cu, gs, ns), *dgc = tc_put(cu, gc, nt);
    cpu->attn_scores_fwd(ref[0], q, k, mask, S, T, NH, HD, scale);
    cu->attn_scores_fwd(out[0], dq_, dk_, dm_, S, T, NH, HD, scale);
    cpu->attn_scores_bwd(ref[1], ref[2], gs, q, k, S, T, NH, HD, scale);
    cu->attn_scores_bwd(out[1], out[2], dgs, dq_, dk_, S, T, NH, HD, scale);
    cpu->attn_context_fwd(ref[3], pr, v, S, T, NH, HD);
    cu->attn_context_fwd(out[3], dpr, dv_, S, T, NH, HD);
    cpu->attn_context_bwd(ref[4], ref[5], gc, pr, v, S, T, NH, HD);
    cu->attn_context_bwd(out[4], out[5], dgc, dpr, dv_, S, T, NH, HD);
    double e[6];
    for (int i = 0; i < 6; i++) {
        float *got = tc_get(cu, out[i], sz[i]);
        e[i] = tc_rel_err(got, ref[i], sz[i]);
        if (keep) keep[i] = got;
        else free(got);
        cu->free(out[i]);
        free(ref[i]);
    }
    cu->free(dq_), cu->free(dk_), cu->free(dv_), cu->free(dm_), cu->free(dpr), cu->free(dgs), cu->free(dgc);
    free(q), free(k), free(v), free(mask), free(pr), free(gs), free(gc);
    AttnErr r = {e[0], e[1], e[2], e[3], e[4], e[5]};
    return r;
}

static void check_attn(AttnErr e, double tol, int S, int T, int NH, int HD, const char *prec) {
    CHECK_MSG(e.scores <= tol && e.dq <= tol && e.dk <= tol && e.ctx <= tol && e.dp <= tol && e.dv <= tol,
              "attention %s S=%d T=%d NH=%d HD=%d: rel err scores %.3g dq %.3g dk %.3g ctx %.3g dp %.3g dv %.3g",
              prec, S, T, NH, HD, e.scores, e.dq, e.dk, e.ctx, e.dp, e.dv);
}

TEST(cuda_blas_attention_fp32) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    check_attn(attn_case(cu, 3, 7, 2, 4, NULL), 1e-5, 3, 7, 2, 4, "fp32"); /* S > NH: loop over heads */
    check_attn(attn_case(cu, 2, 9, 5, 3, NULL), 1e-5, 2, 9, 5, 3, "fp32"); /* S < NH: loop over sequences */
    check_attn(attn_case(cu, 2, 128, 12, 64, NULL), 1e-5, 2, 128, 12, 64, "fp32");
}

/* ---------------------------------------------------------------- precisions */

TEST(cuda_blas_reduced_precisions) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    char err[128];
    float *g32 = NULL, *g = NULL;
    float *a32[6], *a[6];
    size_t nt = (size_t)3 * 7 * 8, ns = (size_t)3 * 2 * 7 * 7, sz[6] = {ns, nt, nt, nt, ns, nt};
    CHECK(gemm_case(cu, 'T', 'N', 37, 29, 70, 2, 1.0f, 0.25f, &g32) <= 1e-5);
    attn_case(cu, 3, 7, 2, 4, a32);
    /* tf32: 10 mantissa bits per operand, bf16: 7; accumulation stays fp32 in both */
    static const struct { OpsPrecision p; const char *name; double tol; } precs[] = {
        {OPS_TF32, "tf32", 2e-3}, {OPS_BF16, "bf16", 1e-2}};
    for (int i = 0; i < 2; i++) {
        CHECK(ops_cuda_set_precision(precs[i].p, err, sizeof err) == 0);
        double e = gemm_case(cu, 'T', 'N', 37, 29, 70, 2, 1.0f, 0.25f, &g);
        CHECK_MSG(e <= precs[i].tol, "gemm %s: rel err %.3g", precs[i].name, e);
        CHECK_MSG(e > 1e-6 && differs(g, g32, (size_t)37 * 31), "gemm %s: same as fp32 (rel err %.3g)", precs[i].name, e);
        free(g);
        AttnErr ae = attn_case(cu, 3, 7, 2, 4, a);
        check_attn(ae, precs[i].tol, 3, 7, 2, 4, precs[i].name);
        for (int j = 0; j < 6; j++) {
            CHECK_MSG(differs(a[j], a32[j], sz[j]), "attention %s output %d same as fp32", precs[i].name, j);
            free(a[j]);
        }
        linear_case(cu, 40, 30, 20, 1, precs[i].tol);
    }
    CHECK(ops_cuda_set_precision(OPS_FP32, err, sizeof err) == 0);
    CHECK(ops_cuda_set_precision((OpsPrecision)7, err, sizeof err) == -1);
    CHECK(strstr(err, "precision") != NULL);
    /* back to fp32: the same bits as before */
    CHECK(gemm_case(cu, 'T', 'N', 37, 29, 70, 2, 1.0f, 0.25f, &g) <= 1e-5);
    CHECK(!differs(g, g32, (size_t)37 * 31));
    free(g), free(g32);
    for (int j = 0; j < 6; j++) free(a32[j]);
}

TEST(cuda_blas_backend_table) {
    const OpsBackend *cu = cuda_or_skip();
    if (!cu) return;
    char desc[256] = "";
    CHECK(ops_cuda_backend(NULL, 0, desc, sizeof desc) == cu); /* initialised once */
    CHECK_STR(cu->name, "cuda");
    CHECK(strstr(desc, "SMs") != NULL && strstr(desc, "GiB") != NULL && strstr(desc, "sm_") != NULL);
    const char *build = ops_cuda_build();
    CHECK(strcmp(build, "nvcc") == 0 || strcmp(build, "emu") == 0);
    /* every op is set: the table is a name, the optional profiling hook (mark), then the ops */
    const char *ops = (const char *)cu + offsetof(OpsBackend, mark) + sizeof cu->mark;
    void (*const *fp)(void) = (void (*const *)(void))ops;
    size_t nfp = (sizeof(OpsBackend) - (size_t)(ops - (const char *)cu)) / sizeof(void (*)(void));
    for (size_t i = 0; i < nfp; i++) CHECK_MSG(fp[i] != NULL, "table op %zu is NULL", i);
    /* memory: zero, upload/download round trip, free(NULL) */
    float h[5] = {1, 2, 3, 4, 5}, back[5];
    float *d = cu->alloc(5);
    cu->upload(d, h, sizeof h);
    cu->zero(d + 1, 3);
    cu->download(back, d, sizeof back);
    CHECK(back[0] == 1 && back[1] == 0 && back[2] == 0 && back[3] == 0 && back[4] == 5);
    cu->free(d);
    cu->free(NULL);
    int32_t *di = cu->alloc_i32(3);
    int32_t hi[3] = {-1, 7, 1 << 30}, bi[3];
    cu->upload(di, hi, sizeof hi);
    cu->download(bi, di, sizeof bi);
    CHECK(memcmp(hi, bi, sizeof hi) == 0);
    cu->free(di);
}
