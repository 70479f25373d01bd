/* norm.cu — LayerNorm and softmax over the last dimension (ops.h contracts).
 *
 * One warp per row (8 rows per 256-thread block); a block loops over its rows with a stride
 * of the whole grid, every warp taking the same number of turns, so the warp shuffles are
 * reached by all threads (rows past the end compute on nothing and store nothing).  A lane
 * reads and writes the same elements in every pass, so y may alias x.
 *
 * LayerNorm statistics are summed in double like ops_cpu.c, and the per-element arithmetic
 * is rounded in the CPU's order (__fmul_rn keeps nvcc from fusing), so y, mean and rstd are
 * usually bit-identical to the CPU's.  The dw/db column sums are deterministic: blocks of
 * LN_ROWS rows give double partial sums per column (scratch slot 0), then one thread per
 * column adds the partials in row-block order. */
#include "cuda_common.h"

#define ROWS_PER_BLOCK (CU_THREADS / 32)
#define LN_ROWS 32 /* rows per partial column sum */

/* ---------------------------------------------------------------- LayerNorm */

__global__ void layernorm_fwd_kernel(float *y, float *mean, float *rstd, const float *x,
                                     const float *w, const float *b, int N, int H, float eps) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, wpb = blockDim.x >> 5;
    for (long base = (long)blockIdx.x * wpb; base < N; base += (long)gridDim.x * wpb) {
        long n = base + warp;
        int ok = n < N;
        const float *xr = x + (size_t)(ok ? n : 0) * H;
        double s = 0, s2 = 0;
        if (ok)
            for (int h = lane; h < H; h += 32) s += xr[h];
        s = cu_warp_sum_d(s);
        double m = s / H;
        if (ok)
            for (int h = lane; h < H; h += 32) {
                double d = xr[h] - m;
                s2 += d * d;
            }
        s2 = cu_warp_sum_d(s2);
        if (!ok) continue; /* no barrier follows in this turn */
        float mf = (float)m, r = (float)(1.0 / sqrt(s2 / H + eps));
        if (lane == 0) {
            if (mean) mean[n] = mf;
            if (rstd) rstd[n] = r;
        }
        float *yr = y + (size_t)n * H;
        for (int h = lane; h < H; h += 32) yr[h] = __fadd_rn(__fmul_rn(__fmul_rn(xr[h] - mf, r), w[h]), b[h]);
    }
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w */
__global__ void layernorm_bwd_dx_kernel(float *dx, const float *dy, const float *x,
                                        const float *mean, const float *rstd, const float *w,
                                        int N, int H, int accumulate) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, wpb = blockDim.x >> 5;
    for (long base = (long)blockIdx.x * wpb; base < N; base += (long)gridDim.x * wpb) {
        long n = base + warp;
        int ok = n < N;
        size_t off = (size_t)(ok ? n : 0) * H;
        const float *dyr = dy + off, *xr = x + off;
        float m = ok ? mean[n] : 0.0f, r = ok ? rstd[n] : 0.0f;
        double sg = 0, sgx = 0;
        if (ok)
            for (int h = lane; h < H; h += 32) {
                float g = __fmul_rn(dyr[h], w[h]), xh = __fmul_rn(xr[h] - m, r);
                sg += g;
                sgx += (double)g * xh;
            }
        sg = cu_warp_sum_d(sg);
        sgx = cu_warp_sum_d(sgx);
        if (!ok) continue;
        float mg = (float)(sg / H), mgx = (float)(sgx / H);
        float *dxr = dx + off;
        for (int h = lane; h < H; h += 32) {
            float xh = __fmul_rn(xr[h] - m, r);
            float v = __fmul_rn(r, __fsub_rn(__fmul_rn(dyr[h], w[h]) - mg, __fmul_rn(xh, mgx)));
            dxr[h] = accumulate ? dxr[h] + v : v;
        }
    }
}

/* Block (column block x, row block y): partial sums of dy * xhat and dy over LN_ROWS rows. */
__global__ void layernorm_bwd_part_kernel(double *pw, double *pb, const float *dy, const float *x,
                                          const float *mean, const float *rstd, int N, int H) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= H) return;
    int n0 = blockIdx.y * LN_ROWS, n1 = n0 + LN_ROWS < N ? n0 + LN_ROWS : N;
    double aw = 0, ab = 0;
    for (int n = n0; n < n1; n++) {
        size_t i = (size_t)n * H + c;
        float d = dy[i], xh = __fmul_rn(x[i] - mean[n], rstd[n]);
        aw += (double)d * xh;
        ab += d;
    }
    pw[(size_t)blockIdx.y * H + c] = aw;
    pb[(size_t)blockIdx.y * H + c] = ab;
}

__global__ void layernorm_bwd_sum_kernel(float *dw, float *db, const double *pw, const double *pb,
                                         int nparts, int H) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < H; c += gridDim.x * blockDim.x) {
        double aw = 0, ab = 0;
        for (int p = 0; p < nparts; p++) {
            aw += pw[(size_t)p * H + c];
            ab += pb[(size_t)p * H + c];
        }
        if (dw) dw[c] += (float)aw;
        if (db) db[c] += (float)ab;
    }
}

void cu_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w,
                      const float *b, int N, int H, float eps) {
    if (N <= 0 || H <= 0) return;
    KLAUNCH(layernorm_fwd_kernel, cu_blocks((size_t)N, ROWS_PER_BLOCK), CU_THREADS, 0, y, mean, rstd, x, w, b, N, H, eps);
}

void cu_layernorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *mean, const float *rstd, const float *w, int N, int H,
                      int accumulate) {
    if (N <= 0 || H <= 0) return;
    /* the column sums first: they read dy, which a caller could alias with dx */
    if (dw || db) {
        int nparts = (N + LN_ROWS - 1) / LN_ROWS; /* grid y <= 65535: N <= 2M rows */
        if (nparts > 65535) cu_fail("layernorm_bwd", "too many rows", __FILE__, __LINE__);
        double *pw = (double *)cu_scratch(0, (size_t)2 * nparts * H * sizeof(double));
        double *pb = pw + (size_t)nparts * H;
        dim3 grid((H + CU_THREADS - 1) / CU_THREADS, nparts);
        KLAUNCH(layernorm_bwd_part_kernel, grid, CU_THREADS, 0, pw, pb, dy, x, mean, rstd, N, H);
        KLAUNCH(layernorm_bwd_sum_kernel, cu_blocks((size_t)H, CU_THREADS), CU_THREADS, 0, dw, db, pw, pb, nparts, H);
    }
    if (dx)
        KLAUNCH(layernorm_bwd_dx_kernel, cu_blocks((size_t)N, ROWS_PER_BLOCK), CU_THREADS, 0, dx, dy, x, mean, rstd, w, N, H, accumulate);
}

/* ---------------------------------------------------------------- softmax */

/* Masked scores (-1e30 added) give expf(-1e30 - max) = 0 exactly, as on the CPU. */
__global__ void softmax_fwd_kernel(float *y, const float *x, size_t rows, int cols) {
    size_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5, wpb = blockDim.x >> 5;
    for (size_t base = (size_t)blockIdx.x * wpb; base < rows; base += (size_t)gridDim.x * wpb) {
        size_t r = base + warp;
        int ok = r < rows;
        const float *xr = x + (ok ? r : 0) * cols;
        float *yr = y + (ok ? r : 0) * cols;
        float mx = -INFINITY, s = 0;
        if (ok)
            for (size_t c = lane; c < (size_t)cols; c += 32) mx = xr[c] > mx ? xr[c] : mx;
        mx = cu_warp_max(mx);
        if (ok)
            for (size_t c = lane; c < (size_t)cols; c += 32) {
                float e = expf(xr[c] - mx);
                yr[c] = e;
                s += e;
            }
        s = cu_warp_sum(s);
        if (!ok) continue;
        float inv = 1.0f / s;
        for (size_t c = lane; c < (size_t)cols; c += 32) yr[c] *= inv;
    }
}

/* dx = y * (dy - sum(dy * y)); dx may alias dy (each lane reads its elements before writing). */
__global__ void softmax_bwd_kernel(float *dx, const float *dy, const float *y, size_t rows, int cols) {
    size_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5, wpb = blockDim.x >> 5;
    for (size_t base = (size_t)blockIdx.x * wpb; base < rows; base += (size_t)gridDim.x * wpb) {
        size_t r = base + warp;
        int ok = r < rows;
        size_t off = (ok ? r : 0) * cols;
        float dot = 0;
        if (ok)
            for (size_t c = lane; c < (size_t)cols; c += 32) dot += __fmul_rn(dy[off + c], y[off + c]);
        dot = cu_warp_sum(dot);
        if (!ok) continue;
        for (size_t c = lane; c < (size_t)cols; c += 32) dx[off + c] = y[off + c] * (dy[off + c] - dot);
    }
}

void cu_softmax_fwd(float *y, const float *x, size_t rows, int cols) {
    if (rows == 0 || cols <= 0) return;
    KLAUNCH(softmax_fwd_kernel, cu_blocks(rows, ROWS_PER_BLOCK), CU_THREADS, 0, y, x, rows, cols);
}

void cu_softmax_bwd(float *dx, const float *dy, const float *y, size_t rows, int cols) {
    if (rows == 0 || cols <= 0) return;
    KLAUNCH(softmax_bwd_kernel, cu_blocks(rows, ROWS_PER_BLOCK), CU_THREADS, 0, dx, dy, y, rows, cols);
}
