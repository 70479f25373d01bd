/* ops.c — forwards every op of ops.h to the current backend (ops_backend.h) and chooses it. */
#include "ops_backend.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static const OpsBackend *ops_cur = &ops_cpu_backend;
static char ops_label[384] = "cpu";

const char *ops_device_label(void) { return ops_label; }

const OpsBackend *ops_current(void) { return ops_cur; }
void ops_use(const OpsBackend *b) { ops_cur = b; }

int ops_parse_precision(const char *name) {
    if (!name || strcmp(name, "fp32") == 0) return OPS_FP32;
    if (strcmp(name, "tf32") == 0) return OPS_TF32;
    if (strcmp(name, "bf16") == 0) return OPS_BF16;
    return -1;
}

const OpsBackend *ops_select(const char *device, const char *precision, int quiet) {
    int prec = ops_parse_precision(precision);
    if (prec < 0) die_usage("--precision: expected fp32, tf32 or bf16, got '%s'", precision);
    if (!device) device = "cpu";
    if (strcmp(device, "cpu") != 0 && strcmp(device, "cuda") != 0 && strcmp(device, "auto") != 0)
        die_usage("--device: expected cpu, cuda or auto, got '%s'", device);
    char err[512] = "", desc[256] = "";
    const OpsBackend *b = &ops_cpu_backend;
    if (strcmp(device, "cpu") != 0) {
        /* auto never picks the emulator: it is for tests, far slower than the CPU backend */
        int try_cuda = strcmp(device, "cuda") == 0 || strcmp(ops_cuda_build(), "nvcc") == 0;
        const OpsBackend *cu = try_cuda ? ops_cuda_backend(err, sizeof err, desc, sizeof desc) : NULL;
        if (cu) b = cu;
        else if (strcmp(device, "cuda") == 0) die("--device cuda", "%s", err);
    }
    if (b == &ops_cpu_backend) {
        snprintf(ops_label, sizeof ops_label, "cpu");
        if (prec != OPS_FP32)
            die("--precision", "%s needs the cuda device; the CPU computes in fp32 only", precision);
        if (!quiet && *err) fprintf(stderr, "device: cpu (cuda unavailable: %s)\n", err);
        else if (!quiet) fprintf(stderr, "device: cpu\n");
    } else {
        if (ops_cuda_set_precision((OpsPrecision)prec, err, sizeof err) != 0) die("--precision", "%s", err);
        snprintf(ops_label, sizeof ops_label, "cuda (%s), %s", desc, precision ? precision : "fp32");
        if (!quiet) fprintf(stderr, "device: %s\n", ops_label);
    }
    ops_cur = b;
    return b;
}

/* ---- forwarding (one line per op of ops.h) ---- */
#define MARK(op) \
    do { \
        if (ops_cur->mark) ops_cur->mark(op); \
    } while (0)
float *ops_alloc(size_t nfloats) { MARK("alloc"); return ops_cur->alloc(nfloats); }
int32_t *ops_alloc_i32(size_t n) { MARK("alloc_i32"); return ops_cur->alloc_i32(n); }
void ops_free(void *p) { MARK("free"); ops_cur->free(p); }
void ops_zero(float *p, size_t n) { MARK("zero"); ops_cur->zero(p, n); }
void ops_upload(void *dst, const void *host_src, size_t nbytes) { MARK("upload"); ops_cur->upload(dst, host_src, nbytes); }
void ops_download(void *host_dst, const void *src, size_t nbytes) { MARK("download"); ops_cur->download(host_dst, src, nbytes); }
void op_gemm(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) { MARK("gemm"); ops_cur->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); }
void op_embed_fwd(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt, const float *wte, const float *wpe, const float *wtt, int N, int H) { MARK("embed_fwd"); ops_cur->embed_fwd(out, ids, pos, tt, wte, wpe, wtt, N, H); }
void op_embed_bwd(const float *dout, const int32_t *ids, const int32_t *pos, const int32_t *tt, float *dwte, float *dwpe, float *dwtt, int N, int H) { MARK("embed_bwd"); ops_cur->embed_bwd(dout, ids, pos, tt, dwte, dwpe, dwtt, N, H); }
void op_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N, int H, float eps) { MARK("layernorm_fwd"); ops_cur->layernorm_fwd(y, mean, rstd, x, w, b, N, H, eps); }
void op_layernorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean, const float *rstd, const float *w, int N, int H, int accumulate) { MARK("layernorm_bwd"); ops_cur->layernorm_bwd(dx, dw, db, dy, x, mean, rstd, w, N, H, accumulate); }
void op_linear_fwd(float *y, const float *x, const float *W, const float *b, int N, int in, int out) { MARK("linear_fwd"); ops_cur->linear_fwd(y, x, W, b, N, in, out); }
void op_linear_bwd(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int N, int in, int out, int accumulate_dx) { MARK("linear_bwd"); ops_cur->linear_bwd(dx, dW, db, dy, x, W, N, in, out, accumulate_dx); }
void op_linear_dw_sparse(float *dW, const uint32_t *idx, size_t k, const float *dy, const float *x, int N, int in, int out, float *scratch) { MARK("linear_dw_sparse"); ops_cur->linear_dw_sparse(dW, idx, k, dy, x, N, in, out, scratch); }
void op_add_selected(float *dst, const uint32_t *idx, size_t k, const float *src) { MARK("add_selected"); ops_cur->add_selected(dst, idx, k, src); }
void op_embed_bwd_sparse(float *dw, const uint32_t *idx, size_t k, const int32_t *rows, const float *dout, int N, int H) { MARK("embed_bwd_sparse"); ops_cur->embed_bwd_sparse(dw, idx, k, rows, dout, N, H); }
void op_gelu_fwd(float *y, const float *x, size_t n) { MARK("gelu_fwd"); ops_cur->gelu_fwd(y, x, n); }
void op_gelu_bwd(float *dx, const float *dy, const float *x, size_t n) { MARK("gelu_bwd"); ops_cur->gelu_bwd(dx, dy, x, n); }
void op_tanh_fwd(float *y, const float *x, size_t n) { MARK("tanh_fwd"); ops_cur->tanh_fwd(y, x, n); }
void op_tanh_bwd(float *dx, const float *dy, const float *y, size_t n) { MARK("tanh_bwd"); ops_cur->tanh_bwd(dx, dy, y, n); }
void op_relu_fwd(float *y, const float *x, size_t n) { MARK("relu_fwd"); ops_cur->relu_fwd(y, x, n); }
void op_relu_bwd(float *dx, const float *dy, const float *y, size_t n) { MARK("relu_bwd"); ops_cur->relu_bwd(dx, dy, y, n); }
void op_add(float *y, const float *a, const float *b, size_t n) { MARK("add"); ops_cur->add(y, a, b, n); }
void op_accumulate(float *y, const float *x, size_t n) { MARK("accumulate"); ops_cur->accumulate(y, x, n); }
void op_dropout_fwd(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub) { MARK("dropout_fwd"); ops_cur->dropout_fwd(y, x, n, p, seed, sub); }
void op_dropout_bwd(float *dx, const float *dy, size_t n, float p, uint64_t seed, uint32_t sub) { MARK("dropout_bwd"); ops_cur->dropout_bwd(dx, dy, n, p, seed, sub); }
void op_attn_scores_fwd(float *scores, const float *q, const float *k, const float *maskadd, int S, int T, int NH, int HD, float scale) { MARK("attn_scores_fwd"); ops_cur->attn_scores_fwd(scores, q, k, maskadd, S, T, NH, HD, scale); }
void op_attn_scores_bwd(float *dq, float *dk, const float *dscores, const float *q, const float *k, int S, int T, int NH, int HD, float scale) { MARK("attn_scores_bwd"); ops_cur->attn_scores_bwd(dq, dk, dscores, q, k, S, T, NH, HD, scale); }
void op_attn_context_fwd(float *ctx, const float *p, const float *v, int S, int T, int NH, int HD) { MARK("attn_context_fwd"); ops_cur->attn_context_fwd(ctx, p, v, S, T, NH, HD); }
void op_attn_context_bwd(float *dp, float *dv, const float *dctx, const float *p, const float *v, int S, int T, int NH, int HD) { MARK("attn_context_bwd"); ops_cur->attn_context_bwd(dp, dv, dctx, p, v, S, T, NH, HD); }
void op_softmax_fwd(float *y, const float *x, size_t rows, int cols) { MARK("softmax_fwd"); ops_cur->softmax_fwd(y, x, rows, cols); }
void op_softmax_bwd(float *dx, const float *dy, const float *y, size_t rows, int cols) { MARK("softmax_bwd"); ops_cur->softmax_bwd(dx, dy, y, rows, cols); }
float op_cross_entropy_fwd(float *probs, const float *logits, const int32_t *labels, int B, int C) { MARK("cross_entropy_fwd"); return ops_cur->cross_entropy_fwd(probs, logits, labels, B, C); }
void op_cross_entropy_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int C, float dloss) { MARK("cross_entropy_bwd"); ops_cur->cross_entropy_bwd(dlogits, probs, labels, B, C, dloss); }
float op_mse_fwd(const float *pred, const float *target, int B) { MARK("mse_fwd"); return ops_cur->mse_fwd(pred, target, B); }
void op_mse_bwd(float *dpred, const float *pred, const float *target, int B, float dloss) { MARK("mse_bwd"); ops_cur->mse_bwd(dpred, pred, target, B, dloss); }
void op_span_pool_fwd(float *out, float *w, const float *x, const float *a, const int32_t *spans, int S, int T, int H, int NS) { MARK("span_pool_fwd"); ops_cur->span_pool_fwd(out, w, x, a, spans, S, T, H, NS); }
void op_span_pool_bwd(float *dx, float *da, const float *dout, const float *out, const float *w, const float *x, const int32_t *spans, int S, int T, int H, int NS) { MARK("span_pool_bwd"); ops_cur->span_pool_bwd(dx, da, dout, out, w, x, spans, S, T, H, NS); }
void op_gather_first_fwd(float *y, const float *x, int S, int T, int H) { MARK("gather_first_fwd"); ops_cur->gather_first_fwd(y, x, S, T, H); }
void op_gather_first_bwd(float *dx, const float *dy, int S, int T, int H) { MARK("gather_first_bwd"); ops_cur->gather_first_bwd(dx, dy, S, T, H); }
void op_gather(float *dst, const float *src, const uint32_t *idx, size_t k) { MARK("gather"); ops_cur->gather(dst, src, idx, k); }
void op_scatter(float *dst, const uint32_t *idx, size_t k, const float *src) { MARK("scatter"); ops_cur->scatter(dst, idx, k, src); }
void op_scale(float *x, size_t n, float f) { MARK("scale"); ops_cur->scale(x, n, f); }
double op_sumsq(const float *x, size_t n) { MARK("sumsq"); return ops_cur->sumsq(x, n); }
double op_sumsq_many(const float *const *x, const size_t *n, int count) { MARK("sumsq_many"); return ops_cur->sumsq_many(x, n, count); }
void op_reduce_into(float *acc, const float *g, size_t n, int kind) { MARK("reduce_into"); ops_cur->reduce_into(acc, g, n, kind); }
void op_adamw(float *theta, float *g, float *m, float *v, const uint32_t *idx, size_t k, const AdamwStep *s) { MARK("adamw"); ops_cur->adamw(theta, g, m, v, idx, k, s); }
int op_topk(const float *x, size_t n, size_t k, int key, uint32_t *out) { MARK("topk"); return ops_cur->topk(x, n, k, key, out); }
