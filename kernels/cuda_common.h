/* cuda_common.h — shared by the kernels/<name>.cu files: error checks, the backend's state, launch
 * sizes, block reductions, and the cu_* functions that make up the CUDA backend's table
 * (one per ops.h function, same arguments and contract; pointers are device pointers except
 * where ops.h says host).  Written in the dialect of cuda_compat.h. */
#ifndef SPARSETUNE_CUDA_COMMON_H
#define SPARSETUNE_CUDA_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "cuda_compat.h"

extern "C" {
#include "ops_backend.h"
}

/* ---- errors: every runtime and cuBLAS call is checked; failures die "cuda: where: what" */
void cu_fail(const char *what, const char *detail, const char *file, int line);
#define CU_CHECK(call)                                                                         \
    do {                                                                                       \
        cudaError_t e_ = (call);                                                               \
        if (e_ != cudaSuccess) cu_fail(#call, cudaGetErrorString(e_), __FILE__, __LINE__);    \
    } while (0)
#define CUBLAS_CHECK(call)                                                                     \
    do {                                                                                       \
        cublasStatus_t s_ = (call);                                                            \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                       \
            cu_fail(#call, cublasGetStatusString(s_), __FILE__, __LINE__);                     \
    } while (0)

/* ---- backend state (backend.cu) ---- */
extern cudaStream_t cu_stream; /* every kernel, copy and cuBLAS call goes to this stream */
extern cublasHandle_t cu_blas;
extern OpsPrecision cu_precision;
/* Scratch device memory of at least nbytes, owned by the backend, reused by later calls (one
 * stream, so consecutive ops never overlap).  Slots: 0 general (elementwise, norms, losses,
 * sparse and training ops), 1 the bf16 copies of gemm operands, 2 bias-sum partials, 3 spare.
 * An op must not hold a slot across a call to another op that may use the same slot. */
void *cu_scratch(int slot, size_t nbytes);

/* ---- launch sizes ---- */
#define CU_THREADS 256
static inline unsigned cu_blocks(size_t n, unsigned threads) {
    size_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    return b > 65535u * 32u ? 65535u * 32u : (unsigned)b; /* kernels loop (grid-stride) */
}

/* ---- block reductions: every thread of the block must call (uniform control flow);
 * blockDim.x a multiple of 32, at most 1024.  The result is returned to every thread.
 * Deterministic: the combination order depends only on the thread layout. */
__device__ __forceinline__ float cu_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float cu_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ double cu_warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
/* red: __shared__ scratch of 32 elements supplied by the caller. */
__device__ __forceinline__ float cu_block_sum(float v, float *red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = cu_warp_sum(v);
    __syncthreads(); /* red may still be read by a previous reduction */
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : 0.0f;
    return cu_warp_sum(v);
}
__device__ __forceinline__ float cu_block_max(float v, float *red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = cu_warp_max(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : -INFINITY;
    return cu_warp_max(v);
}
__device__ __forceinline__ double cu_block_sum_d(double v, double *red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = cu_warp_sum_d(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = lane < nw ? red[lane] : 0.0;
    return cu_warp_sum_d(v);
}

/* ---- the op profile (profile.cu): SPARSETUNE_OPS_PROFILE=K in the environment ---- */
int cu_profiling(void);
void cu_mark(const char *op);

/* ---- the backend's functions (ops.h contracts) ---- */
float *cu_alloc(size_t nfloats);
int32_t *cu_alloc_i32(size_t n);
void cu_free(void *p);
void cu_zero(float *p, size_t n);
void cu_upload(void *dst, const void *host_src, size_t nbytes);
void cu_download(void *host_dst, const void *src, size_t nbytes);
void cu_gemm(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void cu_embed_fwd(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt, const float *wte, const float *wpe, const float *wtt, int N, int H);
void cu_embed_bwd(const float *dout, const int32_t *ids, const int32_t *pos, const int32_t *tt, float *dwte, float *dwpe, float *dwtt, int N, int H);
void cu_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int N, int H, float eps);
void cu_layernorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean, const float *rstd, const float *w, int N, int H, int accumulate);
void cu_linear_fwd(float *y, const float *x, const float *W, const float *b, int N, int in, int out);
void cu_linear_bwd(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int N, int in, int out, int accumulate_dx);
void cu_linear_dw_sparse(float *dW, const uint32_t *idx, size_t k, const float *dy, const float *x, int N, int in, int out, float *scratch);
void cu_add_selected(float *dst, const uint32_t *idx, size_t k, const float *src);
void cu_embed_bwd_sparse(float *dw, const uint32_t *idx, size_t k, const int32_t *rows, const float *dout, int N, int H);
void cu_gelu_fwd(float *y, const float *x, size_t n);
void cu_gelu_bwd(float *dx, const float *dy, const float *x, size_t n);
void cu_tanh_fwd(float *y, const float *x, size_t n);
void cu_tanh_bwd(float *dx, const float *dy, const float *y, size_t n);
void cu_relu_fwd(float *y, const float *x, size_t n);
void cu_relu_bwd(float *dx, const float *dy, const float *y, size_t n);
void cu_add(float *y, const float *a, const float *b, size_t n);
void cu_accumulate(float *y, const float *x, size_t n);
void cu_dropout_fwd(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub);
void cu_dropout_bwd(float *dx, const float *dy, size_t n, float p, uint64_t seed, uint32_t sub);
void cu_attn_scores_fwd(float *scores, const float *q, const float *k, const float *maskadd, int S, int T, int NH, int HD, float scale);
void cu_attn_scores_bwd(float *dq, float *dk, const float *dscores, const float *q, const float *k, int S, int T, int NH, int HD, float scale);
void cu_attn_context_fwd(float *ctx, const float *p, const float *v, int S, int T, int NH, int HD);
void cu_attn_context_bwd(float *dp, float *dv, const float *dctx, const float *p, const float *v, int S, int T, int NH, int HD);
void cu_softmax_fwd(float *y, const float *x, size_t rows, int cols);
void cu_softmax_bwd(float *dx, const float *dy, const float *y, size_t rows, int cols);
float cu_cross_entropy_fwd(float *probs, const float *logits, const int32_t *labels, int B, int C);
void cu_cross_entropy_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int C, float dloss);
float cu_mse_fwd(const float *pred, const float *target, int B);
void cu_mse_bwd(float *dpred, const float *pred, const float *target, int B, float dloss);
void cu_span_pool_fwd(float *out, float *w, const float *x, const float *a, const int32_t *spans, int S, int T, int H, int NS);
void cu_span_pool_bwd(float *dx, float *da, const float *dout, const float *out, const float *w, const float *x, const int32_t *spans, int S, int T, int H, int NS);
void cu_gather_first_fwd(float *y, const float *x, int S, int T, int H);
void cu_gather_first_bwd(float *dx, const float *dy, int S, int T, int H);
void cu_gather(float *dst, const float *src, const uint32_t *idx, size_t k);
void cu_scatter(float *dst, const uint32_t *idx, size_t k, const float *src);
void cu_scale(float *x, size_t n, float f);
double cu_sumsq(const float *x, size_t n);
double cu_sumsq_many(const float *const *x, const size_t *n, int count);
void cu_reduce_into(float *acc, const float *g, size_t n, int kind);
void cu_adamw(float *theta, float *g, float *m, float *v, const uint32_t *idx, size_t k, const AdamwStep *s);
int cu_topk(const float *x, size_t n, size_t k, int key, uint32_t *out);

#endif
