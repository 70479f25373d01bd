/* hfconfig.h — the fields of a HuggingFace RoBERTa config.json that the engine needs.
 *
 * Defaults are transformers' RobertaConfig (BertConfig's with RoBERTa's vocabulary and
 * special ids).  HF itself makes every key optional, but every config.json that
 * save_pretrained writes contains the five sizes (they are not PretrainedConfig keys, so they
 * are never dropped as defaults); a file without them is the wrong file (e.g. a
 * tokenizer_config.json), so we require them: vocab_size, hidden_size, num_hidden_layers,
 * num_attention_heads, intermediate_size. */
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
    double classifier_dropout; /* < 0: null (HF then uses hidden_dropout_prob) */
    double initializer_range;
    char hidden_act[32];              /* "gelu" only is supported by the engine */
    char position_embedding_type[32]; /* "absolute" only */
    char model_type[32];              /* "roberta", "xlm-roberta" or HFCONFIG_OWN_MODEL_TYPE */
    char architecture[64];            /* first of "architectures", "" when absent */
    char problem_type[40];            /* "regression", "single_label_classification", "" absent */
    const char *extra_json; /* written only: the JSON object text of the key "sparsetune"
                             * (borrowed; NULL: none); reading ignores that key */
    int num_labels;  /* from id2label (or "num_labels") when present, else 0 */
    char **id2label; /* num_labels names (malloc'ed) or NULL; hfconfig_free releases them */
} HfConfig;

/* The model_type of exports whose head no transformers class has (evaluate(1)): transformers'
 * Auto classes refuse it instead of loading a RobertaFor... class that drops part of the head.
 * The encoder is RoBERTa's, so the engine reads it like "roberta". */
#define HFCONFIG_OWN_MODEL_TYPE "sparsetune-roberta"

/* HF defaults of RobertaConfig (roberta-base sizes, but 512 positions and 2 token types, as
 * the class defaults are; roberta-base's own config.json says 514 and 1). No labels. */
void hfconfig_default(HfConfig *cfg);

/* Parse config.json text; dies "tool: where: what" on invalid JSON, missing or ill-typed
 * required keys (sizes), or unsupported/inconsistent values (hidden % heads != 0,
 * hidden_act other than "gelu", ...). Optional keys get RobertaConfig's defaults. */
void hfconfig_parse(const char *json_text, size_t len, const char *where, HfConfig *cfg);
/* Same, without dying: returns 0, or -1 with the reason in err (cfg then holds no labels). */
int hfconfig_parse_err(const char *json_text, size_t len, HfConfig *cfg, char *err,
                       size_t errlen);

/* Set the labels: names may be NULL (then "LABEL_0"...); replaces any previous ones. */
void hfconfig_set_labels(HfConfig *cfg, int n, const char *const *names);
/* Release id2label (the struct itself is the caller's). */
void hfconfig_free(HfConfig *cfg);

/* Serialise to config.json text (malloc'ed) as transformers writes it: sorted keys, 2-space
 * indent, shortest round-trip reals. "architectures" is cfg->architecture when set, else
 * RobertaForSequenceClassification with labels and RobertaForMaskedLM without; id2label and
 * label2id (and num_labels, which transformers accepts and checks against id2label) are
 * written when num_labels > 0; problem_type and "sparsetune" when set; torch_dtype "float32". */
char *hfconfig_to_json(const HfConfig *cfg);

#endif
