/* Top-k selection against a brute-force reference (full sort with the tie rule), global mode,
 * thread-count independence, and exact-k random selection. */
#include <omp.h>
#include <stdlib.h>

#include "harness.h"
#include "rng.h"
#include "select.h"
#include "util.h"

/* ---- reference: sort positions by (key desc, position asc), take k, sort ascending ---- */

typedef struct {
    double key;
    size_t pos;
} Ref;

static int ref_cmp(const void *a, const void *b) {
    const Ref *p = a, *q = b;
    if (p->key != q->key) return p->key < q->key ? 1 : -1; /* -0.0 == 0.0 here: a tie */
    return (p->pos > q->pos) - (p->pos < q->pos);
}

/* All positions of x[0..n) in rank order (|x| or x descending, position ascending). */
static Ref *rank_order(const float *x, size_t n, SelectKey key) {
    Ref *r = xmalloc((n + 1) * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r[i].key = key == SELECT_ABS ? fabs((double)x[i]) : (double)x[i];
        r[i].pos = i;
    }
    qsort(r, n, sizeof *r, ref_cmp);
    return r;
}

/* Positions (ascending) of the first k in rank order (of n). */
static size_t *ref_prefix(const Ref *r, size_t n, size_t k) {
    unsigned char *take = xcalloc(n + 1, 1);
    for (size_t i = 0; i < k; i++) take[r[i].pos] = 1;
    size_t *p = xmalloc((k + 1) * sizeof *p), m = 0;
    for (size_t i = 0; i < n; i++)
        if (take[i]) p[m++] = i;
    free(take);
    return p;
}

/* ---- generators ---- */

enum { GEN_NORMAL, GEN_LEVELS, GEN_ZEROS, GEN_CONST, GEN_SIGNS, GEN_CLOSE, GEN_SPECIAL, GEN_N };

static void fill(float *x, size_t n, int gen, Rng *r) {
    static const float levels[] = {-2.0f, -1.0f, -0.0f, 0.0f, 1.0f, 2.0f, 0.5f, -0.5f};
    for (size_t i = 0; i < n; i++) {
        switch (gen) {
        case GEN_NORMAL: x[i] = (float)(rng_normal(r) * 1e-3); break;
        case GEN_LEVELS: x[i] = levels[rng_below(r, 8)]; break;
        case GEN_ZEROS: x[i] = rng_below(r, 10) ? (rng_below(r, 2) ? 0.0f : -0.0f) : (float)rng_normal(r); break;
        case GEN_CONST: x[i] = 0.25f; break;
        case GEN_SIGNS: x[i] = (float)(1 + rng_below(r, 3)) * (rng_below(r, 2) ? 1.0f : -1.0f); break;
        case GEN_CLOSE: /* same high 16 bits: exercises the second histogram round */
            x[i] = 1.0f + (float)rng_below(r, 300) * 1.1920929e-7f * (rng_below(r, 2) ? 1 : -1);
            break;
        default: { /* infinities, denormals, huge and tiny values */
            static const float sp[] = {INFINITY, -INFINITY, 1e-45f, -1e-45f, 3e38f, -3e38f, 1e-38f, 0.0f};
            x[i] = rng_below(r, 4) ? sp[rng_below(r, 8)] : (float)rng_normal(r);
        }
        }
    }
}

static int check_one(const float *x, const Ref *order, size_t n, size_t k, SelectKey key,
                     const char *what) {
    uint32_t *out = xmalloc((k + 1) * sizeof *out);
    int rc = select_topk(x, n, k, key, out);
    int ok = rc == SELECT_OK;
    CHECK_MSG(ok, "%s: n=%zu k=%zu key=%d rc=%d", what, n, k, (int)key, rc);
    if (ok) {
        size_t *ref = ref_prefix(order, n, k);
        for (size_t i = 0; i < k && ok; i++)
            if (out[i] != ref[i]) {
                ok = 0;
                harness_fail(__FILE__, __LINE__, "%s: n=%zu k=%zu key=%d: out[%zu]=%u, want %zu",
                             what, n, k, (int)key, i, out[i], ref[i]);
            }
        free(ref);
    }
    free(out);
    return ok;
}

TEST(select_topk_matches_brute_force) {
    static const size_t sizes[] = {1, 2, 3, 7, 100, 2048, 2049, 5000, 40000, 70001};
    Rng r;
    rng_init(&r, 77, RNG_STREAM_MODEL_INIT, 1);
    int cases = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        float *x = xmalloc(n * sizeof *x);
        for (int gen = 0; gen < GEN_N; gen++) {
            fill(x, n, gen, &r);
            Ref *oa = rank_order(x, n, SELECT_ABS), *ov = rank_order(x, n, SELECT_VALUE);
            size_t ks[] = {0, 1, n / 200, n / 2, n - 1, n, (size_t)rng_below(&r, n + 1),
                           select_count(0.005, n)};
            for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
                if (n > 5000 && (j == 1 || j == 2 || j == 4)) continue; /* sanitizer time */
                char what[64];
                snprintf(what, sizeof what, "gen %d", gen);
                check_one(x, oa, n, ks[j], SELECT_ABS, what);
                check_one(x, ov, n, ks[j], SELECT_VALUE, what);
                cases += 2;
            }
            free(oa), free(ov);
        }
        free(x);
    }
    CHECK(cases > 300);
}

TEST(select_topk_ties_take_lower_index) {
    /* |-1| ties with |1|; -0.0 ties with 0.0. */
    float x[] = {1.0f, -1.0f, 0.0f, -0.0f, 1.0f, -0.0f, 0.0f};
    uint32_t out[7];
    CHECK_EQ_INT(select_topk(x, 7, 2, SELECT_ABS, out), SELECT_OK);
    CHECK_EQ_INT(out[0], 0);
    CHECK_EQ_INT(out[1], 1);
    CHECK_EQ_INT(select_topk(x, 7, 4, SELECT_ABS, out), SELECT_OK);
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 2 && out[3] == 4);
    CHECK_EQ_INT(select_topk(x, 7, 5, SELECT_VALUE, out), SELECT_OK); /* 1,1, then zeros 2,3,5 */
    CHECK(out[0] == 0 && out[1] == 2 && out[2] == 3 && out[3] == 4 && out[4] == 5);
}

TEST(select_topk_same_result_any_thread_count) {
    size_t n = 300000;
    float *x = xmalloc(n * sizeof *x);
    Rng r;
    rng_init(&r, 5, RNG_STREAM_MODEL_INIT, 2);
    fill(x, n, GEN_LEVELS, &r);
    size_t k = select_count(0.005, n);
    uint32_t *a = xmalloc(k * sizeof *a), *b = xmalloc(k * sizeof *b);
    int saved = omp_get_max_threads();
    size_t saved_min = select_parallel_min;
    select_parallel_min = 1000; /* force the parallel path */
    omp_set_num_threads(1);
    CHECK_EQ_INT(select_topk(x, n, k, SELECT_ABS, a), SELECT_OK);
    omp_set_num_threads(5);
    CHECK_EQ_INT(select_topk(x, n, k, SELECT_ABS, b), SELECT_OK);
    omp_set_num_threads(saved);
    select_parallel_min = saved_min;
    CHECK(memcmp(a, b, k * sizeof *a) == 0);
    /* levels data: top k are all |x| = 2, the first k of them by index */
    size_t seen = 0, i = 0;
    for (; i < n && seen < k; i++)
        if (fabsf(x[i]) == 2.0f) CHECK_EQ_INT(a[seen++], i);
    CHECK_EQ_INT(seen, k);
    free(a), free(b), free(x);
}

TEST(select_topk_global_matches_brute_force) {
    static const size_t sizes[] = {768, 5, 40000, 0, 3000, 70001, 1};
    enum { T = sizeof sizes / sizeof *sizes };
    Rng r;
    rng_init(&r, 99, RNG_STREAM_MODEL_INIT, 3);
    size_t total = 0;
    for (int t = 0; t < T; t++) total += sizes[t];
    float *all = xmalloc(total * sizeof *all);
    const float *x[T];
    uint32_t *out[T];
    size_t count[T];
    for (int gen = 0; gen < GEN_N; gen++) {
        fill(all, total, gen, &r);
        size_t off = 0;
        for (int t = 0; t < T; t++) {
            x[t] = all + off;
            out[t] = xmalloc((sizes[t] + 1) * sizeof *out[t]);
            off += sizes[t];
        }
        size_t ks[] = {0, 1, select_count(0.005, total), total / 3, total};
        for (int key = 0; key < 2; key++) {
            Ref *order = rank_order(all, total, (SelectKey)key);
            for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
                int rc = select_topk_global(x, sizes, T, ks[j], (SelectKey)key, out, count);
                CHECK_EQ_INT(rc, SELECT_OK);
                /* the concatenation's flat order is (tensor, index) order */
                size_t *ref = ref_prefix(order, total, ks[j]);
                size_t m = 0, base = 0, bad = 0;
                for (int t = 0; t < T; t++) {
                    for (size_t i = 0; i < count[t]; i++, m++)
                        if (m >= ks[j] || base + out[t][i] != ref[m]) bad++;
                    base += sizes[t];
                }
                CHECK_MSG(bad == 0 && m == ks[j], "gen %d k=%zu key=%d: %zu mismatches, %zu taken",
                          gen, ks[j], key, bad, m);
                free(ref);
            }
            free(order);
        }
        for (int t = 0; t < T; t++) free(out[t]);
    }
    free(all);
}

TEST(select_errors_and_count) {
    float x[] = {1.0f, NAN, 2.0f};
    uint32_t out[3] = {7, 7, 7};
    CHECK_EQ_INT(select_topk(x, 3, 1, SELECT_ABS, out), SELECT_ENAN);
    CHECK_EQ_INT(select_topk(x, 3, 0, SELECT_VALUE, out), SELECT_ENAN);
    CHECK(out[0] == 7 && out[1] == 7);
    float *big = xcalloc(10000, sizeof *big);
    big[9999] = -NAN;
    uint32_t *o = xmalloc(100 * sizeof *o);
    CHECK_EQ_INT(select_topk(big, 10000, 50, SELECT_VALUE, o), SELECT_ENAN);
    free(big), free(o);
    CHECK_EQ_INT(select_topk(x, 3, 4, SELECT_ABS, out), SELECT_ERANGE);
    CHECK_EQ_INT(select_random(1, 0, 3, 4, out), SELECT_ERANGE);
    /* k = floor(ratio * n) as Python's int(ratio * n) */
    CHECK_EQ_INT(select_count(0.005, 2304), 11);
    CHECK_EQ_INT(select_count(0.005, 589824), 2949);
    CHECK_EQ_INT(select_count(0.005, 2359296), 11796);
    CHECK_EQ_INT(select_count(0.005, 38603520), 193017);
    CHECK_EQ_INT(select_count(0.005, 768), 3);
    CHECK_EQ_INT(select_count(0.29, 100), 28); /* 28.999999999999996 in double, as Python */
    CHECK_EQ_INT(select_count(0.0002, 768), 0);
    CHECK_EQ_INT(select_count(1.0, 768), 768);
    CHECK_EQ_INT(select_count(0.0, 768), 0);
    CHECK_EQ_INT(select_count(0.5, 0), 0);
}

TEST(select_random_exact_k_deterministic_uniform) {
    size_t n = 589824, k = select_count(0.005, n);
    uint32_t *a = xmalloc(k * sizeof *a), *b = xmalloc(k * sizeof *b);
    CHECK_EQ_INT(select_random(42, 7, n, k, a), SELECT_OK);
    for (size_t i = 1; i < k; i++) CHECK_MSG(a[i - 1] < a[i], "not strictly ascending at %zu", i);
    CHECK(a[k - 1] < n);
    CHECK_EQ_INT(select_random(42, 7, n, k, b), SELECT_OK);
    CHECK(memcmp(a, b, k * sizeof *a) == 0);
    CHECK_EQ_INT(select_random(43, 7, n, k, b), SELECT_OK);
    CHECK(memcmp(a, b, k * sizeof *a) != 0);
    CHECK_EQ_INT(select_random(42, 8, n, k, b), SELECT_OK);
    CHECK(memcmp(a, b, k * sizeof *a) != 0);
    free(a), free(b);

    /* k = n and k = 0, n = 1 */
    uint32_t all[50];
    CHECK_EQ_INT(select_random(1, 0, 50, 50, all), SELECT_OK);
    for (uint32_t i = 0; i < 50; i++) CHECK_EQ_INT(all[i], i);
    CHECK_EQ_INT(select_random(1, 0, 50, 0, all), SELECT_OK);
    CHECK_EQ_INT(select_random(1, 0, 1, 1, all), SELECT_OK);
    CHECK_EQ_INT(all[0], 0);

    /* Uniformity: n = 40, k = 8 over many sub-streams; each position is chosen with probability
     * 1/5; counts stay within 5 standard deviations, and a chi-square statistic is sane.  Also
     * the number of selected positions below 20 (hypergeometric mean 4). */
    enum { N = 40, K = 8, TRIALS = 20000 };
    static int hits[N];
    double low_sum = 0;
    uint32_t o[K];
    for (uint32_t t = 0; t < TRIALS; t++) {
        CHECK_EQ_INT(select_random(123, t, N, K, o), SELECT_OK);
        for (int i = 0; i < K; i++) {
            hits[o[i]]++;
            low_sum += o[i] < N / 2;
            if (i) CHECK(o[i - 1] < o[i]);
        }
    }
    double expect = (double)TRIALS * K / N, sd = sqrt(TRIALS * 0.2 * 0.8), chi2 = 0;
    for (int i = 0; i < N; i++) {
        CHECK_MSG(fabs(hits[i] - expect) < 5 * sd, "position %d chosen %d times, expected %.0f", i,
                  hits[i], expect);
        chi2 += (hits[i] - expect) * (hits[i] - expect) / expect;
    }
    CHECK_MSG(chi2 < 90, "chi-square %.1f over 39 degrees of freedom", chi2); /* p ~ 1e-5 */
    CHECK_NEAR(low_sum / TRIALS, 4.0, 0.05);
}

TEST(select_topk_each_matches_single_calls) {
    static const size_t sizes[] = {768, 40000, 3, 0, 70001, 2049};
    enum { T = sizeof sizes / sizeof *sizes };
    Rng r;
    rng_init(&r, 11, RNG_STREAM_MODEL_INIT, 4);
    const float *x[T];
    float *buf[T];
    uint32_t *out[T], *one = xmalloc(70001 * sizeof *one);
    size_t k[T];
    for (int t = 0; t < T; t++) {
        buf[t] = xmalloc((sizes[t] + 1) * sizeof *buf[t]);
        fill(buf[t], sizes[t], t % GEN_N, &r);
        x[t] = buf[t];
        k[t] = t == 2 ? 3 : select_count(0.01, sizes[t]);
        out[t] = xmalloc((sizes[t] + 1) * sizeof *out[t]);
    }
    size_t bad = 99;
    CHECK_EQ_INT(select_topk_each(x, sizes, k, T, SELECT_ABS, out, &bad), SELECT_OK);
    CHECK_EQ_INT(bad, 99);
    for (int t = 0; t < T; t++) {
        CHECK_EQ_INT(select_topk(x[t], sizes[t], k[t], SELECT_ABS, one), SELECT_OK);
        CHECK_MSG(memcmp(one, out[t], k[t] * sizeof *one) == 0, "tensor %d differs", t);
    }
    buf[4][123] = NAN, buf[1][5] = NAN;
    CHECK_EQ_INT(select_topk_each(x, sizes, k, T, SELECT_ABS, out, &bad), SELECT_ENAN);
    CHECK_EQ_INT(bad, 1);
    for (int t = 0; t < T; t++) free(buf[t]), free(out[t]);
    free(one);
}

TEST(select_parallel_path_matches_brute_force) {
    /* Totals above the library's parallel threshold, run with 1 and 3 threads. */
    static const size_t sizes[] = {200000, 768, 150001, 66000};
    enum { T = sizeof sizes / sizeof *sizes };
    size_t total = 0;
    for (int t = 0; t < T; t++) total += sizes[t];
    float *all = xmalloc(total * sizeof *all);
    Rng r;
    rng_init(&r, 3, RNG_STREAM_MODEL_INIT, 5);
    fill(all, total, GEN_ZEROS, &r);
    const float *x[T];
    uint32_t *o1[T], *o3[T];
    size_t c1[T], c3[T], off = 0;
    for (int t = 0; t < T; t++) {
        x[t] = all + off, off += sizes[t];
        o1[t] = xmalloc(sizes[t] * sizeof *o1[t]);
        o3[t] = xmalloc(sizes[t] * sizeof *o3[t]);
    }
    size_t k = total / 4; /* reaches into the zeros: heavy ties at the threshold */
    int saved = omp_get_max_threads();
    size_t saved_min = select_parallel_min;
    select_parallel_min = 1000;
    omp_set_num_threads(1);
    CHECK_EQ_INT(select_topk_global(x, sizes, T, k, SELECT_VALUE, o1, c1), SELECT_OK);
    omp_set_num_threads(3);
    CHECK_EQ_INT(select_topk_global(x, sizes, T, k, SELECT_VALUE, o3, c3), SELECT_OK);
    omp_set_num_threads(saved);
    select_parallel_min = saved_min;
    Ref *order = rank_order(all, total, SELECT_VALUE);
    size_t *ref = ref_prefix(order, total, k), m = 0, base = 0, bad = 0;
    for (int t = 0; t < T; t++) {
        CHECK_EQ_INT(c1[t], c3[t]);
        for (size_t i = 0; i < c1[t]; i++, m++)
            bad += m >= k || base + o1[t][i] != ref[m] || o1[t][i] != o3[t][i];
        base += sizes[t];
    }
    CHECK_EQ_INT(m, k);
    CHECK_EQ_INT(bad, 0);
    free(ref), free(order);
    for (int t = 0; t < T; t++) free(o1[t]), free(o3[t]);
    free(all);
}
