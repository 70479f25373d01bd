/* delta.h — apply a `delta` stream (the result of masktrain) to its base model.
 *
 * Records: sparse {name, shape, index, value} add value[j] at flat position index[j]
 * (θ = θ0 + Δθ); dense {name, dtype, shape, data} replace the whole tensor (the head, fully
 * trained tensors).  Names and shapes must match the model's parameter table. */
#ifndef SPARSETUNE_DELTA_H
#define SPARSETUNE_DELTA_H

#include <jansson.h>

#include "model.h"

typedef struct DeltaInfo {
    json_t *header; /* owned copy of the delta's header */
    char sha256[65];
    size_t n_sparse, n_dense, entries_changed;
} DeltaInfo;

/* Apply the delta at path to m.  When base_sha256 is non-NULL it must equal the delta's
 * base_model_sha256 (a delta belongs to one base model) unless force is set.  Dies with
 * "tool: path: record N: what" on unknown names, shape mismatches, bad records. */
void delta_apply(Model *m, const char *path, const char *base_sha256, int force, DeltaInfo *info);
void deltainfo_free(DeltaInfo *info);

#endif
