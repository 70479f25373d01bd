/* Statistics primitives (lib/stats.c) against numpy/scipy values computed by
 * tests/fixtures/stats/gen_stats.py (cases.json), plus the grid and ranking edge cases. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "grid.h"
#include "harness.h"
#include "runs.h"
#include "stats.h"

static json_t *load_cases(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/stats/cases.json", harness_fixture_dir());
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    CHECK_MSG(j != NULL, "%s: %s", path, e.text);
    return j;
}

static double *doubles(json_t *a, size_t *n) {
    *n = json_array_size(a);
    double *v = malloc((*n + 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) v[i] = json_number_value(json_array_get(a, i));
    return v;
}

/* Expected number: null = NaN, "inf"/"-inf" = infinities. */
static double expect(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (json_is_string(v)) return json_string_value(v)[0] == '-' ? -INFINITY : INFINITY;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Both NaN, both the same infinity, or within 1e-6 absolute and 1e-9 relative. */
static int same(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= 1e-6 + 1e-9 * fabs(b);
}
#define CHECK_SAME(a, b) CHECK_MSG(same((a), (b)), "%s: %.12g vs expected %.12g", #a, (a), (b))

TEST(stats_mean_sd_ranks_match_scipy) {
    json_t *j = load_cases();
    if (!j) return;
    json_t *arrays = json_object_get(j, "arrays"), *c;
    size_t i;
    json_array_foreach(arrays, i, c) {
        size_t n;
        double *x = doubles(json_object_get(c, "x"), &n);
        CHECK_SAME(stats_mean(x, n), expect(c, "mean"));
        CHECK_SAME(stats_sd(x, n), expect(c, "std"));
        double *ra = malloc(n * sizeof *ra);
        int *rm = malloc(n * sizeof *rm);
        const char *keys[] = {"rank_avg_asc", "rank_avg_desc", "rank_min_asc", "rank_min_desc"};
        for (int k = 0; k < 4; k++) {
            json_t *want = json_object_get(c, keys[k]);
            if (k < 2) stats_rank_average(x, n, k == 1, ra);
            else stats_rank_min(x, n, k == 3, rm);
            for (size_t q = 0; q < n; q++) {
                double got = k < 2 ? ra[q] : rm[q];
                CHECK_MSG(got == json_number_value(json_array_get(want, q)),
                          "case %zu %s[%zu]: %g", i, keys[k], q, got);
            }
        }
        free(ra);
        free(rm);
        free(x);
    }
    json_decref(j);
}

TEST(stats_ttest_matches_scipy_welch_and_student) {
    json_t *j = load_cases();
    if (!j) return;
    json_t *arrays = json_object_get(j, "arrays"), *c;
    size_t i;
    json_array_foreach(json_object_get(j, "ttests"), i, c) {
        size_t na, nb;
        double *a = doubles(json_object_get(json_array_get(arrays, (size_t)json_integer_value(
                                                                      json_object_get(c, "a"))),
                                            "x"),
                            &na);
        double *b = doubles(json_object_get(json_array_get(arrays, (size_t)json_integer_value(
                                                                      json_object_get(c, "b"))),
                                            "x"),
                            &nb);
        StatsTTest r;
        stats_ttest(a, na, b, nb, json_is_true(json_object_get(c, "equal_var")), &r);
        CHECK_SAME(r.t, expect(c, "t"));
        CHECK_SAME(r.p, expect(c, "p"));
        CHECK_SAME(r.df, expect(c, "df"));
        free(a);
        free(b);
    }
    json_decref(j);
}

TEST(stats_ttest_degenerate) {
    double one[] = {1.0}, two[] = {1.0, 2.0};
    StatsTTest r;
    CHECK(stats_ttest(one, 1, two, 2, 0, &r) == -1);
    CHECK(isnan(r.t) && isnan(r.p));
    CHECK(stats_ttest(one, 1, two, 2, 1, &r) == -1); /* scipy: NaN too */
    double z1[] = {3, 3, 3}, z2[] = {1, 1};
    CHECK(stats_ttest(z1, 3, z2, 2, 1, &r) == 0);
    CHECK(isinf(r.t) && r.t > 0 && r.p == 0.0 && r.df == 3.0);
}

TEST(stats_spearman_matches_scipy) {
    json_t *j = load_cases();
    if (!j) return;
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(j, "spearman"), i, c) {
        size_t n, m;
        double *x = doubles(json_object_get(c, "x"), &n), *y = doubles(json_object_get(c, "y"), &m);
        StatsCorr r;
        stats_spearman(x, y, n, &r);
        CHECK_SAME(r.rho, expect(c, "rho"));
        CHECK_SAME(r.p, expect(c, "p"));
        free(x);
        free(y);
    }
    json_decref(j);
    double x[] = {1, 2, 3}, k[] = {5, 5, 5};
    StatsCorr r;
    stats_spearman(x, k, 3, &r); /* constant side: undefined */
    CHECK(isnan(r.rho) && isnan(r.p));
    stats_spearman(x, x, 2, &r); /* two points: rho = 1, no p */
    CHECK(fabs(r.rho - 1.0) < 1e-12 && isnan(r.p));
}

TEST(stats_jaccard_matches_sets) {
    json_t *j = load_cases();
    if (!j) return;
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(j, "jaccard"), i, c) {
        json_t *ja = json_object_get(c, "a"), *jb = json_object_get(c, "b");
        size_t na = json_array_size(ja), nb = json_array_size(jb);
        uint32_t *a = malloc((na + 1) * 4), *b = malloc((nb + 1) * 4);
        for (size_t q = 0; q < na; q++) a[q] = (uint32_t)json_integer_value(json_array_get(ja, q));
        for (size_t q = 0; q < nb; q++) b[q] = (uint32_t)json_integer_value(json_array_get(jb, q));
        uint64_t in = stats_intersect_u32(a, na, b, nb);
        CHECK_EQ_INT(in, json_integer_value(json_object_get(c, "inter")));
        CHECK_SAME(stats_jaccard(in, na, nb), expect(c, "jaccard"));
        free(a);
        free(b);
    }
    json_decref(j);
}

TEST(stats_ranks_ties) {
    double v[] = {2, 5, 5, 1, 5};
    double ra[5];
    int rm[5];
    stats_rank_average(v, 5, 1, ra); /* descending: the three 5s share (1+2+3)/3 */
    CHECK(ra[1] == 2 && ra[2] == 2 && ra[4] == 2 && ra[0] == 4 && ra[3] == 5);
    stats_rank_min(v, 5, 1, rm); /* competition: 1 1 1 4 5 */
    CHECK(rm[1] == 1 && rm[2] == 1 && rm[4] == 1 && rm[0] == 4 && rm[3] == 5);
}

TEST(stats_grid_formats_undefined_and_marks) {
    Grid *g = grid_new("t", 1, 2, 2);
    grid_header(g, 0, "m_x");
    grid_header(g, 1, "a|b");
    grid_text(g, 0, 0, "sam");
    grid_meansd(g, 0, 1, 60.886, NAN, 2, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    grid_render(fp, g, FMT_TEXT);
    grid_render(fp, g, FMT_LATEX);
    grid_render(fp, g, FMT_TSV);
    grid_render(fp, g, FMT_MARKDOWN);
    fclose(fp);
    CHECK_MSG(strstr(buf, "60.89[2] \u00b1 \u2013") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "60.89$^{[2]}$$\\pm$--") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "m\\_x & a|b") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "60.886\tNA") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "60.89<sup>[2]</sup> \u00b1 \u2013") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "| a\\|b |") != NULL, "%s", buf);
    free(buf);
    grid_free(g);
}

TEST(stats_ratio_eq_tolerates_float32) {
    CHECK(ratio_eq(0.005, (double)0.005f));
    CHECK(!ratio_eq(0.005, 0.0051));
    CHECK(ratio_eq(0, 0));
}
