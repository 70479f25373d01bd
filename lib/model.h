/* model.h — RoBERTa (HuggingFace RobertaModel, post-LN) with the task heads of the paper,
 * explicit forward and backward over the op layer (ops.h).
 *
 * ENCODER (exactly HF's):
 *   position ids  = pad_id + cumulative count of non-pad tokens (pad tokens get pad_id);
 *   token type ids = 0;  e = LN(word[id] + pos[p] + type[0]); dropout (call 0)
 *   layer l (l = 0..L-1), x its input:
 *     q,k,v = Linear(x); scores = q k^T / sqrt(HD) + mask (large negative on padded keys);
 *     P = softmax(scores); dropout(P) (call 1+3l); ctx = P v;
 *     a = LN(dropout(Linear_o(ctx)) (call 2+3l) + x);
 *     out = LN(dropout(Linear_2(gelu_erf(Linear_1(a)))) (call 3+3l) + a)
 * HEAD ARCHITECTURES (HeadArch, chosen per run: --head jiant|hf; PAPER.md "How jiant builds
 * the harder tasks").  pooled = tanh(pooler(h<s>)) with pooler = roberta.pooler.dense.
 *   ARCH_JIANT (the paper's models): the heads below read `pooled` instead of h<s>; the
 *     pooler is an encoder tensor (masks select inside it) and exists for every head kind,
 *     as in jiant's encoder, although the span head does not use it (its gradient is zero).
 *   ARCH_HF: HF's classes.  Classification and regression are RobertaForSequenceClassification
 *     (the head on h<s>, no pooler); multiple choice is RobertaForMultipleChoice:
 *     score = classifier(dropout(pooled)) (call 1+3L, p = hidden_dropout_prob) with
 *     classifier.weight [1,H] and classifier.bias [1]; the span head has no pooler.
 * HEADS (on the last hidden states h, or `pooled` as above; the loss is the mean over the
 * examples of the batch):
 *   HEAD_CLASSIFICATION  logits[B,C] = out_proj(dropout(tanh(dense(dropout(x))))), x = h<s>
 *                        (hf) or pooled (jiant) (first dropout call 1+3L, second 2+3L);
 *                        cross-entropy.
 *   HEAD_REGRESSION      the same head with 1 output; logits [B]; MSE.
 *   HEAD_MULTIPLE_CHOICE every choice is its own sequence (sequence b*NC + c is choice c of
 *                        example b); the 1-output head (jiant: as classification; hf:
 *                        RobertaForMultipleChoice) gives one score per sequence;
 *                        logits [B,NC]; cross-entropy over the choices.
 *   HEAD_SPAN            WSC span comparison as jiant's SpanComparisonHead: a = Linear(H->1)
 *                        of every token vector (AllenNLP SelfAttentiveSpanExtractor; its
 *                        output is the attention-weighted sum only, nothing concatenated);
 *                        for each of the 2 spans (inclusive token ranges) w = softmax of a
 *                        within the span, span vector = sum w_t h_t; the two span vectors
 *                        concatenated [B,2H] -> dropout (call 1+3L) -> out_proj (2H->C);
 *                        cross-entropy.  logits [B,C].
 * Parameter names: the pooler (when present) is roberta.pooler.dense.weight [H,H] and
 *   roberta.pooler.dense.bias [H], after the encoder layers (HF's state-dict order).
 * Head parameter names (HF RobertaClassificationHead style; jiant's names in brackets):
 *   hf multiple choice: classifier.weight [1,H], classifier.bias [1];
 *   classification / regression / jiant multiple choice:
 *     classifier.dense.weight [H,H], classifier.dense.bias [H],
 *     classifier.out_proj.weight [C,H], classifier.out_proj.bias [C]   (C = 1 for reg./MC)
 *   span:
 *     classifier.span_attention.weight [1,H]  [span_attention_extractor._global_attention._module.weight]
 *     classifier.span_attention.bias [1]      [..._module.bias]
 *     classifier.out_proj.weight [C,2H], classifier.out_proj.bias [C]   [classifier.weight/bias]
 * HEAD INITIALISATION (model_init_head): one sequential generator rng_init(seed,
 *   RNG_STREAM_HEAD_INIT, 0); for every head tensor in table order (the order above), weights
 *   get initializer_range * rng_normal() in row-major order, biases are 0 (no draws).
 *   A pooler the checkpoint lacks (model_init_pooler): the same rule with its own generator
 *   rng_init(seed, RNG_STREAM_HEAD_INIT, 1), so the head's values do not depend on it.
 * DROPOUT: mask of element i of call c at step `step` as in ops.h with
 *   sub = op_dropout_sub(step, c); p = attention_probs_dropout_prob for the attention
 *   probabilities, for the head's calls classifier_dropout when set, else
 *   hidden_dropout_prob (HF's RobertaClassificationHead; jiant's heads and HF's
 *   RobertaForMultipleChoice always use hidden_dropout_prob), hidden_dropout_prob otherwise.
 *   Off (identity) when train == 0.
 *
 * PARAMETERS: one contiguous f32 buffer `params` in HF's state-dict order (table `info`:
 * name, shape, offset).
 * GRADIENTS (model_grad): storage is built lazily by model_zero_grad / model_backward from
 * the tensors' GradModes (zeroed whenever it is (re)built):
 *   - every tensor GRAD_DENSE (the default; gradacc): one contiguous buffer `grads` with the
 *     layout of `params` (model_grad(m, i) == grads + info[i].offset);
 *   - otherwise (masked training) there is no full-size buffer (`grads` is NULL): a
 *     GRAD_DENSE tensor has its own numel floats, a GRAD_SPARSE tensor k floats in the order
 *     of its index (compact: element j is the gradient of entry index[j]), a GRAD_NONE tensor
 *     nothing (model_grad returns NULL).
 * A model that only runs forward passes (evaluation) never allocates gradients.
 *
 * STRUCTURAL METHODS (lib/methods/: LoRA, adapters) add tensors of their own after the
 * base architecture's (model_add_extras: indices n_base..n_params-1, named as PEFT and
 * AdapterHub name them) and hook into the forward and backward of the Linears and of each
 * layer's output block through m->lora / m->adapter (NULL: the plain model). */
#ifndef SPARSETUNE_MODEL_H
#define SPARSETUNE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "hfconfig.h"
#include "safetensors.h"

typedef enum {
    HEAD_CLASSIFICATION = 0,
    HEAD_REGRESSION = 1,
    HEAD_MULTIPLE_CHOICE = 2,
    HEAD_SPAN = 3,
} HeadKind;

/* Where the task head sits (see HEAD ARCHITECTURES). */
typedef enum { ARCH_JIANT = 0, ARCH_HF = 1 } HeadArch;
/* "jiant" / "hf"; head_arch_parse returns 0, or -1 for another name. */
const char *head_arch_name(HeadArch a);
int head_arch_parse(const char *s, HeadArch *out);
/* Does the architecture have roberta.pooler.dense for this head kind? */
int head_arch_has_pooler(HeadArch a, HeadKind head);

#define MODEL_NAME_MAX 96
#define SPAN_COUNT 2 /* spans per example of the span head */

typedef struct ParamInfo {
    char name[MODEL_NAME_MAX];
    int ndim;          /* 1 or 2 */
    int64_t shape[2];
    size_t offset;     /* in floats, into params/grads */
    size_t numel;
    int is_head;       /* classifier.* */
} ParamInfo;

/* A batch with dynamic padding: S = B * n_choices sequences of T = longest length tokens. */
typedef struct Batch {
    int B;          /* examples */
    int n_choices;  /* sequences per example: choices for HEAD_MULTIPLE_CHOICE, else 1 */
    int T;          /* padded length */
    int32_t *ids;   /* [S,T], pad_id beyond each sequence's length */
    int32_t *len;   /* [S] */
    int32_t *label; /* [B] class / correct choice (classification, MC, span) */
    float *target;  /* [B] regression targets */
    int32_t *spans; /* [B, SPAN_COUNT, 2] inclusive token ranges (span head) */
} Batch;

/* Allocate a batch for B examples x n_choices sequences of up to T tokens (ids filled with
 * pad_id, lengths 0).  batch_set_seq copies one sequence in. */
void batch_alloc(Batch *b, int B, int n_choices, int T, int pad_id);
void batch_set_seq(Batch *b, int seq, const int32_t *ids, int len);
void batch_free(Batch *b);

/* Which gradient of a tensor model_backward accumulates (sparse fine-tuning, DESIGN.md
 * "Engine"): GRAD_DENSE all entries (default); GRAD_NONE nothing (frozen tensor, no weight
 * product at all, no storage); GRAD_SPARSE only the entries at index[0..k) (sorted unique
 * flat positions), stored compactly (k floats, see GRADIENTS above): for Linear weights a
 * sampled product
 * dW[o,i] = sum_t dY[t,o] X[t,i] over the k selected (o,i) only; for embeddings only the
 * selected entries of the batch's rows; for biases/LayerNorm the small dense gradient is
 * restricted to the index. */
typedef enum { GRAD_DENSE = 0, GRAD_NONE = 1, GRAD_SPARSE = 2 } GradMode;
typedef struct GradSpec {
    GradMode mode;
    const uint32_t *index; /* GRAD_SPARSE: borrowed, must stay valid while set */
    size_t k;
    uint32_t *dindex;      /* the index in backend memory: index itself on the CPU, else an
                            * owned device copy (model_set_grad_mode uploads it) */
} GradSpec;

typedef struct Acts Acts; /* activations of the last forward (model.c) */

typedef struct Model {
    HfConfig cfg;
    HeadKind head;
    HeadArch arch;
    int pooler;     /* index of roberta.pooler.dense.weight (its bias follows), -1 if none */
    int num_labels; /* outputs of out_proj: C (1 for regression and multiple choice) */
    int n_params;
    ParamInfo *info;
    size_t total; /* floats */
    float *params;
    float *grads;   /* contiguous gradients when every tensor is GRAD_DENSE, else NULL */
    float **gptr;   /* [n_params] each tensor's gradient storage (model_grad) */
    int grad_ready; /* storage matches the current GradModes */
    int head_first; /* index of the first classifier.* tensor */
    int n_base;     /* tensors of the architecture (the head ends there); extras follow */
    struct Lora *lora;       /* methods/lora.h; NULL: no LoRA */
    struct Adapter *adapter; /* methods/adapter.h; NULL: no adapters */
    GradSpec *gspec; /* [n_params], see model_set_grad_mode */
    Acts *acts;
    /* outputs of the last forward */
    float loss;
    float *logits; /* host copy: [B*C] (classification, span), [B] (regression), [B*NC] (MC) */
    int logits_n;
} Model;

/* Build the parameter table for cfg, head and arch (num_labels: classes for classification
 * and span (>= 2); ignored for regression and multiple choice).  Parameters are zero.  Dies
 * on unsupported configs (hidden_act other than gelu, hidden % heads). */
Model *model_create(const HfConfig *cfg, HeadKind head, HeadArch arch, int num_labels);
void model_free(Model *m);

/* Append n extra tensors (STRUCTURAL METHODS), zero-initialised, with GRAD_DENSE; the
 * parameter buffer is rebuilt (values kept) and the gradient storage released.  Returns the
 * index of the first.  Dies on a name the model already has. */
typedef struct ExtraTensor {
    char name[MODEL_NAME_MAX];
    int ndim;
    int64_t shape[2];
} ExtraTensor;
int model_add_extras(Model *m, const ExtraTensor *t, int n);

/* Index into info[] of the tensor called name, -1 if none. */
int model_find(const Model *m, const char *name);
static inline float *model_param(Model *m, int idx) { return m->params + m->info[idx].offset; }
/* Gradient storage of tensor idx (see GRADIENTS): numel floats (GRAD_DENSE), k floats in
 * index order (GRAD_SPARSE), NULL (GRAD_NONE).  Builds the storage if needed (zeroed). */
float *model_grad(Model *m, int idx);
/* Bytes of gradient storage the current GradModes need (for reports and benchmarks). */
size_t model_grad_bytes(const Model *m);

/* Host access to the parameters, whatever the backend (model_param is backend memory):
 * copy tensor idx out to / in from host memory (numel floats), or the whole parameter buffer
 * (total floats, the layout of `params`). */
void model_get_tensor(const Model *m, int idx, float *host);
void model_set_tensor(Model *m, int idx, const float *host);
void model_get_params(const Model *m, float *host);

/* Head initialisation (see above). */
void model_init_head(Model *m, uint64_t seed);
/* Pooler initialisation when the checkpoint has none (see above; no-op without a pooler). */
void model_init_pooler(Model *m, uint64_t seed);
/* Random encoder + head, HF's _init_weights: Linear/embedding weights normal(0, range) from
 * rng_init(seed, RNG_STREAM_MODEL_INIT, 0) in table order, the padding_idx row of the word
 * embeddings zeroed, biases 0, LayerNorm weight 1 / bias 0.  For tests, demos, benchmarks. */
void model_init_random(Model *m, uint64_t seed);

/* Load parameters from a checkpoint: accepts "roberta."-prefixed and bare encoder names,
 * ignores lm_head.* and *.position_ids buffers, and pooler.* when the model has no pooler.
 * Returns MODEL_LOADED_* flags: a complete classifier.* head of matching shapes is used as
 * is (MODEL_LOADED_HEAD), else the head is left untouched (call model_init_head); a head
 * that does not fit (another task's: other labels, kind or architecture, or incomplete) is
 * left out and flagged MODEL_HEAD_IGNORED.  The same for the pooler (MODEL_LOADED_POOLER,
 * else model_init_pooler).  Dies "where: what" on missing encoder tensors, encoder shape
 * mismatches, unknown tensors or non-float dtypes. */
enum { MODEL_LOADED_HEAD = 1, MODEL_LOADED_POOLER = 2, MODEL_HEAD_IGNORED = 4 };
int model_load(Model *m, const SafeTensors *st, const char *where);

/* Zero the gradients (building their storage for the current GradModes first). */
void model_zero_grad(Model *m);

/* Set the gradient mode of tensor idx (see GradMode).  Dies when index is not sorted, unique
 * and inside the tensor.  The gradient storage is rebuilt (and zeroed) at the next
 * model_zero_grad / model_backward / model_grad. */
void model_set_grad_mode(Model *m, int idx, GradMode mode, const uint32_t *index, size_t k);

/* Check a batch against the model (ids < vocab, lengths, positions < max_position_embeddings,
 * labels, spans inside the sequence).  Returns 0, or -1 with a message in err. */
int model_check_batch(const Model *m, const Batch *b, char *err, size_t errlen);

/* Forward pass.  train != 0 enables dropout with masks keyed by (seed, step) (step < 2^24).
 * Stores logits (m->logits) and the loss (m->loss, returned) and keeps the activations for
 * model_backward.  Dies on a batch that model_check_batch rejects. */
float model_forward(Model *m, const Batch *b, int train, uint64_t seed, uint32_t step);
/* Backward of the last forward with dloss = 1 (mean loss): adds the gradients to the
 * gradient storage (model_grad). */
void model_backward(Model *m, const Batch *b);

#endif
