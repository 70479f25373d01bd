/* tasks.h — the seven tasks of the paper (and generic user data sets): which fields hold the
 * text, how labels map to indices, the task type and the headline metric; and how a data row
 * becomes token sequences the way jiant builds them for RoBERTa.
 *
 *   task  type                 fields                          labels (jiant's order)        metric
 *   cola  classification       text                            0 1                           mcc
 *   stsb  regression           text_a, text_b                  float 0..5                    pearson_spearman
 *   mrpc  classification       text_a, text_b                  0 1                           acc_f1
 *   rte   classification       premise, hypothesis             entailment not_entailment     accuracy
 *   cb    classification       premise, hypothesis             contradiction entailment neutral acc_macro_f1
 *   copa  multiple_choice      premise, question, choice1/2    index 0/1                     accuracy
 *   wsc   span_classification  text, target{span1_*,span2_*}   False True                    accuracy
 */
#ifndef SPARSETUNE_TASKS_H
#define SPARSETUNE_TASKS_H

#include <jansson.h>
#include <stdint.h>

#include "bpe.h"
#include "examples.h"

typedef struct TaskSpec {
    char name[64];
    TaskType type;
    const char *metric;
    char *text_a, *text_b;  /* field names; text_b NULL for single-sentence tasks */
    char *label_field;      /* NULL: unlabeled examples */
    char **labels;          /* label names (classification, span); NULL when inferred later */
    int num_labels;         /* classes; choices for multiple choice; 1 for regression */
    int infer_labels;       /* generic mode without --labels: sorted unique values of the data */
} TaskSpec;

/* Look up one of the seven tasks by name; NULL if unknown. The spec is freshly allocated. */
TaskSpec *task_builtin(const char *name);
/* Comma-separated list of the built-in task names, for messages. */
const char *task_builtin_names(void);
/* Generic mode: text_fields "a" or "a,b"; label_field may be NULL; labels "x,y,z" or NULL;
 * regression selects MSE on a float label. Dies (usage) on malformed arguments. */
TaskSpec *task_generic(const char *text_fields, const char *label_field, const char *labels,
                       int regression);
void task_free(TaskSpec *t);

/* The label of a row as a string (strings as is, integers in decimal, booleans as
 * True/False); NULL when the field is missing or null.  Caller frees. */
char *task_label_string(const json_t *v);
/* Index of name among the spec's labels, or -1. */
int task_label_index(const TaskSpec *t, const char *name);

/* Special token ids used to frame sequences; -1 for a token the vocabulary lacks. */
typedef struct SpecialIds {
    int32_t bos, eos, pad;
    int enabled; /* 0 with --no-special: bare BPE ids, pairs simply concatenated */
} SpecialIds;

/* Build one example from a data row.  where is "FILE:LINE" for messages.  The example's idx
 * is the row's own integer "idx" field when it has one, else idx (its position).  Dies on a
 * missing or ill-typed field, an unknown label, or spans out of range. */
void task_build_example(const TaskSpec *t, Bpe *bpe, const SpecialIds *sp, int max_len,
                        const json_t *row, const char *where, uint32_t idx, Example *ex);

/* Header meta for an examples stream (task, task_type, num_labels, labels, metric, max_len,
 * tokenizer_sha256, special ids). */
json_t *task_header_meta(const TaskSpec *t, int max_len, const char *tokenizer_sha256,
                         const SpecialIds *sp);

/* Longest-first truncation of a pair to at most budget tokens in total, as HF does it: one
 * token at a time from the end of the longer sequence (the second one on ties). */
void truncate_longest_first(size_t *len_a, size_t *len_b, size_t budget);

#endif
