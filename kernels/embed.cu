/* embed.cu — embeddings forward/backward and the <s> gather (ops.h contracts).
 *
 * The embedding backward is a deterministic segmented sum (no float atomics): the tokens are
 * stably sorted by row (rank = #smaller rows + #equal rows before it, O(N^2) compares spread
 * over a 2-D grid: N is a batch of tokens, a few thousand), the sorted list is cut into
 * pieces of EMB_PIECE positions, each piece sums its runs of equal rows in token order
 * (partials in scratch slot 0), and the first position of every row adds the partials of its
 * pieces in order to dw.  A row whose tokens fit in one piece is summed in token order, as on
 * the CPU (bit-identical when dw starts at 0); a row with many tokens (the pad token, token
 * type 0) costs N / EMB_PIECE sequential adds instead of N. */
#include "cuda_common.h"

#define EMB_PIECE 32


__global__ void embed_fwd_kernel(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                                 const float *wte, const float *wpe, const float *wtt, int N, int H) {
    size_t total = (size_t)N * H;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        size_t n = e / H, h = e % H;
        float v = wte[(size_t)ids[n] * H + h] + wpe[(size_t)pos[n] * H + h]; /* PyTorch's order */
        if (wtt) v = v + wtt[(size_t)(tt ? tt[n] : 0) * H + h];
        out[e] = v;
    }
}

/* Stable ranks of the tokens by row, rank[n] = #{m: row m < row n} + #{m < n: row m == row n},
 * counted over a 2-D grid: block (x, y) compares its CU_THREADS tokens with the CU_THREADS
 * tokens of chunk y (held in shared memory) and adds its counts with integer atomics (exact,
 * so the order of the additions does not matter).  rank must be zero before. */
__global__ void embed_rank_kernel(int *rank, const int32_t *rows, int N) {
    __shared__ int tile[CU_THREADS];
    for (long m0 = (long)blockIdx.y * blockDim.x; m0 < N; m0 += (long)gridDim.y * blockDim.x)
        for (long base = (long)blockIdx.x * blockDim.x; base < N; base += (long)gridDim.x * blockDim.x) {
            __syncthreads(); /* the previous tile is read */
            long m = m0 + threadIdx.x;
            tile[threadIdx.x] = m < N && rows ? rows[m] : 0;
            __syncthreads();
            long n = base + threadIdx.x;
            if (n >= N) continue;
            int key = rows ? rows[n] : 0, cnt = 0;
            int len = N - m0 < (long)blockDim.x ? (int)(N - m0) : (int)blockDim.x;
            for (int k = 0; k < len; k++) {
                int km = tile[k];
                cnt += km < key || (km == key && m0 + k < n);
            }
            if (cnt) atomicAdd(&rank[n], cnt);
        }
}

/* perm[rank[n]] = n, skey[rank[n]] = row of token n: the tokens stably sorted by row. */
__global__ void embed_perm_kernel(int *perm, int *skey, const int *rank, const int32_t *rows, int N) {
    for (long n = (long)blockIdx.x * blockDim.x + threadIdx.x; n < N; n += (long)gridDim.x * blockDim.x) {
        perm[rank[n]] = (int)n;
        skey[rank[n]] = rows ? rows[n] : 0;
    }
}

/* Block = piece p of the sorted positions: part[i] = sum of the run of equal rows ending at
 * position i within the piece (written at run ends only), in token order. */
__global__ void embed_piece_kernel(float *part, const int *perm, const int *skey, const float *dout, int N, int H) {
    for (long p = blockIdx.x; p * EMB_PIECE < N; p += gridDim.x) {
        int i0 = (int)p * EMB_PIECE, i1 = i0 + EMB_PIECE < N ? i0 + EMB_PIECE : N;
        for (int c = threadIdx.x; c < H; c += blockDim.x) {
            float v = 0.0f;
            for (int i = i0; i < i1; i++) {
                v += dout[(size_t)perm[i] * H + c];
                if (i == i1 - 1 || skey[i + 1] != skey[i]) {
                    part[(size_t)i * H + c] = v;
                    v = 0.0f;
                }
            }
        }
    }
}

/* Block = sorted position i; the first position of a row adds its pieces' partials to dw. */
__global__ void embed_final_kernel(float *dw, const float *part, const int *skey, int N, int H) {
    for (long i = blockIdx.x; i < N; i += gridDim.x) {
        int key = skey[i];
        if (i > 0 && skey[i - 1] == key) continue;
        int lo = (int)i, hi = N; /* the row's last position: skey is sorted */
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (skey[mid] <= key) lo = mid + 1;
            else hi = mid;
        }
        int end = lo - 1;
        float *d = dw + (size_t)key * H;
        for (int c = threadIdx.x; c < H; c += blockDim.x) {
            float v = d[c];
            for (int j = (int)i; j <= end;) {
                int pe = (j / EMB_PIECE + 1) * EMB_PIECE - 1;
                if (pe > end) pe = end;
                v += part[(size_t)pe * H + c];
                j = pe + 1;
            }
            d[c] = v;
        }
    }
}

static void scatter_rows(float *dw, const int32_t *rows, const float *dout, int N, int H) {
    size_t part_bytes = ((size_t)N * H * sizeof(float) + 255) / 256 * 256;
    char *s = (char *)cu_scratch(0, part_bytes + 3 * (size_t)N * sizeof(int));
    float *part = (float *)s;
    int *perm = (int *)(s + part_bytes), *skey = perm + N, *rank = skey + N;
    CU_CHECK(cudaMemsetAsync(rank, 0, (size_t)N * sizeof(int), cu_stream));
    unsigned tb = cu_blocks((size_t)N, CU_THREADS);
    dim3 grid(tb, tb > 65535u ? 65535u : tb);
    KLAUNCH(embed_rank_kernel, grid, CU_THREADS, 0, rank, rows, N);
    KLAUNCH(embed_perm_kernel, tb, CU_THREADS, 0, perm, skey, (const int *)rank, rows, N);
    KLAUNCH(embed_piece_kernel, cu_blocks((size_t)N, EMB_PIECE), CU_THREADS, 0, part, (const int *)perm, (const int *)skey, dout, N, H);
    KLAUNCH(embed_final_kernel, cu_blocks((size_t)N, 1), CU_THREADS, 0, dw, (const float *)part, (const int *)skey, N, H);
}

void cu_embed_fwd(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                  const float *wte, const float *wpe, const float *wtt, int N, int H) {
    if (N <= 0 || H <= 0) return;
    KLAUNCH(embed_fwd_kernel, cu_blocks((size_t)N * H, CU_THREADS), CU_THREADS, 0, out, ids, pos, tt, wte, wpe, wtt, N, H);
}

void cu_embed_bwd(const float *dout, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                  float *dwte, float *dwpe, float *dwtt, int N, int H) {
    if (N <= 0 || H <= 0) return;
    if (dwte) scatter_rows(dwte, ids, dout, N, H);
    if (dwpe) scatter_rows(dwpe, pos, dout, N, H);
    if (dwtt) scatter_rows(dwtt, tt, dout, N, H);
}

/* ---------------------------------------------------------------- <s> gather */

__global__ void gather_first_fwd_kernel(float *y, const float *x, int S, int T, int H) {
    size_t total = (size_t)S * H;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        size_t s = e / H, h = e % H;
        y[e] = x[s * T * H + h];
    }
}

__global__ void gather_first_bwd_kernel(float *dx, const float *dy, int S, int T, int H) {
    size_t total = (size_t)S * H;
    for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        size_t s = e / H, h = e % H;
        dx[s * T * H + h] += dy[e];
    }
}

void cu_gather_first_fwd(float *y, const float *x, int S, int T, int H) {
    if (S <= 0 || H <= 0) return;
    KLAUNCH(gather_first_fwd_kernel, cu_blocks((size_t)S * H, CU_THREADS), CU_THREADS, 0, y, x, S, T, H);
}

void cu_gather_first_bwd(float *dx, const float *dy, int S, int T, int H) {
    if (S <= 0 || H <= 0) return;
    KLAUNCH(gather_first_bwd_kernel, cu_blocks((size_t)S * H, CU_THREADS), CU_THREADS, 0, dx, dy, S, T, H);
}
