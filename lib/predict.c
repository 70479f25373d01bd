#include "predict.h"

#include <math.h>
#include <string.h>

#include "batching.h"
#include "util.h"

void predict_set(Model *m, const ExampleSet *set, int batch, Predictions *out) {
    memset(out, 0, sizeof *out);
    out->n = set->n;
    int regression = set->type == TASK_REGRESSION;
    int ns = regression ? 1 : set->type == TASK_MULTIPLE_CHOICE ? set->ex[0].n_seq : m->num_labels;
    out->n_scores = ns;
    out->scores = xmalloc((set->n ? set->n : 1) * (size_t)ns * sizeof *out->scores);
    out->pred = xcalloc(set->n ? set->n : 1, sizeof *out->pred);
    out->value = xcalloc(set->n ? set->n : 1, sizeof *out->value);
    uint32_t *idx = xmalloc((size_t)batch * sizeof *idx);
    double loss_sum = 0;
    size_t n_labeled = 0;
    for (size_t start = 0; start < set->n; start += (size_t)batch) {
        int B = (int)(set->n - start < (size_t)batch ? set->n - start : (size_t)batch);
        int labeled = 1;
        for (int i = 0; i < B; i++) {
            idx[i] = (uint32_t)(start + (size_t)i);
            labeled &= set->ex[start + (size_t)i].has_label;
        }
        Batch b;
        batch_from_examples(&b, set, idx, B);
        char err[512];
        if (model_check_batch(m, &b, err, sizeof err) != 0)
            die(NULL, "examples %zu..%zu: %s", start, start + (size_t)B - 1, err);
        float loss = model_forward(m, &b, 0, 0, 0);
        if (labeled) {
            loss_sum += (double)loss * B;
            n_labeled += (size_t)B;
        }
        if (m->logits_n != B * ns) die(NULL, "internal: %d logits for %d examples", m->logits_n, B);
        for (int i = 0; i < B; i++) {
            size_t e = start + (size_t)i;
            const float *l = m->logits + (size_t)i * ns;
            memcpy(out->scores + e * ns, l, (size_t)ns * sizeof *l);
            if (regression) {
                out->value[e] = l[0];
            } else {
                int best = 0;
                for (int c = 1; c < ns; c++)
                    if (l[c] > l[best]) best = c; /* first maximum on ties */
                out->pred[e] = best;
            }
        }
        batch_free(&b);
    }
    out->loss = n_labeled ? loss_sum / (double)n_labeled : NAN;
    free(idx);
}

void predictions_free(Predictions *p) {
    free(p->scores);
    free(p->pred);
    free(p->value);
    memset(p, 0, sizeof *p);
}

int predictions_score(const ExampleSet *set, const Predictions *p, MetricResult *res, char *err,
                      size_t errlen) {
    const char *metric = json_string_value(json_object_get(set->header, "metric"));
    if (!metric) {
        snprintf(err, errlen, "the examples header names no metric");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++) n += set->ex[i].has_label;
    if (n == 0) {
        snprintf(err, errlen, "no labeled examples to score");
        return -1;
    }
    int rc;
    if (set->type == TASK_REGRESSION) {
        double *gold = xmalloc(n * sizeof *gold), *pred = xmalloc(n * sizeof *pred);
        for (size_t i = 0, j = 0; i < set->n; i++)
            if (set->ex[i].has_label) gold[j] = set->ex[i].target, pred[j++] = p->value[i];
        rc = metric_compute_values(metric, gold, pred, n, res, err, errlen);
        free(gold), free(pred);
    } else {
        int32_t *gold = xmalloc(n * sizeof *gold), *pred = xmalloc(n * sizeof *pred);
        for (size_t i = 0, j = 0; i < set->n; i++)
            if (set->ex[i].has_label) gold[j] = set->ex[i].label, pred[j++] = p->pred[i];
        /* jiant's CB macro-F1 averages over the fixed classes 0..C-1 */
        int classes = set->type == TASK_MULTIPLE_CHOICE ? p->n_scores : set->num_labels;
        rc = metric_compute_classes(metric, gold, pred, n, classes, res, err, errlen);
        free(gold), free(pred);
    }
    return rc;
}
