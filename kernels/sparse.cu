/* sparse.cu — the sparse-gradient ops of the CUDA backend (ops.h "sparse gradients"):
 * the sampled product of a masked Linear weight, a gathered dense gradient, and the selected
 * entries of an embedding's gradient.  Deterministic: every output entry is summed by one
 * warp or one thread in a fixed order; no float atomics. */
#include <stdlib.h>
#include <string.h>

#include "cuda_common.h"

/* ---------------------------------------------------------------- linear_dw_sparse */

/* dst[c, r] = src[r, c] for src [rows, cols], through 32 x 33 shared tiles (the padding
 * column avoids bank conflicts).  Blocks of 256 threads = 32 columns x 8 rows of the tile;
 * the tile loop is grid-stride and uniform over the block (it holds barriers). */
__global__ void sp_transpose(float *__restrict__ dst, const float *__restrict__ src, int rows,
                             int cols) {
    __shared__ float tile[32][33];
    const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
    const size_t trows = ((size_t)rows + 31) / 32, tcols = ((size_t)cols + 31) / 32;
    for (size_t t = blockIdx.x; t < trows * tcols; t += gridDim.x) {
        const int r0 = (int)(t / tcols) * 32, c0 = (int)(t % tcols) * 32;
        for (int y = ty; y < 32; y += 8) {
            int r = r0 + y, c = c0 + tx;
            if (r < rows && c < cols) tile[y][tx] = src[(size_t)r * cols + c];
        }
        __syncthreads();
        for (int y = ty; y < 32; y += 8) {
            int c = c0 + y, r = r0 + tx;
            if (r < rows && c < cols) dst[(size_t)c * rows + r] = tile[tx][y];
        }
        __syncthreads(); /* the tile is refilled by the next iteration */
    }
}

/* One warp per selected entry j: the dot product of rows o and i of dyT [out,N] and xT [in,N]
 * (contiguous, coalesced), lanes striding over n, then a fixed-order butterfly sum.  vec4:
 * N % 4 == 0 and 16-byte aligned rows, read as float4.  The entry loop is uniform over the
 * block (warp shuffles are barriers in the emulator); idle warps shuffle zeros. */
__global__ void sp_sampled_dot(float *__restrict__ dW, const uint32_t *__restrict__ idx, size_t k,
                               const float *__restrict__ dyT, const float *__restrict__ xT, int N,
                               int in, int vec4) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (size_t jb = (size_t)blockIdx.x * nw; jb < k; jb += (size_t)gridDim.x * nw) {
        const size_t j = jb + warp;
        float s = 0.0f;
        if (j < k) {
            const uint32_t e = idx[j];
            const float *a = dyT + (size_t)(e / (uint32_t)in) * N;
            const float *b = xT + (size_t)(e % (uint32_t)in) * N;
            if (vec4) {
                const float4 *a4 = reinterpret_cast<const float4 *>(a);
                const float4 *b4 = reinterpret_cast<const float4 *>(b);
                float s0 = 0.0f, s1 = 0.0f; /* two chains: more loads in flight */
                int n4 = N / 4, n = lane;
                for (; n + 32 < n4; n += 64) {
                    float4 p = a4[n], q = b4[n], p2 = a4[n + 32], q2 = b4[n + 32];
                    s0 += p.x * q.x + p.y * q.y + p.z * q.z + p.w * q.w;
                    s1 += p2.x * q2.x + p2.y * q2.y + p2.z * q2.z + p2.w * q2.w;
                }
                if (n < n4) {
                    float4 p = a4[n], q = b4[n];
                    s0 += p.x * q.x + p.y * q.y + p.z * q.z + p.w * q.w;
                }
                s = s0 + s1;
            } else {
                for (int n = lane; n < N; n += 32) s += a[n] * b[n];
            }
        }
        s = cu_warp_sum(s);
        if (lane == 0 && j < k) dW[j] += s;
    }
}

/* Two ways to the k selected entries of dW = dy^T x:
 *   sampled (below): transposes of dy and x, then a warp per entry dots two contiguous rows;
 *            work in proportion to k — the way in fp32, where the dense product is most of a
 *            step's time;
 *   dense:   the whole product by cuBLAS into scratch, then the k entries added from it; with
 *            tensor cores (tf32, bf16) the product may cost less than the transposes.
 * SPARSETUNE_SPARSE_DW=sampled|dense forces one (to measure both on a GPU); otherwise dense
 * in tf32/bf16 or when more than 1/16 of the entries are selected, sampled in fp32. */
static int dw_dense(size_t k, int in, int out) {
    const char *v = getenv("SPARSETUNE_SPARSE_DW");
    if (v && strcmp(v, "dense") == 0) return 1;
    if (v && strcmp(v, "sampled") == 0) return 0;
    return cu_precision != OPS_FP32 || k * 16 > (size_t)in * out;
}

void cu_linear_dw_sparse(float *dW, const uint32_t *idx, size_t k, const float *dy,
                         const float *x, int N, int in, int out, float *scratch) {
    if (k == 0 || N <= 0) return;
    if (dw_dense(k, in, out)) {
        float *full = (float *)cu_scratch(0, (size_t)out * in * sizeof(float));
        cu_gemm('T', 'N', out, in, N, 1.0f, dy, out, x, in, 0.0f, full, in);
        cu_add_selected(dW, idx, k, full);
        return;
    }
    float *dyT = scratch, *xT = scratch + (size_t)out * N;
    const size_t tiles_dy = (((size_t)N + 31) / 32) * (((size_t)out + 31) / 32);
    const size_t tiles_x = (((size_t)N + 31) / 32) * (((size_t)in + 31) / 32);
    KLAUNCH(sp_transpose, cu_blocks(tiles_dy, 1), CU_THREADS, 0, dyT, dy, N, out);
    KLAUNCH(sp_transpose, cu_blocks(tiles_x, 1), CU_THREADS, 0, xT, x, N, in);
    const int vec4 = N % 4 == 0 && ((uintptr_t)scratch & 15) == 0 &&
                     (((size_t)out * N * sizeof(float)) & 15) == 0;
    KLAUNCH(sp_sampled_dot, cu_blocks(k, CU_THREADS / 32), CU_THREADS, 0, dW, idx, k, dyT, xT,
            N, in, vec4);
}

/* ---------------------------------------------------------------- add_selected */

__global__ void sp_add_selected(float *__restrict__ dst, const uint32_t *__restrict__ idx,
                                size_t k, const float *__restrict__ src) {
    for (size_t j = (size_t)blockIdx.x * blockDim.x + threadIdx.x; j < k;
         j += (size_t)gridDim.x * blockDim.x)
        dst[j] += src[idx[j]];
}

void cu_add_selected(float *dst, const uint32_t *idx, size_t k, const float *src) {
    if (k == 0) return;
    KLAUNCH(sp_add_selected, cu_blocks(k, CU_THREADS), CU_THREADS, 0, dst, idx, k, src);
}

/* ---------------------------------------------------------------- embed_bwd_sparse
 * The CPU adds the tokens' gradients into dw[j] in token order; the GPU keeps that order (and
 * so the bits) with the tokens grouped by row:
 *   emb_link   thread per token n: first[n] (the row's first token), rank[n] (earlier tokens
 *              of the row), cnt[n] (tokens of the row) — N^2 compares, rows staged in shared
 *              memory (N is a few thousand);
 *   emb_starts one block: start of each row's group = exclusive scan of cnt over first tokens;
 *   emb_perm   perm[start[first[n]] + rank[n]] = n: each row's tokens contiguous, in order;
 *   emb_accumulate  block per row (its first token): the row's entries in idx by binary
 *              search, a thread per entry summing its column over the row's tokens in order
 *              (token lists staged in shared memory, so the loads are independent).
 * Work = the CPU's work. */

#define EMB_CHUNK 1024

__device__ __forceinline__ int32_t emb_row(const int32_t *rows, int n) { return rows ? rows[n] : 0; }

__global__ void emb_link(int32_t *__restrict__ first, int32_t *__restrict__ rank,
                         int32_t *__restrict__ cnt, const int32_t *__restrict__ rows, int N) {
    __shared__ int32_t srow[EMB_CHUNK];
    for (int nb = blockIdx.x * blockDim.x; nb < N; nb += gridDim.x * blockDim.x) {
        const int n = nb + threadIdx.x;
        const int32_t r = n < N ? emb_row(rows, n) : 0;
        int f = n, before = 0, total = 0;
        for (int c0 = 0; c0 < N; c0 += EMB_CHUNK) {
            const int len = N - c0 < EMB_CHUNK ? N - c0 : EMB_CHUNK;
            for (int t = threadIdx.x; t < len; t += blockDim.x) srow[t] = emb_row(rows, c0 + t);
            __syncthreads();
            if (n < N)
                for (int t = 0; t < len; t++)
                    if (srow[t] == r) {
                        int m = c0 + t;
                        if (m < f) f = m;
                        before += m < n;
                        total++;
                    }
            __syncthreads();
        }
        if (n < N) first[n] = f, rank[n] = before, cnt[n] = total;
    }
}

/* Inclusive block scan (sum) of ints; every thread calls; blockDim.x a multiple of 32. */
__device__ __forceinline__ int emb_block_scan(int v, int *red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 1; o < 32; o <<= 1) {
        int u = __shfl_sync(0xffffffffu, v, lane >= o ? lane - o : lane);
        if (lane >= o) v += u;
    }
    __syncthreads();
    if (lane == 31) red[warp] = v;
    __syncthreads();
    int w = lane < nw ? red[lane] : 0;
    for (int o = 1; o < 32; o <<= 1) {
        int u = __shfl_sync(0xffffffffu, w, lane >= o ? lane - o : lane);
        if (lane >= o) w += u;
    }
    int before = __shfl_sync(0xffffffffu, w, warp > 0 ? warp - 1 : 0);
    return v + (warp > 0 ? before : 0);
}

/* 1024 threads: __launch_bounds__ holds ptxas to <= 64 registers a thread, else the launch
 * fails on the GPU (too many resources requested), which the emulator cannot show. */
__global__ void __launch_bounds__(1024) emb_starts(int32_t *__restrict__ start, const int32_t *__restrict__ rank,
                           const int32_t *__restrict__ cnt, int N) {
    __shared__ int red[32];
    __shared__ int carry;
    if (threadIdx.x == 0) carry = 0;
    __syncthreads();
    for (int nb = 0; nb < N; nb += blockDim.x) {
        const int n = nb + threadIdx.x;
        const int c = n < N && rank[n] == 0 ? cnt[n] : 0;
        const int incl = emb_block_scan(c, red);
        const int base = carry;
        if (n < N) start[n] = base + incl - c;
        __syncthreads(); /* every thread has read carry */
        if (threadIdx.x == blockDim.x - 1) carry = base + incl;
        __syncthreads();
    }
}

__global__ void emb_perm(int32_t *__restrict__ perm, const int32_t *__restrict__ first,
                         const int32_t *__restrict__ rank, const int32_t *__restrict__ start, int N) {
    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x)
        perm[start[first[n]] + rank[n]] = n;
}

__device__ __forceinline__ size_t emb_lower_bound(const uint32_t *a, size_t n, uint64_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

__global__ void emb_accumulate(float *__restrict__ dw, const uint32_t *__restrict__ idx, size_t k,
                               const int32_t *__restrict__ rows, const int32_t *__restrict__ rank,
                               const int32_t *__restrict__ cnt, const int32_t *__restrict__ start,
                               const int32_t *__restrict__ perm, const float *__restrict__ dout,
                               int N, int H) {
    __shared__ size_t range[2];
    __shared__ int32_t tok[EMB_CHUNK];
    for (int n = blockIdx.x; n < N; n += gridDim.x) {
        if (rank[n] != 0) continue; /* uniform: one token per block; rows start at their first */
        /* as the CPU: the row converted to uint64 (validated rows are >= 0) */
        const uint64_t base = (uint64_t)(int64_t)emb_row(rows, n) * (uint64_t)H;
        const int p0 = start[n], c = cnt[n];
        if (threadIdx.x == 0) {
            range[0] = emb_lower_bound(idx, k, base);
            range[1] = emb_lower_bound(idx, k, base + (uint64_t)H);
        }
        __syncthreads();
        const size_t lo = range[0], hi = range[1];
        for (size_t jb = lo; jb < hi; jb += blockDim.x) {
            const size_t j = jb + threadIdx.x;
            const size_t h = j < hi ? (size_t)(idx[j] - base) : 0;
            float s = j < hi ? dw[j] : 0.0f;
            for (int c0 = 0; c0 < c; c0 += EMB_CHUNK) {
                const int len = c - c0 < EMB_CHUNK ? c - c0 : EMB_CHUNK;
                for (int t = threadIdx.x; t < len; t += blockDim.x) tok[t] = perm[p0 + c0 + t];
                __syncthreads();
                if (j < hi)
                    for (int t = 0; t < len; t++) s += dout[(size_t)tok[t] * H + h];
                __syncthreads(); /* tok is refilled next */
            }
            if (j < hi) dw[j] = s;
        }
        __syncthreads(); /* range is rewritten for the next row */
    }
}

void cu_embed_bwd_sparse(float *dw, const uint32_t *idx, size_t k, const int32_t *rows,
                         const float *dout, int N, int H) {
    if (k == 0 || N <= 0) return;
    int32_t *first = (int32_t *)cu_scratch(0, 5 * (size_t)N * sizeof(int32_t));
    int32_t *rank = first + N, *cnt = rank + N, *start = cnt + N, *perm = start + N;
    KLAUNCH(emb_link, cu_blocks((size_t)N, CU_THREADS), CU_THREADS, 0, first, rank, cnt, rows, N);
    KLAUNCH(emb_starts, 1, 1024, 0, start, rank, cnt, N);
    KLAUNCH(emb_perm, cu_blocks((size_t)N, CU_THREADS), CU_THREADS, 0, perm, first, rank, start, N);
    KLAUNCH(emb_accumulate, cu_blocks((size_t)N, 1), CU_THREADS, 0, dw, idx, k, rows, rank, cnt,
            start, perm, dout, N, H);
}
