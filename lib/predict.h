/* predict.h — run a model over a whole example set in evaluation mode (no dropout) and score
 * the predictions with the task's metric.  Shared by masktrain (dev evaluation) and evaluate. */
#ifndef SPARSETUNE_PREDICT_H
#define SPARSETUNE_PREDICT_H

#include "examples.h"
#include "metrics.h"
#include "model.h"

typedef struct Predictions {
    size_t n;
    int n_scores;   /* scores per example: classes, choices, or 1 (regression) */
    float *scores;  /* [n, n_scores] logits (regression: the predicted value) */
    int32_t *pred;  /* argmax class / choice (unused for regression) */
    double *value;  /* regression prediction (unused otherwise) */
    double loss;    /* mean loss over the labeled examples (NaN when unlabeled) */
} Predictions;

/* Forward every example in batches of `batch` (input order, dynamic padding). */
void predict_set(Model *m, const ExampleSet *set, int batch, Predictions *out);
void predictions_free(Predictions *p);

/* The metric of the set's header ("metric") over its labeled examples.  0, or -1 with a
 * message (no labels, metric unknown ...). */
int predictions_score(const ExampleSet *set, const Predictions *p, MetricResult *res, char *err,
                      size_t errlen);

#endif
