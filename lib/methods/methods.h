/* methods.h — the structural methods a plan names (mask and delta headers):
 *   "structure": {"lora": {…lora.h…}}  and/or  {"adapter": {…adapter.h…}}
 *   "freeze_head": true   the task head is not trained (the paper's LoRA run)
 * masktrain attaches them to the model before reading the plan's records (which then name
 * the extra tensors, all:true); evaluate attaches them before applying the delta (whose
 * dense records carry the trained extras) and then merges LoRA into the weights. */
#ifndef SPARSETUNE_METHODS_H
#define SPARSETUNE_METHODS_H

#include <jansson.h>
#include <stdint.h>

#include "model.h"

/* Attach the structure of header (no-op without "structure"); where names the stream in
 * messages.  Dies on a malformed structure. */
void methods_attach(Model *m, json_t *header, uint64_t seed, const char *where);
/* Initialise extra tensor idx from rng_init(seed, RNG_STREAM_METHOD_INIT, sub), row-major:
 * scale * rng_normal() (normal) or (2 rng_uniform() - 1) * scale. */
void methods_fill(Model *m, int idx, uint64_t seed, uint32_t sub, int normal, double scale);
/* Does the header freeze the head? */
int methods_freeze_head(json_t *header);
/* Is tensor i one of the extras of a structural method? */
static inline int methods_is_extra(const Model *m, int i) { return i >= m->n_base; }

#endif
