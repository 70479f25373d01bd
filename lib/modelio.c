#include "modelio.h"

#include <string.h>

#include "hash.h"
#include "hfconfig.h"
#include "safetensors.h"
#include "source.h"
#include "util.h"

HeadKind head_for_task(TaskType t) {
    switch (t) {
    case TASK_REGRESSION: return HEAD_REGRESSION;
    case TASK_MULTIPLE_CHOICE: return HEAD_MULTIPLE_CHOICE;
    case TASK_SPAN_CLASSIFICATION: return HEAD_SPAN;
    default: return HEAD_CLASSIFICATION;
    }
}

Model *model_open(const char *dir, TaskType task, int num_labels, uint64_t seed, double dropout,
                  ModelInfo *info) {
    Source *src = source_open_dir(dir);
    size_t len = 0;
    char *config = source_dir_read(src, "config.json", &len);
    char *where = source_dir_describe(src, "config.json");
    if (!config) die(where, "missing (a model directory holds config.json and model.safetensors)");
    HfConfig cfg;
    hfconfig_parse(config, len, where, &cfg);
    free(config);
    free(where);
    if (dropout >= 0) cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = dropout;

    /* A real directory is mapped; an archive member is read into memory. */
    where = source_dir_describe(src, "model.safetensors");
    SafeTensors *st = safetensors_load(src, "model.safetensors");
    if (!st) die(where, "missing (a model directory holds config.json and model.safetensors)");
    if (info) {
        memset(info, 0, sizeof *info);
        sha256_hex(st->map, st->map_len, info->sha256);
    }
    Model *m = model_create(&cfg, head_for_task(task), num_labels);
    int has_head = model_load(m, st, where);
    if (!has_head) model_init_head(m, seed);
    if (info) info->head_from_checkpoint = has_head;
    safetensors_close(st);
    free(where);
    source_close(src);
    return m;
}
