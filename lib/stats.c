/* stats.c — see stats.h. */
#include "stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

double stats_mean(const double *x, size_t n) { return n ? gsl_stats_mean(x, 1, n) : NAN; }

double stats_sd(const double *x, size_t n) { return n >= 2 ? gsl_stats_sd(x, 1, n) : NAN; }

/* Order of indices by value; ties by index so the order is deterministic. */
typedef struct {
    double v;
    size_t i;
} Ix;
static int ix_cmp(const void *pa, const void *pb) {
    const Ix *a = pa, *b = pb;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return (a->i > b->i) - (a->i < b->i);
}
static Ix *sorted_ix(const double *x, size_t n, int descending) {
    Ix *ix = xmalloc((n ? n : 1) * sizeof *ix);
    for (size_t i = 0; i < n; i++) ix[i] = (Ix){descending ? -x[i] : x[i], i};
    qsort(ix, n, sizeof *ix, ix_cmp);
    return ix;
}

void stats_rank_average(const double *x, size_t n, int descending, double *rank) {
    Ix *ix = sorted_ix(x, n, descending);
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        while (e < n && ix[e].v == ix[s].v) e++;
        double r = 0.5 * (double)(s + 1 + e); /* mean of positions s+1 .. e */
        for (size_t k = s; k < e; k++) rank[ix[k].i] = r;
        s = e;
    }
    free(ix);
}

void stats_rank_min(const double *x, size_t n, int descending, int *rank) {
    Ix *ix = sorted_ix(x, n, descending);
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        while (e < n && ix[e].v == ix[s].v) e++;
        for (size_t k = s; k < e; k++) rank[ix[k].i] = (int)(s + 1);
        s = e;
    }
    free(ix);
}

static double two_sided_p(double t, double df) {
    if (isnan(t) || isnan(df)) return NAN;
    if (isinf(t)) return 0.0;
    return 2.0 * gsl_cdf_tdist_Q(fabs(t), df);
}

int stats_ttest(const double *a, size_t na, const double *b, size_t nb, int equal_var,
                StatsTTest *o) {
    *o = (StatsTTest){.t = NAN, .p = NAN, .df = NAN, .na = na, .nb = nb};
    o->mean_a = stats_mean(a, na);
    o->mean_b = stats_mean(b, nb);
    o->sd_a = stats_sd(a, na);
    o->sd_b = stats_sd(b, nb);
    double diff = o->mean_a - o->mean_b, se;
    if (equal_var) {
        /* One value has no variance estimate (scipy gives NaN too): not 0. */
        if (na < 2 || nb < 2) return -1;
        double ssa = o->sd_a * o->sd_a * (double)(na - 1);
        double ssb = o->sd_b * o->sd_b * (double)(nb - 1);
        o->df = (double)(na + nb - 2);
        se = sqrt((ssa + ssb) / o->df * (1.0 / (double)na + 1.0 / (double)nb));
    } else {
        if (na < 2 || nb < 2) return -1;
        double va = o->sd_a * o->sd_a / (double)na, vb = o->sd_b * o->sd_b / (double)nb;
        se = sqrt(va + vb);
        o->df = (va + vb) * (va + vb) /
                (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1)); /* NaN when se == 0 */
    }
    if (se == 0.0) {
        if (diff == 0.0) {
            o->df = NAN;
            return 0;
        }
        o->t = diff > 0 ? INFINITY : -INFINITY;
        o->p = 0.0;
        return 0;
    }
    o->t = diff / se;
    o->p = two_sided_p(o->t, o->df);
    return 0;
}

void stats_spearman(const double *x, const double *y, size_t n, StatsCorr *out) {
    *out = (StatsCorr){.rho = NAN, .p = NAN, .n = n};
    if (n < 2) return;
    double *work = xmalloc(2 * n * sizeof *work);
    double rho = gsl_stats_spearman(x, 1, y, 1, n, work);
    free(work);
    if (!isfinite(rho)) return; /* a constant side: 0/0 */
    /* Rounding can take |ρ| a hair past 1 (scipy clips the same way). */
    if (rho > 1.0) rho = 1.0;
    if (rho < -1.0) rho = -1.0;
    out->rho = rho;
    if (n < 3) return;
    double df = (double)(n - 2);
    double den = (1.0 - rho) * (1.0 + rho);
    out->p = den <= 0.0 ? 0.0 : two_sided_p(rho * sqrt(df / den), df);
}

uint64_t stats_intersect_u32(const void *a, uint64_t na, const void *b, uint64_t nb) {
    const unsigned char *pa = a, *pb = b;
    uint64_t i = 0, j = 0, c = 0;
    uint32_t x, y;
    if (!na || !nb) return 0;
    memcpy(&x, pa, 4);
    memcpy(&y, pb, 4);
    for (;;) {
        if (x < y) {
            if (++i == na) break;
            memcpy(&x, pa + 4 * i, 4);
        } else if (y < x) {
            if (++j == nb) break;
            memcpy(&y, pb + 4 * j, 4);
        } else {
            c++;
            if (++i == na || ++j == nb) break;
            memcpy(&x, pa + 4 * i, 4);
            memcpy(&y, pb + 4 * j, 4);
        }
    }
    return c;
}

double stats_jaccard(uint64_t inter, uint64_t na, uint64_t nb) {
    uint64_t uni = na + nb - inter;
    return uni ? (double)inter / (double)uni : 1.0;
}
