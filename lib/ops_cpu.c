/* ops_cpu.c — CPU backend of ops.h: oneDNN sgemm for matrix products, OpenMP loops for
 * the rest.  Threading: dnnl_sgemm (OpenMP build) spreads one product over all threads when
 * called outside a parallel region and runs sequentially inside one, so big products are
 * called from serial code and the small per-(sequence, head) attention products from an
 * OpenMP loop over (sequence, head): never both levels at once, no oversubscription. */
#include "ops.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#include "ops_backend.h"
#include "rng.h"
#include "select.h"
#include "util.h"

/* Column blocks of 8 cache lines: reductions over rows run in parallel over column blocks,
 * so no two threads write the same line and the sum order is fixed (deterministic: every
 * column is summed over the rows in order, whatever the thread count).  8 lines per row and
 * block rather than 1 let the prefetcher stream the rows (2x faster on a [2048, 3072] sum). */
#define COLBLK 128
/* Loops with less work than this run on one thread: for the small tensors of the heads and of
 * the tests a parallel region costs more than it saves, and much more on a loaded machine. */
#define PAR_MIN 32768
#define GEMM_PAR_MIN (1 << 20) /* multiply-adds */

/* ---------------------------------------------------------------- profile
 * SPARSETUNE_OPS_PROFILE=K (K >= 1) in the environment: from the K-th forward pass on (counted
 * by op_embed_fwd calls; K = 2 skips a warm-up step with its page faults and JIT), every op's
 * wall and process CPU time is summed per op and printed to stderr at exit, also per
 * forward pass (one training step).  CPU time counts all threads, so it is not inflated when
 * other processes share the cores.  Off: one branch per op. */
typedef struct { const char *name; double wall, cpu; long calls; } ProfEntry;
#define PROF_MAX 48
static ProfEntry prof_tab[PROF_MAX];
static int prof_state = -1; /* -1 unknown, 0 off, 1 on */
static int prof_depth;      /* only the outermost op is timed */
static long prof_first, prof_seen; /* the first forward profiled; forwards seen */

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void prof_report(void) {
    double tw = 0, tc = 0;
    for (int i = 0; i < PROF_MAX && prof_tab[i].name; i++) tw += prof_tab[i].wall, tc += prof_tab[i].cpu;
    long prof_steps = prof_seen - prof_first + 1;
    double st = prof_steps > 0 ? (double)prof_steps : 1;
    fprintf(stderr, "ops profile: %ld steps; %-18s %8s %10s %10s %6s %12s %12s\n", prof_steps, "op", "calls",
            "wall s", "cpu s", "cpu %", "wall s/step", "cpu s/step");
    for (int done = 0; done < PROF_MAX; done++) { /* by CPU time, largest first */
        int best = -1;
        for (int i = 0; i < PROF_MAX && prof_tab[i].name; i++)
            if (prof_tab[i].calls >= 0 && (best < 0 || prof_tab[i].cpu > prof_tab[best].cpu)) best = i;
        if (best < 0) break;
        ProfEntry *e = &prof_tab[best];
        fprintf(stderr, "ops profile: %-24s %8ld %10.3f %10.3f %6.1f %12.4f %12.4f\n", e->name, e->calls, e->wall,
                e->cpu, tc > 0 ? 100 * e->cpu / tc : 0, e->wall / st, e->cpu / st);
        e->calls = -1;
    }
    fprintf(stderr, "ops profile: %-24s %8s %10.3f %10.3f %6s %12.4f %12.4f\n", "total", "", tw, tc, "", tw / st, tc / st);
}

typedef struct { const char *name; double wall, cpu; } Prof;

static Prof prof_begin(const char *name) {
    if (prof_state < 0) {
        const char *e = getenv("SPARSETUNE_OPS_PROFILE");
        long k = e ? atol(e) : 0;
        prof_state = k >= 1;
        prof_first = k;
        if (prof_state) atexit(prof_report);
    }
    Prof p = {NULL, 0, 0};
    if (!prof_state || omp_in_parallel()) return p;
    if (prof_depth == 0 && strcmp(name, "embed_fwd") == 0) prof_seen++;
    if (prof_depth++ > 0 || prof_seen < prof_first) return p;
    p.name = name;
    p.wall = clock_s(CLOCK_MONOTONIC);
    p.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    return p;
}

static void prof_end(Prof *p) {
    if (!prof_state || omp_in_parallel()) return;
    prof_depth--;
    if (!p->name) return;
    double w = clock_s(CLOCK_MONOTONIC) - p->wall, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - p->cpu;
    for (int i = 0; i < PROF_MAX; i++) {
        ProfEntry *e = &prof_tab[i];
        if (!e->name) e->name = p->name;
        if (e->name == p->name || strcmp(e->name, p->name) == 0) {
            e->wall += w, e->cpu += c, e->calls++;
            return;
        }
    }
}

/* Times the statement or block that follows (which must not return out of it). */
#define PROFILED(name) for (Prof prof_ = prof_begin(name), *once_ = &prof_; once_; prof_end(&prof_), once_ = NULL)

/* Buffers of 4 MiB and more (activations, parameters, gradients) get 2 MiB alignment and
 * transparent huge pages where the kernel gives them on request (THP "madvise" mode): fewer
 * TLB misses in the strided GEMM packing and the elementwise passes, fewer page faults. */
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)
static void *alloc_big(size_t bytes) {
    if (bytes < HUGE_MIN) return xmalloc_aligned(bytes);
    bytes = (bytes + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
    void *p = NULL;
    if (posix_memalign(&p, HUGE_ALIGN, bytes) != 0) die(NULL, "out of memory allocating %zu bytes", bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return p;
}

static float *cpu_alloc(size_t nfloats) { return alloc_big((nfloats ? nfloats : 1) * sizeof(float)); }
static int32_t *cpu_alloc_i32(size_t n) { return alloc_big((n ? n : 1) * sizeof(int32_t)); }
static void cpu_free(void *p) { free(p); }
static void cpu_zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }
/* nbytes may be 0 with NULL pointers (the storage of an empty sparse gradient) */
static void cpu_upload(void *dst, const void *src, size_t nbytes) { if (nbytes) memcpy(dst, src, nbytes); }
static void cpu_download(void *dst, const void *src, size_t nbytes) { if (nbytes) memcpy(dst, src, nbytes); }

static void cpu_gemm(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) { /* C = beta C, as BLAS and ops.h say (dnnl_sgemm leaves C as it is) */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    /* A small product on one thread: waking the team costs more than it saves (much more on
     * a loaded machine).  oneDNN reads omp_get_max_threads() per call; the setting is this
     * thread's own and restored at once. */
    int small = (double)M * N * K < GEMM_PAR_MIN && !omp_in_parallel(), nt = 0;
    if (small) {
        nt = omp_get_max_threads();
        omp_set_num_threads(1);
    }
    dnnl_status_t st = dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (small) omp_set_num_threads(nt);
    if (st != dnnl_success) die("dnnl_sgemm", "failed with status %d (M=%d N=%d K=%d)", (int)st, M, N, K);
}

/* ---------------------------------------------------------------- embeddings */

static void cpu_embed_fwd(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                  const float *wte, const float *wpe, const float *wtt, int N, int H) {
    PROFILED("embed_fwd") {
#pragma omp parallel for schedule(static) if ((size_t)N * H >= PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *a = wte + (size_t)ids[n] * H, *b = wpe + (size_t)pos[n] * H;
        const float *c = wtt + (size_t)(tt ? tt[n] : 0) * H;
        float *o = out + (size_t)n * H;
        for (int h = 0; h < H; h++) o[h] = (a[h] + b[h]) + c[h]; /* PyTorch's order */
    }
    }
}

static void scatter_rows(float *dw, const int32_t *idx, const float *dout, int N, int H) {
    /* parallel over column blocks: each thread owns its columns of every row */
#pragma omp parallel for schedule(static) if ((size_t)N * H >= PAR_MIN)
    for (int c0 = 0; c0 < H; c0 += COLBLK) {
        int c1 = c0 + COLBLK < H ? c0 + COLBLK : H;
        for (int n = 0; n < N; n++) {
            float *d = dw + (size_t)(idx ? idx[n] : 0) * H;
            const float *g = dout + (size_t)n * H;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

static void cpu_embed_bwd(const float *dout, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                  float *dwte, float *dwpe, float *dwtt, int N, int H) {
    PROFILED("embed_bwd") {
    if (dwte) scatter_rows(dwte, ids, dout, N, H);
    if (dwpe) scatter_rows(dwpe, pos, dout, N, H);
    if (dwtt) scatter_rows(dwtt, tt, dout, N, H);
    }
}

void op_position_ids(int32_t *pos, const int32_t *ids, int S, int T, int pad) {
    for (int s = 0; s < S; s++) {
        int count = 0;
        for (int t = 0; t < T; t++) {
            int real = ids[(size_t)s * T + t] != pad;
            count += real;
            pos[(size_t)s * T + t] = real ? pad + count : pad;
        }
    }
}

/* ---------------------------------------------------------------- LayerNorm */

static void cpu_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w,
                      const float *b, int N, int H, float eps) {
    PROFILED("layernorm_fwd") {
#pragma omp parallel for schedule(static) if ((size_t)N * H >= PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * H;
        double s = 0, s2 = 0;
#pragma omp simd reduction(+ : s)
        for (int h = 0; h < H; h++) s += xr[h];
        double m = s / H;
#pragma omp simd reduction(+ : s2)
        for (int h = 0; h < H; h++) {
            double d = xr[h] - m;
            s2 += d * d;
        }
        float mf = (float)m, r = (float)(1.0 / sqrt(s2 / H + eps));
        mean[n] = mf;
        rstd[n] = r;
        float *yr = y + (size_t)n * H;
#pragma omp simd
        for (int h = 0; h < H; h++) yr[h] = (xr[h] - mf) * r * w[h] + b[h];
    }
    }
}

static void cpu_layernorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *mean, const float *rstd, const float *w, int N, int H,
                      int accumulate) {
    /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w */
    PROFILED("layernorm_bwd_dx")
#pragma omp parallel for schedule(static) if ((size_t)N * H >= PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * H, *xr = x + (size_t)n * H;
        float m = mean[n], r = rstd[n];
        double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
        for (int h = 0; h < H; h++) {
            float g = dyr[h] * w[h], xh = (xr[h] - m) * r;
            sg += g;
            sgx += (double)g * xh;
        }
        float mg = (float)(sg / H), mgx = (float)(sgx / H);
        float *dxr = dx + (size_t)n * H;
#pragma omp simd
        for (int h = 0; h < H; h++) {
            float xh = (xr[h] - m) * r;
            float v = r * (dyr[h] * w[h] - mg - xh * mgx);
            dxr[h] = accumulate ? dxr[h] + v : v;
        }
    }
    if (!dw && !db) return;
    PROFILED("layernorm_bwd_dwdb")
#pragma omp parallel for schedule(static) if ((size_t)N * H >= PAR_MIN)
    for (int c0 = 0; c0 < H; c0 += COLBLK) {
        int c1 = c0 + COLBLK < H ? c0 + COLBLK : H;
        float aw[COLBLK] = {0}, ab[COLBLK] = {0};
        for (int n = 0; n < N; n++) {
            const float *dyr = dy + (size_t)n * H, *xr = x + (size_t)n * H;
            float m = mean[n], r = rstd[n];
            for (int c = c0; c < c1; c++) {
                aw[c - c0] += dyr[c] * ((xr[c] - m) * r);
                ab[c - c0] += dyr[c];
            }
        }
        for (int c = c0; c < c1; c++) {
            if (dw) dw[c] += aw[c - c0];
            if (db) db[c] += ab[c - c0];
        }
    }
}

/* ---------------------------------------------------------------- linear */

static void cpu_linear_fwd(float *y, const float *x, const float *W, const float *b, int N, int in,
                   int out) {
    /* the bias is added after the product (beta = 0): the product then never reads y, which
     * is cold memory; adding to the fresh, cached result is cheaper than pre-filling y */
    PROFILED("linear_fwd") {
    cpu_gemm('N', 'T', N, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)N * out >= PAR_MIN)
        for (int n = 0; n < N; n++) {
            float *yr = y + (size_t)n * out;
#pragma omp simd
            for (int o = 0; o < out; o++) yr[o] += b[o];
        }
    }
    }
}

static void colsum_acc(float *db, const float *dy, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += COLBLK) {
        int c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
        float acc[COLBLK] = {0};
        for (int n = 0; n < N; n++) {
            const float *r = dy + (size_t)n * C;
            for (int c = c0; c < c1; c++) acc[c - c0] += r[c];
        }
        for (int c = c0; c < c1; c++) db[c] += acc[c - c0];
    }
}

static void cpu_linear_bwd(float *dx, float *dW, float *db, const float *dy, const float *x,
                   const float *W, int N, int in, int out, int accumulate_dx) {
    if (dx) PROFILED("linear_bwd_dx") cpu_gemm('N', 'N', N, in, out, 1.0f, dy, out, W, in, accumulate_dx ? 1.0f : 0.0f, dx, in);
    if (dW) PROFILED("linear_bwd_dW") cpu_gemm('T', 'N', out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
    if (db) PROFILED("linear_bwd_db") colsum_acc(db, dy, N, out);
}

/* ---------------------------------------------------------------- sparse gradients */

static void transpose(float *dst, const float *src, int rows, int cols) {
    /* dst[c, r] = src[r, c], in 32 x 32 tiles */
#pragma omp parallel for schedule(static) if ((size_t)rows * cols >= PAR_MIN)
    for (int c0 = 0; c0 < cols; c0 += 32)
        for (int r0 = 0; r0 < rows; r0 += 32)
            for (int c = c0; c < c0 + 32 && c < cols; c++)
                for (int r = r0; r < r0 + 32 && r < rows; r++)
                    dst[(size_t)c * rows + r] = src[(size_t)r * cols + c];
}

/* Token blocks of the sampled product: the block's rows of dy^T and x^T (out and in rows of
 * SP_NB floats) stay in cache while every selected entry reads them, instead of one pass over
 * two whole N-float rows per entry (cache misses dominated).  The per-entry summation order
 * (blocks in order, simd lanes within a block) does not depend on the thread count. */
#define SP_NB 256

static void cpu_linear_dw_sparse(float *dW, const uint32_t *idx, size_t k, const float *dy,
                         const float *x, int N, int in, int out, float *scratch) {
    if (k == 0) return;
    float *dyT = scratch, *xT = scratch + (size_t)out * N;
    transpose(dyT, dy, N, out);
    transpose(xT, x, N, in);
#pragma omp parallel if (k * (size_t)N >= PAR_MIN)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        size_t j0 = k * (size_t)id / (size_t)nt, j1 = k * (size_t)(id + 1) / (size_t)nt;
        for (int n0 = 0; n0 < N; n0 += SP_NB) {
            int len = N - n0 < SP_NB ? N - n0 : SP_NB;
            for (size_t j = j0; j < j1; j++) {
                const float *a = dyT + (size_t)(idx[j] / (uint32_t)in) * N + n0;
                const float *b = xT + (size_t)(idx[j] % (uint32_t)in) * N + n0;
                float s = 0;
#pragma omp simd reduction(+ : s)
                for (int n = 0; n < len; n++) s += a[n] * b[n];
                dW[j] += s;
            }
        }
    }
}

static void cpu_add_selected(float *dst, const uint32_t *idx, size_t k, const float *src) {
    PROFILED("add_selected") {
    for (size_t j = 0; j < k; j++) dst[j] += src[idx[j]];
    }
}

static size_t lower_bound_u32(const uint32_t *a, size_t n, uint64_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void cpu_embed_bwd_sparse(float *dw, const uint32_t *idx, size_t k, const int32_t *rows,
                         const float *dout, int N, int H) {
    PROFILED("embed_bwd_sparse") {
    /* serial: tokens sharing a row would race, and the work is small */
    for (int n = 0; n < N; n++) {
        uint64_t base = (uint64_t)(rows ? rows[n] : 0) * H;
        const float *g = dout + (size_t)n * H;
        for (size_t j = lower_bound_u32(idx, k, base); j < k && idx[j] < base + H; j++)
            dw[j] += g[idx[j] - base];
    }
    }
}

/* ---------------------------------------------------------------- elementwise */

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* glibc (>= 2.22) has vector variants of expf in libmvec (linked through libm.so); declaring
 * expf simd lets the `omp simd` loops below (GELU, softmax) call it 8 or 16 at a time instead
 * of one scalar call per element (the results differ from expf's by at most a few ulp). */
#if defined(__GLIBC__) && defined(__x86_64__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 22)
__attribute__((__simd__("notinbranch"))) float expf(float);
#endif

/* erf(a) in float, within 1 ulp of glibc's erff (checked on every 3rd float of [-12, 12]),
 * vectorised (both pieces are evaluated for every element, one is taken):
 *   |a| <= 0.875:  a + a * P(a^2)                 P: degree 5, relative minimax error 8.5e-9
 *   above:         sign(a) (1 - exp(Q(min(|a|, 4))))  Q ~ log erfc: degree 6, error 1.9e-9
 * (erf(4) rounds to 1 in float, so the clamp only keeps Q inside its fitted range).  The
 * coefficients come from lib/gen-erf-coeffs.py (weighted minimax fits, Lawson's method).
 * GCC does not if-convert a loop that calls a function, so the erf of a chunk is computed in
 * three vector loops: Q (no calls), exp (libmvec), select (no calls).  e[] receives erf(a). */
#define ERF_CHUNK 256
static void erf_chunk(float *e, const float *a, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float t = fabsf(a[i]), tc = t < 4.0f ? t : 4.0f;
        float q = 2.009970631e-04f; /* Horner written out: inner loops stop vectorisation */
        q = fmaf(q, tc, -3.092300147e-03f);
        q = fmaf(q, tc, 2.242024802e-02f);
        q = fmaf(q, tc, -1.043275669e-01f);
        q = fmaf(q, tc, -6.367371678e-01f);
        q = fmaf(q, tc, -1.127936125e+00f);
        e[i] = fmaf(q, tc, -1.335656852e-04f);
    }
#pragma omp simd
    for (int i = 0; i < n; i++) e[i] = expf(e[i]);
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float x = a[i], t = fabsf(x), s = x * x;
        float p = -6.203237572e-04f;
        p = fmaf(p, s, 5.032178480e-03f);
        p = fmaf(p, s, -2.679146081e-02f);
        p = fmaf(p, s, 1.128245518e-01f);
        p = fmaf(p, s, -3.761255145e-01f);
        p = fmaf(p, s, 1.283791512e-01f);
        float small = fmaf(p, x, x); /* NaN stays NaN here (t > 0.875 is false) */
        e[i] = t > 0.875f ? copysignf(1.0f - e[i], x) : small;
    }
}

static void cpu_gelu_fwd(float *y, const float *x, size_t n) {
    PROFILED("gelu_fwd") {
    size_t nch = (n + ERF_CHUNK - 1) / ERF_CHUNK;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t c = 0; c < nch; c++) {
        size_t i0 = c * ERF_CHUNK;
        int m = n - i0 < ERF_CHUNK ? (int)(n - i0) : ERF_CHUNK;
        float a[ERF_CHUNK], e[ERF_CHUNK];
#pragma omp simd
        for (int i = 0; i < m; i++) a[i] = x[i0 + i] * INV_SQRT2;
        erf_chunk(e, a, m);
#pragma omp simd
        for (int i = 0; i < m; i++) y[i0 + i] = 0.5f * x[i0 + i] * (1.0f + e[i]);
    }
    }
}

static void cpu_gelu_bwd(float *dx, const float *dy, const float *x, size_t n) {
    PROFILED("gelu_bwd") {
    size_t nch = (n + ERF_CHUNK - 1) / ERF_CHUNK;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t c = 0; c < nch; c++) {
        size_t i0 = c * ERF_CHUNK;
        int m = n - i0 < ERF_CHUNK ? (int)(n - i0) : ERF_CHUNK;
        float a[ERF_CHUNK], e[ERF_CHUNK], g[ERF_CHUNK];
#pragma omp simd
        for (int i = 0; i < m; i++) a[i] = x[i0 + i] * INV_SQRT2;
        erf_chunk(e, a, m);
#pragma omp simd
        for (int i = 0; i < m; i++) g[i] = expf(-0.5f * x[i0 + i] * x[i0 + i]);
#pragma omp simd
        for (int i = 0; i < m; i++) {
            float v = x[i0 + i], cdf = 0.5f * (1.0f + e[i]);
            dx[i0 + i] = dy[i0 + i] * (cdf + v * (INV_SQRT_2PI * g[i]));
        }
    }
    }
}

static void cpu_tanh_fwd(float *y, const float *x, size_t n) {
    PROFILED("tanh_fwd") {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
    }
}

static void cpu_tanh_bwd(float *dx, const float *dy, const float *y, size_t n) {
    PROFILED("tanh_bwd") {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    }
}

static void cpu_relu_fwd(float *y, const float *x, size_t n) {
    PROFILED("relu_fwd") {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }
}

static void cpu_relu_bwd(float *dx, const float *dy, const float *y, size_t n) {
    PROFILED("relu_bwd") {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

static void cpu_add(float *y, const float *a, const float *b, size_t n) {
    PROFILED("add") {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    }
}

static void cpu_accumulate(float *y, const float *x, size_t n) {
    PROFILED("accumulate") {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
    }
}

/* ---------------------------------------------------------------- dropout */

/* Keep test without floats: rng_u32_to_unit_float(r) = (r >> 8) * 2^-24 exactly (a 24-bit
 * integer times a power of two), so (r >> 8) * 2^-24 >= p  <=>  (r >> 8) >= ceil(p * 2^24)
 * (p * 2^24 is exact too).  p >= 1 (or NaN): nothing is kept, as in the float test. */
static uint32_t dropout_threshold(float p) {
    return p < 1.0f ? (uint32_t)ceilf(p * 16777216.0f) : 1u << 24;
}

/* Elements [4*b0, 4*b1) (whole Philox blocks b0..b1-1), one block = 4 consecutive elements. */
static void dropout_blocks_scalar(float *y, const float *x, size_t n, size_t b0, size_t b1,
                                  uint32_t thr, float scale, const uint32_t key[2], uint32_t sub) {
    for (size_t blk = b0; blk < b1; blk++) {
        uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)((uint64_t)blk >> 32), sub, RNG_STREAM_DROPOUT};
        uint32_t r[4];
        philox4x32_10(ctr, key, r);
        for (size_t j = 0; j < 4 && blk * 4 + j < n; j++) {
            size_t i = blk * 4 + j;
            y[i] = (r[j] >> 8) >= thr ? x[i] * scale : 0.0f;
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX512_PATH 1
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,bmi2,fma")))

/* hi and lo 32 bits of a * m for 16 lanes */
AVX512_TARGET static inline void mulhilo16(__m512i a, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i even = _mm512_mul_epu32(a, m);                         /* lanes 0,2,..: 64-bit */
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);   /* lanes 1,3,.. */
    *lo = _mm512_mullo_epi32(a, m);
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

/* 16 Philox blocks b0..b0+15 (b0 a multiple of 16) = elements [64*g, 64*g + 64) at once:
 * lane j computes block b0 + j; the 4 keep masks (one per word, bit j = element 4j + w) are
 * interleaved into one 64-bit element mask with pdep. */
AVX512_TARGET static void dropout_blocks_avx512(float *y, const float *x, size_t b0, size_t b1,
                                                uint32_t thr, float scale, const uint32_t key[2],
                                                uint32_t sub) {
    const __m512i M0 = _mm512_set1_epi32((int)0xD2511F53u), M1 = _mm512_set1_epi32((int)0xCD9E8D57u);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i vthr = _mm512_set1_epi32((int)thr);
    const __m512 vs = _mm512_set1_ps(scale);
    for (size_t b = b0; b < b1; b += 16) {
        __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)b), lane);
        __m512i c1 = _mm512_set1_epi32((int)(uint32_t)((uint64_t)b >> 32));
        __m512i c2 = _mm512_set1_epi32((int)sub), c3 = _mm512_set1_epi32(RNG_STREAM_DROPOUT);
        uint32_t k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; round++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo16(c0, M0, &hi0, &lo0);
            mulhilo16(c2, M1, &hi1, &lo1);
            c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
            c1 = lo1;
            c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
            c3 = lo0;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t m0 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(c0, 8), vthr);
        uint64_t m1 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(c1, 8), vthr);
        uint64_t m2 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(c2, 8), vthr);
        uint64_t m3 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(c3, 8), vthr);
        uint64_t mask = _pdep_u64(m0, 0x1111111111111111ull) | _pdep_u64(m1, 0x2222222222222222ull) |
                        _pdep_u64(m2, 0x4444444444444444ull) | _pdep_u64(m3, 0x8888888888888888ull);
        size_t e = b * 4;
        for (int v = 0; v < 4; v++) {
            __m512 xv = _mm512_loadu_ps(x + e + 16 * v);
            _mm512_storeu_ps(y + e + 16 * v, _mm512_maskz_mul_ps((__mmask16)(mask >> (16 * v)), xv, vs));
        }
    }
}

static int cpu_has_avx512(void) {
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
              __builtin_cpu_supports("bmi2");
    }
    return has;
}
#endif

/* One Philox block gives the keep decisions of 4 consecutive elements; work is split in
 * chunks of whole 16-block groups so the vector path never straddles a thread boundary. */
static void dropout_apply(float *y, const float *x, size_t n, float p, uint64_t seed,
                          uint32_t sub) {
    if (p <= 0.0f) {
        if (y != x) memcpy(y, x, n * sizeof(float));
        return;
    }
    float scale = (float)(1.0 / (1.0 - (double)p));
    uint32_t thr = dropout_threshold(p);
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    size_t nblk = (n + 3) / 4, full = n / 64 * 16; /* blocks in whole 64-element groups */
    int vec = 0;
#ifdef HAVE_AVX512_PATH
    vec = cpu_has_avx512();
#endif
    size_t chunk = 1024; /* blocks per task: 4096 elements */
    size_t nchunk = (nblk + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t ci = 0; ci < nchunk; ci++) {
        size_t b0 = ci * chunk, b1 = b0 + chunk < nblk ? b0 + chunk : nblk;
        size_t v1 = vec ? (b1 < full ? b1 : full) : b0;
        if (v1 < b0) v1 = b0;
#ifdef HAVE_AVX512_PATH
        if (v1 > b0) dropout_blocks_avx512(y, x, b0, v1, thr, scale, key, sub);
#endif
        dropout_blocks_scalar(y, x, n, v1, b1, thr, scale, key, sub);
    }
}

static void cpu_dropout_fwd(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub) {
    PROFILED("dropout_fwd") {
    dropout_apply(y, x, n, p, seed, sub);
    }
}

static void cpu_dropout_bwd(float *dx, const float *dy, size_t n, float p, uint64_t seed, uint32_t sub) {
    PROFILED("dropout_bwd") {
    dropout_apply(dx, dy, n, p, seed, sub);
    }
}

/* ---------------------------------------------------------------- attention */

static void cpu_attn_scores_fwd(float *scores, const float *q, const float *k, const float *maskadd,
                        int S, int T, int NH, int HD, float scale) {
    PROFILED("attn_scores_fwd") {
    int H = NH * HD;
#pragma omp parallel for schedule(static) if ((double)S * NH * T * T * HD >= GEMM_PAR_MIN)
    for (int sh = 0; sh < S * NH; sh++) {
        int s = sh / NH, h = sh % NH;
        const float *qs = q + (size_t)s * T * H + (size_t)h * HD;
        const float *ks = k + (size_t)s * T * H + (size_t)h * HD;
        float *sc = scores + (size_t)sh * T * T;
        cpu_gemm('N', 'T', T, T, HD, scale, qs, H, ks, H, 0.0f, sc, T);
        const float *m = maskadd + (size_t)s * T;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) sc[(size_t)i * T + j] += m[j];
    }
    }
}

static void cpu_attn_scores_bwd(float *dq, float *dk, const float *dscores, const float *q,
                        const float *k, int S, int T, int NH, int HD, float scale) {
    PROFILED("attn_scores_bwd") {
    int H = NH * HD;
#pragma omp parallel for schedule(static) if ((double)S * NH * T * T * HD >= GEMM_PAR_MIN)
    for (int sh = 0; sh < S * NH; sh++) {
        int s = sh / NH, h = sh % NH;
        size_t off = (size_t)s * T * H + (size_t)h * HD;
        const float *ds = dscores + (size_t)sh * T * T;
        cpu_gemm('N', 'N', T, HD, T, scale, ds, T, k + off, H, 0.0f, dq + off, H);
        cpu_gemm('T', 'N', T, HD, T, scale, ds, T, q + off, H, 0.0f, dk + off, H);
    }
    }
}

static void cpu_attn_context_fwd(float *ctx, const float *p, const float *v, int S, int T, int NH,
                         int HD) {
    PROFILED("attn_context_fwd") {
    int H = NH * HD;
#pragma omp parallel for schedule(static) if ((double)S * NH * T * T * HD >= GEMM_PAR_MIN)
    for (int sh = 0; sh < S * NH; sh++) {
        int s = sh / NH, h = sh % NH;
        size_t off = (size_t)s * T * H + (size_t)h * HD;
        cpu_gemm('N', 'N', T, HD, T, 1.0f, p + (size_t)sh * T * T, T, v + off, H, 0.0f, ctx + off, H);
    }
    }
}

static void cpu_attn_context_bwd(float *dp, float *dv, const float *dctx, const float *p,
                         const float *v, int S, int T, int NH, int HD) {
    PROFILED("attn_context_bwd") {
    int H = NH * HD;
#pragma omp parallel for schedule(static) if ((double)S * NH * T * T * HD >= GEMM_PAR_MIN)
    for (int sh = 0; sh < S * NH; sh++) {
        int s = sh / NH, h = sh % NH;
        size_t off = (size_t)s * T * H + (size_t)h * HD;
        cpu_gemm('N', 'T', T, T, HD, 1.0f, dctx + off, H, v + off, H, 0.0f, dp + (size_t)sh * T * T, T);
        cpu_gemm('T', 'N', T, HD, T, 1.0f, p + (size_t)sh * T * T, T, dctx + off, H, 0.0f, dv + off, H);
    }
    }
}

/* ---------------------------------------------------------------- softmax */

static void cpu_softmax_fwd(float *y, const float *x, size_t rows, int cols) {
    PROFILED("softmax_fwd") {
#pragma omp parallel for schedule(static) if (rows * cols >= PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
        for (int c = 0; c < cols; c++) mx = xr[c] > mx ? xr[c] : mx;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < cols; c++) {
            yr[c] = expf(xr[c] - mx);
            s += yr[c];
        }
        float inv = 1.0f / s;
#pragma omp simd
        for (int c = 0; c < cols; c++) yr[c] *= inv;
    }
    }
}

static void cpu_softmax_bwd(float *dx, const float *dy, const float *y, size_t rows, int cols) {
    PROFILED("softmax_bwd") {
#pragma omp parallel for schedule(static) if (rows * cols >= PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int c = 0; c < cols; c++) dot += dyr[c] * yr[c];
#pragma omp simd
        for (int c = 0; c < cols; c++) dxr[c] = yr[c] * (dyr[c] - dot);
    }
    }
}

/* ---------------------------------------------------------------- losses */

static float cpu_cross_entropy_fwd(float *probs, const float *logits, const int32_t *labels, int B,
                           int C) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        const float *l = logits + (size_t)b * C;
        double mx = -INFINITY, s = 0;
        for (int c = 0; c < C; c++) mx = l[c] > mx ? l[c] : mx;
        for (int c = 0; c < C; c++) s += exp(l[c] - mx);
        for (int c = 0; c < C; c++) probs[(size_t)b * C + c] = (float)(exp(l[c] - mx) / s);
        total += (mx + log(s)) - l[labels[b]];
    }
    return (float)(total / B);
}

static void cpu_cross_entropy_bwd(float *dlogits, const float *probs, const int32_t *labels, int B,
                          int C, float dloss) {
    float f = dloss / (float)B;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            dlogits[(size_t)b * C + c] =
                f * (probs[(size_t)b * C + c] - (c == labels[b] ? 1.0f : 0.0f));
}

static float cpu_mse_fwd(const float *pred, const float *target, int B) {
    double s = 0;
    for (int b = 0; b < B; b++) {
        double d = (double)pred[b] - target[b];
        s += d * d;
    }
    return (float)(s / B);
}

static void cpu_mse_bwd(float *dpred, const float *pred, const float *target, int B, float dloss) {
    for (int b = 0; b < B; b++) dpred[b] = dloss * 2.0f * (pred[b] - target[b]) / (float)B;
}

/* ---------------------------------------------------------------- span pooling */

static void cpu_span_pool_fwd(float *out, float *w, const float *x, const float *a,
                      const int32_t *spans, int S, int T, int H, int NS) {
#pragma omp parallel for schedule(static) if ((size_t)S * NS * T * H >= PAR_MIN)
    for (int sj = 0; sj < S * NS; sj++) {
        int s = sj / NS;
        int st = spans[2 * sj], en = spans[2 * sj + 1];
        float *wr = w + (size_t)sj * T;
        const float *ar = a + (size_t)s * T;
        memset(wr, 0, (size_t)T * sizeof(float));
        float mx = -INFINITY, sum = 0;
        for (int t = st; t <= en; t++) mx = ar[t] > mx ? ar[t] : mx;
        for (int t = st; t <= en; t++) sum += wr[t] = expf(ar[t] - mx);
        for (int t = st; t <= en; t++) wr[t] /= sum;
        float *o = out + (size_t)sj * H; /* [S, NS*H] == [S*NS, H] */
        memset(o, 0, (size_t)H * sizeof(float));
        for (int t = st; t <= en; t++) {
            const float *xr = x + ((size_t)s * T + t) * H;
            for (int h = 0; h < H; h++) o[h] += wr[t] * xr[h];
        }
    }
}

static void cpu_span_pool_bwd(float *dx, float *da, const float *dout, const float *out,
                      const float *w, const float *x, const int32_t *spans, int S, int T,
                      int H, int NS) {
    /* parallel over sequences: spans of one sequence may overlap, so one thread per s */
#pragma omp parallel for schedule(static) if ((size_t)S * NS * T * H >= PAR_MIN)
    for (int s = 0; s < S; s++) {
        float *dar = da + (size_t)s * T;
        memset(dar, 0, (size_t)T * sizeof(float));
        for (int j = 0; j < NS; j++) {
            int sj = s * NS + j;
            int st = spans[2 * sj], en = spans[2 * sj + 1];
            const float *g = dout + (size_t)sj * H, *o = out + (size_t)sj * H;
            const float *wr = w + (size_t)sj * T;
            float go = 0;
            for (int h = 0; h < H; h++) go += g[h] * o[h];
            for (int t = st; t <= en; t++) {
                const float *xr = x + ((size_t)s * T + t) * H;
                float *dxr = dx + ((size_t)s * T + t) * H;
                float gx = 0;
                for (int h = 0; h < H; h++) {
                    gx += g[h] * xr[h];
                    dxr[h] += wr[t] * g[h];
                }
                dar[t] += wr[t] * (gx - go);
            }
        }
    }
}

/* ---------------------------------------------------------------- <s> gather */

static void cpu_gather_first_fwd(float *y, const float *x, int S, int T, int H) {
    for (int s = 0; s < S; s++) memcpy(y + (size_t)s * H, x + (size_t)s * T * H, (size_t)H * sizeof(float));
}

static void cpu_gather_first_bwd(float *dx, const float *dy, int S, int T, int H) {
    for (int s = 0; s < S; s++) {
        float *d = dx + (size_t)s * T * H;
        const float *g = dy + (size_t)s * H;
        for (int h = 0; h < H; h++) d[h] += g[h];
    }
}

/* ---------------------------------------------------------------- training, statistics, selection */

static void cpu_gather(float *dst, const float *src, const uint32_t *idx, size_t k) {
#pragma omp parallel for if (k > PAR_MIN)
    for (size_t j = 0; j < k; j++) dst[j] = src[idx[j]];
}

static void cpu_scatter(float *dst, const uint32_t *idx, size_t k, const float *src) {
#pragma omp parallel for if (k > PAR_MIN)
    for (size_t j = 0; j < k; j++) dst[idx[j]] = src[j];
}

static void cpu_scale(float *x, size_t n, float f) {
#pragma omp parallel for if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] *= f;
}

static double cpu_sumsq(const float *x, size_t n) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

static double cpu_sumsq_many(const float *const *x, const size_t *n, int count) {
    double s = 0;
    for (int t = 0; t < count; t++) s += cpu_sumsq(x[t], n[t]);
    return s;
}

static void cpu_reduce_into(float *acc, const float *g, size_t n, int kind) {
#pragma omp parallel for if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        acc[i] += kind == OP_REDUCE_SUMSQ ? g[i] * g[i] : kind == OP_REDUCE_ABS ? fabsf(g[i]) : g[i];
}

/* PyTorch's AdamW order of operations, in float (optim.h). */
static inline float adamw_entry(float theta, float g, float *m, float *v, const AdamwStep *s) {
    theta *= s->decay;
    *m = s->beta1 * *m + (1.0f - s->beta1) * g;
    *v = s->beta2 * *v + (1.0f - s->beta2) * g * g;
    float denom = sqrtf(*v) / s->bc2_sqrt + s->eps;
    return theta - s->step_size * (*m / denom);
}

static void cpu_adamw(float *theta, float *g, float *m, float *v, const uint32_t *idx, size_t k,
                      const AdamwStep *s) {
#pragma omp parallel for if (k > 65536)
    for (size_t j = 0; j < k; j++) {
        size_t e = idx ? idx[j] : j;
        theta[e] = adamw_entry(theta[e], g[j] * s->clip, &m[j], &v[j], s);
        g[j] = 0;
    }
}

static int cpu_topk(const float *x, size_t n, size_t k, int key, uint32_t *out) {
    return select_topk(x, n, k, key ? SELECT_VALUE : SELECT_ABS, out);
}

/* ---------------------------------------------------------------- the table */

const OpsBackend ops_cpu_backend = {
    .name = "cpu",
    .mark = NULL,
    .alloc = cpu_alloc,
    .alloc_i32 = cpu_alloc_i32,
    .free = cpu_free,
    .zero = cpu_zero,
    .upload = cpu_upload,
    .download = cpu_download,
    .gemm = cpu_gemm,
    .embed_fwd = cpu_embed_fwd,
    .embed_bwd = cpu_embed_bwd,
    .layernorm_fwd = cpu_layernorm_fwd,
    .layernorm_bwd = cpu_layernorm_bwd,
    .linear_fwd = cpu_linear_fwd,
    .linear_bwd = cpu_linear_bwd,
    .linear_dw_sparse = cpu_linear_dw_sparse,
    .add_selected = cpu_add_selected,
    .embed_bwd_sparse = cpu_embed_bwd_sparse,
    .gelu_fwd = cpu_gelu_fwd,
    .gelu_bwd = cpu_gelu_bwd,
    .tanh_fwd = cpu_tanh_fwd,
    .tanh_bwd = cpu_tanh_bwd,
    .relu_fwd = cpu_relu_fwd,
    .relu_bwd = cpu_relu_bwd,
    .add = cpu_add,
    .accumulate = cpu_accumulate,
    .dropout_fwd = cpu_dropout_fwd,
    .dropout_bwd = cpu_dropout_bwd,
    .attn_scores_fwd = cpu_attn_scores_fwd,
    .attn_scores_bwd = cpu_attn_scores_bwd,
    .attn_context_fwd = cpu_attn_context_fwd,
    .attn_context_bwd = cpu_attn_context_bwd,
    .softmax_fwd = cpu_softmax_fwd,
    .softmax_bwd = cpu_softmax_bwd,
    .cross_entropy_fwd = cpu_cross_entropy_fwd,
    .cross_entropy_bwd = cpu_cross_entropy_bwd,
    .mse_fwd = cpu_mse_fwd,
    .mse_bwd = cpu_mse_bwd,
    .span_pool_fwd = cpu_span_pool_fwd,
    .span_pool_bwd = cpu_span_pool_bwd,
    .gather_first_fwd = cpu_gather_first_fwd,
    .gather_first_bwd = cpu_gather_first_bwd,
    .gather = cpu_gather,
    .scatter = cpu_scatter,
    .scale = cpu_scale,
    .sumsq = cpu_sumsq,
    .sumsq_many = cpu_sumsq_many,
    .reduce_into = cpu_reduce_into,
    .adamw = cpu_adamw,
    .topk = cpu_topk,
};
