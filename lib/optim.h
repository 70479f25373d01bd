/* optim.h — truly sparse AdamW over the trainable entries of a model (DESIGN.md, Engine).
 *
 * A trainable tensor is either sparse (the k entries a mask selects; the engine computes their
 * gradients only, GRAD_SPARSE) or dense (all entries: the head, all:true tensors).  Adam's
 * state m, v exists only for trainable entries.  The update is PyTorch's AdamW, entry by entry:
 *   θ ← θ·(1 − lr·wd)                       (decayed tensors: not biases, not LayerNorm weights)
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
 *   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
 * with g the clipped gradient.  decay_frozen reproduces the reference code's quirk (PAPER.md):
 * every decayed tensor decays at all its entries, trained or not, as when a dense optimiser
 * sees masked (zero) gradients.
 *
 * Clip scope (the gradient norm that clipping uses): by default the norm of what is trained.
 * dense_grads (masktrain --clip-scope all) reproduces the reference, which clips with the norm
 * of the dense gradient of every parameter before masking: every tensor then gets a dense
 * gradient (GRAD_DENSE, a model-sized buffer and a full backward), and a sparse tensor's
 * update reads its k entries out of it. */
#ifndef SPARSETUNE_OPTIM_H
#define SPARSETUNE_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct TrainTensor {
    int idx;          /* model parameter index */
    int sparse;       /* 1: entries index[0..k); 0: all numel entries */
    uint32_t *index;  /* owned, sorted unique (sparse), host memory */
    const uint32_t *dindex; /* the same in backend memory (the model's copy, GradSpec; with
                             * dense_grads the optimiser's own copy, dindex_own) */
    uint32_t *dindex_own;
    size_t k;         /* trainable entries (numel when dense) */
    int decay;        /* weight decay applies */
    float *m, *v;     /* Adam state [k], backend memory (on the GPU with --device cuda) */
    float *theta0;    /* the base values at the trainable entries [k] (for the delta), host */
} TrainTensor;

typedef struct Optim {
    TrainTensor *t;
    int n;
    double beta1, beta2, eps, weight_decay;
    int decay_frozen;
    int dense_grads; /* clip with the dense gradient of every tensor (set before optim_add) */
    long step; /* optimizer steps taken */
    float *keep; /* backend scratch of keep_n floats (decay_frozen: trained values kept aside) */
    size_t keep_n;
    float *gsel; /* backend scratch of gsel_n floats (dense_grads: a sparse tensor's entries) */
    size_t gsel_n;
} Optim;

/* Does weight decay apply to this parameter (HF/jiant: not "bias", not "LayerNorm.weight")? */
int optim_decays(const char *name);

void optim_init(Optim *o, double beta1, double beta2, double eps, double weight_decay,
                int decay_frozen);
/* Add a trainable tensor (index NULL: dense) and set the model's gradient mode for it;
 * index is copied.  Tensors never added are frozen (GRAD_NONE) after optim_freeze_rest, or
 * with dense_grads keep their dense gradient (for the norm) and are not updated. */
void optim_add(Optim *o, Model *m, int idx, const uint32_t *index, size_t k);
void optim_freeze_rest(Optim *o, Model *m);
size_t optim_trainable(const Optim *o);

/* L2 norm of the gradients at the trainable entries (dense_grads: of every tensor). */
double optim_grad_norm(const Optim *o, Model *m);
/* One AdamW step with learning rate lr on gradients scaled by clip (1 = none); then the used
 * gradient entries (dense_grads: all gradients) are zeroed for the next step. */
void optim_step(Optim *o, Model *m, double lr, double clip);
void optim_free(Optim *o);

/* Linear warm-up then linear decay to 0 at total (HF's get_linear_schedule_with_warmup:
 * factor step/warmup during warm-up, (total − step)/(total − warmup) after), or warm-up then
 * constant.  step is 0-based (the number of optimizer steps already taken). */
double lr_at(double lr, long step, long warmup, long total, int constant);

#endif
