/* stats.h — the statistics behind `stats` (man 1 stats): mean, sample standard deviation,
 * ranks, two-sample t-tests, Spearman correlation with its p-value, Jaccard overlap of sorted
 * index sets.  Distributions and correlations come from GSL; nothing here exits.
 *
 * Undefined results are NaN (never an error): the mean of nothing, the standard deviation of
 * fewer than two values, a t-test or a correlation without enough data.  Callers print NaN as
 * "–" (text) or null (JSON). */
#ifndef SPARSETUNE_STATS_H
#define SPARSETUNE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Arithmetic mean (NaN for n == 0). */
double stats_mean(const double *x, size_t n);
/* Sample standard deviation, n − 1 in the denominator (numpy's std(ddof=1)); NaN for n < 2. */
double stats_sd(const double *x, size_t n);

/* 1-based ranks of x[0..n) (finite values).  descending: rank 1 is the largest value.
 * average: ties share the mean of their positions (scipy rankdata 'average'; the ranks that
 * Spearman's ρ uses).  min: "competition" ranks, 1 + the number of strictly better values,
 * so ties share the better rank and the next rank is skipped (rankdata 'min'; the paper's
 * [1][2][3] marks). */
void stats_rank_average(const double *x, size_t n, int descending, double *rank);
void stats_rank_min(const double *x, size_t n, int descending, int *rank);

/* Two-sample t-test of a against b, two-sided.
 *   equal_var = 0: Welch's unequal-variance test, Welch–Satterthwaite degrees of freedom
 *                  (scipy.stats.ttest_ind(a, b, equal_var=False)).
 *   equal_var = 1: Student's test with the pooled variance, df = na + nb − 2
 *                  (ttest_ind's default).  Both need na, nb >= 2.
 * t = (mean a − mean b) / standard error, so t > 0 when a is larger.  p = 2·Q_t(|t|; df)
 * with gsl_cdf_tdist_Q.  Zero variance on both sides (standard error 0): equal means give
 * t = p = df = NaN; different means give t = ±inf, p = 0, df = NaN for Welch (scipy's values).
 * Too few values: t = p = df = NaN, returns -1; otherwise 0. */
typedef struct StatsTTest {
    double t, p, df;
    double mean_a, mean_b, sd_a, sd_b;
    size_t na, nb;
} StatsTTest;
int stats_ttest(const double *a, size_t na, const double *b, size_t nb, int equal_var,
                StatsTTest *out);

/* Spearman's rank correlation of x and y (n pairs, average ranks for ties: GSL's
 * gsl_stats_spearman) and its two-sided p-value by the t approximation
 * t = ρ·sqrt((n−2)/(1−ρ²)) with n − 2 degrees of freedom (scipy.stats.spearmanr's p).
 * |ρ| = 1 gives p = 0 (n >= 3).  ρ is NaN when n < 2 or either side is constant; p is NaN
 * when ρ is or n < 3. */
typedef struct StatsCorr {
    double rho, p;
    size_t n;
} StatsCorr;
void stats_spearman(const double *x, const double *y, size_t n, StatsCorr *out);

/* |a ∩ b| of two strictly increasing uint32 arrays (merge, O(na + nb)).  The arrays may be
 * unaligned views into a stream buffer (read with memcpy). */
uint64_t stats_intersect_u32(const void *a, uint64_t na, const void *b, uint64_t nb);
/* Jaccard overlap |a ∩ b| / |a ∪ b| from the counts; two empty sets are identical: 1. */
double stats_jaccard(uint64_t inter, uint64_t na, uint64_t nb);

#endif
