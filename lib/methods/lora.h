/* lora.h — LoRA (Hu et al.; loralib, PEFT) as a structural method of the engine.
 *
 * A Linear W [out,in] with LoRA computes y = x W^T + b + s (drop(x) A^T) B^T with
 * A [r,in], B [out,r] and s = alpha / r; W and b stay frozen.  Extra tensors (PEFT's names,
 * without its "base_model.model." prefix), layer by layer, target by target, A then B:
 *   roberta.encoder.layer.N.MODULE.lora_A.weight [r,in], ….lora_B.weight [out,r]
 * MODULE per target: query, key, value -> attention.self.{query,key,value};
 * attention.output -> attention.output.dense; intermediate -> intermediate.dense;
 * output -> output.dense.
 * INIT (lora_attach): A ~ kaiming_uniform(a = sqrt 5) = U(-1/sqrt(in), 1/sqrt(in)); B = 0, or
 * (init_b kaiming, the paper's code) U(-1/sqrt(r), 1/sqrt(r)).  Draws: rng_init(seed,
 * RNG_STREAM_METHOD_INIT, j) for the j-th extra tensor, row-major, one rng_uniform each.
 * DROPOUT on the LoRA input (PEFT's lora_dropout): call c = 3 + 3L + 6l + t of ops.h's
 * contract (l the layer, t the target), p = dropout; off in evaluation.
 * BACKWARD: dB += s dy^T u, du = s dy B, dA += du^T drop(x), dx += drop'(du A), with
 * u = drop(x) A^T saved by the forward ([N,r] per LoRA Linear); no product with W's
 * gradient (W is GRAD_NONE in a LoRA plan). */
#ifndef SPARSETUNE_METHODS_LORA_H
#define SPARSETUNE_METHODS_LORA_H

#include <jansson.h>
#include <stdint.h>

#include "model.h"

enum { LORA_QUERY, LORA_KEY, LORA_VALUE, LORA_ATTN_OUT, LORA_INTERMEDIATE, LORA_OUTPUT, LORA_NTARGETS };
#define LORA_TARGETS_ALL ((1u << LORA_NTARGETS) - 1)

typedef struct LoraConfig {
    int r;
    double alpha;
    unsigned targets; /* bit t: target t */
    double dropout;
    int init_b_kaiming;
} LoraConfig;

/* "query" ... "output" (the --targets names) and the module path inside a layer. */
const char *lora_target_name(int t);
const char *lora_target_module(int t);
/* "query,value", "all" (the six); 0, or -1 with the unknown name in err. */
int lora_parse_targets(const char *list, unsigned *out, char *err, size_t errlen);
/* The header form {"r","alpha","scaling","targets":[…],"dropout","init_a","init_b"} and back
 * (0, or -1 with a message). */
json_t *lora_config_json(const LoraConfig *c);
int lora_config_parse(json_t *j, LoraConfig *c, char *err, size_t errlen);

/* The extra tensors of c on m (malloc'd array, returns the count). */
int lora_extras(const Model *m, const LoraConfig *c, ExtraTensor **out);
/* Add the extras to m, initialise them from seed (INIT) and turn the hooks on. */
void lora_attach(Model *m, const LoraConfig *c, uint64_t seed);
/* The equivalent model: W += s B A for every LoRA Linear; the hooks go off (the A and B
 * tensors stay in the table, unused). */
void lora_merge(Model *m);
void lora_free(struct Lora *l);
/* A PEFT LoRA adapter directory of m's LoRA tensors under c (after lora_merge too: they stay
 * in the table): adapter_config.json (peft_type LORA, r, lora_alpha, target_modules,
 * lora_dropout, modules_to_save ["classifier"], task_type, base_model_name_or_path base, …)
 * and adapter_model.safetensors (f32; "base_model.model." + the names, the head's
 * classifier.* included).  Written atomically (outdir.h). */
void lora_export_peft(const Model *m, const LoraConfig *c, const char *base, const char *task_type,
                      const char *outdir);

/* Engine hooks (model.c): buffers for N token rows and the forward's dropout keys; the
 * LoRA part of the Linear with weight tensor wi (no-op for a Linear without LoRA).
 * lora_bwd with dx NULL keeps du for the lora_bwd_dx that follows. */
void lora_begin(Model *m, int N, int train, uint64_t seed, uint32_t step);
void lora_fwd(Model *m, int wi, float *y, const float *x, int N, int in, int out);
void lora_bwd(Model *m, int wi, float *dx, const float *dy, const float *x, int N, int in, int out);
void lora_bwd_dx(Model *m, int wi, float *dx, int N, int in);

#endif
