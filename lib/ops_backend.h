/* ops_backend.h — the backends of the op layer (ops.h) and the choice between them.
 *
 * A backend is a table of the ops.h functions; lib/ops.c forwards every op_* / ops_* call to
 * the current one.  The choice is process-wide and made once, before any model or buffer
 * exists (the tools' --device option): buffers belong to the backend that allocated them.
 *
 * Backends:
 *   cpu   lib/ops_cpu.c (oneDNN + OpenMP), always present, the reference.
 *   cuda  kernels/ (cuBLAS + own kernels), in three builds chosen by the Makefile:
 *           - nvcc: the real GPU backend (`make` where nvcc is found);
 *           - emu:  the same kernel sources compiled as C++ for the CPU emulator
 *                   (kernels/emu/: every CUDA thread a fiber) — the test build uses it so CI
 *                   checks the kernels' results without a GPU;
 *           - none: no CUDA code; asking for cuda gives a clear error.
 * Precision (cuda only): fp32 (default, plain fp32 products), tf32 (tensor-core fp32 products),
 * bf16 (bf16 operands, fp32 accumulation and fp32 master weights).  The CPU does fp32 only. */
#ifndef SPARSETUNE_OPS_BACKEND_H
#define SPARSETUNE_OPS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"

typedef enum { OPS_FP32 = 0, OPS_TF32 = 1, OPS_BF16 = 2 } OpsPrecision;

typedef struct OpsBackend {
    const char *name; /* "cpu", "cuda" */
    /* Profiling hook (may be NULL): called with the op's name before every op (ops.c), so a
     * backend can time its ops in stream order (the CUDA backend with events when
     * SPARSETUNE_OPS_PROFILE is set; the CPU backend profiles inside ops_cpu.c). */
    void (*mark)(const char *op);
    float *(*alloc)(size_t nfloats);
    int32_t *(*alloc_i32)(size_t n);
    void (*free)(void *p);
    void (*zero)(float *p, size_t n);
    void (*upload)(void *dst, const void *host_src, size_t nbytes);
    void (*download)(void *host_dst, const void *src, size_t nbytes);
    void (*gemm)(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
    void (*embed_fwd)(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt, const float *wte, const float *wpe, const float *wtt, int N, int H);
    void (*embed_bwd)(const float *dout, const int32_t *ids, const int32_t *pos, const int32_t *tt, float *dwte, float *dwpe, float *dwtt, int N, int H);
    void (*layernorm_fwd)(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N, int H, float eps);
    void (*layernorm_bwd)(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean, const float *rstd, const float *w, int N, int H, int accumulate);
    void (*linear_fwd)(float *y, const float *x, const float *W, const float *b, int N, int in, int out);
    void (*linear_bwd)(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int N, int in, int out, int accumulate_dx);
    void (*linear_dw_sparse)(float *dW, const uint32_t *idx, size_t k, const float *dy, const float *x, int N, int in, int out, float *scratch);
    void (*add_selected)(float *dst, const uint32_t *idx, size_t k, const float *src);
    void (*embed_bwd_sparse)(float *dw, const uint32_t *idx, size_t k, const int32_t *rows, const float *dout, int N, int H);
    void (*gelu_fwd)(float *y, const float *x, size_t n);
    void (*gelu_bwd)(float *dx, const float *dy, const float *x, size_t n);
    void (*tanh_fwd)(float *y, const float *x, size_t n);
    void (*tanh_bwd)(float *dx, const float *dy, const float *y, size_t n);
    void (*relu_fwd)(float *y, const float *x, size_t n);
    void (*relu_bwd)(float *dx, const float *dy, const float *y, size_t n);
    void (*add)(float *y, const float *a, const float *b, size_t n);
    void (*accumulate)(float *y, const float *x, size_t n);
    void (*dropout_fwd)(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub);
    void (*dropout_bwd)(float *dx, const float *dy, size_t n, float p, uint64_t seed, uint32_t sub);
    void (*attn_scores_fwd)(float *scores, const float *q, const float *k, const float *maskadd, int S, int T, int NH, int HD, float scale);
    void (*attn_scores_bwd)(float *dq, float *dk, const float *dscores, const float *q, const float *k, int S, int T, int NH, int HD, float scale);
    void (*attn_context_fwd)(float *ctx, const float *p, const float *v, int S, int T, int NH, int HD);
    void (*attn_context_bwd)(float *dp, float *dv, const float *dctx, const float *p, const float *v, int S, int T, int NH, int HD);
    void (*softmax_fwd)(float *y, const float *x, size_t rows, int cols);
    void (*softmax_bwd)(float *dx, const float *dy, const float *y, size_t rows, int cols);
    float (*cross_entropy_fwd)(float *probs, const float *logits, const int32_t *labels, int B, int C);
    void (*cross_entropy_bwd)(float *dlogits, const float *probs, const int32_t *labels, int B, int C, float dloss);
    float (*mse_fwd)(const float *pred, const float *target, int B);
    void (*mse_bwd)(float *dpred, const float *pred, const float *target, int B, float dloss);
    void (*span_pool_fwd)(float *out, float *w, const float *x, const float *a, const int32_t *spans, int S, int T, int H, int NS);
    void (*span_pool_bwd)(float *dx, float *da, const float *dout, const float *out, const float *w, const float *x, const int32_t *spans, int S, int T, int H, int NS);
    void (*gather_first_fwd)(float *y, const float *x, int S, int T, int H);
    void (*gather_first_bwd)(float *dx, const float *dy, int S, int T, int H);
    void (*gather)(float *dst, const float *src, const uint32_t *idx, size_t k);
    void (*scatter)(float *dst, const uint32_t *idx, size_t k, const float *src);
    void (*scale)(float *x, size_t n, float f);
    double (*sumsq)(const float *x, size_t n);
    double (*sumsq_many)(const float *const *x, const size_t *n, int count);
    void (*reduce_into)(float *acc, const float *g, size_t n, int kind);
    void (*adamw)(float *theta, float *g, float *m, float *v, const uint32_t *idx, size_t k, const AdamwStep *s);
    int (*topk)(const float *x, size_t n, size_t k, int key, uint32_t *out);
} OpsBackend;

extern const OpsBackend ops_cpu_backend;

/* The CUDA backend (kernels/), initialised on the first call (device 0 of the visible ones,
 * cuBLAS handle, stream); NULL with the reason in err when this build has none or no usable
 * GPU is visible.  describe (may be NULL) receives e.g. "NVIDIA H200, 132 SMs, 139 GiB". */
const OpsBackend *ops_cuda_backend(char *err, size_t errlen, char *describe, size_t desclen);
/* Set the matrix-product precision of the CUDA backend; 0, or -1 with a message. */
int ops_cuda_set_precision(OpsPrecision p, char *err, size_t errlen);
/* Which CUDA build this binary has: "nvcc", "emu" or "none". */
const char *ops_cuda_build(void);

/* The current backend (cpu until ops_select / ops_use). */
const OpsBackend *ops_current(void);
/* Make b current (tests; the tools use ops_select). */
void ops_use(const OpsBackend *b);

/* The tools' --device and --precision: device "cpu", "cuda" or "auto" (cuda when this
 * build has a usable GPU, else cpu; the emulator never counts for auto), precision "fp32",
 * "tf32" or "bf16" (NULL = fp32).  Dies with a usage error (exit 2) on unknown names and with
 * a clear error (exit 1) when cuda is asked for and unavailable or the CPU is asked for a
 * precision other than fp32.  Prints "device: ..." to stderr unless quiet.  Returns the
 * backend now current. */
const OpsBackend *ops_select(const char *device, const char *precision, int quiet);
/* What ops_select chose, for the outputs' headers: "cpu" or e.g. "cuda (NVIDIA H200, 132 SMs,
 * 139 GiB, sm_90), bf16". */
const char *ops_device_label(void);
/* Parse a precision name; -1 when unknown. */
int ops_parse_precision(const char *name);

#endif
