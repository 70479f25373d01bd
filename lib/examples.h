/* examples.h — tokenized examples and the `examples` stream kind.
 *
 * Record fields (man 5 sparsetune-stream):
 *   idx     uint   position of the row in the input (0-based, across all input files)
 *   ids     bin    int32 little-endian token ids            (classification, regression, span)
 *   choices array  of int32 bins, one sequence per choice   (multiple_choice)
 *   spans   array  of [start, end] inclusive token positions (span_classification)
 *   label   int (class or choice index) or float (regression); absent when unlabeled */
#ifndef SPARSETUNE_EXAMPLES_H
#define SPARSETUNE_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

typedef enum {
    TASK_CLASSIFICATION,
    TASK_REGRESSION,
    TASK_MULTIPLE_CHOICE,
    TASK_SPAN_CLASSIFICATION,
} TaskType;

const char *task_type_name(TaskType t);
/* -1 when unknown */
int task_type_from_name(const char *s);

#define EXAMPLE_MAX_SPANS 2

typedef struct Example {
    uint32_t idx;
    int n_seq;        /* 1, or the number of choices */
    int32_t **seq;    /* n_seq token sequences */
    int32_t *len;     /* their lengths */
    int has_label;
    int label;        /* class / choice index */
    float target;     /* regression target */
    int n_spans;
    int32_t spans[EXAMPLE_MAX_SPANS][2];
} Example;

void example_free(Example *ex); /* frees the contents, not ex itself */

/* Write one record of an examples stream. */
void example_write(StWriter *w, TaskType type, const Example *ex);

/* A whole examples stream in memory (datasets are small next to models). */
typedef struct ExampleSet {
    json_t *header; /* owned */
    TaskType type;
    int num_labels;
    int32_t pad_id;
    size_t n;
    Example *ex;
    char sha256[65];
} ExampleSet;

/* Reads and validates an examples stream (path or "-"); dies with "tool: path: record N: what"
 * on bad records (ids not int32, wrong field for the task type, label out of range). */
ExampleSet *exampleset_read(const char *path);
void exampleset_free(ExampleSet *s);

#endif
