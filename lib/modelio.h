/* modelio.h — open a model directory (or archive) for a task: config.json, model.safetensors,
 * the head from the checkpoint or initialised from the seed (DESIGN.md, Models). */
#ifndef SPARSETUNE_MODELIO_H
#define SPARSETUNE_MODELIO_H

#include <jansson.h>
#include <stdint.h>

#include "examples.h"
#include "model.h"

typedef struct ModelInfo {
    char sha256[65];     /* of model.safetensors */
    int head_from_checkpoint;
    int pooler_from_checkpoint; /* 0 also when the architecture has no pooler */
} ModelInfo;

/* The head an examples stream needs. */
HeadKind head_for_task(TaskType t);

/* Load config + weights from DIR (a directory, archive or ARCHIVE:DIR), build the model for
 * the task's head in architecture arch, use a checkpoint head (and pooler) of matching shape
 * or initialise it from seed (model.h).  dropout >= 0 overrides both dropout rates of
 * config.json.  num_labels < 0 (a model opened without examples): the checkpoint head's
 * classes, else config.json's, else 2.  Dies on any problem. */
Model *model_open(const char *dir, TaskType task, int num_labels, HeadArch arch, uint64_t seed,
                  double dropout, ModelInfo *info);

/* The head architecture a stream header records ("head"); streams written before the
 * architectures existed have none and were made with the HF-style head. */
HeadArch head_arch_of_header(json_t *header, const char *where);

/* Write m as a HuggingFace model directory: config.json (cfg), model.safetensors (HF names,
 * f32; classifier.* only with with_head), and vocab.json + merges.txt copied from tokenizer
 * (a directory or archive; skipped when NULL or absent).  outdir must not exist; it is built
 * under a temporary name and renamed into place, and removed if the tool dies. */
void model_save_dir(const Model *m, const HfConfig *cfg, const char *tokenizer, int with_head,
                    const char *outdir);

/* A further file of a saved directory: name (no '/') and contents. */
typedef struct SaveFile {
    const char *name;
    const void *data;
    size_t len;
} SaveFile;
#define MODEL_SAVE_EXTRA_MAX 4

/* model_save_dir that also writes n_extra (<= MODEL_SAVE_EXTRA_MAX) further files. */
void model_save_dir_with(const Model *m, const HfConfig *cfg, const char *tokenizer,
                         int with_head, const SaveFile *extra, int n_extra, const char *outdir);

#endif
