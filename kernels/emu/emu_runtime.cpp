/* emu_runtime.cpp — the CUDA runtime API of the emulator: one device whose memory is host
 * memory, everything synchronous.  Allocations are tracked so that copies, memsets and frees
 * can check their device pointers (a wrong cudaMemcpyKind or an out-of-range copy fails here
 * as it would on a GPU, instead of silently working on shared host memory). */
#include "cuda_emu.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

struct CUstream_st {
    unsigned flags;
};
struct CUevent_st {
    std::chrono::steady_clock::time_point t;
    bool recorded;
};

namespace {

std::mutex g_mu;                      /* guards everything below */
std::map<uintptr_t, size_t> g_allocs; /* device allocations: start -> bytes */
size_t g_used;
std::map<std::string, int> g_max_dyn_smem;
cudaError_t g_last = cudaSuccess;
int g_device;

cudaError_t fail(cudaError_t e) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_last = e;
    return e;
}

/* Is [p, p + n) inside one live allocation?  Called with g_mu held. */
bool in_device(const void *p, size_t n) {
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return false;
    --it;
    return a >= it->first && a - it->first <= it->second && n <= it->second - (a - it->first);
}
bool touches_device(const void *p, size_t n) {
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a + (n ? n - 1 : 0));
    if (it == g_allocs.begin()) return false;
    --it;
    return it->first + it->second > a;
}

bool check_side(const char *fn, const char *side, const void *p, size_t n, bool device) {
    bool ok = device ? in_device(p, n) : !touches_device(p, n);
    if (!ok)
        fprintf(stderr, "cuda-emu: %s: %s %p (%zu bytes) %s\n", fn, side, p, n,
                device ? "is not inside one cudaMalloc allocation" : "is device memory, the copy kind says host");
    return ok;
}

size_t host_ram() {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)16 << 30;
}

} // namespace

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}

cudaError_t cudaGetLastError(void) {
    std::lock_guard<std::mutex> lock(g_mu);
    cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) {
    std::lock_guard<std::mutex> lock(g_mu);
    return g_last;
}

static bool no_device() {
    const char *e = getenv("SPARSETUNE_EMU_NO_DEVICE");
    return e && *e && strcmp(e, "0") != 0;
}

cudaError_t cudaGetDeviceCount(int *n) {
    if (!n) return fail(cudaErrorInvalidValue);
    *n = no_device() ? 0 : 1;
    return *n ? cudaSuccess : fail(cudaErrorNoDevice);
}

cudaError_t cudaDriverGetVersion(int *v) {
    if (!v) return fail(cudaErrorInvalidValue);
    *v = 12000;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int dev) {
    if (no_device()) return fail(cudaErrorNoDevice);
    if (dev != 0) return fail(cudaErrorInvalidDevice);
    g_device = dev;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *dev) {
    if (!dev) return fail(cudaErrorInvalidValue);
    *dev = g_device;
    return cudaSuccess;
}

/* Shaped like an H200 (132 SMs, sm_90 limits) so launch sizes derived from it match the GPU. */
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev) {
    if (!p) return fail(cudaErrorInvalidValue);
    if (dev != 0 || no_device()) return fail(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CUDA emulator (CPU)");
    p->totalGlobalMem = host_ram();
    p->sharedMemPerBlock = 49152;
    p->sharedMemPerBlockOptin = 232448;
    p->sharedMemPerMultiprocessor = 233472;
    p->totalConstMem = 65536;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 132;
    p->maxThreadsPerMultiProcessor = 2048;
    p->l2CacheSize = 50 << 20;
    p->clockRate = 1980000;
    p->memoryBusWidth = 6144;
    p->concurrentKernels = 1;
    p->unifiedAddressing = 1;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev) {
    cudaDeviceProp p;
    if (!value) return fail(cudaErrorInvalidValue);
    cudaError_t e = cudaGetDeviceProperties(&p, dev);
    if (e != cudaSuccess) return e;
    switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = (int)p.sharedMemPerBlock; break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrL2CacheSize: *value = p.l2CacheSize; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = (int)p.sharedMemPerBlockOptin; break;
    default: return fail(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaDeviceReset(void) { return cudaSuccess; }

cudaError_t cudaMalloc(void **p, size_t n) {
    if (!p) return fail(cudaErrorInvalidValue);
    *p = nullptr;
    if (n == 0) return cudaSuccess;
    void *m = nullptr;
    if (posix_memalign(&m, 256, n) != 0 || !m) return fail(cudaErrorMemoryAllocation);
    memset(m, 0xff, n); /* NaN floats, -1 ints: unwritten reads show */
    std::lock_guard<std::mutex> lock(g_mu);
    g_allocs[(uintptr_t)m] = n;
    g_used += n;
    *p = m;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    {
        std::lock_guard<std::mutex> lock(g_mu);
        auto it = g_allocs.find((uintptr_t)p);
        if (it == g_allocs.end()) {
            fprintf(stderr, "cuda-emu: cudaFree: %p is not a live cudaMalloc allocation\n", p);
            g_last = cudaErrorInvalidValue;
            return cudaErrorInvalidValue;
        }
        g_used -= it->second;
        g_allocs.erase(it);
    }
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t n) {
    if (!p) return fail(cudaErrorInvalidValue);
    *p = nullptr;
    if (n == 0) return cudaSuccess;
    if (posix_memalign(p, 256, n) != 0) return fail(cudaErrorMemoryAllocation);
    return cudaSuccess;
}

cudaError_t cudaFreeHost(void *p) {
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    if (!free_bytes || !total_bytes) return fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(g_mu);
    *total_bytes = host_ram();
    *free_bytes = g_used < *total_bytes ? *total_bytes - g_used : 0;
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind) {
    if (n == 0) return cudaSuccess;
    if (!dst || !src) return fail(cudaErrorInvalidValue);
    if ((unsigned)kind > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection);
    {
        std::lock_guard<std::mutex> lock(g_mu);
        bool ok = true;
        if (kind != cudaMemcpyDefault) {
            bool dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
            bool sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
            ok = check_side("cudaMemcpy", "destination", dst, n, dd) && check_side("cudaMemcpy", "source", src, n, sd);
        }
        if (!ok) {
            g_last = cudaErrorInvalidValue;
            return cudaErrorInvalidValue;
        }
    }
    memmove(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, n, kind);
}

cudaError_t cudaMemset(void *p, int value, size_t n) {
    if (n == 0) return cudaSuccess;
    {
        std::lock_guard<std::mutex> lock(g_mu);
        if (!check_side("cudaMemset", "destination", p, n, true)) {
            g_last = cudaErrorInvalidValue;
            return cudaErrorInvalidValue;
        }
    }
    memset(p, value, n);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t n, cudaStream_t) { return cudaMemset(p, value, n); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    if (!s) return fail(cudaErrorInvalidValue);
    *s = new CUstream_st{flags};
    return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (!s) return fail(cudaErrorInvalidResourceHandle);
    delete s;
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned) {
    if (!e) return fail(cudaErrorInvalidValue);
    *e = new CUevent_st{std::chrono::steady_clock::time_point(), false};
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    if (!e) return fail(cudaErrorInvalidResourceHandle);
    e->t = std::chrono::steady_clock::now();
    e->recorded = true;
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return e ? cudaSuccess : fail(cudaErrorInvalidResourceHandle); }
cudaError_t cudaEventQuery(cudaEvent_t e) { return e ? cudaSuccess : fail(cudaErrorInvalidResourceHandle); }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!ms) return fail(cudaErrorInvalidValue);
    if (!a || !b) return fail(cudaErrorInvalidResourceHandle);
    if (!a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(b->t - a->t).count();
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!e) return fail(cudaErrorInvalidResourceHandle);
    delete e;
    return cudaSuccess;
}

cudaError_t emu_func_set_attribute(const char *kernel, cudaFuncAttribute attr, int value) {
    if (attr == cudaFuncAttributePreferredSharedMemoryCarveout)
        return value >= -1 && value <= 100 ? cudaSuccess : fail(cudaErrorInvalidValue);
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > 232448)
        return fail(cudaErrorInvalidValue);
    while (*kernel == '&' || *kernel == ' ') kernel++; /* cudaFuncSetAttribute(&k, ...) */
    std::lock_guard<std::mutex> lock(g_mu);
    g_max_dyn_smem[kernel] = value;
    return cudaSuccess;
}

int emu_func_max_dyn_smem(const char *kernel) {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_max_dyn_smem.find(kernel);
    return it == g_max_dyn_smem.end() || it->second < 49152 ? 49152 : it->second;
}

bool emu_device_range(const void *p, size_t n) {
    std::lock_guard<std::mutex> lock(g_mu);
    return in_device(p, n);
}
