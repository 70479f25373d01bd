/* none.c — the CUDA entry points of a build without nvcc: asking for the GPU gives a clear
 * error, everything else runs on the CPU backend. */
#include <stdio.h>

#include "ops_backend.h"

const OpsBackend *ops_cuda_backend(char *err, size_t errlen, char *describe, size_t desclen) {
    (void)describe, (void)desclen;
    snprintf(err, errlen, "this build has no CUDA backend (it was built without nvcc, or with CUDA=0; "
             "rebuild with nvcc on PATH or NVCC=/path/to/nvcc)");
    return NULL;
}

int ops_cuda_set_precision(OpsPrecision p, char *err, size_t errlen) {
    (void)p;
    snprintf(err, errlen, "this build has no CUDA backend");
    return -1;
}

const char *ops_cuda_build(void) { return "none"; }
