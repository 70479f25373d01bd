/* hfconfig.h — the fields of a HuggingFace RoBERTa config.json that the engine needs. */
#ifndef SPARSETUNE_HFCONFIG_H
#define SPARSETUNE_HFCONFIG_H

#include <stddef.h>

typedef struct HfConfig {
    int vocab_size;
    int hidden_size;
    int num_hidden_layers;
    int num_attention_heads;
    int intermediate_size;
    int max_position_embeddings;
    int type_vocab_size;
    int pad_token_id;
    int bos_token_id;
    int eos_token_id;
    double layer_norm_eps;
    double hidden_dropout_prob;
    double attention_probs_dropout_prob;
    double initializer_range;
    char hidden_act[32]; /* "gelu" only is supported by the engine */
    char model_type[32];
    int num_labels; /* from id2label when present, else 0 */
} HfConfig;

/* Parse config.json text; dies "tool: where: what" on invalid JSON, missing or ill-typed
 * required keys (sizes), or inconsistent values (hidden % heads != 0). Optional keys get HF's
 * RobertaConfig defaults. */
void hfconfig_parse(const char *json_text, size_t len, const char *where, HfConfig *cfg);
/* Serialise to config.json text with HF's keys (malloc'ed). */
char *hfconfig_to_json(const HfConfig *cfg);
/* HF defaults of RobertaConfig (roberta-base sizes). */
void hfconfig_default(HfConfig *cfg);

#endif
