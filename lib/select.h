/* select.h — top-k and random selection of flat positions for masks.
 *
 * Order: entries are ranked by a key (|x| or x) in decreasing order; equal keys are ranked by
 * position, lower first — (tensor order, flat index) in global mode.  The top k under this total
 * order is one well-defined set, so the result never depends on the thread count.  -0.0 and
 * +0.0 are equal keys (a tie), ±Inf are ordinary keys, NaN is an error (SELECT_ENAN).
 * Results are flat indices in ascending order (the mask stream's `index` layout).
 *
 * Algorithm: the float's bits mapped to an order-preserving uint32 key (|x|: the bits without
 * the sign; x: sign-flipped), then a two-round radix selection (histogram of the high 16 bits,
 * then of the low 16 bits among the entries in the chosen bin) finds the k-th key T and how
 * many entries equal to T are taken; a count pass and a write pass then emit the entries above
 * T and the first ones equal to T, chunk by chunk (fixed 64 Ki-entry chunks over all tensors,
 * in (tensor, index) order) at offsets from a prefix sum, so the output comes out ascending.
 * Four streaming passes, no sort, O(n); four OpenMP regions per call (inputs of at least
 * select_parallel_min entries), whatever the number of tensors.  Tensors of at most 2048
 * entries take a sort-based path.  For the per-tensor mode over a whole model prefer
 * select_topk_each (parallel over tensors, one region): on a busy machine every OpenMP region
 * can cost a scheduling delay.
 *
 * Index type: uint32, so n <= UINT32_MAX per tensor; SELECT_ERANGE otherwise or when k > n. */
#ifndef SPARSETUNE_SELECT_H
#define SPARSETUNE_SELECT_H

#include <stddef.h>
#include <stdint.h>

typedef enum SelectKey {
    SELECT_ABS = 0,   /* largest |x| (SAM's |G|, magnitude |θ|, non-negative scores) */
    SELECT_VALUE = 1, /* largest x, signed */
} SelectKey;

enum { SELECT_OK = 0, SELECT_ENAN = -1, SELECT_ERANGE = -2 };

/* Inputs (a call's total entries) below this many run on one thread; default 4 Mi.  A tuning
 * knob, and lets tests drive the parallel path with small inputs. */
extern size_t select_parallel_min;

/* k = floor(ratio · n) with the product rounded once to double, then truncated: exactly
 * Python's int(ratio * numel), which is how the reference code computes k (so masks agree
 * with it).  E.g. 0.005 · 2304 = 11.52 -> 11; 0.005 · 589824 = 2949.12 -> 2949.  Note that a
 * decimal ratio is not exact in binary: 0.29 · 100 = 28.999999999999996 -> 28, as in Python.
 * ratio must be in [0, 1]; the result is clamped to n. */
size_t select_count(double ratio, size_t n);

/* Top k of x[0..n) by key; out receives k indices, ascending.  On error out is untouched. */
int select_topk(const float *x, size_t n, size_t k, SelectKey key, uint32_t *out);

/* Per-tensor top k of T tensors at once: out[t] receives the k[t] ascending indices of
 * select_topk(x[t], n[t], k[t], key, ...).  Parallel over tensors (largest first, one thread
 * each) — fewer synchronisations than parallelising inside each tensor, which matters when
 * the machine is shared.  Returns the error of the first failing tensor in tensor order, its
 * index in *bad (when bad is not NULL); the other tensors' outputs are then unspecified. */
int select_topk_each(const float *const *x, const size_t *n, const size_t *k, size_t T,
                     SelectKey key, uint32_t *const *out, size_t *bad);

/* Top k over the union of T tensors x[t][0..n[t]) (ties by tensor order, then index).
 * out[t] receives count[t] ascending indices of tensor t; each out[t] must hold n[t] entries
 * (or min(n[t], k)).  Σ count[t] = k. */
int select_topk_global(const float *const *x, const size_t *n, size_t T, size_t k, SelectKey key,
                       uint32_t *const *out, size_t *count);

/* Exactly k of n positions uniformly at random (every k-subset equally likely), ascending,
 * from the Philox stream (seed, RNG_STREAM_RANDOM_MASK, sub) — sub = the tensor's index in the
 * model, so each tensor's choice is independent of the others and of thread counts.  Floyd's
 * algorithm (k draws of rng_below, a bitmap of n bits for membership), then a scan of the
 * bitmap.  O(k + n/64) time, n/8 bytes. */
int select_random(uint64_t seed, uint32_t sub, size_t n, size_t k, uint32_t *out);

#endif
