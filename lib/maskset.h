/* maskset.h — mask streams side by side (man 1 stats, --masks): Jaccard overlap of every pair
 * and where each mask's selected entries sit (per layer, per matrix type).
 *
 * A mask is the set of (tensor name, flat position) pairs it selects; an all:true record
 * selects every position of its tensor.  The task heads (names starting "classifier." or
 * "lm_head.") are left out unless include_head: they are trained fully by construction and
 * their shapes differ between tasks.  Tensors of the same name must have the same shape in
 * every mask (else the reader dies naming both files). */
#ifndef SPARSETUNE_MASKSET_H
#define SPARSETUNE_MASKSET_H

#include <jansson.h>
#include <stdint.h>

#include "grid.h"
#include "runs.h"

typedef struct MaskTensor {
    uint32_t name; /* id in MaskSet.names */
    int all;
    uint64_t k;
    uint32_t *index; /* k sorted positions; NULL when all */
} MaskTensor;

typedef struct Mask {
    char *path, *label;
    json_t *meta; /* method, task, ratio, seed, scope from the header (those present) */
    MaskTensor *t; /* sorted by name id */
    size_t nt;
    uint64_t selected;
    long step; /* a mask log's selection step (masklog.h), -1 for a plain mask stream */
} Mask;

typedef struct MaskSet {
    int include_head;
    StrTab names;
    int64_t *numel;       /* per name */
    int *ndim;
    int64_t (*shape)[8];
    uint32_t *first;      /* mask that first had the name (messages) */
    Mask *m;
    size_t n;
} MaskSet;

void maskset_init(MaskSet *s, int include_head);
void maskset_free(MaskSet *s);
/* Reads one mask stream ("-" = stdin); dies on bad input.  A mask log (masktrain
 * --mask-log: header mask_log true, records with "step") gives one mask per step. */
void maskset_read(MaskSet *s, const char *path);

/* |A ∩ B| and |A ∪ B| over all tensors; J = inter/union (1 for two empty masks). */
void maskset_overlap(const MaskSet *s, size_t a, size_t b, uint64_t *inter, uint64_t *uni);

/* Location groups.  Layers: "embeddings", "layer.0" ... "layer.L-1", "pooler", "other";
 * types: embeddings, query, key, value, attention.output, intermediate, output, LayerNorm,
 * pooler, other (LayerNorm wins over embeddings: embeddings.LayerNorm is a LayerNorm). */
int maskset_layer_of(const char *name);   /* -1 embeddings, N layer, -2 pooler, -3 other */
const char *maskset_type_of(const char *name);

/* Does s hold masks of a mask log?  Jaccard of masks a and b. */
int maskset_has_log(const MaskSet *s);
double maskset_jaccard(const MaskSet *s, size_t a, size_t b);

/* JSON; with a mask log also "mask_log": [{file, step, jaccard_previous, jaccard_final}]. */
json_t *maskset_json(const MaskSet *s);
/* Grids: the list of masks, the Jaccard matrix, the per-layer and per-type fractions (%);
 * with a mask log a fifth: each logged mask's Jaccard with the previous one and the final one. */
size_t maskset_grids(const MaskSet *s, int digits, Grid ***out);
/* TSV: pairs (i, j, inter, union, jaccard) and locations (mask, group kind, group, count,
 * fraction, density). */
size_t maskset_long(const MaskSet *s, Grid ***out);

#endif
