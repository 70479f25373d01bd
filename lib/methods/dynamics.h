/* dynamics.h — training dynamics of masktrain --method (DESIGN.md "Methods": the plan says
 * what may be trained, the dynamics how): the baselines whose masks move or whose weights
 * are mixed with their pre-trained values.  One file per method (mixout.c, diffpruning.c,
 * childpruning.c, childtuning_f.c, magpruning.c) with its schedule and its hooks; the
 * trainer calls the hooks around every step:
 *
 *   pre_forward(step)    before the training forward of step (0-based)
 *   post_backward(step)  the model holds this step's gradients (before the norm and clip)
 *   update(step, lr, clip)  after the trainer's AdamW step: the method's own updates
 *   post_step(steps)     steps = optimizer steps taken so far: projections happen here
 *   eval_begin/eval_end  around every dev evaluation and the final kept state; the trainer
 *                        snapshots between them, so eval_begin leaves the evaluated model
 *
 * Tensors: the mask must give the method whole tensors (all:true; sam-select --method full).
 * Methods that only transform gradients or weights (mixout, childtuning-f, childpruning,
 * magpruning) leave them to the trainer's AdamW (their θ0 is the optimiser's copy: one copy
 * of the pre-trained values).  DiffPruning claims the encoder tensors (θ = θ0 + z⊙w): they
 * are not in the optimiser; it keeps θ0, w, α and their Adam state itself.
 *
 * RNG: MixOut's column mask M of the j-th mixed Linear at step t is the dropout contract of
 * ops.h with call 128 + j (op_dropout_fwd on a vector of ones of the input width), so every
 * backend draws the same M.  Per-entry draws (DiffPruning's u, ChildTuning-F's mask) are
 * philox_word_at(seed, RNG_STREAM_DYNAMICS, step, offset + e), offset the tensor's
 * offset in the parameter table. */
#ifndef SPARSETUNE_METHODS_DYNAMICS_H
#define SPARSETUNE_METHODS_DYNAMICS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "optim.h"
#include "progress.h"

#define RNG_STREAM_DYNAMICS 8u
#define MIXOUT_CALL0 128u

typedef enum {
    DYN_NONE = 0, DYN_MIXOUT, DYN_DIFFPRUNING, DYN_CHILDPRUNING, DYN_CHILDTUNING_F, DYN_MAGPRUNING
} DynMethod;

typedef struct DynConfig {
    DynMethod method;
    double ratio;          /* target density of projections */
    int scope_global;      /* projections over all encoder tensors at once */
    long burnin;           /* steps before the (last) projection */
    long reproject_every;  /* DiffPruning: re-project every N steps (Figure 3); 0: once */
    long project_every;    /* ChildPruning: project every G steps until burnin */
    double mixout_p;       /* -1: 1 - ratio in the eval variant, 0.9 otherwise */
    int mixout_eval;       /* the paper code's variant: mix at evaluation only */
    double reserve_p;      /* ChildTuning-F */
    /* DiffPruning (Guo et al. defaults; the paper code's in brackets) */
    double stretch;        /* l = -stretch, r = stretch: 1.5 [3] */
    double alpha_init;     /* 5 [NAN: sigmoid(randn)] */
    double l0_weight;      /* 1.25e-7 [1] */
    int l0_mean;           /* [1]: the penalty on the mean gate instead of the sum */
    int project_alpha;     /* [1]: project by |α| instead of |z⊙w| */
    double alpha_lr;       /* 0.1 */
    double max_grad_norm;  /* w and α clipped separately (DiffPruning) */
    double beta1, beta2, eps, weight_decay;
    uint64_t seed;
    const char *mask_log;  /* NULL: none */
} DynConfig;

void dyn_config_defaults(DynConfig *c);
/* "mixout" ... ; 0, or -1 for an unknown name.  dyn_method_name: the metrics' name. */
int dyn_method_parse(const char *s, DynMethod *out);
const char *dyn_method_name(const DynConfig *c);

typedef struct MaskLog MaskLog;
typedef struct Dyn Dyn;
typedef struct DynOps {
    void (*pre_forward)(Dyn *, long step);
    void (*post_backward)(Dyn *, long step);
    void (*update)(Dyn *, long step, double lr, double lr_base, double clip);
    void (*post_step)(Dyn *, long steps, Progress *prog);
    void (*eval_begin)(Dyn *);
    void (*eval_end)(Dyn *);
    /* The trainer keeps the current state (the best snapshot or the last one). */
    void (*snapshot)(Dyn *);
    /* The sparse support of tensor i in the kept state (the delta then holds only these
     * entries), 0 when the method has none for it (a dense state). */
    int (*final_index)(Dyn *, int i, const uint32_t **index, size_t *k);
    void (*free)(Dyn *);
} DynOps;

struct Dyn {
    const DynOps *ops;
    DynConfig cfg;
    Model *m;
    Optim *o;
    int *enc;        /* encoder tensors the method acts on (model indices) */
    int n_enc;
    MaskLog *log;
    void *state;     /* the method's own */
};

/* Does the method take its tensors out of the optimiser (DiffPruning)? */
int dyn_claims(const DynConfig *c);
/* Build the method after the mask was read: enc = the encoder tensors trained whole (the
 * optimiser's dense tensors, or with dyn_claims the claimed ones).  Dies on bad settings. */
Dyn *dyn_create(const DynConfig *c, Model *m, Optim *o, const int *enc, int n_enc);
void dyn_free(Dyn *d);
/* θ0 of tensor i (host, numel floats): the optimiser's copy, or the method's. */
const float *dyn_theta0(Dyn *d, int i);
json_t *dyn_config_json(const Dyn *d);

/* ---- helpers shared by the methods (dynamics.c) ---- */
/* The optimiser's tensor for model index i (dies if none). */
TrainTensor *dyn_tt(Dyn *d, int i);
/* Gradient of tensor i to host (numel floats) and back; grad storage is backend memory. */
void dyn_grad_get(Model *m, int i, float *host);
void dyn_grad_set(Model *m, int i, const float *host);
/* Per-tensor (or global) top k = floor(ratio · numel) of score[t] by |x|: idx[t] (malloc'd,
 * ascending), k[t]. */
void dyn_project(Dyn *d, float *const *score, uint32_t **idx, size_t *k);
/* Write the masks idx/k of the encoder tensors at step to the mask log (no-op without). */
void dyn_log_masks(Dyn *d, long step, uint32_t *const *idx, const size_t *k);
/* A line {"step", "projection": true, "kept"} in the training log. */
void dyn_log_projection(Progress *prog, long step, const size_t *k, int n);

/* Zero the gradient of tensor i outside idx; set θ of tensor i to ref outside idx (buf, tmp:
 * host scratch of numel floats). */
void dyn_mask_grad(Dyn *d, int i, const uint32_t *idx, size_t k, float *buf, float *tmp);
void dyn_reset_outside(Dyn *d, int i, const uint32_t *idx, size_t k, const float *ref, float *buf, float *tmp);
/* numel of the largest encoder tensor. */
size_t dyn_largest(const Dyn *d);

/* The masks of a projecting method: one per encoder tensor, and host scratch. */
typedef struct DynMasks {
    uint32_t **idx;
    size_t *k;
    float *buf, *tmp; /* the largest tensor */
    int have;         /* a projection happened */
    int on;           /* the evaluated state lies on the masks (else dense) */
    uint32_t **kidx;  /* the masks of the kept state (snapshot) */
    size_t *kk;
    int kept;
} DynMasks;
/* The snapshot hook over x: the kept state's masks are the current ones if x->on. */
void dyn_masks_snapshot(const Dyn *d, DynMasks *x);
void dyn_masks_init(const Dyn *d, DynMasks *x);
void dyn_masks_free(const Dyn *d, DynMasks *x);
/* final_index over x: tensor i's mask in the kept state. */
int dyn_masks_index(const Dyn *d, const DynMasks *x, int i, const uint32_t **index, size_t *k);

/* Method constructors (their own files). */
void mixout_init(Dyn *d);
void diffpruning_init(Dyn *d);
void childpruning_init(Dyn *d);
void childtuning_f_init(Dyn *d);
void magpruning_init(Dyn *d);

/* DiffPruning's hard-concrete gate (exposed for the tests): u in (0,1), stretch l < 0 < r:
 * s = sigmoid(log u - log(1-u) + alpha), z = clamp(s (r - l) + l, 0, 1), dz/dalpha;
 * u < 0 gives the deterministic gate s = sigmoid(alpha).  The L0 term of one gate:
 * sigmoid(alpha - log(-l/r)) and its derivative. */
float diffpruning_gate(float u, float alpha, float l, float r, float *dz_dalpha);
float diffpruning_l0(float alpha, float l, float r, float *dl0_dalpha);
/* DiffPruning's own θ0 of tensor i (NULL if not its). */
const float *diffpruning_theta0(Dyn *d, int i);
/* MixOut's column mask of Linear j at step (backend-independent, 0/1 per column). */
void mixout_columns(uint64_t seed, long step, int j, int in, float p, float *mask01);

#endif
