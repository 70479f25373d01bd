/* cuda_fixture.h — shared by the tests/unit/test_cuda_*.c files: the CUDA backend (or a skip
 * with the reason), host <-> backend copies, deterministic data and error measures. */
#ifndef SPARSETUNE_CUDA_FIXTURE_H
#define SPARSETUNE_CUDA_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ops_backend.h"

/* The CUDA backend in fp32, or NULL after harness_skip(reason) (no CUDA build, no device). */
const OpsBackend *cuda_or_skip(void);

/* Backend copies of host arrays (n elements; NULL stays NULL; n = 0 allocates one element). */
float *tc_put(const OpsBackend *b, const float *h, size_t n);
int32_t *tc_put_i32(const OpsBackend *b, const int32_t *h, size_t n);
uint32_t *tc_put_u32(const OpsBackend *b, const uint32_t *h, size_t n);
/* A host copy (malloc'ed) of n floats of backend memory. */
float *tc_get(const OpsBackend *b, const float *d, size_t n);
/* A backend buffer full of NaN: an output the op must write everywhere. */
float *tc_poisoned(const OpsBackend *b, size_t n);

/* Deterministic data in [lo, hi) from seed; tc_rand returns a malloc'ed array. */
void tc_fill(float *x, size_t n, uint32_t seed, float lo, float hi);
float *tc_rand(size_t n, uint32_t seed, float lo, float hi);

/* max |a - r| / max |r| (absolute where r is all 0); NaN anywhere counts as infinite. */
double tc_rel_err(const float *a, const float *r, size_t n);

#endif
