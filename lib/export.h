/* export.h — `evaluate --export`: the fine-tuned model as a directory that loads as what its
 * config.json says it is (evaluate(1), EXPORTS).
 *
 * HF architecture with a classification, regression or multiple-choice head: transformers'
 * own class (RobertaForSequenceClassification with id2label/label2id/num_labels/problem_type,
 * RobertaForMultipleChoice), model_type as the base model's.  Every other head (the jiant
 * heads, the span head of both architectures) has no transformers class: config.json names
 * one of ours (SparsetuneRobertaFor...) with model_type HFCONFIG_OWN_MODEL_TYPE, so that
 * transformers' Auto classes refuse it.  Every config.json has a "sparsetune" object (head,
 * head_arch, num_labels, labels, task, modeling) and every export carries
 * modeling_sparsetune.py (lib/modeling_sparsetune.py, compiled in), which loads any of them
 * with PyTorch alone. */
#ifndef SPARSETUNE_EXPORT_H
#define SPARSETUNE_EXPORT_H

#include "examples.h"
#include "model.h"

#define EXPORT_MODELING_FILE "modeling_sparsetune.py"

/* The class config.json names for a head kind in an architecture. */
const char *export_class(HeadKind head, HeadArch arch);
/* 1 when that class is transformers' own. */
int export_is_hf_class(HeadKind head, HeadArch arch);

/* The head architecture an exported model directory (or archive) records in config.json's
 * "sparsetune" object; fallback for any other model, or a config without that object. */
HeadArch export_arch_of_dir(const char *dir, HeadArch fallback);

/* Write outdir (must not exist; atomic, see model_save_dir): config.json, model.safetensors
 * with the head, vocab.json + merges.txt from tokenizer, modeling_sparsetune.py.  set gives
 * the task and its label names; the head kind and architecture are m's. */
void export_model_dir(const Model *m, const ExampleSet *set, const char *tokenizer,
                      const char *outdir);

#endif
