/* cuda_fixture.c — see cuda_fixture.h. */
#include "cuda_fixture.h"

#include <math.h>
#include <stdlib.h>

#include "harness.h"

const OpsBackend *cuda_or_skip(void) {
    char err[512] = "", perr[128];
    const OpsBackend *cu = ops_cuda_backend(err, sizeof err, NULL, 0);
    if (!cu) {
        harness_skip(err);
        return NULL;
    }
    CHECK(ops_cuda_set_precision(OPS_FP32, perr, sizeof perr) == 0);
    return cu;
}

float *tc_put(const OpsBackend *b, const float *h, size_t n) {
    if (!h) return NULL;
    float *d = b->alloc(n ? n : 1);
    if (n) b->upload(d, h, n * sizeof *h);
    return d;
}

int32_t *tc_put_i32(const OpsBackend *b, const int32_t *h, size_t n) {
    if (!h) return NULL;
    int32_t *d = b->alloc_i32(n ? n : 1);
    if (n) b->upload(d, h, n * sizeof *h);
    return d;
}

uint32_t *tc_put_u32(const OpsBackend *b, const uint32_t *h, size_t n) {
    return (uint32_t *)tc_put_i32(b, (const int32_t *)h, n);
}

float *tc_get(const OpsBackend *b, const float *d, size_t n) {
    float *h = malloc((n ? n : 1) * sizeof *h);
    if (n) b->download(h, d, n * sizeof *h);
    return h;
}

float *tc_poisoned(const OpsBackend *b, size_t n) {
    float *h = malloc((n ? n : 1) * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = NAN;
    float *d = tc_put(b, h, n);
    free(h);
    return d;
}

void tc_fill(float *x, size_t n, uint32_t seed, float lo, float hi) {
    uint64_t s = 0x9e3779b97f4a7c15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = lo + (hi - lo) * (float)((double)(s >> 40) / (double)(1ull << 24));
    }
}

float *tc_rand(size_t n, uint32_t seed, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    tc_fill(x, n, seed, lo, hi);
    return x;
}

double tc_rel_err(const float *a, const float *r, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - r[i]);
        if (!(e == e)) return INFINITY;
        if (e > d) d = e;
        if (fabs(r[i]) > m) m = fabs(r[i]);
    }
    return m > 0 ? d / m : d;
}
