/* metrics.c — jiant/sklearn/scipy-compatible task metrics (definitions in metrics.h). */
#include "metrics.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
    const char *task, *metric;
} task_metrics[] = {
    {"cola", "mcc"},      {"stsb", "pearson_spearman"}, {"mrpc", "acc_f1"},
    {"rte", "accuracy"},  {"cb", "acc_macro_f1"},       {"copa", "accuracy"},
    {"wsc", "accuracy"},
};

static const char *const class_metrics[] = {"accuracy", "f1", "macro_f1", "mcc", "acc_f1",
                                            "acc_macro_f1"};
static const char *const value_metrics[] = {"pearson", "spearman", "pearson_spearman"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *metric_for_task(const char *task) {
    for (size_t i = 0; i < COUNT(task_metrics); i++)
        if (strcmp(task, task_metrics[i].task) == 0) return task_metrics[i].metric;
    return NULL;
}

static const char *find_name(const char *const *list, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0) return list[i];
    return NULL;
}

int metric_is_regression(const char *metric) {
    if (find_name(value_metrics, COUNT(value_metrics), metric)) return 1;
    if (find_name(class_metrics, COUNT(class_metrics), metric)) return 0;
    return -1;
}

const char *metric_names(void) {
    return "accuracy, f1, macro_f1, mcc, acc_f1, acc_macro_f1, pearson, spearman, "
           "pearson_spearman";
}

double metric_component(const MetricResult *r, const char *name) {
    for (int i = 0; i < r->n_components; i++)
        if (strcmp(r->name[i], name) == 0) return r->comp[i];
    return NAN;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- class metrics ---- */

double metric_accuracy(const int32_t *gold, const int32_t *pred, size_t n) {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += gold[i] == pred[i];
    return (double)ok / (double)n;
}

static double f1_from_counts(size_t tp, size_t t, size_t p) {
    /* 2tp / (2tp + fp + fn) with fp = p - tp, fn = t - tp. */
    size_t den = t + p;
    return den ? 2.0 * (double)tp / (double)den : 0.0;
}

double metric_f1_class(const int32_t *gold, const int32_t *pred, size_t n, int32_t cls) {
    size_t tp = 0, t = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
        t += gold[i] == cls;
        p += pred[i] == cls;
        tp += gold[i] == cls && pred[i] == cls;
    }
    return f1_from_counts(tp, t, p);
}

/* Per-class counts over the sorted union of the labels in gold and pred. */
typedef struct {
    size_t L;
    int32_t *label;
    size_t *t, *p, *tp;
} ClassCounts;

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t label_slot(const ClassCounts *c, int32_t v) {
    const int32_t *hit = bsearch(&v, c->label, c->L, sizeof *c->label, cmp_i32);
    return (size_t)(hit - c->label);
}

static void class_counts(const int32_t *gold, const int32_t *pred, size_t n, ClassCounts *c) {
    c->label = xmalloc(2 * n * sizeof *c->label);
    memcpy(c->label, gold, n * sizeof *gold);
    memcpy(c->label + n, pred, n * sizeof *pred);
    qsort(c->label, 2 * n, sizeof *c->label, cmp_i32);
    size_t L = 0;
    for (size_t i = 0; i < 2 * n; i++)
        if (L == 0 || c->label[L - 1] != c->label[i]) c->label[L++] = c->label[i];
    c->L = L;
    c->t = xcalloc(L, sizeof *c->t);
    c->p = xcalloc(L, sizeof *c->p);
    c->tp = xcalloc(L, sizeof *c->tp);
    for (size_t i = 0; i < n; i++) {
        size_t g = label_slot(c, gold[i]), q = label_slot(c, pred[i]);
        c->t[g]++;
        c->p[q]++;
        if (g == q) c->tp[g]++;
    }
}

static void class_counts_free(ClassCounts *c) {
    free(c->label);
    free(c->t);
    free(c->p);
    free(c->tp);
}

double metric_macro_f1(const int32_t *gold, const int32_t *pred, size_t n, int num_classes) {
    if (num_classes > 0) {
        double s = 0;
        for (int k = 0; k < num_classes; k++) s += metric_f1_class(gold, pred, n, k);
        return s / num_classes;
    }
    ClassCounts c;
    class_counts(gold, pred, n, &c);
    double s = 0;
    for (size_t k = 0; k < c.L; k++) s += f1_from_counts(c.tp[k], c.t[k], c.p[k]);
    double r = s / (double)c.L;
    class_counts_free(&c);
    return r;
}

double metric_mcc(const int32_t *gold, const int32_t *pred, size_t n) {
    ClassCounts c;
    class_counts(gold, pred, n, &c);
    /* Exact integer sums (n is far below 2^31 for any data set), then sklearn's formula. */
    int64_t correct = 0, tp_sum = 0, pp = 0, tt = 0, s = (int64_t)n;
    for (size_t k = 0; k < c.L; k++) {
        correct += (int64_t)c.tp[k];
        tp_sum += (int64_t)c.t[k] * (int64_t)c.p[k];
        pp += (int64_t)c.p[k] * (int64_t)c.p[k];
        tt += (int64_t)c.t[k] * (int64_t)c.t[k];
    }
    class_counts_free(&c);
    double cov_ytyp = (double)(correct * s - tp_sum);
    double cov_ypyp = (double)(s * s - pp);
    double cov_ytyt = (double)(s * s - tt);
    if (cov_ypyp == 0 || cov_ytyt == 0) return 0.0;
    return cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
}

/* ---- correlations ---- */

static int is_constant(const double *x, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}

static double clamp1(double r) { return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r; }

int metric_pearson(const double *x, const double *y, size_t n, double *r) {
    if (n < 2 || is_constant(x, n) || is_constant(y, n)) {
        *r = 0.0;
        return 1;
    }
    *r = clamp1(gsl_stats_correlation(x, 1, y, 1, n));
    return 0;
}

int metric_spearman(const double *x, const double *y, size_t n, double *r) {
    if (n < 2 || is_constant(x, n) || is_constant(y, n)) {
        *r = 0.0;
        return 1;
    }
    /* gsl_stats_spearman sorts copies inside work (2n doubles); it ranks ties by average. */
    double *work = xmalloc(2 * n * sizeof *work);
    *r = clamp1(gsl_stats_spearman(x, 1, y, 1, n, work));
    free(work);
    return 0;
}

/* ---- dispatch ---- */

static void add(MetricResult *out, const char *name, double v, int undefined) {
    int i = out->n_components++;
    out->name[i] = name;
    out->comp[i] = v;
    if (undefined) out->undefined |= 1u << i;
}

static void result_init(MetricResult *out, const char *metric) {
    memset(out, 0, sizeof *out);
    out->metric = metric;
}

int metric_compute_classes(const char *metric, const int32_t *gold, const int32_t *pred, size_t n,
                           int num_classes, MetricResult *out, char *err, size_t errlen) {
    const char *m = find_name(class_metrics, COUNT(class_metrics), metric);
    if (!m) {
        if (find_name(value_metrics, COUNT(value_metrics), metric))
            return fail(err, errlen, "metric %s needs float values, not class labels", metric);
        return fail(err, errlen, "unknown metric '%s' (known: %s)", metric, metric_names());
    }
    if (n == 0) return fail(err, errlen, "no examples to score");
    if (num_classes < 0) return fail(err, errlen, "negative number of classes");
    if (num_classes > 0) {
        for (size_t i = 0; i < n; i++) {
            if (gold[i] < 0 || gold[i] >= num_classes)
                return fail(err, errlen, "example %zu: gold label %d outside 0..%d", i,
                            (int)gold[i], num_classes - 1);
            if (pred[i] < 0 || pred[i] >= num_classes)
                return fail(err, errlen, "example %zu: predicted label %d outside 0..%d", i,
                            (int)pred[i], num_classes - 1);
        }
    }
    result_init(out, m);
    if (strcmp(m, "accuracy") == 0) {
        add(out, "accuracy", metric_accuracy(gold, pred, n), 0);
    } else if (strcmp(m, "f1") == 0) {
        add(out, "f1", metric_f1_class(gold, pred, n, 1), 0);
    } else if (strcmp(m, "macro_f1") == 0) {
        add(out, "macro_f1", metric_macro_f1(gold, pred, n, num_classes), 0);
    } else if (strcmp(m, "mcc") == 0) {
        add(out, "mcc", metric_mcc(gold, pred, n), 0);
    } else if (strcmp(m, "acc_f1") == 0) {
        add(out, "accuracy", metric_accuracy(gold, pred, n), 0);
        add(out, "f1", metric_f1_class(gold, pred, n, 1), 0);
    } else { /* acc_macro_f1 */
        add(out, "accuracy", metric_accuracy(gold, pred, n), 0);
        add(out, "macro_f1", metric_macro_f1(gold, pred, n, num_classes), 0);
    }
    out->value = out->n_components == 1 ? out->comp[0] : (out->comp[0] + out->comp[1]) / 2;
    return 0;
}

int metric_compute_values(const char *metric, const double *gold, const double *pred, size_t n,
                          MetricResult *out, char *err, size_t errlen) {
    const char *m = find_name(value_metrics, COUNT(value_metrics), metric);
    if (!m) {
        if (find_name(class_metrics, COUNT(class_metrics), metric))
            return fail(err, errlen, "metric %s needs class labels, not float values", metric);
        return fail(err, errlen, "unknown metric '%s' (known: %s)", metric, metric_names());
    }
    if (n == 0) return fail(err, errlen, "no examples to score");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(gold[i])) return fail(err, errlen, "example %zu: gold value is not finite", i);
        if (!isfinite(pred[i]))
            return fail(err, errlen, "example %zu: predicted value is not finite", i);
    }
    result_init(out, m);
    double r;
    int u;
    if (strcmp(m, "pearson") == 0 || strcmp(m, "pearson_spearman") == 0) {
        u = metric_pearson(pred, gold, n, &r);
        add(out, "pearson", r, u);
    }
    if (strcmp(m, "spearman") == 0 || strcmp(m, "pearson_spearman") == 0) {
        u = metric_spearman(pred, gold, n, &r);
        add(out, "spearman", r, u);
    }
    out->value = out->n_components == 1 ? out->comp[0] : (out->comp[0] + out->comp[1]) / 2;
    return 0;
}
