/* metrics.h — task metrics on a 0–1 scale, computed the way jiant (the paper's framework)
 * computes them with sklearn and scipy.
 *
 *   metric            components (names as reported)          headline
 *   accuracy          accuracy                                accuracy
 *   f1                f1 (binary, positive class 1)           f1
 *   macro_f1          macro_f1                                macro_f1
 *   mcc               mcc                                     mcc
 *   pearson           pearson                                 pearson
 *   spearman          spearman                                spearman
 *   acc_f1            accuracy, f1                            mean of the two    (mrpc)
 *   acc_macro_f1      accuracy, macro_f1                      mean of the two    (cb)
 *   pearson_spearman  pearson, spearman                       mean of the two    (stsb)
 * cola: mcc; rte, copa, wsc: accuracy (metric_for_task).
 *
 * Definitions (tp/fp/fn counted per class c, "positive" = label == c):
 * - F1 of a class = 2tp / (2tp + fp + fn), which is sklearn's value; when the class occurs in
 *   neither gold nor predictions (denominator 0) it is 0, sklearn's zero_division default
 *   ("warn" acts as 0).  Binary F1 (mrpc) is the F1 of class 1.
 * - Macro F1 averages the per-class F1 over a class list:
 *     num_classes > 0: the fixed classes 0..num_classes-1 — jiant's CB scheme (the mean of
 *       f1_score(labels == c, preds == c) for c = 0, 1, 2), i.e. sklearn's f1_score(average=
 *       'macro', labels=[0..C-1]); a class absent from gold and predictions counts as 0.
 *     num_classes == 0: sklearn's default, the sorted union of the labels that occur in gold or
 *       predictions; every such class has a non-zero denominator, so zero_division never applies.
 *   The two differ only when some class occurs in neither array.  `evaluate` passes the task's
 *   num_labels, reproducing jiant.
 * - MCC: sklearn's multi-class formula on the confusion matrix (t_k = gold counts, p_k =
 *   predicted counts, c = correct, s = n):  (c·s − Σ t_k p_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)),
 *   0 when the denominator is 0 (one class only in gold or in predictions), as sklearn returns.
 * - Pearson: gsl_stats_correlation, clamped to [-1, 1] like scipy.  Spearman: Pearson on average
 *   ranks (ties get the mean of their positions; gsl_stats_spearman).
 *   Undefined correlations — n < 2, or either side constant (all values exactly equal) — are
 *   NaN in scipy (and so in jiant).  Here they are reported as 0 with the component's bit set in
 *   MetricResult.undefined, so that JSON output, means and early stopping stay well defined; a
 *   constant predictor scores 0 rather than poisoning an average.  The headline of a mean
 *   (pearson_spearman) is the mean of the reported components.
 *
 * Class labels are int32 values; with num_classes > 0 they must lie in [0, num_classes).
 * Regression inputs must be finite.  Every function returns 0 on success and -1 with a message
 * in err (no exit), since gold/pred come from user files. */
#ifndef SPARSETUNE_METRICS_H
#define SPARSETUNE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRIC_MAX_COMPONENTS 4

typedef struct MetricResult {
    const char *metric; /* canonical metric name (static string) */
    double value;       /* headline value */
    int n_components;
    const char *name[METRIC_MAX_COMPONENTS]; /* component names (static strings) */
    double comp[METRIC_MAX_COMPONENTS];
    unsigned undefined; /* bit i: component i was undefined and is reported as 0 */
} MetricResult;

/* The headline metric of a built-in task (cola, stsb, mrpc, rte, cb, copa, wsc); NULL if
 * unknown.  The same names as tasks.h's TaskSpec.metric. */
const char *metric_for_task(const char *task);
/* 1 if metric takes float values (pearson, spearman, pearson_spearman), 0 if it takes class
 * labels, -1 if the name is unknown. */
int metric_is_regression(const char *metric);
/* Comma-separated list of all metric names, for messages. */
const char *metric_names(void);

/* Class metrics: gold[i], pred[i] for i < n (n >= 1). */
int metric_compute_classes(const char *metric, const int32_t *gold, const int32_t *pred, size_t n,
                           int num_classes, MetricResult *out, char *err, size_t errlen);
/* Regression metrics: gold[i], pred[i] for i < n (n >= 1), finite. */
int metric_compute_values(const char *metric, const double *gold, const double *pred, size_t n,
                          MetricResult *out, char *err, size_t errlen);
/* Component value by name, or NaN when the result has no such component. */
double metric_component(const MetricResult *r, const char *name);

/* The primitives (no validation beyond what is stated; n >= 1). */
double metric_accuracy(const int32_t *gold, const int32_t *pred, size_t n);
double metric_f1_class(const int32_t *gold, const int32_t *pred, size_t n, int32_t cls);
/* num_classes as above (0: union of present labels). Labels must be in range when > 0. */
double metric_macro_f1(const int32_t *gold, const int32_t *pred, size_t n, int num_classes);
double metric_mcc(const int32_t *gold, const int32_t *pred, size_t n);
/* Return 0 and set *r, or 1 (undefined: n < 2 or a constant side) with *r = 0. */
int metric_pearson(const double *x, const double *y, size_t n, double *r);
int metric_spearman(const double *x, const double *y, size_t n, double *r);

#endif
