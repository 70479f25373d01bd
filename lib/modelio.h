/* modelio.h — open a model directory (or archive) for a task: config.json, model.safetensors,
 * the head from the checkpoint or initialised from the seed (DESIGN.md, Models). */
#ifndef SPARSETUNE_MODELIO_H
#define SPARSETUNE_MODELIO_H

#include <stdint.h>

#include "examples.h"
#include "model.h"

typedef struct ModelInfo {
    char sha256[65];     /* of model.safetensors */
    int head_from_checkpoint;
} ModelInfo;

/* The head an examples stream needs. */
HeadKind head_for_task(TaskType t);

/* Load config + weights from DIR (a directory, archive or ARCHIVE:DIR), build the model for
 * the task's head, use a checkpoint head of matching shape or initialise it from seed.
 * dropout >= 0 overrides both dropout rates of config.json.  Dies on any problem. */
Model *model_open(const char *dir, TaskType task, int num_labels, uint64_t seed, double dropout,
                  ModelInfo *info);

#endif
