/* ops.h — the op layer of the engine: every piece of arithmetic the model does.
 *
 * lib/model.c is written only against these functions; lib/ops_cpu.c implements them on the
 * CPU (oneDNN sgemm + OpenMP) and a CUDA backend (kernels/) can implement the same
 * declarations on device pointers without touching the model.  Rules every backend follows:
 *   - buffers are plain row-major float (or int32) arrays of explicit size; no hidden state;
 *   - pointer arguments named d* are gradients; "accumulate" means +=, otherwise =;
 *   - forward ops never read their output buffer; in-place (y == x) is allowed where noted.
 *
 * Shapes: N = number of token rows (S sequences x T padded positions), H = hidden size,
 * NH = heads, HD = H / NH, I = FFN size.
 *
 * DROPOUT (bit-exact contract; the GPU must reproduce it):
 *   element i (flat row-major index into the tensor the dropout is applied to) of dropout call
 *   c of training step `step` is kept iff
 *       rng_u32_to_unit_float(philox_word_at(seed, RNG_STREAM_DROPOUT, sub, i)) >= p
 *   with sub = op_dropout_sub(step, c) = (step << 8) | c   (step < 2^24, c < 256),
 *   i.e. Philox4x32-10 key = (seed lo, seed hi), counter = (i/4 lo, i/4 hi, sub, 2), word i%4.
 *   Kept values are multiplied by scale = (float)(1.0 / (1.0 - (double)p)) (PyTorch's
 *   inverted dropout); dropped values are 0.  The backward op regenerates the same mask, so
 *   masks are never stored.  The model's call indices c are documented in model.h.
 */
#ifndef SPARSETUNE_OPS_H
#define SPARSETUNE_OPS_H

#include <stddef.h>
#include <stdint.h>

/* ---- memory (device memory on a GPU backend; ops_backend.h selects the backend) ---- */
float *ops_alloc(size_t nfloats);           /* uninitialised, 64-byte aligned; dies on OOM */
int32_t *ops_alloc_i32(size_t n);
void ops_free(void *p);
void ops_zero(float *p, size_t n);
void ops_upload(void *dst, const void *host_src, size_t nbytes);   /* host -> backend */
void ops_download(void *host_dst, const void *src, size_t nbytes); /* backend -> host */

/* ---- matrix product ----
 * C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X ('N') or X^T ('T');
 * lda/ldb/ldc are row strides of A, B, C as stored. */
void op_gemm(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* ---- embeddings ----
 * out[n,:] = wte[ids[n],:] + wpe[pos[n],:] + wtt[tt[n],:]   (tt may be NULL = all 0).
 * The ids/positions must already be validated (< rows). */
void op_embed_fwd(float *out, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                  const float *wte, const float *wpe, const float *wtt, int N, int H);
/* dwte[ids[n]] += dout[n], dwpe[pos[n]] += dout[n], dwtt[tt[n]] += dout[n] (any may be NULL). */
void op_embed_bwd(const float *dout, const int32_t *ids, const int32_t *pos, const int32_t *tt,
                  float *dwte, float *dwpe, float *dwtt, int N, int H);
/* RoBERTa position ids: pos = pad + cumulative count of non-pad tokens in the row for
 * non-pad tokens (so the first is pad + 1), pad for pad tokens. ids [S,T].  Host memory on
 * every backend (the model computes positions before uploading them). */
void op_position_ids(int32_t *pos, const int32_t *ids, int S, int T, int pad);

/* ---- LayerNorm over the last dimension (biased variance, eps inside the sqrt) ----
 * y = (x - mean) * rstd * w + b; mean/rstd [N] are saved for the backward. y may alias x. */
void op_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w,
                      const float *b, int N, int H, float eps);
/* dx = (or += when accumulate) LN backward; dw += sum_n dy*xhat, db += sum_n dy. */
void op_layernorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *mean, const float *rstd, const float *w, int N, int H,
                      int accumulate);

/* ---- linear: y[N,out] = x[N,in] W^T + b, W stored [out,in] (HF/PyTorch layout) ---- */
void op_linear_fwd(float *y, const float *x, const float *W, const float *b, int N, int in,
                   int out);
/* dx = / += dy W (dx may be NULL), dW += dy^T x (may be NULL), db += colsum dy (may be NULL). */
void op_linear_bwd(float *dx, float *dW, float *db, const float *dy, const float *x,
                   const float *W, int N, int in, int out, int accumulate_dx);

/* ---- sparse gradients (the selected entries of a masked tensor only) ----
 * idx: k sorted unique flat positions into the tensor; the gradients are COMPACT: dW[j] is
 * the gradient of entry idx[j] (k floats, no tensor-sized buffer).
 * Sampled product for a Linear weight: dW[j] += sum_n dy[n,o] x[n,i] with (o,i) = idx[j];
 * scratch holds (in + out) * N floats (transposed copies of dy and x). */
void op_linear_dw_sparse(float *dW, const uint32_t *idx, size_t k, const float *dy,
                         const float *x, int N, int in, int out, float *scratch);
/* dst[j] += src[idx[j]] (a dense small gradient, e.g. a bias, gathered at idx). */
void op_add_selected(float *dst, const uint32_t *idx, size_t k, const float *src);
/* Embedding rows: dw[j] += dout[n, idx[j] - rows[n]*H] for every token n whose row
 * rows[n] (NULL: row 0) holds idx[j]. */
void op_embed_bwd_sparse(float *dw, const uint32_t *idx, size_t k, const int32_t *rows,
                         const float *dout, int N, int H);

/* ---- elementwise ---- */
void op_gelu_fwd(float *y, const float *x, size_t n); /* x * Phi(x), erf form; y may alias x */
void op_gelu_bwd(float *dx, const float *dy, const float *x, size_t n); /* dx = dy*gelu'(x) */
void op_tanh_fwd(float *y, const float *x, size_t n);
void op_tanh_bwd(float *dx, const float *dy, const float *y, size_t n); /* y = tanh output */
void op_relu_fwd(float *y, const float *x, size_t n);                 /* y = max(x, 0); y may alias x */
void op_relu_bwd(float *dx, const float *dy, const float *y, size_t n); /* dx = y > 0 ? dy : 0 */
void op_add(float *y, const float *a, const float *b, size_t n);       /* residual: y = a + b */
void op_accumulate(float *y, const float *x, size_t n);                /* y += x */

/* ---- dropout (see the contract above); y may alias x; p == 0 copies ---- */
static inline uint32_t op_dropout_sub(uint32_t step, uint32_t call) {
    return (step << 8) | (call & 255u);
}
void op_dropout_fwd(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub);
/* dx = dy * mask * scale (same mask); dx may alias dy. */
void op_dropout_bwd(float *dx, const float *dy, size_t n, float p, uint64_t seed, uint32_t sub);

/* ---- attention, per (sequence, head) products on [N,H] row-major q/k/v ----
 * scores[s,h,i,j] = scale * q[s,i,h] . k[s,j,h] + maskadd[s,j]   (scores [S,NH,T,T]);
 * maskadd is 0 for real tokens and a large negative value for padding. */
void op_attn_scores_fwd(float *scores, const float *q, const float *k, const float *maskadd,
                        int S, int T, int NH, int HD, float scale);
/* dq = scale * dscores k, dk = scale * dscores^T q (both overwritten). */
void op_attn_scores_bwd(float *dq, float *dk, const float *dscores, const float *q,
                        const float *k, int S, int T, int NH, int HD, float scale);
/* ctx[s,i,h] = sum_j p[s,h,i,j] v[s,j,h]. */
void op_attn_context_fwd(float *ctx, const float *p, const float *v, int S, int T, int NH,
                         int HD);
/* dp = dctx v^T, dv = p^T dctx (both overwritten). */
void op_attn_context_bwd(float *dp, float *dv, const float *dctx, const float *p,
                         const float *v, int S, int T, int NH, int HD);

/* ---- softmax over the last dimension of [rows, cols]; y may alias x ---- */
void op_softmax_fwd(float *y, const float *x, size_t rows, int cols);
/* dx = y * (dy - sum(dy*y)); dx may alias dy. */
void op_softmax_bwd(float *dx, const float *dy, const float *y, size_t rows, int cols);

/* ---- losses: mean over the B rows, returned to the host; the backward writes
 * dlogits = dloss * d(mean)/dlogits ----
 * Cross-entropy on logits [B,C] with integer labels; also the multiple-choice loss (one row per
 * example, one column per choice score).  probs [B,C] are saved softmax values. */
float op_cross_entropy_fwd(float *probs, const float *logits, const int32_t *labels, int B,
                           int C);
void op_cross_entropy_bwd(float *dlogits, const float *probs, const int32_t *labels, int B,
                          int C, float dloss);
/* Mean squared error on predictions [B] vs targets [B]. */
float op_mse_fwd(const float *pred, const float *target, int B);
void op_mse_bwd(float *dpred, const float *pred, const float *target, int B, float dloss);

/* ---- self-attentive span pooling (jiant/AllenNLP SelfAttentiveSpanExtractor) ----
 * x [S,T,H] token vectors, a [S,T] attention logits (from a Linear(H->1)); spans [S,NS,2]
 * inclusive token ranges (0 <= start <= end < T).  For every (s, j):
 *   w = softmax(a[s, start..end]),  out[s, j*H:(j+1)*H] = sum_t w_t x[s,t,:]
 * so out is [S, NS*H] (spans concatenated).  w [S,NS,T] saved (0 outside the span). */
void op_span_pool_fwd(float *out, float *w, const float *x, const float *a,
                      const int32_t *spans, int S, int T, int H, int NS);
/* dx += w dout (within spans), da = w * (dout.x_t - dout.out) (overwritten, 0 outside). */
void op_span_pool_bwd(float *dx, float *da, const float *dout, const float *out,
                      const float *w, const float *x, const int32_t *spans, int S, int T,
                      int H, int NS);

/* ---- gather/scatter rows: the <s> vector of each sequence ----
 * y[s,:] = x[s*T + 0, :] ; backward dx[s*T,:] += dy[s,:]. */
void op_gather_first_fwd(float *y, const float *x, int S, int T, int H);
void op_gather_first_bwd(float *dx, const float *dy, int S, int T, int H);

/* ---- training, gradient statistics, selection (optimizer, trainer, gradacc, sam-select) ---- */
void op_gather(float *dst, const float *src, const uint32_t *idx, size_t k);  /* dst[j] = src[idx[j]] */
void op_scatter(float *dst, const uint32_t *idx, size_t k, const float *src); /* dst[idx[j]] = src[j] */
void op_scale(float *x, size_t n, float f);                                   /* x *= f */
/* Sum of x[i]^2 over x[0..n), accumulated in double, returned to the host. */
double op_sumsq(const float *x, size_t n);
/* Sum over t < count of op_sumsq(x[t], n[t]) with one round trip to the host (x: a host array
 * of backend pointers) — the gradient norm of many tensors without a sync per tensor. */
double op_sumsq_many(const float *const *x, const size_t *n, int count);
/* acc[i] += g[i] (OP_REDUCE_SUM), g[i]^2 (OP_REDUCE_SUMSQ) or |g[i]| (OP_REDUCE_ABS). */
enum { OP_REDUCE_SUM = 0, OP_REDUCE_SUMSQ = 1, OP_REDUCE_ABS = 2 };
void op_reduce_into(float *acc, const float *g, size_t n, int kind);
/* AdamW (optim.h) on k entries, e = idx ? idx[j] : j, in PyTorch's operation order in float:
 *   t = theta[e] * decay;  gj = g[j] * clip;
 *   m[j] = beta1*m[j] + (1-beta1)*gj;  v[j] = beta2*v[j] + (1-beta2)*gj*gj;
 *   theta[e] = t - step_size * (m[j] / (sqrtf(v[j]) / bc2_sqrt + eps));  g[j] = 0. */
typedef struct AdamwStep { float decay, clip, beta1, beta2, step_size, bc2_sqrt, eps; } AdamwStep;
void op_adamw(float *theta, float *g, float *m, float *v, const uint32_t *idx, size_t k,
              const AdamwStep *s);
/* Top k of x[0..n) (backend memory) by key (0: |x|, 1: x; select.h's order: ties to the lower
 * index, -0 == +0), the k indices ascending into out (HOST memory).  Returns 0, -1 when x
 * holds a NaN, -2 when n > UINT32_MAX or k > n (select.h's SELECT_* codes). */
int op_topk(const float *x, size_t n, size_t k, int key, uint32_t *out);

#endif
