/* adapter.h — the Pfeiffer bottleneck adapter (AdapterHub's "pfeiffer" = seq_bn, what the
 * paper's code used) as a structural method of the engine.
 *
 * In every layer, between the feed-forward block and its output LayerNorm (PAPER.md, "The
 * baselines, exactly"): with h = dropout(output.dense(FFN)), x = the attention block's
 * output and LN = the layer's own pre-trained output.LayerNorm, applied twice,
 *   z = LN(h + x),  y = LN(h + x + ReLU(z D^T + b_d) U^T + b_u)
 * D [M,H], U [H,M], M the bottleneck (H / reduction factor).  Extra tensors (AdapterHub's
 * names), layer by layer:
 *   roberta.encoder.layer.N.output.adapters.NAME.adapter_down.0.weight [M,H], ….bias [M],
 *   roberta.encoder.layer.N.output.adapters.NAME.adapter_up.weight [H,M], ….bias [H]
 * INIT bert: D, U ~ N(0, 0.02), biases 0 (so not the original model at step 0); zero
 * (AdapterHub's mam init): D ~ kaiming_uniform(a = sqrt 5) = U(-1/sqrt(H), 1/sqrt(H)), U = 0,
 * biases 0.  Draws: rng_init(seed, RNG_STREAM_METHOD_INIT, j) for the j-th extra tensor.
 * The forward keeps z D^T + b_d per layer ([N,M]); the backward recomputes z, the ReLU and
 * the second LayerNorm's input from it (no [N,H] activation per layer). */
#ifndef SPARSETUNE_METHODS_ADAPTER_H
#define SPARSETUNE_METHODS_ADAPTER_H

#include <jansson.h>
#include <stdint.h>

#include "model.h"

#define ADAPTER_NAME "adapter" /* NAME above */

typedef struct AdapterConfig {
    int bottleneck;  /* M */
    int init_zero;   /* 0: bert, 1: zero (mam) */
} AdapterConfig;

/* Header form {"config":"pfeiffer","name","bottleneck","reduction_factor","non_linearity",
 * "init"} and back (0, or -1 with a message; hidden gives the reduction factor). */
json_t *adapter_config_json(const AdapterConfig *c, int hidden);
int adapter_config_parse(json_t *j, AdapterConfig *c, char *err, size_t errlen);

int adapter_extras(const Model *m, const AdapterConfig *c, ExtraTensor **out);
/* Add the extras, initialise them (INIT), turn the hooks on. */
void adapter_attach(Model *m, const AdapterConfig *c, uint64_t seed);
void adapter_free(struct Adapter *a);
/* AdapterHub's layout of m's adapters and head (written atomically, outdir.h):
 * adapter_config.json (the pfeiffer config keys, hidden_size, model_name base, name),
 * adapter.safetensors (the names above), head_config.json (head_type classification or
 * multiple_choice, num_labels, layers, tanh, use_pooler = the jiant head's pooler,
 * label2id from labels) and model_head.safetensors (heads.NAME.1.* and heads.NAME.4.*, the
 * Linears of its Sequential).  Dies for the span head. */
void adapter_export_hub(const Model *m, const AdapterConfig *c, const char *base, json_t *labels,
                        const char *outdir);
/* Index of layer l's adapter_down.0.weight (bias, up.weight, up.bias follow), -1 if none. */
int adapter_first(const Model *m, int l);

/* Engine hooks (model.c): buffers for N rows; the output block of layer l from r2 = h + x
 * (out, and the second LayerNorm's mean/rstd, written as model.c keeps them), and its
 * backward: dr2 = d r2 from dout. */
void adapter_begin(Model *m, int N);
void adapter_fwd(Model *m, int l, float *out, float *mean2, float *rstd2, const float *r2, int N);
void adapter_bwd(Model *m, int l, float *dr2, const float *dout, const float *r2, const float *mean2,
                 const float *rstd2, int N);

#endif
