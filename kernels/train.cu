/* train.cu — training, gradient-statistics and selection ops of the CUDA backend (ops.h
 * "training, gradient statistics, selection"): gather/scatter of compact gradients, scale,
 * sum of squares, gradient accumulation, AdamW, and the deterministic top-k of select.h.
 * No float atomics; every float result has one fixed summation order. */
#include "cuda_common.h"

#define GRID_STRIDE(i, n)                                                                      \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                  \
         i += (size_t)gridDim.x * blockDim.x)

/* ---------------------------------------------------------------- gather, scatter, scale */

__global__ void tr_gather(float *__restrict__ dst, const float *__restrict__ src,
                          const uint32_t *__restrict__ idx, size_t k) {
    GRID_STRIDE(j, k) dst[j] = src[idx[j]];
}
__global__ void tr_scatter(float *__restrict__ dst, const uint32_t *__restrict__ idx, size_t k,
                           const float *__restrict__ src) {
    GRID_STRIDE(j, k) dst[idx[j]] = src[j];
}
__global__ void tr_scale(float *x, size_t n, float f) {
    GRID_STRIDE(i, n) x[i] *= f;
}

void cu_gather(float *dst, const float *src, const uint32_t *idx, size_t k) {
    if (k) KLAUNCH(tr_gather, cu_blocks(k, CU_THREADS), CU_THREADS, 0, dst, src, idx, k);
}
void cu_scatter(float *dst, const uint32_t *idx, size_t k, const float *src) {
    if (k) KLAUNCH(tr_scatter, cu_blocks(k, CU_THREADS), CU_THREADS, 0, dst, idx, k, src);
}
void cu_scale(float *x, size_t n, float f) {
    if (n) KLAUNCH(tr_scale, cu_blocks(n, CU_THREADS), CU_THREADS, 0, x, n, f);
}

/* ---------------------------------------------------------------- sumsq
 * Two stages with a grid that depends only on n: block b sums its grid-stride share in double
 * (per thread, then cu_block_sum_d), one block sums the partials in block order. */

#define SUMSQ_MAX_BLOCKS 1024

__global__ void tr_sumsq_partial(double *__restrict__ part, const float *__restrict__ x, size_t n) {
    __shared__ double red[32];
    double s = 0.0;
    GRID_STRIDE(i, n) s += (double)x[i] * (double)x[i];
    s = cu_block_sum_d(s, red);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
/* 1024 threads: __launch_bounds__ holds ptxas to <= 64 registers a thread, else the launch
 * fails on the GPU (too many resources requested), which the emulator cannot show. */
__global__ void __launch_bounds__(1024) tr_sumsq_final(double *__restrict__ out, const double *__restrict__ part,
                               unsigned nb) {
    __shared__ double red[32];
    double s = 0.0;
    for (unsigned b = threadIdx.x; b < nb; b += blockDim.x) s += part[b];
    s = cu_block_sum_d(s, red);
    if (threadIdx.x == 0) *out = s;
}

double cu_sumsq(const float *x, size_t n) { return cu_sumsq_many(&x, &n, 1); }

/* Many tensors: each tensor's two stages as above (the partials reuse one buffer: the stream
 * orders the kernels), its sum into res[t]; one block adds res[0..count) in order; one
 * download.  cu_sumsq is the case of one tensor. */
__global__ void tr_sum_in_order(double *__restrict__ out, const double *__restrict__ res, int count) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        double s = 0.0;
        for (int t = 0; t < count; t++) s += res[t];
        *out = s;
    }
}

double cu_sumsq_many(const float *const *x, const size_t *n, int count) {
    if (count <= 0) return 0.0;
    double *w = (double *)cu_scratch(0, (SUMSQ_MAX_BLOCKS + (size_t)count + 1) * sizeof(double));
    double *out = w, *res = w + 1, *part = w + 1 + count;
    cu_zero((float *)res, (size_t)count * 2); /* empty tensors contribute 0 */
    for (int t = 0; t < count; t++) {
        if (n[t] == 0) continue;
        unsigned nb = cu_blocks(n[t], CU_THREADS * 8);
        if (nb > SUMSQ_MAX_BLOCKS) nb = SUMSQ_MAX_BLOCKS;
        KLAUNCH(tr_sumsq_partial, nb, CU_THREADS, 0, part, x[t], n[t]);
        KLAUNCH(tr_sumsq_final, 1, 1024, 0, res + t, part, nb);
    }
    KLAUNCH(tr_sum_in_order, 1, 32, 0, out, res, count);
    double r;
    cu_download(&r, out, sizeof r);
    return r;
}

/* ---------------------------------------------------------------- reduce_into
 * __fmul_rn / __fadd_rn: no FMA contraction, so the bits equal the CPU's acc + g*g. */

__global__ void tr_reduce_into(float *__restrict__ acc, const float *__restrict__ g, size_t n,
                               int kind) {
    GRID_STRIDE(i, n) {
        float v = g[i];
        if (kind == OP_REDUCE_SUMSQ) v = __fmul_rn(v, v);
        else if (kind == OP_REDUCE_ABS) v = fabsf(v);
        acc[i] = __fadd_rn(acc[i], v);
    }
}

void cu_reduce_into(float *acc, const float *g, size_t n, int kind) {
    if (n) KLAUNCH(tr_reduce_into, cu_blocks(n, CU_THREADS), CU_THREADS, 0, acc, g, n, kind);
}

/* ---------------------------------------------------------------- adamw
 * ops.h's formula in PyTorch's order, every operation rounded on its own (the _rn intrinsics
 * forbid FMA contraction; sqrt and division are IEEE), so theta, m and v have the CPU's
 * bits. */

__global__ void tr_adamw(float *__restrict__ theta, float *__restrict__ g, float *__restrict__ m,
                         float *__restrict__ v, const uint32_t *__restrict__ idx, size_t k,
                         AdamwStep s) {
    const float ob1 = 1.0f - s.beta1, ob2 = 1.0f - s.beta2;
    GRID_STRIDE(j, k) {
        const size_t e = idx ? (size_t)idx[j] : j;
        const float t = __fmul_rn(theta[e], s.decay);
        const float gj = __fmul_rn(g[j], s.clip);
        const float mj = __fadd_rn(__fmul_rn(s.beta1, m[j]), __fmul_rn(ob1, gj));
        const float vj = __fadd_rn(__fmul_rn(s.beta2, v[j]), __fmul_rn(__fmul_rn(ob2, gj), gj));
        const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vj), s.bc2_sqrt), s.eps);
        theta[e] = __fsub_rn(t, __fmul_rn(s.step_size, __fdiv_rn(mj, denom)));
        m[j] = mj;
        v[j] = vj;
        g[j] = 0.0f;
    }
}

void cu_adamw(float *theta, float *g, float *m, float *v, const uint32_t *idx, size_t k,
              const AdamwStep *s) {
    if (k) KLAUNCH(tr_adamw, cu_blocks(k, CU_THREADS), CU_THREADS, 0, theta, g, m, v, idx, k, *s);
}

/* ---------------------------------------------------------------- topk
 * select.h's order on the GPU.  Keys: the order-preserving uint32 of select.c (|x|: bits
 * without the sign; x: sign-flipped, -0 as +0); larger key = ranked first, ties to the lower
 * index, so the top k is one well-defined set.
 *   1. radix selection of the k-th largest key T in three passes over x (11, 11 and 10 bits):
 *      a histogram of the next digit among the entries whose higher digits equal T's chosen
 *      so far (shared-memory histograms, integer atomics, then into global ones), and a
 *      one-block kernel that picks the digit and the rank left inside it; pass 1 also counts
 *      NaNs.  Integer counts only: the result cannot depend on the atomics' order.
 *   2. ordered compaction over TK_BLOCKS contiguous index ranges: per-range counts of keys
 *      > T and == T; a one-block exclusive scan over the ranges in order, where the entries
 *      == T taken before range b are min(eq before b, need); then every range writes its
 *      entries > T and its share of == T entries in index order at its offset, tile by tile
 *      (a block scan per tile) — the k indices come out ascending, no sort.
 * Everything stays on the device until the state and the k indices are downloaded. */

#define TK_THREADS 256
#define TK_MAX_BINS 2048 /* 11-bit digits */
#define TK_BLOCKS_MAX 1024
#define TK_HIST_BLOCKS_MAX 512
#define TK_PASSES 3
static const int tk_shift[TK_PASSES] = {21, 10, 0};
static const int tk_width[TK_PASSES] = {11, 11, 10};

struct TopkState {
    unsigned nan;    /* NaNs seen by pass 1 */
    unsigned prefix; /* T's digits chosen so far (higher bits), then T */
    unsigned need;   /* rank still to find among the entries matching prefix; then the number
                      * of entries == T to take */
    unsigned pad;
};

__device__ __forceinline__ unsigned tk_key(float f, int key) {
    unsigned b = __float_as_uint(f);
    if (key == 0) return b & 0x7fffffffu;
    if (b == 0x80000000u) b = 0;
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ int tk_isnan(float f) {
    return (__float_as_uint(f) & 0x7fffffffu) > 0x7f800000u;
}

__global__ void tk_init(TopkState *st, unsigned *hist, unsigned k) {
    for (unsigned i = threadIdx.x; i < TK_PASSES * TK_MAX_BINS; i += blockDim.x) hist[i] = 0;
    if (threadIdx.x == 0) st->nan = 0, st->prefix = 0, st->need = k, st->pad = 0;
}

/* Histogram of digit (key >> shift) & (2^width - 1) among entries with (key & hmask) ==
 * st->prefix (hmask = the bits above the digit). */
__global__ void tk_hist(unsigned *__restrict__ hist, TopkState *st, const float *__restrict__ x,
                        size_t n, int key, int shift, int width, unsigned hmask, int first) {
    __shared__ unsigned h[TK_MAX_BINS];
    __shared__ unsigned nan_seen;
    const unsigned nbins = 1u << width, dmask = nbins - 1u, prefix = st->prefix;
    for (unsigned b = threadIdx.x; b < nbins; b += blockDim.x) h[b] = 0;
    if (threadIdx.x == 0) nan_seen = 0;
    __syncthreads();
    unsigned nans = 0;
    GRID_STRIDE(i, n) {
        float f = x[i];
        unsigned kk = tk_key(f, key);
        if (first) nans += tk_isnan(f);
        if ((kk & hmask) == prefix) atomicAdd(&h[(kk >> shift) & dmask], 1u);
    }
    if (nans) atomicAdd(&nan_seen, nans);
    __syncthreads();
    for (unsigned b = threadIdx.x; b < nbins; b += blockDim.x)
        if (h[b]) atomicAdd(&hist[b], h[b]);
    if (threadIdx.x == 0 && nan_seen) atomicAdd(&st->nan, nan_seen);
}

/* Inclusive block scan (sum) of unsigned values; every thread calls; blockDim.x a multiple of
 * 32; red: 32 shared words.  Shuffles by index (lane - o) with a clamp: the dialect's set. */
__device__ __forceinline__ unsigned tk_block_scan(unsigned v, unsigned *red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 1; o < 32; o <<= 1) {
        unsigned u = __shfl_sync(0xffffffffu, v, lane >= o ? lane - o : lane);
        if (lane >= o) v += u;
    }
    __syncthreads(); /* red may still be read by a previous scan */
    if (lane == 31) red[warp] = v;
    __syncthreads();
    unsigned w = lane < nw ? red[lane] : 0u;
    for (int o = 1; o < 32; o <<= 1) {
        unsigned u = __shfl_sync(0xffffffffu, w, lane >= o ? lane - o : lane);
        if (lane >= o) w += u;
    }
    /* w in lane l = sum of warps 0..l; add the warps before this one */
    unsigned before = __shfl_sync(0xffffffffu, w, warp > 0 ? warp - 1 : 0);
    return v + (warp > 0 ? before : 0u);
}

/* One block of TK_THREADS: thread t owns the bins [t*per, (t+1)*per) counted from the TOP
 * (bin nbins-1-i for i in its range); a scan of the per-thread totals gives the count above
 * each thread's bins, and the thread holding rank `need` picks the digit. */
__global__ void tk_select(TopkState *st, const unsigned *__restrict__ hist, int shift, int width) {
    __shared__ unsigned red[32];
    const unsigned nbins = 1u << width, per = nbins / blockDim.x, need = st->need;
    unsigned tot = 0;
    for (unsigned i = threadIdx.x * per; i < (threadIdx.x + 1) * per; i++) tot += hist[nbins - 1 - i];
    const unsigned incl = tk_block_scan(tot, red);
    unsigned above = incl - tot;
    if (above < need && need <= incl) {
        for (unsigned i = threadIdx.x * per; i < (threadIdx.x + 1) * per; i++) {
            unsigned c = hist[nbins - 1 - i];
            if (above + c >= need) {
                st->prefix |= (nbins - 1 - i) << shift;
                st->need = need - above;
                break;
            }
            above += c;
        }
    }
}

/* Range b of the compaction: [b*len, min((b+1)*len, n)). */
__device__ __forceinline__ void tk_range(size_t n, size_t len, size_t *lo, size_t *hi) {
    *lo = (size_t)blockIdx.x * len;
    *hi = *lo + len < n ? *lo + len : n;
}

__global__ void tk_count(unsigned *__restrict__ gt, unsigned *__restrict__ eq,
                         const TopkState *st, const float *__restrict__ x, size_t n, size_t len,
                         int key) {
    __shared__ unsigned cg, ce;
    const unsigned T = st->prefix;
    size_t lo, hi;
    tk_range(n, len, &lo, &hi);
    if (threadIdx.x == 0) cg = 0, ce = 0;
    __syncthreads();
    unsigned g = 0, e = 0;
    for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        unsigned kk = tk_key(x[i], key);
        g += kk > T;
        e += kk == T;
    }
    if (g) atomicAdd(&cg, g); /* integer sums: the order does not matter */
    if (e) atomicAdd(&ce, e);
    __syncthreads();
    if (threadIdx.x == 0) gt[blockIdx.x] = cg, eq[blockIdx.x] = ce;
}

/* One block, a thread per range (<= TK_BLOCKS_MAX, a multiple of 32): exclusive scans over the
 * ranges in order.  off[b] = entries > T before b + min(entries == T before b, need);
 * quota[b] = how many of b's entries == T are taken.  Up to 1024 threads: __launch_bounds__
 * holds ptxas to <= 64 registers a thread (else "too many resources requested" on the GPU). */
__global__ void __launch_bounds__(1024) tk_offsets(unsigned *__restrict__ off, unsigned *__restrict__ quota,
                           const unsigned *__restrict__ gt, const unsigned *__restrict__ eq,
                           const TopkState *st, unsigned nranges) {
    __shared__ unsigned red[32];
    const unsigned b = threadIdx.x, need = st->need;
    const unsigned g = b < nranges ? gt[b] : 0u, e = b < nranges ? eq[b] : 0u;
    const unsigned gi = tk_block_scan(g, red);
    const unsigned ei = tk_block_scan(e, red);
    const unsigned eb = ei - e, taken_before = eb < need ? eb : need, taken_to = ei < need ? ei : need;
    if (b < nranges) {
        off[b] = (gi - g) + taken_before;
        quota[b] = taken_to - taken_before;
    }
}

/* Range b writes its entries in index order, a tile of blockDim entries at a time: the
 * entries > T and == T before each thread's in the tile come from one block scan of a packed
 * pair (== T count in the high 16 bits, > T count in the low 16; a tile has <= 1024 of
 * each). */
__global__ void tk_write(uint32_t *__restrict__ out, const unsigned *__restrict__ off,
                         const unsigned *__restrict__ quota, const TopkState *st,
                         const float *__restrict__ x, size_t n, size_t len, int key, size_t k) {
    __shared__ unsigned red[32];
    __shared__ unsigned tile_tot;
    const unsigned T = st->prefix, q = quota[blockIdx.x], base = off[blockIdx.x];
    size_t lo, hi;
    tk_range(n, len, &lo, &hi);
    unsigned g_run = 0, e_run = 0; /* entries > T and == T in earlier tiles of the range */
    for (size_t t0 = lo; t0 < hi; t0 += blockDim.x) {
        const size_t i = t0 + threadIdx.x;
        unsigned kk = 0, is_gt = 0, is_eq = 0;
        if (i < hi) {
            kk = tk_key(x[i], key);
            is_gt = kk > T;
            is_eq = kk == T;
        }
        const unsigned mine = is_eq << 16 | is_gt;
        const unsigned incl = tk_block_scan(mine, red);
        const unsigned excl = incl - mine;
        const unsigned gb = g_run + (excl & 0xffffu), eb = e_run + (excl >> 16);
        if (is_gt || (is_eq && eb < q)) {
            size_t pos = (size_t)base + gb + (eb < q ? eb : q);
            if (pos < k) out[pos] = (uint32_t)i; /* always true; a guard against bad counts */
        }
        if (threadIdx.x == blockDim.x - 1) tile_tot = incl;
        __syncthreads();
        g_run += tile_tot & 0xffffu;
        e_run += tile_tot >> 16;
        __syncthreads(); /* tile_tot is rewritten by the next tile */
    }
}

int cu_topk(const float *x, size_t n, size_t k, int key, uint32_t *out) {
    if (n > UINT32_MAX || k > n) return -2;
    if (n == 0) return 0;
    /* ranges for the compaction: at least 4096 entries each, at most TK_BLOCKS_MAX of them */
    size_t nranges = (n + 4095) / 4096;
    if (nranges > TK_BLOCKS_MAX) nranges = TK_BLOCKS_MAX;
    const size_t len = (n + nranges - 1) / nranges;
    nranges = (n + len - 1) / len;
    unsigned hblocks = cu_blocks(n, TK_THREADS * 16);
    if (hblocks > TK_HIST_BLOCKS_MAX) hblocks = TK_HIST_BLOCKS_MAX;

    /* scratch: state | 3 histograms | gt | eq | off | quota | the k indices */
    const size_t words = 4 + TK_PASSES * TK_MAX_BINS + 4 * TK_BLOCKS_MAX + k;
    unsigned *w = (unsigned *)cu_scratch(0, words * sizeof(unsigned));
    TopkState *st = (TopkState *)w;
    unsigned *hist = w + 4, *gt = hist + TK_PASSES * TK_MAX_BINS, *eq = gt + TK_BLOCKS_MAX;
    unsigned *off = eq + TK_BLOCKS_MAX, *quota = off + TK_BLOCKS_MAX;
    uint32_t *dev_out = quota + TK_BLOCKS_MAX;

    KLAUNCH(tk_init, 1, TK_THREADS, 0, st, hist, (unsigned)k);
    const int partial = k > 0 && k < n; /* k == 0, k == n: only the NaN check */
    for (int p = 0; p < (partial ? TK_PASSES : 1); p++) {
        const int top = tk_shift[p] + tk_width[p];
        const unsigned hmask = top >= 32 ? 0u : ~0u << top;
        KLAUNCH(tk_hist, hblocks, TK_THREADS, 0, hist + p * TK_MAX_BINS, st, x, n, key,
                tk_shift[p], tk_width[p], hmask, p == 0);
        if (partial) KLAUNCH(tk_select, 1, TK_THREADS, 0, st, hist + p * TK_MAX_BINS, tk_shift[p], tk_width[p]);
    }
    if (partial) {
        KLAUNCH(tk_count, (unsigned)nranges, TK_THREADS, 0, gt, eq, st, x, n, len, key);
        const unsigned oth = (unsigned)(nranges + 31) / 32 * 32; /* a thread per range */
        KLAUNCH(tk_offsets, 1, oth, 0, off, quota, gt, eq, st, (unsigned)nranges);
        KLAUNCH(tk_write, (unsigned)nranges, TK_THREADS, 0, dev_out, off, quota, st, x, n, len, key, k);
    }
    TopkState hs;
    cu_download(&hs, st, sizeof hs);
    if (hs.nan) return -1;
    if (k == n)
        for (size_t i = 0; i < n; i++) out[i] = (uint32_t)i;
    else if (k > 0)
        cu_download(out, dev_out, k * sizeof(uint32_t));
    return 0;
}
