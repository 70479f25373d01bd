/* elementwise.cu — GELU (erf form), tanh, ReLU, residual adds and dropout (ops.h contracts).
 *
 * Results follow ops_cpu.c operation by operation: the same erf polynomial, and products that
 * the CPU rounds before an addition are written __fmul_rn so that nvcc does not fuse them into
 * an FMA (C11 does not contract; near the zeros of gelu' and at tanh ~ +-1 a fused product
 * would change the result by far more than an ulp).  Dropout regenerates ops.h's Philox mask
 * bit for bit: one thread per Philox block = 4 consecutive elements. */
#include "cuda_common.h"
#include "philox.cuh"


#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f
#define RNG_STREAM_DROPOUT_ 2u /* rng.h's RNG_STREAM_DROPOUT */

/* ops_cpu.c's erf: a + a P(a^2) for |a| <= 0.875, else sign(a) (1 - exp(Q(min(|a|, 4)))). */
__device__ __forceinline__ float cu_erf_cpu(float a) {
    float t = fabsf(a), tc = t < 4.0f ? t : 4.0f;
    float q = 2.009970631e-04f;
    q = fmaf(q, tc, -3.092300147e-03f);
    q = fmaf(q, tc, 2.242024802e-02f);
    q = fmaf(q, tc, -1.043275669e-01f);
    q = fmaf(q, tc, -6.367371678e-01f);
    q = fmaf(q, tc, -1.127936125e+00f);
    q = fmaf(q, tc, -1.335656852e-04f);
    float e = expf(q);
    float s = a * a;
    float p = -6.203237572e-04f;
    p = fmaf(p, s, 5.032178480e-03f);
    p = fmaf(p, s, -2.679146081e-02f);
    p = fmaf(p, s, 1.128245518e-01f);
    p = fmaf(p, s, -3.761255145e-01f);
    p = fmaf(p, s, 1.283791512e-01f);
    float small = fmaf(p, a, a);
    return t > 0.875f ? copysignf(1.0f - e, a) : small;
}

__global__ void gelu_fwd_kernel(float *y, const float *x, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = x[i];
        float e = cu_erf_cpu(v * INV_SQRT2);
        y[i] = 0.5f * v * (1.0f + e);
    }
}

__global__ void gelu_bwd_kernel(float *dx, const float *dy, const float *x, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = x[i];
        float e = cu_erf_cpu(v * INV_SQRT2);
        float g = expf(-0.5f * v * v);
        float cdf = 0.5f * (1.0f + e);
        dx[i] = dy[i] * __fadd_rn(cdf, __fmul_rn(v, INV_SQRT_2PI * g));
    }
}

__global__ void tanh_fwd_kernel(float *y, const float *x, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = tanhf(x[i]);
}

__global__ void tanh_bwd_kernel(float *dx, const float *dy, const float *y, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = y[i];
        dx[i] = dy[i] * (1.0f - __fmul_rn(v, v));
    }
}

__global__ void relu_fwd_kernel(float *y, const float *x, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_bwd_kernel(float *dx, const float *dy, const float *y, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void add_kernel(float *y, const float *a, const float *b, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = a[i] + b[i];
}

__global__ void accumulate_kernel(float *y, const float *x, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

/* Philox block b covers elements 4b..4b+3; vec: x and y 16-byte aligned (one float4 each way
 * for a full block).  Each element is read before it is written by the same thread: y may
 * alias x. */
__global__ void dropout_kernel(float *y, const float *x, size_t n, uint32_t thr, float scale,
                               uint32_t k0, uint32_t k1, uint32_t sub, int vec) {
    size_t nblk = (n + 3) / 4;
    for (size_t b = (size_t)blockIdx.x * blockDim.x + threadIdx.x; b < nblk; b += (size_t)gridDim.x * blockDim.x) {
        uint32_t r[4];
        cu_philox4x32_10((uint32_t)b, (uint32_t)((uint64_t)b >> 32), sub, RNG_STREAM_DROPOUT_, k0, k1, r);
        size_t i0 = b * 4;
        if (vec && i0 + 4 <= n) {
            float4 v = reinterpret_cast<const float4 *>(x)[b];
            v.x = (r[0] >> 8) >= thr ? v.x * scale : 0.0f;
            v.y = (r[1] >> 8) >= thr ? v.y * scale : 0.0f;
            v.z = (r[2] >> 8) >= thr ? v.z * scale : 0.0f;
            v.w = (r[3] >> 8) >= thr ? v.w * scale : 0.0f;
            reinterpret_cast<float4 *>(y)[b] = v;
        } else {
            for (int j = 0; j < 4 && i0 + j < n; j++) y[i0 + j] = (r[j] >> 8) >= thr ? x[i0 + j] * scale : 0.0f;
        }
    }
}

void cu_gelu_fwd(float *y, const float *x, size_t n) {
    if (n) KLAUNCH(gelu_fwd_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, y, x, n);
}

void cu_gelu_bwd(float *dx, const float *dy, const float *x, size_t n) {
    if (n) KLAUNCH(gelu_bwd_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, dx, dy, x, n);
}

void cu_tanh_fwd(float *y, const float *x, size_t n) {
    if (n) KLAUNCH(tanh_fwd_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, y, x, n);
}

void cu_tanh_bwd(float *dx, const float *dy, const float *y, size_t n) {
    if (n) KLAUNCH(tanh_bwd_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, dx, dy, y, n);
}

void cu_relu_fwd(float *y, const float *x, size_t n) {
    if (n) KLAUNCH(relu_fwd_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, y, x, n);
}

void cu_relu_bwd(float *dx, const float *dy, const float *y, size_t n) {
    if (n) KLAUNCH(relu_bwd_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, dx, dy, y, n);
}

void cu_add(float *y, const float *a, const float *b, size_t n) {
    if (n) KLAUNCH(add_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, y, a, b, n);
}

void cu_accumulate(float *y, const float *x, size_t n) {
    if (n) KLAUNCH(accumulate_kernel, cu_blocks(n, CU_THREADS), CU_THREADS, 0, y, x, n);
}

/* The keep test of ops_cpu.c without floats: (r >> 8) * 2^-24 >= p <=> (r >> 8) >= ceil(p 2^24);
 * p >= 1 or NaN keeps nothing. */
static void dropout_apply(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub) {
    if (n == 0) return;
    if (p <= 0.0f) {
        if (y != x) CU_CHECK(cudaMemcpyAsync(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice, cu_stream));
        return;
    }
    float scale = (float)(1.0 / (1.0 - (double)p));
    uint32_t thr = p < 1.0f ? (uint32_t)ceilf(p * 16777216.0f) : 1u << 24;
    int vec = (((uintptr_t)x | (uintptr_t)y) & 15) == 0;
    KLAUNCH(dropout_kernel, cu_blocks((n + 3) / 4, CU_THREADS), CU_THREADS, 0, y, x, n, thr, scale,
            (uint32_t)seed, (uint32_t)(seed >> 32), sub, vec);
}

void cu_dropout_fwd(float *y, const float *x, size_t n, float p, uint64_t seed, uint32_t sub) {
    dropout_apply(y, x, n, p, seed, sub);
}

void cu_dropout_bwd(float *dx, const float *dy, size_t n, float p, uint64_t seed, uint32_t sub) {
    dropout_apply(dx, dy, n, p, seed, sub);
}
