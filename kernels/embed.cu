/* embed.cu — embeddings forward/backward and the <s> gather (ops.h contracts).
 *
 * The embedding backward is a deterministic segmented sum (no atomics): the tokens are
 * stably sorted by row (rank = #smaller rows + #equal rows before it, O(N^2) compares over
 * shared-memory tiles: N is a batch of tokens, a few thousand), the sorted list is cut into
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

/* perm[rank] = n, skey[rank] = row of token n: the tokens stably sorted by row. */
__global__ void embed_rank_kernel(int *perm, int *skey, const int32_t *rows, int N) {
    __shared__ int tile[CU_THREADS];
    for (long base = (long)blockIdx.x * blockDim.x; base < N; base += (long)gridDim.x * blockDim.x) {
        long n = base + threadIdx.x;
        int ok = n < N, key = ok && rows ? rows[n] : 0, rank = 0;
        for (int t0 = 0; t0 < N; t0 += blockDim.x) {
            __syncthreads(); /* the previous tile is read */
            int m = t0 + (int)threadIdx.x;
            tile[threadIdx.x] = m < N && rows ? rows[m] : 0;
            __syncthreads();
            int len = N - t0 < (int)blockDim.x ? N - t0 : (int)blockDim.x;
            for (int k = 0; k < len; k++) {
                int km = tile[k];
                rank += km < key || (km == key && t0 + k < n);
            }
        }
        if (ok) {
            perm[rank] = (int)n;
            skey[rank] = key;
        }
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
    char *s = (char *)cu_scratch(0, part_bytes + 2 * (size_t)N * sizeof(int));
    float *part = (float *)s;
    int *perm = (int *)(s + part_bytes), *skey = perm + N;
    KLAUNCH(embed_rank_kernel, cu_blocks((size_t)N, CU_THREADS), CU_THREADS, 0, perm, skey, rows, N);
    unsigned pieces = cu_blocks((size_t)N, EMB_PIECE);
    KLAUNCH(embed_piece_kernel, pieces, CU_THREADS, 0, part, perm, skey, dout, N, H);
    KLAUNCH(embed_final_kernel, cu_blocks((size_t)N, 1), CU_THREADS, 0, dw, part, skey, N, H);
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
