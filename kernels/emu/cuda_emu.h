/* cuda_emu.h — the CUDA emulator: kernels written in the dialect of kernels/cuda_compat.h,
 * compiled as plain C++17 with -DSPARSETUNE_CUDA_EMU, run on the CPU with CUDA semantics.
 *
 * Execution model (emu_launch.cpp):
 *   - one launch at a time (a process-wide mutex serialises launches from OpenMP callers);
 *   - the blocks of a grid run one after another, in order (x fastest, then y, then z);
 *   - every thread of a block is a fiber (own stack, hand-written switch on x86-64, ucontext
 *     elsewhere), run round-robin in thread order; a fiber switches only at a barrier
 *     (__syncthreads, warp shuffles, __syncwarp, ballots), so the code between two barriers
 *     runs without interleaving.  A kernel whose thread 0 finishes without reaching a barrier
 *     runs its remaining threads as plain calls (no fiber switch);
 *   - __shared__ is `static`: blocks run one at a time on one OS thread, so function-static
 *     storage is exactly one block's shared memory.  It is NOT reset between blocks (reads
 *     of unwritten static shared memory see the previous block's values, not garbage);
 *   - dynamic shared memory (emu_dyn_smem / DYN_SMEM) is a fresh buffer of exactly the launch's
 *     size (ASan catches overruns), filled with 0xCD bytes before every block;
 *   - warp shuffles, ballots and __syncwarp are implemented with per-thread exchange slots and
 *     BLOCK barriers: every thread of the block must call them the same number of times
 *     (uniform control flow), with the full mask of its warp; a divergent barrier (some
 *     threads finished or wait at another kind of barrier) dies with the kernel's name.
 * The runtime API (emu_runtime.cpp) works on plain host memory (cudaMalloc poisons new memory
 * with 0xFF bytes = NaN floats) and checks that device pointers lie in live allocations;
 * everything is synchronous.  cuBLAS (emu_cublas.cpp) is an exact column-major reference
 * with double accumulation. */
#ifndef SPARSETUNE_CUDA_EMU_H
#define SPARSETUNE_CUDA_EMU_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

/* ---- keywords ---- */
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static /* one block at a time on one OS thread: see above */
/* __restrict__ is a g++ keyword already. */

/* ---- built-in types and variables ---- */
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
extern uint3 threadIdx, blockIdx; /* set by the scheduler before it resumes each fiber */
extern dim3 blockDim, gridDim;
static constexpr int warpSize = 32;

struct __align__(8) float2 { float x, y; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(8) uint2 { unsigned x, y; };
struct __align__(16) uint4 { unsigned x, y, z, w; };
struct __align__(16) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }

/* ---- launch (emu_launch.cpp) ----
 * Runs body once per thread of every block.  Dies with a clear message on an invalid
 * configuration (block 1..1024 threads, x/y <= 1024, z <= 64; grid x < 2^31, y/z <= 65535;
 * smem <= 227 KiB, > 48 KiB only after cudaFuncSetAttribute(kernel,
 * cudaFuncAttributeMaxDynamicSharedMemorySize, >= smem)), on a divergent barrier and on a
 * launch from inside a kernel.  name is the kernel's name for messages. */
void emu_launch(dim3 grid, dim3 block, size_t smem, const char *name, std::function<void()> body);
extern unsigned char *emu_dyn_smem_ptr;
inline void *emu_dyn_smem(void) { return emu_dyn_smem_ptr; }
/* Fatal emulator errors (bad launch, divergent barrier, host pointer given to cuBLAS): the
 * message goes to emu_fatal_hook when set (which must not return; the backend can route it to
 * its own die() so tools clean up as usual), else to stderr as "cuda-emu: ..." and exit(1). */
[[noreturn]] void emu_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern void (*emu_fatal_hook)(const char *msg);

/* Barriers and the warp exchange.  mode: 0 idx, 1 up, 2 down, 3 bfly (PTX shfl.sync). */
enum { EMU_BAR_SYNC = 0, EMU_BAR_SHFL, EMU_BAR_WARP, EMU_BAR_VOTE, EMU_BAR_COUNT };
void emu_barrier(int kind);
uint64_t emu_shfl(unsigned mask, uint64_t v, int mode, int b, int width);
unsigned emu_ballot(unsigned mask, int pred);
int emu_sync_count(int pred); /* __syncthreads_count */
unsigned emu_activemask(void);

inline void __syncthreads(void) { emu_barrier(EMU_BAR_SYNC); }
inline int __syncthreads_count(int pred) { return emu_sync_count(pred); }
inline int __syncthreads_or(int pred) { return emu_sync_count(pred) != 0; }
inline int __syncthreads_and(int pred) { return emu_sync_count(pred) == (int)(blockDim.x * blockDim.y * blockDim.z); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { (void)mask; emu_barrier(EMU_BAR_WARP); }
inline void __threadfence(void) {}
inline void __threadfence_block(void) {}

template <class T> inline T emu_shfl_t(unsigned mask, T v, int mode, int b, int width) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "shuffles move 4- or 8-byte values");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    bits = emu_shfl(mask, bits, mode, b, width);
    T r;
    std::memcpy(&r, &bits, sizeof r);
    return r;
}
template <class T> inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) { return emu_shfl_t(mask, v, 0, src, width); }
template <class T> inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32) { return emu_shfl_t(mask, v, 1, (int)d, width); }
template <class T> inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32) { return emu_shfl_t(mask, v, 2, (int)d, width); }
template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) { return emu_shfl_t(mask, v, 3, lane_mask, width); }
inline unsigned __ballot_sync(unsigned mask, int pred) { return emu_ballot(mask, pred); }
inline int __any_sync(unsigned mask, int pred) { return emu_ballot(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return emu_ballot(mask, pred) == (mask & emu_activemask()); }
inline unsigned __activemask(void) { return emu_activemask(); }

/* ---- atomics: fibers switch only at barriers, so plain read-modify-write is atomic ---- */
#define EMU_ATOMIC(T)                                                                          \
    inline T atomicAdd(T *p, T v) { T o = *p; *p = o + v; return o; }                          \
    inline T atomicExch(T *p, T v) { T o = *p; *p = v; return o; }
EMU_ATOMIC(int) EMU_ATOMIC(unsigned) EMU_ATOMIC(unsigned long long) EMU_ATOMIC(float) EMU_ATOMIC(double)
#undef EMU_ATOMIC
#define EMU_ATOMIC_INT(T)                                                                      \
    inline T atomicSub(T *p, T v) { T o = *p; *p = o - v; return o; }                          \
    inline T atomicMax(T *p, T v) { T o = *p; *p = o > v ? o : v; return o; }                 \
    inline T atomicMin(T *p, T v) { T o = *p; *p = o < v ? o : v; return o; }                 \
    inline T atomicAnd(T *p, T v) { T o = *p; *p = o & v; return o; }                          \
    inline T atomicOr(T *p, T v) { T o = *p; *p = o | v; return o; }                           \
    inline T atomicXor(T *p, T v) { T o = *p; *p = o ^ v; return o; }                          \
    inline T atomicCAS(T *p, T cmp, T v) { T o = *p; if (o == cmp) *p = v; return o; }
EMU_ATOMIC_INT(int) EMU_ATOMIC_INT(unsigned) EMU_ATOMIC_INT(unsigned long long)
EMU_ATOMIC_INT(long long)
#undef EMU_ATOMIC_INT
inline unsigned atomicInc(unsigned *p, unsigned v) { unsigned o = *p; *p = o >= v ? 0 : o + 1; return o; }
inline unsigned atomicDec(unsigned *p, unsigned v) { unsigned o = *p; *p = (o == 0 || o > v) ? v : o - 1; return o; }

/* ---- math and bit intrinsics ---- */
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; } /* NaN -> 0 */
inline unsigned __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int u; std::memcpy(&u, &x, 4); return u; }
inline float __int_as_float(int u) { float x; std::memcpy(&x, &u, 4); return x; }
inline long long __double_as_longlong(double x) { long long u; std::memcpy(&u, &x, 8); return u; }
inline double __longlong_as_double(long long u) { double x; std::memcpy(&x, &u, 8); return x; }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)floorf(x); }
inline int __float2int_ru(float x) { return (int)ceilf(x); }
inline unsigned __float2uint_rn(float x) { return (unsigned)nearbyintf(x); }
inline float __int2float_rn(int x) { return (float)x; }
inline float __uint2float_rn(unsigned x) { return (float)x; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
inline int __mulhi(int a, int b) { return (int)(((int64_t)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) { return (unsigned long long)(((unsigned __int128)a * b) >> 64); }
inline long long __mul64hi(long long a, long long b) { return (long long)(((__int128)a * b) >> 64); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
    return (x >> 16) | (x << 16);
}

/* ---- bf16 (16-bit storage; conversions explicit, as kernels must write them anyway) ---- */
struct __align__(2) __nv_bfloat16 { unsigned short bits_; };
struct __align__(4) __nv_bfloat162 { __nv_bfloat16 x, y; };
typedef __nv_bfloat16 nv_bfloat16;
typedef __nv_bfloat162 nv_bfloat162;
inline __nv_bfloat16 __float2bfloat16_rn(float f) { /* nearest even; NaN -> 0x7fff as CUDA */
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(unsigned short)0x7fffu};
    u += 0x7fffu + ((u >> 16) & 1u);
    return {(unsigned short)(u >> 16)};
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline __nv_bfloat16 __float2bfloat16_rz(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(unsigned short)0x7fffu};
    return {(unsigned short)(u >> 16)};
}
inline float __bfloat162float(__nv_bfloat16 h) { return __uint_as_float((unsigned)h.bits_ << 16); }
inline float __low2float(__nv_bfloat162 h) { return __bfloat162float(h.x); }
inline float __high2float(__nv_bfloat162 h) { return __bfloat162float(h.y); }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return {__float2bfloat16_rn(a), __float2bfloat16_rn(b)}; }
inline __nv_bfloat162 __float22bfloat162_rn(float2 f) { return __floats2bfloat162_rn(f.x, f.y); }
inline float2 __bfloat1622float2(__nv_bfloat162 h) { return {__bfloat162float(h.x), __bfloat162float(h.y)}; }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.bits_; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return {u}; }

/* ==== runtime API (emu_runtime.cpp): synchronous, device memory is host memory ==== */
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorLaunchFailure = 719,
} cudaError_t;
typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
} cudaMemcpyKind;
typedef enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout = 9,
} cudaFuncAttribute;
typedef enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock = 1,
    cudaDevAttrMaxSharedMemoryPerBlock = 8,
    cudaDevAttrWarpSize = 10,
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrL2CacheSize = 38,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
} cudaDeviceAttr;
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock, sharedMemPerBlockOptin, sharedMemPerMultiprocessor;
    size_t totalConstMem;
    int regsPerBlock, warpSize, maxThreadsPerBlock, maxThreadsDim[3], maxGridSize[3];
    int major, minor, multiProcessorCount, maxThreadsPerMultiProcessor, l2CacheSize;
    int clockRate, memoryBusWidth, concurrentKernels, integrated, unifiedAddressing;
};

const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError(void);  /* returns and clears the last error */
cudaError_t cudaPeekAtLastError(void);
cudaError_t cudaGetDeviceCount(int *n); /* 1; 0 + cudaErrorNoDevice when SPARSETUNE_EMU_NO_DEVICE=1 */
cudaError_t cudaDriverGetVersion(int *v); /* 12000 (the emulated driver) */
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaMalloc(void **p, size_t n); /* 256-byte aligned, filled with 0xFF */
template <class T> inline cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc(reinterpret_cast<void **>(p), n); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t n);
template <class T> inline cudaError_t cudaMallocHost(T **p, size_t n) { return cudaMallocHost(reinterpret_cast<void **>(p), n); }
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
/* The device side of a copy or memset must lie inside one live cudaMalloc block and the host
 * side outside all of them (cudaMemcpyDefault: anything); else cudaErrorInvalidValue. */
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t s = 0);
cudaError_t cudaMemset(void *p, int value, size_t n);
cudaError_t cudaMemsetAsync(void *p, int value, size_t n, cudaStream_t s = 0);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamQuery(cudaStream_t s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = 0); /* host clock */
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t e);
/* Records the kernel's opt-in shared-memory size under its name (the macro stringises it), so
 * that emu_launch can refuse > 48 KiB without it as the GPU does. */
cudaError_t emu_func_set_attribute(const char *kernel, cudaFuncAttribute attr, int value);
#define cudaFuncSetAttribute(kernel, attr, value) ((void)(kernel), emu_func_set_attribute(#kernel, (attr), (value)))
int emu_func_max_dyn_smem(const char *kernel); /* 48 KiB unless raised */
bool emu_device_range(const void *p, size_t n); /* [p, p+n) inside one live cudaMalloc block */

/* ==== cuBLAS (emu_cublas.cpp): column-major, host pointer mode, synchronous ==== */
typedef struct cublasContext *cublasHandle_t;
typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;
typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
} cublasMath_t;
typedef enum { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 } cublasPointerMode_t;
typedef enum cudaDataType_t {
    CUDA_R_32F = 0,
    CUDA_R_64F = 1,
    CUDA_R_16F = 2,
    CUDA_R_16BF = 14,
} cudaDataType;
typedef enum {
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_PEDANTIC = 69,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
} cublasComputeType_t;
typedef enum {
    CUBLAS_GEMM_DEFAULT = -1,
    CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99,
} cublasGemmAlgo_t;

cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t *s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode);
cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t *mode);
cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t mode); /* host only */
const char *cublasGetStatusString(cublasStatus_t s);
const char *cublasGetStatusName(cublasStatus_t s);
/* C = alpha op(A) op(B) + beta C, column-major.  Products accumulate in double, the result
 * is rounded to float once.  TF32 math (handle mode CUBLAS_TF32_TENSOR_OP_MATH on fp32
 * operands, or CUBLAS_COMPUTE_32F_FAST_TF32) rounds A and B to TF32 (10 mantissa bits,
 * nearest, ties away) first, FAST_16BF to bf16, as the tensor cores see them.  beta == 0:
 * C is not read; alpha == 0 or k == 0: A and B are not read. */
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb,
                           const float *beta, float *C, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb, long long strideB,
                                         const float *beta, float *C, int ldc, long long strideC, int batch);
/* A/B: CUDA_R_32F or CUDA_R_16BF (same type), C: CUDA_R_32F; compute CUBLAS_COMPUTE_32F[_PEDANTIC]
 * (any operands) or _FAST_TF32 / _FAST_16BF (fp32 operands only); alpha/beta float. */
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType Atype, int lda,
                            const void *B, cudaDataType Btype, int ldb, const void *beta,
                            void *C, cudaDataType Ctype, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo);
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                          int m, int n, int k, const void *alpha,
                                          const void *A, cudaDataType Atype, int lda, long long strideA,
                                          const void *B, cudaDataType Btype, int ldb, long long strideB,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long strideC, int batch, cublasComputeType_t compute,
                                          cublasGemmAlgo_t algo);
/* Pointer-array batches: the arrays themselves must be device memory, as on the GPU. */
cublasStatus_t cublasSgemmBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                  int k, const float *alpha, const float *const Aarray[], int lda,
                                  const float *const Barray[], int ldb, const float *beta,
                                  float *const Carray[], int ldc, int batch);
cublasStatus_t cublasGemmBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                   int k, const void *alpha, const void *const Aarray[], cudaDataType Atype,
                                   int lda, const void *const Barray[], cudaDataType Btype, int ldb,
                                   const void *beta, void *const Carray[], cudaDataType Ctype, int ldc,
                                   int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo);

#endif
