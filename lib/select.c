/* select.c — deterministic top-k by radix selection on float bits, and exact-k random
 * selection (see select.h). */
#include "select.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

#define BINS 65536u
#define CHUNK ((size_t)1 << 16) /* fixed work unit of the collect passes */
#define SMALL_N 2048              /* single tensors this small: sort-based path */

/* 4 Mi entries: on a busy machine each OpenMP region can wait a scheduler time slice (ms), more
 * than the threads save on a roberta-base 768x3072 matrix (2.4 M entries, ~7 ms alone). */
size_t select_parallel_min = (size_t)1 << 22;

size_t select_count(double ratio, size_t n) {
    if (!(ratio > 0)) return 0; /* also NaN */
    double k = floor(ratio * (double)n);
    return k >= (double)n ? n : (size_t)k;
}

static inline uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static inline int nan_bits(uint32_t b) { return (b & 0x7fffffffu) > 0x7f800000u; }

/* Order-preserving uint32 key: larger key = ranked first.  -0.0 maps like +0.0 (a tie). */
static inline uint32_t key_abs(uint32_t b) { return b & 0x7fffffffu; }
static inline uint32_t key_value(uint32_t b) {
    if (b == 0x80000000u) b = 0;
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
static inline uint32_t key_of(uint32_t b, SelectKey key) {
    return key == SELECT_ABS ? key_abs(b) : key_value(b);
}

/* ---- the general path: every pass runs over one list of fixed-size chunks covering all
 * tensors in (tensor, index) order, so a call has four parallel regions whatever the number
 * of tensors (each synchronisation is costly on a loaded machine). ---- */

typedef struct {
    const float *x;
    size_t t, lo, hi;  /* tensor and [lo, hi) inside it */
    uint32_t gt, eq;   /* entries with key > thr, == thr */
    uint32_t quota;    /* entries == thr this chunk takes */
    uint64_t off;      /* output offset inside out[t] */
} Chunk;

static Chunk *make_chunks(const float *const *x, const size_t *n, size_t T, size_t *nchunks) {
    size_t nc = 0;
    for (size_t t = 0; t < T; t++) nc += (n[t] + CHUNK - 1) / CHUNK;
    Chunk *c = xcalloc(nc ? nc : 1, sizeof *c);
    size_t j = 0;
    for (size_t t = 0; t < T; t++)
        for (size_t lo = 0; lo < n[t]; lo += CHUNK) {
            c[j].x = x[t], c[j].t = t, c[j].lo = lo;
            c[j].hi = lo + CHUNK < n[t] ? lo + CHUNK : n[t];
            j++;
        }
    *nchunks = nc;
    return c;
}

/* Histogram pass.  round 0: hist[key >> 16] over everything, returns 1 on a NaN;
 * round 1: hist[key & 0xffff] over the entries whose high half is hi.  Per-thread histograms
 * are summed into hist: integer sums, so the thread count cannot change the result. */
#define HIST_BODY(KEYFN)                                                                      \
    for (size_t i = c->lo; i < c->hi; i++) {                                                  \
        uint32_t b = bits_of(c->x[i]);                                                        \
        uint32_t kk = KEYFN(b);                                                               \
        if (round == 0) {                                                                     \
            nan |= nan_bits(b);                                                               \
            h[kk >> 16]++;                                                                    \
        } else if ((kk >> 16) == hi) {                                                        \
            h[kk & 0xffffu]++;                                                                \
        }                                                                                     \
    }

static int hist_pass(const Chunk *chunks, size_t nc, int parallel, SelectKey key, int round,
                     uint32_t hi, uint64_t *hist) {
    int nan = 0;
#pragma omp parallel if (parallel) reduction(| : nan)
    {
        /* one thread (small input, or nested in select_topk_each): count straight into hist */
        int alone = omp_get_num_threads() == 1;
        uint64_t *h = alone ? hist : xcalloc(BINS, sizeof *h);
#pragma omp for schedule(static) nowait
        for (size_t j = 0; j < nc; j++) {
            const Chunk *c = &chunks[j];
            if (key == SELECT_ABS) {
                HIST_BODY(key_abs)
            } else {
                HIST_BODY(key_value)
            }
        }
        if (!alone) {
#pragma omp critical(select_hist)
            for (uint32_t b = 0; b < BINS; b++) hist[b] += h[b];
            free(h);
        }
    }
    return nan;
}

/* Bin holding the k-th largest (1 <= k <= total); *above = entries in higher bins. */
static uint32_t find_bin(const uint64_t *hist, uint64_t k, uint64_t *above) {
    uint64_t cum = 0;
    for (uint32_t b = BINS; b-- > 0;) {
        if (cum + hist[b] >= k) {
            *above = cum;
            return b;
        }
        cum += hist[b];
    }
    *above = cum; /* not reached when k <= total */
    return 0;
}

#define COUNT_BODY(KEYFN)                                                                     \
    for (size_t i = c->lo; i < c->hi; i++) {                                                  \
        uint32_t kk = KEYFN(bits_of(c->x[i]));                                                \
        g += kk > thr;                                                                        \
        e += kk == thr;                                                                       \
    }

static void count_pass(Chunk *chunks, size_t nc, int parallel, SelectKey key, uint32_t thr) {
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t j = 0; j < nc; j++) {
        Chunk *c = &chunks[j];
        uint32_t g = 0, e = 0;
        if (key == SELECT_ABS) {
            COUNT_BODY(key_abs)
        } else {
            COUNT_BODY(key_value)
        }
        c->gt = g, c->eq = e;
    }
}

/* Each chunk writes its entries > thr and its first `quota` entries == thr, in index order,
 * at its offset: the output is ascending without a sort. */
static void write_pass(const Chunk *chunks, size_t nc, int parallel, SelectKey key, uint32_t thr,
                       uint32_t *const *out) {
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t j = 0; j < nc; j++) {
        const Chunk *c = &chunks[j];
        if (c->gt + c->quota == 0) continue;
        uint32_t *o = out[c->t] + c->off, q = c->quota;
        for (size_t i = c->lo; i < c->hi; i++) {
            uint32_t kk = key_of(bits_of(c->x[i]), key);
            if (kk > thr) {
                *o++ = (uint32_t)i;
            } else if (kk == thr && q > 0) {
                *o++ = (uint32_t)i;
                q--;
            }
        }
    }
}

/* ---- small tensors: sort (key desc, index asc), take k, mark, scan ---- */

typedef struct {
    uint32_t key, idx;
} KeyIdx;

static int by_rank(const void *a, const void *b) {
    const KeyIdx *p = a, *q = b;
    if (p->key != q->key) return p->key < q->key ? 1 : -1;
    return (p->idx > q->idx) - (p->idx < q->idx);
}

static int topk_small(const float *x, size_t n, size_t k, SelectKey key, uint32_t *out) {
    KeyIdx *a = xmalloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        uint32_t b = bits_of(x[i]);
        if (nan_bits(b)) {
            free(a);
            return SELECT_ENAN;
        }
        a[i].key = key_of(b, key), a[i].idx = (uint32_t)i;
    }
    if (k > 0 && k < n) {
        qsort(a, n, sizeof *a, by_rank);
        unsigned char *take = xcalloc(n, 1);
        for (size_t i = 0; i < k; i++) take[a[i].idx] = 1;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (take[i]) out[m++] = (uint32_t)i;
        free(take);
    } else if (k == n) {
        for (size_t i = 0; i < n; i++) out[i] = (uint32_t)i;
    }
    free(a);
    return SELECT_OK;
}

int select_topk_global(const float *const *x, const size_t *n, size_t T, size_t k, SelectKey key,
                       uint32_t *const *out, size_t *count) {
    uint64_t total = 0;
    for (size_t t = 0; t < T; t++) {
        if (n[t] > UINT32_MAX) return SELECT_ERANGE;
        total += n[t];
    }
    if (k > total) return SELECT_ERANGE;
    size_t nc;
    Chunk *chunks = make_chunks(x, n, T, &nc);
    int par = total >= select_parallel_min;
    uint64_t *hist = xcalloc(BINS, sizeof *hist);
    int nan = hist_pass(chunks, nc, par, key, 0, 0, hist);
    for (size_t t = 0; t < T; t++) count[t] = 0;
    if (nan || k == 0) {
        free(hist);
        free(chunks);
        return nan ? SELECT_ENAN : SELECT_OK;
    }
    uint64_t above_hi, above_lo;
    uint32_t hi = find_bin(hist, k, &above_hi);
    memset(hist, 0, BINS * sizeof *hist);
    hist_pass(chunks, nc, par, key, 1, hi, hist);
    uint32_t lo = find_bin(hist, k - above_hi, &above_lo);
    free(hist);
    uint32_t thr = hi << 16 | lo;
    count_pass(chunks, nc, par, key, thr);
    /* above_hi + above_lo entries have key > thr; the rest of k are entries == thr, taken in
     * (tensor, index) order = chunk order. */
    uint64_t left = k - above_hi - above_lo;
    for (size_t j = 0; j < nc; j++) {
        Chunk *c = &chunks[j];
        c->quota = left < c->eq ? (uint32_t)left : c->eq;
        left -= c->quota;
        c->off = count[c->t];
        count[c->t] += c->gt + c->quota;
    }
    write_pass(chunks, nc, par, key, thr, out);
    free(chunks);
    return SELECT_OK;
}

int select_topk(const float *x, size_t n, size_t k, SelectKey key, uint32_t *out) {
    if (n > UINT32_MAX || k > n) return SELECT_ERANGE;
    if (n <= SMALL_N) return topk_small(x, n, k, key, out);
    size_t count;
    return select_topk_global(&x, &n, 1, k, key, &out, &count);
}

static int by_size_desc(const void *a, const void *b, void *ctx) {
    const size_t *sz = ctx;
    size_t p = *(const size_t *)a, q = *(const size_t *)b;
    if (sz[p] != sz[q]) return sz[p] < sz[q] ? 1 : -1;
    return (p > q) - (p < q);
}

int select_topk_each(const float *const *x, const size_t *n, const size_t *k, size_t T,
                     SelectKey key, uint32_t *const *out, size_t *bad) {
    size_t *order = xmalloc((T ? T : 1) * sizeof *order);
    int *rc = xmalloc((T ? T : 1) * sizeof *rc);
    for (size_t t = 0; t < T; t++) order[t] = t;
    qsort_r(order, T, sizeof *order, by_size_desc, (void *)n);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t j = 0; j < T; j++) {
        size_t t = order[j];
        rc[t] = select_topk(x[t], n[t], k[t], key, out[t]);
    }
    int r = SELECT_OK;
    for (size_t t = 0; t < T && r == SELECT_OK; t++)
        if (rc[t] != SELECT_OK) {
            r = rc[t];
            if (bad) *bad = t;
        }
    free(order);
    free(rc);
    return r;
}

int select_random(uint64_t seed, uint32_t sub, size_t n, size_t k, uint32_t *out) {
    if (n > UINT32_MAX || k > n) return SELECT_ERANGE;
    if (k == 0) return SELECT_OK;
    size_t words = (n + 63) / 64;
    uint64_t *bm = xcalloc(words, sizeof *bm);
    Rng r;
    rng_init(&r, seed, RNG_STREAM_RANDOM_MASK, sub);
    /* Floyd: for j = n-k .. n-1 draw t in [0, j]; take t, or j when t is already taken. */
    for (size_t j = n - k; j < n; j++) {
        size_t t = (size_t)rng_below(&r, (uint64_t)j + 1);
        if (bm[t >> 6] >> (t & 63) & 1) t = j;
        bm[t >> 6] |= (uint64_t)1 << (t & 63);
    }
    size_t m = 0;
    for (size_t w = 0; w < words; w++)
        for (uint64_t v = bm[w]; v; v &= v - 1) out[m++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(v));
    free(bm);
    return SELECT_OK;
}
