/* backend.cu — the CUDA backend's state and plumbing: lazy initialisation (device 0, one
 * stream, one cuBLAS handle bound to it), the ops table, precision, error reporting, device
 * memory and scratch buffers.  The arithmetic lives in the other .cu files of kernels/. */
#include <stdio.h>
#include <string.h>

#include "cuda_common.h"

/* util.h is C11; its _Noreturn is spelled [[noreturn]] in C++. */
#define _Noreturn [[noreturn]]
extern "C" {
#include "util.h"
}
#undef _Noreturn

cudaStream_t cu_stream;
cublasHandle_t cu_blas;
OpsPrecision cu_precision = OPS_FP32;

static int cu_state;          /* 0: not tried, 1: ready, -1: failed (cu_reason says why) */
static char cu_reason[256];
static char cu_describe[320];
static OpsBackend cu_table;

/* ---------------------------------------------------------------- errors */

void cu_fail(const char *what, const char *detail, const char *file, int line) {
    die("cuda", "%s:%d: %s: %s", file, line, what, detail ? detail : "failed");
}

void cu_check_launch(const char *kernel, const char *file, int line) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) cu_fail(kernel, cudaGetErrorString(e), file, line);
}

/* ---------------------------------------------------------------- memory */

static void *cu_malloc_or_die(size_t nbytes) {
    void *p = NULL;
    if (nbytes == 0) nbytes = 1;
    cudaError_t e = cudaMalloc(&p, nbytes); /* 256-byte aligned (ops.h asks for 64) */
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* clear it so that cudaMemGetInfo reports */
        size_t fr = 0, total = 0;
        if (cudaMemGetInfo(&fr, &total) != cudaSuccess) fr = 0;
        die("cuda", "out of device memory: %zu MiB requested, %zu MiB free",
            (nbytes + (1u << 20) - 1) >> 20, fr >> 20);
    }
    if (e != cudaSuccess) cu_fail("cudaMalloc", cudaGetErrorString(e), __FILE__, __LINE__);
    return p;
}

float *cu_alloc(size_t nfloats) { return (float *)cu_malloc_or_die(nfloats * sizeof(float)); }
int32_t *cu_alloc_i32(size_t n) { return (int32_t *)cu_malloc_or_die(n * sizeof(int32_t)); }

void cu_free(void *p) {
    if (p) CU_CHECK(cudaFree(p)); /* cudaFree waits for the device: no kernel still uses p */
}

void cu_zero(float *p, size_t n) {
    if (n) CU_CHECK(cudaMemsetAsync(p, 0, n * sizeof(float), cu_stream));
}

/* Both copies return only when the data has arrived: the host may reuse or read its buffer
 * at once, and a failed kernel earlier on the stream is reported here at the latest. */
void cu_upload(void *dst, const void *host_src, size_t nbytes) {
    if (!nbytes) return;
    CU_CHECK(cudaMemcpyAsync(dst, host_src, nbytes, cudaMemcpyHostToDevice, cu_stream));
    CU_CHECK(cudaStreamSynchronize(cu_stream));
}

void cu_download(void *host_dst, const void *src, size_t nbytes) {
    if (!nbytes) return;
    CU_CHECK(cudaMemcpyAsync(host_dst, src, nbytes, cudaMemcpyDeviceToHost, cu_stream));
    CU_CHECK(cudaStreamSynchronize(cu_stream));
}

/* Grow-only buffers, one per slot.  Slot use: 0 general (reductions), 1 the bf16 operand
 * copies of the products (gemm.cu), 2 the column sums of linear_bwd (gemm.cu), 3 spare. */
#define CU_SCRATCH_SLOTS 4
static void *scratch_p[CU_SCRATCH_SLOTS];
static size_t scratch_n[CU_SCRATCH_SLOTS];

void *cu_scratch(int slot, size_t nbytes) {
    if (slot < 0 || slot >= CU_SCRATCH_SLOTS) cu_fail("cu_scratch", "no such slot", __FILE__, __LINE__);
    if (nbytes > scratch_n[slot]) {
        /* one stream: cudaFree waits for the kernels that still use the old buffer */
        cu_free(scratch_p[slot]);
        size_t n = nbytes + nbytes / 4; /* some headroom against a series of small growths */
        scratch_p[slot] = cu_malloc_or_die(n);
        scratch_n[slot] = n;
    }
    return scratch_p[slot];
}

/* ---------------------------------------------------------------- precision */

static int apply_math_mode(char *err, size_t errlen) {
    cublasMath_t mode = cu_precision == OPS_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
    cublasStatus_t s = cublasSetMathMode(cu_blas, mode);
    if (s != CUBLAS_STATUS_SUCCESS) {
        if (err && errlen) snprintf(err, errlen, "cublasSetMathMode: %s", cublasGetStatusString(s));
        return -1;
    }
    return 0;
}

/* fp32: plain sgemm (CUBLAS_DEFAULT_MATH never uses TF32 for sgemm); tf32: sgemm with tensor
 * cores allowed to round the operands to TF32; bf16: gemm.cu converts the operands to bf16
 * and calls cublasGemmEx with fp32 accumulation and fp32 output. */
extern "C" int ops_cuda_set_precision(OpsPrecision p, char *err, size_t errlen) {
    if (p != OPS_FP32 && p != OPS_TF32 && p != OPS_BF16) {
        if (err && errlen) snprintf(err, errlen, "unknown precision %d", (int)p);
        return -1;
    }
    cu_precision = p;
    return cu_state == 1 ? apply_math_mode(err, errlen) : 0; /* else applied at init */
}

extern "C" const char *ops_cuda_build(void) {
#ifdef SPARSETUNE_CUDA_EMU
    return "emu";
#else
    return "nvcc";
#endif
}

/* ---------------------------------------------------------------- init and table */

static void fill_table(OpsBackend &t) {
    t.name = "cuda";
    t.alloc = cu_alloc;
    t.alloc_i32 = cu_alloc_i32;
    t.free = cu_free;
    t.zero = cu_zero;
    t.upload = cu_upload;
    t.download = cu_download;
    t.gemm = cu_gemm;
    t.embed_fwd = cu_embed_fwd;
    t.embed_bwd = cu_embed_bwd;
    t.layernorm_fwd = cu_layernorm_fwd;
    t.layernorm_bwd = cu_layernorm_bwd;
    t.linear_fwd = cu_linear_fwd;
    t.linear_bwd = cu_linear_bwd;
    t.linear_dw_sparse = cu_linear_dw_sparse;
    t.add_selected = cu_add_selected;
    t.embed_bwd_sparse = cu_embed_bwd_sparse;
    t.gelu_fwd = cu_gelu_fwd;
    t.gelu_bwd = cu_gelu_bwd;
    t.tanh_fwd = cu_tanh_fwd;
    t.tanh_bwd = cu_tanh_bwd;
    t.relu_fwd = cu_relu_fwd;
    t.relu_bwd = cu_relu_bwd;
    t.add = cu_add;
    t.accumulate = cu_accumulate;
    t.dropout_fwd = cu_dropout_fwd;
    t.dropout_bwd = cu_dropout_bwd;
    t.attn_scores_fwd = cu_attn_scores_fwd;
    t.attn_scores_bwd = cu_attn_scores_bwd;
    t.attn_context_fwd = cu_attn_context_fwd;
    t.attn_context_bwd = cu_attn_context_bwd;
    t.softmax_fwd = cu_softmax_fwd;
    t.softmax_bwd = cu_softmax_bwd;
    t.cross_entropy_fwd = cu_cross_entropy_fwd;
    t.cross_entropy_bwd = cu_cross_entropy_bwd;
    t.mse_fwd = cu_mse_fwd;
    t.mse_bwd = cu_mse_bwd;
    t.span_pool_fwd = cu_span_pool_fwd;
    t.span_pool_bwd = cu_span_pool_bwd;
    t.gather_first_fwd = cu_gather_first_fwd;
    t.gather_first_bwd = cu_gather_first_bwd;
    t.gather = cu_gather;
    t.scatter = cu_scatter;
    t.scale = cu_scale;
    t.sumsq = cu_sumsq;
    t.sumsq_many = cu_sumsq_many;
    t.reduce_into = cu_reduce_into;
    t.adamw = cu_adamw;
    t.topk = cu_topk;
    t.mark = cu_profiling() ? cu_mark : NULL;
}

/* Returns 0, or -1 with the reason in cu_reason. */
static int cu_init(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        /* what a machine without an NVIDIA GPU (or without its driver) answers: say so plainly;
         * a driver that exists but is older than the runtime is the other case below */
        int drv = 0;
        int none = e == cudaErrorNoDevice || cudaDriverGetVersion(&drv) != cudaSuccess || drv == 0;
        if (none) snprintf(cu_reason, sizeof cu_reason, "no CUDA device (no NVIDIA GPU or driver on this machine)");
        else
            snprintf(cu_reason, sizeof cu_reason,
                     "the NVIDIA driver is older than this build's CUDA runtime (cudaGetDeviceCount: %s)",
                     cudaGetErrorString(e));
        (void)cudaGetLastError();
        return -1;
    }
    if (e != cudaSuccess) {
        snprintf(cu_reason, sizeof cu_reason, "no CUDA device visible (cudaGetDeviceCount: %s)",
                 cudaGetErrorString(e));
        (void)cudaGetLastError();
        return -1;
    }
    if (n <= 0) {
        snprintf(cu_reason, sizeof cu_reason,
                 "no CUDA device visible (cudaGetDeviceCount: 0 devices; CUDA_VISIBLE_DEVICES?)");
        return -1;
    }
#define INIT_CHECK(call)                                                                        \
    do {                                                                                        \
        cudaError_t e_ = (call);                                                                \
        if (e_ != cudaSuccess) {                                                                \
            snprintf(cu_reason, sizeof cu_reason, "%s: %s", #call, cudaGetErrorString(e_));     \
            return -1;                                                                          \
        }                                                                                       \
    } while (0)
    INIT_CHECK(cudaSetDevice(0));
    cudaDeviceProp prop;
    INIT_CHECK(cudaGetDeviceProperties(&prop, 0));
    snprintf(cu_describe, sizeof cu_describe, "%.200s, %d SMs, %zu GiB, sm_%d%d", prop.name,
             prop.multiProcessorCount, ((size_t)prop.totalGlobalMem + (1u << 29)) >> 30,
             prop.major, prop.minor);
    INIT_CHECK(cudaStreamCreate(&cu_stream));
#undef INIT_CHECK
    cublasStatus_t s = cublasCreate(&cu_blas);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetStream(cu_blas, cu_stream);
    if (s != CUBLAS_STATUS_SUCCESS) {
        snprintf(cu_reason, sizeof cu_reason, "cuBLAS: %s", cublasGetStatusString(s));
        return -1;
    }
    cu_state = 1; /* apply_math_mode needs the handle */
    if (apply_math_mode(cu_reason, sizeof cu_reason) != 0) return -1;
    fill_table(cu_table);
    return 0;
}

extern "C" const OpsBackend *ops_cuda_backend(char *err, size_t errlen, char *describe,
                                              size_t desclen) {
    if (cu_state == 0) cu_state = cu_init() == 0 ? 1 : -1;
    if (cu_state < 0) {
        if (err && errlen) snprintf(err, errlen, "%s", cu_reason);
        return NULL;
    }
    if (describe && desclen) snprintf(describe, desclen, "%s", cu_describe);
    return &cu_table;
}
