/* paramset.h — the tunable parameters of delta streams (man 1 stats, --params): the paper's
 * Table 4, "tunable parameters, % of the model", counted from what masktrain wrote.
 *
 * Per delta: encoder entries (the positions of its sparse records plus every entry of its
 * dense records of base-model tensors, e.g. BitFit's biases, FullTuning's tensors), extra
 * entries (the dense tensors of a structural method the base model lacks: LoRA's
 * *.lora_A/lora_B.weight, the adapters' *.adapters.*) and head entries (classifier.* /
 * lm_head.*), against the header's base_entries (the base model's non-head entries).  The
 * share is 100 (encoder + extra) / base_entries, the paper's count (its SAM row, 0.5 %, leaves
 * the fully trained head out); include_head adds the head to the numerator.
 *
 * Rows: one per method (the header's), in the paper's order, split by ratio (label
 * METHOD@RATIO) when a method comes with several, a structural method by its shape instead
 * (METHOD[r=8 query,value], METHOD[bottleneck=48]: its ratio is derived from the base model);
 * the numbers of a row are means over its deltas. */
#ifndef SPARSETUNE_PARAMSET_H
#define SPARSETUNE_PARAMSET_H

#include <jansson.h>
#include <stdint.h>

#include "grid.h"

typedef struct ParamDelta {
    char *path, *method, *task;
    char *variant; /* a structural method's shape: "r=8 query,value", "bottleneck=48"; or NULL */
    double ratio;
    int has_ratio;
    int64_t seed; /* -1: none */
    uint64_t base, encoder, extra, head;
} ParamDelta;

typedef struct ParamRow {
    char *label;
    const char *method, *variant;
    double ratio;
    int has_ratio;
    size_t *d; /* the row's deltas (indices) */
    size_t n;
    double encoder, extra, head, base, share; /* means over the row's deltas (share: of the
                                                 per-delta shares, %) */
    double share_min, share_max;
} ParamRow;

typedef struct ParamSet {
    int include_head;
    ParamDelta *d;
    size_t n;
    ParamRow *row; /* after paramset_rows() */
    size_t nrows;
} ParamSet;

void paramset_init(ParamSet *s, int include_head);
void paramset_free(ParamSet *s);
/* Reads one delta stream ("-" = stdin); dies on bad input ("stats: FILE: what"). */
void paramset_read(ParamSet *s, const char *path);
/* Groups the deltas into rows (call once, after the last read). */
void paramset_rows(ParamSet *s);

json_t *paramset_json(const ParamSet *s);
/* Text/Markdown/LaTeX: the rows; TSV (long): the rows, then one line per delta. */
size_t paramset_grids(const ParamSet *s, int digits, Grid ***out);
size_t paramset_long(const ParamSet *s, Grid ***out);

#endif
