/* emu_cublas.cpp — the cuBLAS subset of the emulator: GEMMs with exactly cuBLAS's documented
 * column-major semantics and argument checks, computed as a plain reference (operands packed
 * once, products accumulated in double, one rounding to float), so that a row-/column-major
 * or leading-dimension mistake in the GPU code shows up in the emulated tests. */
#include "cuda_emu.h"

#include <vector>

struct cublasContext {
    cudaStream_t stream;
    cublasMath_t math;
};

namespace {

enum Round { EXACT, TF32, BF16 }; /* what the tensor cores would see of A and B */

float round_operand(float x, Round r) {
    if (r == BF16) return __bfloat162float(__float2bfloat16_rn(x));
    if (r == TF32 && std::isfinite(x)) /* 10 mantissa bits, nearest, ties away (cvt.rna.tf32) */
        return __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
    return x;
}

float load(const void *base, long long i, cudaDataType t) {
    if (t == CUDA_R_16BF) return __bfloat162float(static_cast<const __nv_bfloat16 *>(base)[i]);
    return static_cast<const float *>(base)[i];
}

size_t elem_size(cudaDataType t) { return t == CUDA_R_16BF ? 2 : 4; }

/* Every byte a matrix of rows x cols with leading dimension ld (in batch b) touches must be
 * device memory: host pointers would fault on the GPU. */
void check_operand(const char *fn, const char *name, const void *p, cudaDataType t, int rows, int cols,
                   int ld, long long stride, int batch) {
    if (rows == 0 || cols == 0 || batch == 0) return;
    size_t es = elem_size(t), span = ((size_t)(cols - 1) * (size_t)ld + (size_t)rows) * es;
    for (int b = 0; b < batch; b++) {
        const char *q = static_cast<const char *>(p) + (long long)b * stride * (long long)es;
        if (!emu_device_range(q, span))
            emu_die("%s: %s = %p (+%zu bytes, batch %d) is not inside one cudaMalloc allocation", fn, name,
                    (const void *)q, span, b);
    }
}

cublasStatus_t gemm(const char *fn, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                    int k, const float *alpha, const void *A, cudaDataType at, int lda, long long sa,
                    const void *B, cudaDataType bt, int ldb, long long sb, const float *beta, float *C, int ldc,
                    long long sc, int batch, Round round) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((unsigned)ta > CUBLAS_OP_C || (unsigned)tb > CUBLAS_OP_C || m < 0 || n < 0 || k < 0 || batch < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    bool tra = ta != CUBLAS_OP_N, trb = tb != CUBLAS_OP_N; /* real data: C == T */
    int arows = tra ? k : m, brows = trb ? n : k;
    if (lda < (arows > 1 ? arows : 1) || ldb < (brows > 1 ? brows : 1) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
    float al = *alpha, be = *beta;
    if (m == 0 || n == 0 || batch == 0 || ((al == 0.0f || k == 0) && be == 1.0f)) return CUBLAS_STATUS_SUCCESS;
    bool use_ab = al != 0.0f && k > 0;
    if (use_ab) {
        check_operand(fn, "A", A, at, arows, tra ? m : k, lda, sa, batch);
        check_operand(fn, "B", B, bt, brows, trb ? k : n, ldb, sb, batch);
    }
    check_operand(fn, "C", C, CUDA_R_32F, m, n, ldc, sc, batch);

    std::vector<float> ap(use_ab ? (size_t)m * k : 0), bp(use_ab ? (size_t)n * k : 0);
    for (int b = 0; b < batch; b++) {
        const void *Ab = static_cast<const char *>(A) + b * sa * (long long)elem_size(at);
        const void *Bb = static_cast<const char *>(B) + b * sb * (long long)elem_size(bt);
        float *Cb = C + b * sc;
        if (use_ab) { /* ap[i*k + l] = op(A)(i,l), bp[j*k + l] = op(B)(l,j) */
            for (int i = 0; i < m; i++)
                for (int l = 0; l < k; l++)
                    ap[(size_t)i * k + l] = round_operand(
                        load(Ab, tra ? l + (long long)i * lda : i + (long long)l * lda, at), round);
            for (int j = 0; j < n; j++)
                for (int l = 0; l < k; l++)
                    bp[(size_t)j * k + l] = round_operand(
                        load(Bb, trb ? j + (long long)l * ldb : l + (long long)j * ldb, bt), round);
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)m * n * k > 1e6)
#endif
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double acc = 0.0;
                if (use_ab) {
                    const float *x = &ap[(size_t)i * k], *y = &bp[(size_t)j * k];
                    for (int l = 0; l < k; l++) acc += (double)x[l] * (double)y[l];
                }
                float &c = Cb[i + (long long)j * ldc];
                double r = (double)al * acc; /* beta == 0: C is not read (may hold NaN) */
                if (be != 0.0f) r += (double)be * (double)c;
                c = (float)r;
            }
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* GemmEx's type rules: A/B both fp32 or both bf16, C fp32; FAST_* only on fp32 operands. */
cublasStatus_t ex_round(cublasHandle_t h, cudaDataType at, cudaDataType bt, cudaDataType ct,
                        cublasComputeType_t compute, Round *round) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (at != bt || ct != CUDA_R_32F || (at != CUDA_R_32F && at != CUDA_R_16BF)) return CUBLAS_STATUS_NOT_SUPPORTED;
    switch (compute) {
    case CUBLAS_COMPUTE_32F:
        *round = at == CUDA_R_32F && (h->math & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH ? TF32 : EXACT;
        return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F_PEDANTIC: *round = EXACT; return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F_FAST_TF32:
        *round = TF32;
        return at == CUDA_R_32F ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
    case CUBLAS_COMPUTE_32F_FAST_16BF:
        *round = BF16;
        return at == CUDA_R_32F ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
    default: return CUBLAS_STATUS_NOT_SUPPORTED; /* FAST_16F (half) is not emulated */
    }
}

Round sgemm_round(cublasHandle_t h) {
    return h && (h->math & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH ? TF32 : EXACT;
}

} // namespace

cublasStatus_t cublasCreate(cublasHandle_t *h) {
    if (!h) return CUBLAS_STATUS_INVALID_VALUE;
    *h = new cublasContext{nullptr, CUBLAS_DEFAULT_MATH};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t *s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!s) return CUBLAS_STATUS_INVALID_VALUE;
    *s = h->stream;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    unsigned base = (unsigned)mode & 0xfu;
    if (base > CUBLAS_TF32_TENSOR_OP_MATH || ((unsigned)mode & ~0x1fu)) return CUBLAS_STATUS_INVALID_VALUE;
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t *mode) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = h->math;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t mode) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    return mode == CUBLAS_POINTER_MODE_HOST ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
}

const char *cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "error detected trying to check the license";
    }
    return "unknown error";
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb,
                           const float *beta, float *C, int ldc) {
    return gemm("cublasSgemm", h, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, 0, B, CUDA_R_32F, ldb, 0, beta, C,
                ldc, 0, 1, sgemm_round(h));
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb, long long strideB,
                                         const float *beta, float *C, int ldc, long long strideC, int batch) {
    return gemm("cublasSgemmStridedBatched", h, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, strideA, B,
                CUDA_R_32F, ldb, strideB, beta, C, ldc, strideC, batch, sgemm_round(h));
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType Atype, int lda,
                            const void *B, cudaDataType Btype, int ldb, const void *beta,
                            void *C, cudaDataType Ctype, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
    Round r = EXACT;
    cublasStatus_t s = ex_round(h, Atype, Btype, Ctype, compute, &r);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    return gemm("cublasGemmEx", h, ta, tb, m, n, k, static_cast<const float *>(alpha), A, Atype, lda, 0, B,
                Btype, ldb, 0, static_cast<const float *>(beta), static_cast<float *>(C), ldc, 0, 1, r);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                          int m, int n, int k, const void *alpha,
                                          const void *A, cudaDataType Atype, int lda, long long strideA,
                                          const void *B, cudaDataType Btype, int ldb, long long strideB,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long strideC, int batch, cublasComputeType_t compute,
                                          cublasGemmAlgo_t) {
    Round r = EXACT;
    cublasStatus_t s = ex_round(h, Atype, Btype, Ctype, compute, &r);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    return gemm("cublasGemmStridedBatchedEx", h, ta, tb, m, n, k, static_cast<const float *>(alpha), A, Atype,
                lda, strideA, B, Btype, ldb, strideB, static_cast<const float *>(beta), static_cast<float *>(C),
                ldc, strideC, batch, r);
}

namespace {
/* One product per batch entry through the reference above; the arrays must be device memory. */
cublasStatus_t gemm_ptrs(const char *fn, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                         int n, int k, const float *alpha, const void *const *A, cudaDataType at, int lda,
                         const void *const *B, cudaDataType bt, int ldb, const float *beta, void *const *C,
                         int ldc, int batch, Round r) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (batch == 0) return CUBLAS_STATUS_SUCCESS;
    size_t span = (size_t)batch * sizeof(void *);
    if (!emu_device_range(A, span) || !emu_device_range(B, span) || !emu_device_range(C, span))
        emu_die("%s: the pointer arrays must be device memory (cudaMalloc)", fn);
    for (int b = 0; b < batch; b++) {
        cublasStatus_t s = gemm(fn, h, ta, tb, m, n, k, alpha, A[b], at, lda, 0, B[b], bt, ldb, 0, beta,
                                static_cast<float *>(C[b]), ldc, 0, 1, r);
        if (s != CUBLAS_STATUS_SUCCESS) return s;
    }
    return CUBLAS_STATUS_SUCCESS;
}
} // namespace

cublasStatus_t cublasSgemmBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                  int k, const float *alpha, const float *const Aarray[], int lda,
                                  const float *const Barray[], int ldb, const float *beta,
                                  float *const Carray[], int ldc, int batch) {
    return gemm_ptrs("cublasSgemmBatched", h, ta, tb, m, n, k, alpha, (const void *const *)Aarray, CUDA_R_32F,
                     lda, (const void *const *)Barray, CUDA_R_32F, ldb, beta, (void *const *)Carray, ldc, batch,
                     sgemm_round(h));
}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                   int k, const void *alpha, const void *const Aarray[], cudaDataType Atype,
                                   int lda, const void *const Barray[], cudaDataType Btype, int ldb,
                                   const void *beta, void *const Carray[], cudaDataType Ctype, int ldc,
                                   int batch, cublasComputeType_t compute, cublasGemmAlgo_t) {
    Round r = EXACT;
    cublasStatus_t s = ex_round(h, Atype, Btype, Ctype, compute, &r);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    return gemm_ptrs("cublasGemmBatchedEx", h, ta, tb, m, n, k, static_cast<const float *>(alpha), Aarray, Atype,
                     lda, Barray, Btype, ldb, static_cast<const float *>(beta), Carray, ldc, batch, r);
}
