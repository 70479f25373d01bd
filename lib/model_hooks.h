/* model_hooks.h — the engine's gradient helpers, for the structural methods (lib/methods/)
 * whose forward and backward hooks run inside model_forward / model_backward.  Not for
 * tools: they use model.h. */
#ifndef SPARSETUNE_MODEL_HOOKS_H
#define SPARSETUNE_MODEL_HOOKS_H

#include "model.h"

/* Backward of the Linear with weight tensor wi and bias wi + 1 (y = x W^T + b, W [out,in]),
 * honouring both tensors' GradModes and the Linear's LoRA (if any): dx = (acc: +=) dy W
 * (+ LoRA's part); dx may be NULL. */
void model_linear_grads(Model *m, int wi, float *dx, int acc, const float *dy, const float *x,
                        int N, int in, int out);
/* Backward of the LayerNorm with weight wi and bias wi + 1 honouring their GradModes:
 * dx = (acc: +=) LN backward; the weight and bias gradients accumulate. */
void model_layernorm_grads(Model *m, int wi, float *dx, int acc, const float *dy, const float *x,
                           const float *mean, const float *rstd, int N, int H);

#endif
