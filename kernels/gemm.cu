/* gemm.cu — the matrix products of the CUDA backend on cuBLAS: op_gemm, the Linear layer and
 * the per-(sequence, head) attention products, in all three precisions.
 *
 * Row-major onto column-major: a row-major X[r,c] with row stride ld is, read column-major,
 * X^T with leading dimension ld.  So the row-major C = op(A) op(B) is computed as the
 * column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first, A second, m = N, n = M, and the
 * transposition flags unchanged ('N' stays N: the stored matrix read column-major is already
 * op(B)^T).
 *
 * Precision (cu_precision): fp32 and tf32 call cublasSgemm*, the handle's math mode (set in
 * backend.cu) decides whether tensor cores may round operands to TF32; bf16 calls
 * cublasGemm*Ex on the fp32 operands with CUBLAS_COMPUTE_32F_FAST_16BF: cuBLAS rounds the
 * operands to bf16 as it loads them and accumulates in fp32 into fp32 outputs — bf16
 * arithmetic on tensor cores with no bf16 copies in memory and no conversion launches. */
#include "cuda_common.h"

#define SLOT_COLSUM 2 /* cu_scratch slot of the column-sum partials */
#define SLOT_PTRS 3   /* cu_scratch slot of the attention products' pointer arrays */

static cublasOperation_t op_of(char t) {
    if (t == 'N' || t == 'n') return CUBLAS_OP_N;
    if (t == 'T' || t == 't') return CUBLAS_OP_T;
    cu_fail("cu_gemm", "transpose flag is neither 'N' nor 'T'", __FILE__, __LINE__);
    return CUBLAS_OP_N;
}

/* ---------------------------------------------------------------- kernels */

/* C[M,N] (row stride ldc) *= beta, or = 0 when beta is 0 (BLAS: C is then not read). */
__global__ void k_scale_rows(float *C, int M, int N, int ldc, float beta) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= N) return;
    for (int r = blockIdx.y; r < M; r += gridDim.y) {
        float *p = C + (size_t)r * ldc + c;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}

/* y[r, c] += b[c] for y [rows, cols]: a thread owns a column, the grid's y dimension walks
 * the rows, so b is read once per thread and y row segments are coalesced. */
__global__ void k_add_bias(float *y, const float *b, int rows, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float bc = b[c];
    for (int r = blockIdx.y; r < rows; r += gridDim.y) y[(size_t)r * cols + c] += bc;
}

/* Column sums of x [rows, cols], deterministic: block (32 columns x CS_GROUPS row groups),
 * blockIdx.y a chunk of CS_CHUNK rows.  Each thread sums its rows in order, the row groups
 * are combined in order; the chunk sum goes to part[chunk, c] (or is added to out[c] when
 * there is one chunk). */
#define CS_GROUPS 8
#define CS_CHUNK 256
__global__ void k_colsum_chunks(float *part, float *out, const float *x, int rows, int cols) {
    __shared__ float acc[CS_GROUPS][32];
    int lane = threadIdx.x & 31, g = threadIdx.x >> 5;
    int c = blockIdx.x * 32 + lane;
    int r0 = blockIdx.y * CS_CHUNK, r1 = r0 + CS_CHUNK < rows ? r0 + CS_CHUNK : rows;
    float s = 0.0f;
    if (c < cols)
        for (int r = r0 + g; r < r1; r += CS_GROUPS) s += x[(size_t)r * cols + c];
    acc[g][lane] = s;
    __syncthreads();
    if (g == 0 && c < cols) {
        float t = acc[0][lane];
        for (int i = 1; i < CS_GROUPS; i++) t += acc[i][lane];
        if (out) out[c] += t;
        else part[(size_t)blockIdx.y * cols + c] = t;
    }
}
/* out[c] += sum over chunks in order of part[chunk, c]. */
__global__ void k_colsum_finish(float *out, const float *part, int nchunks, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float t = 0.0f;
    for (int i = 0; i < nchunks; i++) t += part[(size_t)i * cols + c];
    out[c] += t;
}

/* scores[(s*NH + h)*T + i, j] += maskadd[s*T + j]: a block per score row. */
__global__ void k_mask_add(float *scores, const float *maskadd, int S, int T, int NH) {
    size_t rows = (size_t)S * NH * T;
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *m = maskadd + (r / ((size_t)NH * T)) * T;
        float *row = scores + r * T;
        for (int j = threadIdx.x; j < T; j += blockDim.x) row[j] += m[j];
    }
}

/* ---------------------------------------------------------------- the product */

/* The row-major product C = alpha op(A) op(B) + beta C (cuBLAS column-major C^T, see above). */
void cu_gemm(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    cublasOperation_t oa = op_of(ta), ob = op_of(tb);
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* no products: C = beta C (cuBLAS versions differ on k = 0) */
        if (beta == 1.0f) return;
        unsigned gy = M < 65535 ? (unsigned)M : 65535u;
        KLAUNCH(k_scale_rows, dim3((unsigned)((N + 255) / 256), gy), 256, 0, C, M, N, ldc, beta);
        return;
    }
    if (cu_precision == OPS_BF16)
        CUBLAS_CHECK(cublasGemmEx(cu_blas, ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, A,
                                  CUDA_R_32F, lda, &beta, C, CUDA_R_32F, ldc,
                                  CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    else
        CUBLAS_CHECK(cublasSgemm(cu_blas, ob, oa, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

/* ---------------------------------------------------------------- linear */

void cu_linear_fwd(float *y, const float *x, const float *W, const float *b, int N, int in,
                   int out) {
    if (N <= 0 || out <= 0) return;
    /* bias after the product, as the CPU does (same roundings: y = (x W^T) + b) */
    cu_gemm('N', 'T', N, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
    if (b) {
        unsigned gy = N < 1024 ? (unsigned)N : 1024u;
        KLAUNCH(k_add_bias, dim3((unsigned)((out + 255) / 256), gy), 256, 0, y, b, N, out);
    }
}

/* db[c] += sum_n dy[n, c]: one pass of row chunks in parallel, then the chunks in order. */
static void colsum_acc(float *db, const float *dy, int N, int C) {
    if (N <= 0 || C <= 0) return;
    int nchunks = (N + CS_CHUNK - 1) / CS_CHUNK;
    if (nchunks > 65535) cu_fail("cu_linear_bwd", "too many rows for the bias sum", __FILE__, __LINE__);
    dim3 grid((unsigned)((C + 31) / 32), (unsigned)nchunks);
    if (nchunks == 1) {
        KLAUNCH(k_colsum_chunks, grid, 32 * CS_GROUPS, 0, (float *)NULL, db, dy, N, C);
        return;
    }
    float *part = (float *)cu_scratch(SLOT_COLSUM, (size_t)nchunks * C * sizeof(float));
    KLAUNCH(k_colsum_chunks, grid, 32 * CS_GROUPS, 0, part, (float *)NULL, dy, N, C);
    KLAUNCH(k_colsum_finish, (unsigned)((C + 255) / 256), 256, 0, db, (const float *)part, nchunks, C);
}

void cu_linear_bwd(float *dx, float *dW, float *db, const float *dy, const float *x,
                   const float *W, int N, int in, int out, int accumulate_dx) {
    if (dx) cu_gemm('N', 'N', N, in, out, 1.0f, dy, out, W, in, accumulate_dx ? 1.0f : 0.0f, dx, in);
    if (dW) cu_gemm('T', 'N', out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
    if (db) colsum_acc(db, dy, N, out);
}

/* ---------------------------------------------------------------- attention
 *
 * Every product is one per (sequence s, head h); an operand of (s, h) starts at
 * s * ss + h * hs elements: q/k/v/ctx and their gradients [S*T, H] row-major have ss = T*H,
 * hs = HD and row stride H; scores/probabilities [S,NH,T,T] have ss = NH*T*T, hs = T*T and
 * row stride T.  No single stride walks all (s, h) pairs of a [S*T, H] tensor (T*H != NH*HD),
 * so each op is ONE pointer-array batched call over all S*NH products (384 for roberta-base at
 * batch 32, enough to fill the GPU), its pointer arrays written on the device by a small
 * kernel (no host copy, no sync) into scratch slot 3.  The stream orders the kernel, the call
 * and the next op's kernel, so the arrays can be rewritten by the next product. */

typedef struct {
    const float *p;
    int ld;
    long long ss, hs;
} AttnOp;

/* pa/pb/pc[s*NH + h] = the (s, h) operands. */
__global__ void k_attn_ptrs(const float **pa, const float **pb, float **pc, AttnOp A, AttnOp B,
                            float *C, long long css, long long chs, int S, int NH) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= S * NH) return;
    long long s = i / NH, h = i % NH;
    pa[i] = A.p + s * A.ss + h * A.hs;
    pb[i] = B.p + s * B.ss + h * B.hs;
    pc[i] = C + s * css + h * chs;
}

static void attn_gemm(char ta, char tb, int M, int N, int K, float alpha, AttnOp A, AttnOp B,
                      float *C, int ldc, long long css, long long chs, int S, int NH) {
    int batch = S * NH;
    const float **pa = (const float **)cu_scratch(SLOT_PTRS, 3 * (size_t)batch * sizeof(float *));
    const float **pb = pa + batch;
    float **pc = (float **)(pb + batch);
    KLAUNCH(k_attn_ptrs, (unsigned)((batch + 255) / 256), 256, 0, pa, pb, pc, A, B, C, css, chs, S, NH);
    cublasOperation_t oa = op_of(ta), ob = op_of(tb);
    const float zero = 0.0f;
    /* column-major C^T = op(B)^T op(A)^T, as cu_gemm */
    if (cu_precision == OPS_BF16)
        CUBLAS_CHECK(cublasGemmBatchedEx(cu_blas, ob, oa, N, M, K, &alpha, (const void *const *)pb,
                                         CUDA_R_32F, B.ld, (const void *const *)pa, CUDA_R_32F, A.ld,
                                         &zero, (void *const *)pc, CUDA_R_32F, ldc, batch,
                                         CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    else
        CUBLAS_CHECK(cublasSgemmBatched(cu_blas, ob, oa, N, M, K, &alpha, pb, B.ld, pa, A.ld, &zero,
                                        pc, ldc, batch));
}

/* Operand descriptors of the two layouts. */
static AttnOp tok_op(const float *p, int T, int NH, int HD) {
    AttnOp o = {p, NH * HD, (long long)T * NH * HD, HD};
    return o;
}
static AttnOp score_op(const float *p, int T, int NH) {
    AttnOp o = {p, T, (long long)NH * T * T, (long long)T * T};
    return o;
}

void cu_attn_scores_fwd(float *scores, const float *q, const float *k, const float *maskadd,
                        int S, int T, int NH, int HD, float scale) {
    if (S <= 0 || T <= 0 || NH <= 0) return;
    /* scores_sh = scale * q_sh k_sh^T */
    attn_gemm('N', 'T', T, T, HD, scale, tok_op(q, T, NH, HD), tok_op(k, T, NH, HD), scores, T,
              (long long)NH * T * T, (long long)T * T, S, NH);
    size_t rows = (size_t)S * NH * T;
    unsigned threads = T >= 256 ? 256u : (unsigned)((T + 31) / 32 * 32);
    KLAUNCH(k_mask_add, cu_blocks(rows, 1), threads, 0, scores, maskadd, S, T, NH);
}

void cu_attn_scores_bwd(float *dq, float *dk, const float *dscores, const float *q,
                        const float *k, int S, int T, int NH, int HD, float scale) {
    if (S <= 0 || T <= 0 || NH <= 0) return;
    long long tss = (long long)T * NH * HD;
    /* dq_sh = scale * ds_sh k_sh ;  dk_sh = scale * ds_sh^T q_sh */
    attn_gemm('N', 'N', T, HD, T, scale, score_op(dscores, T, NH), tok_op(k, T, NH, HD), dq,
              NH * HD, tss, HD, S, NH);
    attn_gemm('T', 'N', T, HD, T, scale, score_op(dscores, T, NH), tok_op(q, T, NH, HD), dk,
              NH * HD, tss, HD, S, NH);
}

void cu_attn_context_fwd(float *ctx, const float *p, const float *v, int S, int T, int NH,
                         int HD) {
    if (S <= 0 || T <= 0 || NH <= 0) return;
    /* ctx_sh = p_sh v_sh */
    attn_gemm('N', 'N', T, HD, T, 1.0f, score_op(p, T, NH), tok_op(v, T, NH, HD), ctx, NH * HD,
              (long long)T * NH * HD, HD, S, NH);
}

void cu_attn_context_bwd(float *dp, float *dv, const float *dctx, const float *p,
                         const float *v, int S, int T, int NH, int HD) {
    if (S <= 0 || T <= 0 || NH <= 0) return;
    /* dp_sh = dctx_sh v_sh^T ;  dv_sh = p_sh^T dctx_sh */
    attn_gemm('N', 'T', T, T, HD, 1.0f, tok_op(dctx, T, NH, HD), tok_op(v, T, NH, HD), dp, T,
              (long long)NH * T * T, (long long)T * T, S, NH);
    attn_gemm('T', 'N', T, HD, T, 1.0f, score_op(p, T, NH), tok_op(dctx, T, NH, HD), dv, NH * HD,
              (long long)T * NH * HD, HD, S, NH);
}
