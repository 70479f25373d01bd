/* test_emu.cu — tests of the CUDA emulator (kernels/emu/), written in the dialect of
 * kernels/cuda_compat.h and built with g++ -x c++ -DSPARSETUNE_CUDA_EMU (make emu-test).
 * Expected values are computed independently on the host: shuffle semantics from the CUDA
 * programming guide's wording, GEMMs from logical (unstored) matrices with a naive loop.
 * Usage: test_emu [name-substring].  Last line: "N passed, N failed". */
#include "cuda_common.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "die_capture.h"

static int g_pass, g_fail;
#define CHECK(c)                                                                               \
    do {                                                                                       \
        if (c) g_pass++;                                                                       \
        else {                                                                                 \
            g_fail++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);               \
        }                                                                                      \
    } while (0)
#define CHECK_MSG(c, ...)                                                                      \
    do {                                                                                       \
        if (c) g_pass++;                                                                       \
        else {                                                                                 \
            g_fail++;                                                                          \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)
#define CU(call)                                                                               \
    do {                                                                                       \
        cudaError_t e_ = (call);                                                               \
        if (e_ != cudaSuccess) {                                                               \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

template <class T> static T *dev(size_t n) {
    T *p = nullptr;
    CU(cudaMalloc(&p, n * sizeof(T)));
    return p;
}
template <class T> static T *dev_from(const std::vector<T> &h) {
    T *p = dev<T>(h.size());
    CU(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
    return p;
}
template <class T> static std::vector<T> host_from(const T *d, size_t n) {
    std::vector<T> h(n);
    CU(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

static uint64_t g_rng = 88172645463325252ull;
static float frand(void) { /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) * (1.0 / (1 << 23)) - 1.0);
}

/* ------------------------------------------------------------------ block reductions */

__global__ void k_row_sums(float *out, const float *x, int cols) {
    __shared__ float red[32];
    const float *row = x + (size_t)blockIdx.x * cols;
    float v = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) v += row[c];
    float s = cu_block_sum(v, red);
    float mx = cu_block_max(v, red); /* reuses red: cu_block_* guard it with a barrier */
    if (threadIdx.x == 0) out[2 * blockIdx.x] = s;
    if (threadIdx.x == blockDim.x - 1) out[2 * blockIdx.x + 1] = mx;
}

static void test_block_sum(void) {
    const int rows = 7, cols = 1000;
    std::vector<float> h(rows * cols);
    for (auto &v : h) v = frand();
    float *x = dev_from(h), *out = dev<float>(2 * rows);
    for (int threads : {32, 64, 256, 1024}) {
        KLAUNCH(k_row_sums, rows, threads, 0, out, x, cols);
        std::vector<float> r = host_from(out, 2 * rows);
        for (int i = 0; i < rows; i++) {
            double s = 0.0;
            for (int c = 0; c < cols; c++) s += h[i * cols + c];
            /* the max of the per-thread partial sums, computed the same way on the host */
            float mx = -INFINITY;
            for (int t = 0; t < threads; t++) {
                float v = 0.0f;
                for (int c = t; c < cols; c += threads) v += h[i * cols + c];
                mx = v > mx ? v : mx;
            }
            CHECK_MSG(fabs(r[2 * i] - s) < 1e-3, "threads %d row %d: %g vs %g", threads, i, r[2 * i], s);
            CHECK_MSG(r[2 * i + 1] == mx, "threads %d row %d max: %g vs %g", threads, i, r[2 * i + 1], mx);
        }
        /* deterministic: a second run gives the same bits */
        KLAUNCH(k_row_sums, rows, threads, 0, out, x, cols);
        std::vector<float> r2 = host_from(out, 2 * rows);
        CHECK(memcmp(r.data(), r2.data(), r.size() * sizeof(float)) == 0);
    }
    CU(cudaFree(x));
    CU(cudaFree(out));
}

/* Classic shared-memory tree with __syncthreads, one partial sum per block (multi-block grid). */
__global__ void k_tree_sum(float *partial, const float *x, int n) {
    __shared__ float s[256];
    float v = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
    s[threadIdx.x] = v;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1) {
        if ((int)threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

static void test_tree_sum(void) {
    const int n = 100000, blocks = 13;
    std::vector<float> h(n);
    for (auto &v : h) v = frand();
    float *x = dev_from(h), *p = dev<float>(blocks);
    KLAUNCH(k_tree_sum, blocks, 256, 0, p, x, n);
    std::vector<float> r = host_from(p, blocks);
    double total = 0.0, want = 0.0;
    for (float v : r) total += v;
    for (float v : h) want += v;
    CHECK_MSG(fabs(total - want) < 1e-2, "%g vs %g", total, want);
    /* block 3's partial alone */
    double b3 = 0.0;
    for (int t = 0; t < 256; t++)
        for (int i = 3 * 256 + t; i < n; i += blocks * 256) b3 += h[i];
    CHECK_MSG(fabs(r[3] - b3) < 1e-3, "%g vs %g", r[3], b3);
    CU(cudaFree(x));
    CU(cudaFree(p));
}

/* Static __shared__ is one block's memory: neighbours' values, written before the barrier. */
__global__ void k_shared_neighbour(int *out) {
    __shared__ int s[128];
    s[threadIdx.x] = (int)(blockIdx.x * 1000 + threadIdx.x);
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = s[(threadIdx.x + 1) % blockDim.x];
}

static void test_shared_static(void) {
    int *out = dev<int>(5 * 128);
    KLAUNCH(k_shared_neighbour, 5, 128, 0, out);
    std::vector<int> r = host_from(out, 5 * 128);
    bool ok = true;
    for (int b = 0; b < 5; b++)
        for (int t = 0; t < 128; t++) ok &= r[b * 128 + t] == b * 1000 + (t + 1) % 128;
    CHECK(ok);
    CU(cudaFree(out));
}

/* ------------------------------------------------------------------ warp shuffles */

/* out[tid * 16 + f] for f = the shuffle variants below, on values 100 + linear thread id. */
__global__ void k_shuffles(float *fo, double *dout, int *io, unsigned *uo) {
    int tid = (int)(threadIdx.x + threadIdx.y * blockDim.x);
    float f = 100.0f + tid;
    int o = tid * 16, n = 0;
    const int widths[3] = {32, 16, 8};
    for (int w : widths) {
        fo[o + n++] = __shfl_sync(0xffffffffu, f, 5, w);
        fo[o + n++] = __shfl_up_sync(0xffffffffu, f, 3, w);
        fo[o + n++] = __shfl_down_sync(0xffffffffu, f, 3, w);
        fo[o + n++] = __shfl_xor_sync(0xffffffffu, f, 9, w);
        fo[o + n++] = __shfl_xor_sync(0xffffffffu, f, 20, w); /* crosses segments for w < 32 */
    }
    dout[tid] = __shfl_xor_sync(0xffffffffu, 0.25 + tid, 1);
    io[tid] = __shfl_down_sync(0xffffffffu, -tid, 1);
    uo[tid] = __shfl_sync(0xffffffffu, 7u * (unsigned)tid, 31);
}

static void test_shuffles(void) {
    const int bx = 16, by = 8, nt = bx * by; /* 2-D block: lanes follow the linear id */
    float *fo = dev<float>(nt * 16);
    double *dout = dev<double>(nt);
    int *io = dev<int>(nt);
    unsigned *uo = dev<unsigned>(nt);
    KLAUNCH(k_shuffles, 1, dim3(bx, by), 0, fo, dout, io, uo);
    std::vector<float> f = host_from(fo, nt * 16);
    std::vector<double> d = host_from(dout, nt);
    std::vector<int> iv = host_from(io, nt);
    std::vector<unsigned> u = host_from(uo, nt);
    int bad = 0;
    for (int t = 0; t < nt; t++) {
        int lane = t % 32, warp0 = t - lane, n = 0;
        auto val = [&](int l) { return 100.0f + warp0 + l; };
        for (int w : {32, 16, 8}) {
            int seg = lane / w * w; /* first lane of this thread's segment */
            float want[5];
            want[0] = val(seg + 5 % w);
            want[1] = lane - seg >= 3 ? val(lane - 3) : val(lane);
            want[2] = lane - seg + 3 < w ? val(lane + 3) : val(lane);
            /* xor: "later groups return their own value" */
            int j9 = lane ^ 9, j20 = lane ^ 20;
            want[3] = j9 / w > lane / w ? val(lane) : val(j9);
            want[4] = j20 / w > lane / w ? val(lane) : val(j20);
            for (int q = 0; q < 5; q++, n++)
                if (f[t * 16 + n] != want[q]) {
                    if (bad++ < 10)
                        fprintf(stderr, "shuffle thread %d width %d variant %d: %g, want %g\n", t, w, q,
                                f[t * 16 + n], want[q]);
                }
        }
        if (d[t] != 0.25 + (warp0 + (lane ^ 1))) bad++;
        if (iv[t] != -(lane < 31 ? t + 1 : t)) bad++;
        if (u[t] != 7u * (unsigned)(warp0 + 31)) bad++;
    }
    CHECK_MSG(bad == 0, "%d wrong shuffle results", bad);
    CU(cudaFree(fo));
    CU(cudaFree(dout));
    CU(cudaFree(io));
    CU(cudaFree(uo));
}

__global__ void k_votes(unsigned *ballot, int *count, int *any, int *all) {
    int t = (int)threadIdx.x;
    ballot[t] = __ballot_sync(0xffffffffu, t % 3 == 0);
    count[t] = __syncthreads_count(t % 5 == 0);
    any[t] = __any_sync(0xffffffffu, t == 40);
    all[t] = __all_sync(0xffffffffu, t < 64);
}

static void test_votes(void) {
    const int nt = 96;
    unsigned *b = dev<unsigned>(nt);
    int *c = dev<int>(nt), *an = dev<int>(nt), *al = dev<int>(nt);
    KLAUNCH(k_votes, 1, nt, 0, b, c, an, al);
    std::vector<unsigned> hb = host_from(b, nt);
    std::vector<int> hc = host_from(c, nt), han = host_from(an, nt), hal = host_from(al, nt);
    int bad = 0;
    for (int t = 0; t < nt; t++) {
        unsigned want = 0;
        for (int l = 0; l < 32; l++)
            if ((t / 32 * 32 + l) % 3 == 0) want |= 1u << l;
        bad += hb[t] != want;
        bad += hc[t] != (nt + 4) / 5;
        bad += han[t] != (t / 32 == 1);
        bad += hal[t] != (t < 64);
    }
    CHECK_MSG(bad == 0, "%d wrong vote results", bad);
    CU(cudaFree(b));
    CU(cudaFree(c));
    CU(cudaFree(an));
    CU(cudaFree(al));
}

/* ------------------------------------------------------------------ dynamic shared memory */

__global__ void k_dyn_smem(unsigned *garbage, unsigned *aligned, float *out, int n) {
    DYN_SMEM(float, buf);
    if (threadIdx.x == 0) {
        unsigned g = 0;
        for (int i = 0; i < n; i++) g += __float_as_uint(buf[i]) == 0xcdcdcdcdu;
        garbage[blockIdx.x] = g;
        aligned[blockIdx.x] = ((uintptr_t)buf % 16) == 0;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = (float)(blockIdx.x + i);
    __syncthreads();
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += buf[(i + threadIdx.x) % n];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

static void test_dyn_smem(void) {
    const int blocks = 4, threads = 64, n = 1000;
    unsigned *g = dev<unsigned>(blocks), *al = dev<unsigned>(blocks);
    float *out = dev<float>(blocks * threads);
    KLAUNCH(k_dyn_smem, blocks, threads, n * sizeof(float), g, al, out, n);
    std::vector<unsigned> hg = host_from(g, blocks), ha = host_from(al, blocks);
    std::vector<float> ho = host_from(out, blocks * threads);
    for (int b = 0; b < blocks; b++) {
        CHECK_MSG(hg[b] == (unsigned)n, "block %d: %u of %d garbage words", b, hg[b], n);
        CHECK(ha[b] == 1);
        float want = 0.0f;
        for (int i = 0; i < n; i++) want += (float)(b + i);
        CHECK_MSG(fabsf(ho[b * threads + 5] - want) < 1.0f, "block %d: %g vs %g", b, ho[b * threads + 5], want);
    }
    /* > 48 KiB after the opt-in */
    const int big = 60000; /* bytes */
    CU(cudaFuncSetAttribute(k_dyn_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, big));
    KLAUNCH(k_dyn_smem, 1, 32, big, g, al, out, big / 4);
    CHECK(host_from(g, 1)[0] == (unsigned)(big / 4));
    CHECK(cudaFuncSetAttribute(k_dyn_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, 300000) == cudaErrorInvalidValue);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    CU(cudaFree(g));
    CU(cudaFree(al));
    CU(cudaFree(out));
}

/* ------------------------------------------------------------------ atomics, grids */

__global__ void k_histogram(int *hist, unsigned *maxv, int *minv, const int *x, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        atomicAdd(&hist[x[i] & 15], 1);
        atomicMax(maxv, (unsigned)x[i]);
        atomicMin(minv, x[i]);
    }
}

__global__ void k_atomic_returns(int *v, int *olds) {
    /* one thread per block: the returned old values chain */
    olds[blockIdx.x * 4 + 0] = atomicAdd(&v[0], 2);
    olds[blockIdx.x * 4 + 1] = atomicCAS(&v[1], (int)blockIdx.x, (int)blockIdx.x + 1);
    olds[blockIdx.x * 4 + 2] = atomicExch(&v[2], (int)blockIdx.x);
    olds[blockIdx.x * 4 + 3] = (int)(atomicAdd((unsigned long long *)(v + 4), 1ull << 33) >> 33);
}

static void test_atomics(void) {
    const int n = 5000;
    std::vector<int> h(n);
    for (int i = 0; i < n; i++) h[i] = (i * 7919) % 1001;
    int *x = dev_from(h), *hist = dev<int>(16), *minv = dev<int>(1);
    unsigned *maxv = dev<unsigned>(1);
    CU(cudaMemset(hist, 0, 16 * sizeof(int)));
    CU(cudaMemset(maxv, 0, sizeof(unsigned)));
    std::vector<int> big = {1 << 30};
    CU(cudaMemcpy(minv, big.data(), sizeof(int), cudaMemcpyHostToDevice));
    KLAUNCH(k_histogram, 7, 128, 0, hist, maxv, minv, x, n);
    std::vector<int> hh = host_from(hist, 16), want(16, 0);
    int mn = 1 << 30, mx = 0;
    for (int v : h) want[v & 15]++, mn = v < mn ? v : mn, mx = v > mx ? v : mx;
    CHECK(hh == want);
    CHECK(host_from(maxv, 1)[0] == (unsigned)mx);
    CHECK(host_from(minv, 1)[0] == mn);

    int *v = dev<int>(6), *olds = dev<int>(4 * 5);
    CU(cudaMemset(v, 0, 6 * sizeof(int)));
    KLAUNCH(k_atomic_returns, 5, 1, 0, v, olds);
    std::vector<int> o = host_from(olds, 20), hv = host_from(v, 6);
    bool ok = true;
    for (int b = 0; b < 5; b++) ok &= o[b * 4] == 2 * b && o[b * 4 + 1] == b && o[b * 4 + 2] == (b ? b - 1 : 0) && o[b * 4 + 3] == b;
    CHECK(ok);
    CHECK(hv[0] == 10 && hv[1] == 5 && hv[2] == 4);
    unsigned long long acc;
    memcpy(&acc, &hv[4], 8);
    CHECK(acc == 5ull << 33);
    CU(cudaFree(x));
    CU(cudaFree(hist));
    CU(cudaFree(minv));
    CU(cudaFree(maxv));
    CU(cudaFree(v));
    CU(cudaFree(olds));
}

__global__ void k_coords(int *hits, uint4 *where, int total) {
    unsigned bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    unsigned tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned g = bx * (blockDim.x * blockDim.y * blockDim.z) + tx;
    if ((int)g < total) {
        atomicAdd(&hits[g], 1);
        where[g] = make_uint4(blockIdx.x * 100 + blockIdx.y * 10 + blockIdx.z,
                              threadIdx.x * 100 + threadIdx.y * 10 + threadIdx.z, blockDim.x * 100 + blockDim.y * 10 + blockDim.z,
                              gridDim.x * 100 + gridDim.y * 10 + gridDim.z);
    }
}

static void test_grids(void) {
    dim3 grid(3, 2, 4), block(4, 2, 3);
    int total = 3 * 2 * 4 * 4 * 2 * 3;
    int *hits = dev<int>(total);
    uint4 *where = dev<uint4>(total);
    CU(cudaMemset(hits, 0, total * sizeof(int)));
    KLAUNCH(k_coords, grid, block, 0, hits, where, total);
    std::vector<int> h = host_from(hits, total);
    std::vector<uint4> w = host_from(where, total);
    int bad = 0;
    for (int g = 0; g < total; g++) {
        int b = g / 24, t = g % 24;
        unsigned wb = (b % 3) * 100 + (b / 3 % 2) * 10 + b / 6, wt = (t % 4) * 100 + (t / 4 % 2) * 10 + t / 8;
        bad += h[g] != 1 || w[g].x != wb || w[g].y != wt || w[g].z != 423 || w[g].w != 324;
    }
    CHECK_MSG(bad == 0, "%d wrong coordinates", bad);
    CU(cudaFree(hits));
    CU(cudaFree(where));
}

/* ------------------------------------------------------------------ deaths */

__global__ void k_thread0_leaves(float *x) {
    if (threadIdx.x == 0) return;
    x[threadIdx.x] = 1.0f;
    __syncthreads();
}
__global__ void k_thread5_leaves(float *x) {
    if (threadIdx.x == 5) return;
    x[threadIdx.x] = 1.0f;
    __syncthreads();
}
__global__ void k_mixed_barriers(float *x) {
    if (threadIdx.x < 32) __syncthreads();
    else x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}
__global__ void k_noop(float *) {}

static float *g_death_buf;
static void die_t0(void *) { KLAUNCH(k_thread0_leaves, 2, 64, 0, g_death_buf); }
static void die_t5(void *) { KLAUNCH(k_thread5_leaves, 2, 64, 0, g_death_buf); }
static void die_mixed(void *) { KLAUNCH(k_mixed_barriers, 1, 64, 0, g_death_buf); }
static void die_block(void *) { KLAUNCH(k_noop, 1, 1025, 0, g_death_buf); }
static void die_grid(void *) { KLAUNCH(k_noop, dim3(1, 0), 32, 0, g_death_buf); }
static void die_smem(void *) { KLAUNCH(k_thread5_leaves, 1, 32, 50000, g_death_buf); }
static void die_host_gemm(void *) {
    cublasHandle_t h;
    cublasCreate(&h);
    float a[4] = {1, 2, 3, 4}, one = 1.0f, zero = 0.0f;
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, 2, g_death_buf, 2, &zero, g_death_buf, 2);
}

/* A death on a fiber (a launch from a kernel): the exit is taken back on the caller's stack,
 * where p's only pointer lives (checked by hand: an exit on the fiber made LeakSanitizer report
 * p as leaked in a plain run; in this forked child LSan does not show it either way). */
__global__ void k_nested(float *x) {
    __syncthreads(); /* now on a fiber */
    KLAUNCH(k_noop, 1, 1, 0, x);
}
static void die_local_alloc(void *) {
    float *volatile p = dev<float>(64);
    KLAUNCH(k_nested, 1, 64, 0, g_death_buf);
    CU(cudaFree(p));
}
static void hook(const char *msg) {
    fprintf(stderr, "hooked: %s\n", msg);
    _exit(3);
}
static void die_hooked(void *) {
    emu_fatal_hook = hook;
    KLAUNCH(k_mixed_barriers, 1, 64, 0, g_death_buf);
}

static void expect_death(void (*fn)(void *), const char *what, const char *needle) {
    char msg[2048];
    int st = die_capture(fn, nullptr, msg, sizeof msg);
    CHECK_MSG(st == 1 && strstr(msg, needle), "%s: exit %d, stderr: %s", what, st, msg);
}

static void test_deaths(void) {
    g_death_buf = dev<float>(1024);
    expect_death(die_t0, "thread 0 leaves", "k_thread0_leaves: block (0,0,0): divergent barrier");
    expect_death(die_t5, "thread 5 leaves", "k_thread5_leaves: block (0,0,0): divergent barrier: thread (0,0,0) waits at __syncthreads but thread (5,0,0) finished");
    expect_death(die_mixed, "mixed barriers", "waits at __syncthreads but thread (32,0,0) at a warp shuffle");
    expect_death(die_block, "1025 threads", "k_noop: invalid block (1025,1,1)");
    expect_death(die_grid, "grid y 0", "k_noop: invalid grid (1,0,1)");
    expect_death(die_smem, "50000 bytes smem", "needs cudaFuncSetAttribute(k_thread5_leaves");
    expect_death(die_host_gemm, "host pointer to cuBLAS", "cublasSgemm: A = ");
    expect_death(die_local_alloc, "exit on the caller's stack", "kernel k_noop launched from inside kernel k_nested");
    char msg[2048];
    int st = die_capture(die_hooked, nullptr, msg, sizeof msg);
    CHECK_MSG(st == 3 && strstr(msg, "hooked: kernel k_mixed_barriers: block (0,0,0): divergent barrier") &&
                  !strstr(msg, "cuda-emu:"), "hook: exit %d, stderr: %s", st, msg);
    CU(cudaFree(g_death_buf));
}

/* ------------------------------------------------------------------ runtime API */

static void test_runtime(void) {
    int n = -1, d = -1;
    CHECK(cudaGetDeviceCount(&n) == cudaSuccess && n == 1);
    CHECK(cudaSetDevice(0) == cudaSuccess && cudaGetDevice(&d) == cudaSuccess && d == 0);
    CHECK(cudaSetDevice(1) == cudaErrorInvalidDevice);
    CHECK(cudaGetLastError() == cudaErrorInvalidDevice && cudaGetLastError() == cudaSuccess);
    cudaDeviceProp p;
    CHECK(cudaGetDeviceProperties(&p, 0) == cudaSuccess);
    CHECK(strcmp(p.name, "CUDA emulator (CPU)") == 0 && p.major == 9 && p.minor == 0 && p.warpSize == 32);
    CHECK(p.sharedMemPerBlock == 49152 && p.sharedMemPerBlockOptin == 232448 && p.multiProcessorCount > 0);
    int sms = 0;
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess && sms == p.multiProcessorCount);

    size_t fr0, tot, fr1;
    CHECK(cudaMemGetInfo(&fr0, &tot) == cudaSuccess && fr0 <= tot);
    float *a = dev<float>(1000);
    CHECK(cudaMemGetInfo(&fr1, &tot) == cudaSuccess && fr0 - fr1 == 4000);
    std::vector<float> h = host_from(a, 1000);
    CHECK(std::isnan(h[0]) && std::isnan(h[999])); /* poisoned */
    std::vector<float> src(1000, 2.5f), back(1000, 0.0f);
    CHECK(cudaMemcpy(a, src.data(), 4000, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(back.data(), a, 4000, cudaMemcpyDefault) == cudaSuccess && back == src);
    float *b = dev<float>(1000);
    CHECK(cudaMemcpyAsync(b, a, 4000, cudaMemcpyDeviceToDevice, 0) == cudaSuccess);
    CHECK(host_from(b, 1000) == src);
    CHECK(cudaMemsetAsync(b + 10, 0, 8, 0) == cudaSuccess);
    h = host_from(b, 1000);
    CHECK(h[9] == 2.5f && h[10] == 0.0f && h[11] == 0.0f && h[12] == 2.5f);
    /* wrong direction, out of range, bogus free: errors, recorded as the last error */
    fprintf(stderr, "(four expected cuda-emu diagnostics follow)\n");
    CHECK(cudaMemcpy(a, src.data(), 4000, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
    CHECK(cudaMemcpy(a + 1, src.data(), 4000, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
    CHECK(cudaMemset(src.data(), 0, 4) == cudaErrorInvalidValue);
    CHECK(cudaFree(src.data()) == cudaErrorInvalidValue);
    CHECK(cudaPeekAtLastError() == cudaErrorInvalidValue && cudaGetLastError() == cudaErrorInvalidValue);
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(cudaMemcpy(a, src.data(), 0, cudaMemcpyDeviceToHost) == cudaSuccess); /* nothing to copy */
    void *z = (void *)1;
    CHECK(cudaMalloc(&z, 0) == cudaSuccess && z == nullptr && cudaFree(nullptr) == cudaSuccess);
    CU(cudaFree(a));
    CU(cudaFree(b));

    cudaStream_t s;
    cudaEvent_t e0, e1;
    float ms = -1.0f;
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    CHECK(cudaEventCreate(&e0) == cudaSuccess && cudaEventCreate(&e1) == cudaSuccess);
    CHECK(cudaEventRecord(e0, s) == cudaSuccess && cudaEventRecord(e1, s) == cudaSuccess);
    CHECK(cudaEventSynchronize(e1) == cudaSuccess && cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaEventElapsedTime(&ms, e0, e1) == cudaSuccess && ms >= 0.0f && ms < 1000.0f);
    CHECK(cudaEventDestroy(e0) == cudaSuccess && cudaEventDestroy(e1) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess);
    CHECK(strcmp(cudaGetErrorString(cudaErrorMemoryAllocation), "out of memory") == 0);
}

/* ------------------------------------------------------------------ bf16, intrinsics */

static void test_bf16_intrinsics(void) {
    auto bits = [](float f) { return __bfloat16_as_ushort(__float2bfloat16(f)); };
    CHECK(bits(1.0f) == 0x3f80);
    CHECK(bits(-2.0f) == 0xc000);
    CHECK(bits(__uint_as_float(0x3f808000u)) == 0x3f80); /* tie -> even (down) */
    CHECK(bits(__uint_as_float(0x3f818000u)) == 0x3f82); /* tie -> even (up) */
    CHECK(bits(__uint_as_float(0x3f808001u)) == 0x3f81); /* above the tie */
    CHECK(bits(INFINITY) == 0x7f80 && bits(-INFINITY) == 0xff80);
    CHECK(bits(__uint_as_float(0x7f7fffffu)) == 0x7f80);  /* FLT_MAX rounds to inf */
    CHECK(std::isnan(__bfloat162float(__float2bfloat16(NAN))));
    CHECK(std::isnan(__bfloat162float(__float2bfloat16(__uint_as_float(0x7f800001u))))); /* sNaN stays NaN */
    CHECK(__bfloat162float(__ushort_as_bfloat16(0x4049)) == 3.140625f);
    CHECK(sizeof(__nv_bfloat16) == 2 && sizeof(float4) == 16 && alignof(float4) == 16);
    CHECK(__float_as_uint(1.0f) == 0x3f800000u && __int_as_float(0) == 0.0f);
    CHECK(__saturatef(-1.0f) == 0.0f && __saturatef(2.0f) == 1.0f && __saturatef(NAN) == 0.0f);
    CHECK(__umulhi(0x80000000u, 6u) == 3u && __popc(0xf0f0u) == 8 && __clz(1) == 31 && __clz(0) == 32);
    CHECK(__ffs(0) == 0 && __ffs(8) == 4 && __brev(1u) == 0x80000000u);
    CHECK(fabsf(rsqrtf(4.0f) - 0.5f) < 1e-7f && __fdividef(1.0f, 4.0f) == 0.25f);
}

/* ------------------------------------------------------------------ cuBLAS */

/* Logical matrices (row i, column j of op(X)), stored column-major per cuBLAS into a device
 * buffer with leading dimension ld: N stores op(X) itself, T stores its transpose. */
struct Logical {
    int rows, cols;
    std::vector<float> v; /* v[i * cols + j] */
    float at(int i, int j) const { return v[(size_t)i * cols + j]; }
};
static Logical rand_logical(int r, int c) {
    Logical m{r, c, std::vector<float>((size_t)r * c)};
    for (auto &x : m.v) x = frand();
    return m;
}
static std::vector<float> store(const Logical &m, bool trans, int ld, float pad) {
    int srows = trans ? m.cols : m.rows, scols = trans ? m.rows : m.cols;
    std::vector<float> s((size_t)ld * (scols - 1) + srows, pad);
    for (int i = 0; i < m.rows; i++)
        for (int j = 0; j < m.cols; j++) {
            int si = trans ? j : i, sj = trans ? i : j;
            s[si + (size_t)sj * ld] = m.at(i, j);
        }
    return s;
}

static float round_bf16_ref(float x) { /* the test's own: nearest even on the top 16 bits */
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t lower = u & 0xffffu, upper = u >> 16;
    if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u))) upper++;
    u = upper << 16;
    memcpy(&x, &u, 4);
    return x;
}

static void test_cublas_ops(void) {
    cublasHandle_t h;
    CHECK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH) == CUBLAS_STATUS_SUCCESS);
    const int shapes[][3] = {{5, 7, 3}, {37, 29, 41}, {1, 9, 1}, {16, 1, 8}};
    for (auto &sh : shapes)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta_case = 0; beta_case < 2; beta_case++) {
                    int m = sh[0], n = sh[1], k = sh[2];
                    Logical A = rand_logical(m, k), B = rand_logical(k, n), C0 = rand_logical(m, n);
                    int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
                    float *dA = dev_from(store(A, ta, lda, 1e30f)), *dB = dev_from(store(B, tb, ldb, 1e30f));
                    std::vector<float> hc = store(C0, false, ldc, 777.0f);
                    if (beta_case == 0)
                        for (int j = 0; j < n; j++)
                            for (int i = 0; i < m; i++) hc[i + (size_t)j * ldc] = NAN; /* must not be read */
                    float *dC = dev_from(hc);
                    float alpha = 1.5f, beta = beta_case ? -0.5f : 0.0f;
                    cublasStatus_t st = cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n,
                                                    k, &alpha, dA, lda, dB, ldb, &beta, dC, ldc);
                    CHECK(st == CUBLAS_STATUS_SUCCESS);
                    std::vector<float> r = host_from(dC, hc.size());
                    int bad = 0;
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double s = 0.0;
                            for (int l = 0; l < k; l++) s += (double)A.at(i, l) * B.at(l, j);
                            double want = alpha * s + (beta_case ? beta * C0.at(i, j) : 0.0);
                            bad += !(fabs(r[i + (size_t)j * ldc] - want) <= 1e-5 * (1 + fabs(want)));
                        }
                    for (size_t q = 0; q < r.size(); q++) /* padding rows untouched */
                        if ((int)(q % ldc) >= m) bad += r[q] != 777.0f;
                    CHECK_MSG(bad == 0, "sgemm %c%c %dx%dx%d beta %g: %d wrong", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k,
                              beta, bad);
                    CU(cudaFree(dA));
                    CU(cudaFree(dB));
                    CU(cudaFree(dC));
                }
    CHECK(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

/* Row-major C[M,N] = A[M,K] B[K,N] through column-major cuBLAS: C^T = B^T A^T, i.e.
 * cublasSgemm(N, N, N, M, K, B, N, A, K, C, N) — the trick the GPU backend uses. */
static void test_cublas_row_major(void) {
    cublasHandle_t h;
    cublasCreate(&h);
    const int M = 6, N = 4, K = 5;
    std::vector<float> A(M * K), B(K * N);
    for (auto &x : A) x = frand();
    for (auto &x : B) x = frand();
    float *dA = dev_from(A), *dB = dev_from(B), *dC = dev<float>(M * N), one = 1.0f, zero = 0.0f;
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, dB, N, dA, K, &zero, dC, N) == CUBLAS_STATUS_SUCCESS);
    std::vector<float> C = host_from(dC, M * N);
    int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int l = 0; l < K; l++) s += (double)A[i * K + l] * B[l * N + j];
            bad += fabs(C[i * N + j] - s) > 1e-5;
        }
    CHECK(bad == 0);
    CU(cudaFree(dA));
    CU(cudaFree(dB));
    CU(cudaFree(dC));
    cublasDestroy(h);
}

static void test_cublas_batched_bf16(void) {
    cublasHandle_t h;
    cublasCreate(&h);
    const int m = 9, n = 6, k = 11, batch = 3, lda = k + 2, ldb = k, ldc = m + 1; /* A: T, B: N */
    long long sA = (long long)lda * m + 5, sB = 0, sC = (long long)ldc * n + 7;   /* B broadcast */
    std::vector<Logical> As;
    Logical B = rand_logical(k, n);
    std::vector<float> ha(sA * batch, 0.0f), hc(sC * batch, NAN);
    for (int b = 0; b < batch; b++) {
        As.push_back(rand_logical(m, k));
        std::vector<float> s = store(As[b], true, lda, 0.0f);
        std::copy(s.begin(), s.end(), ha.begin() + b * sA);
    }
    std::vector<float> hb = store(B, false, ldb, 0.0f);
    float *dA = dev_from(ha), *dB = dev_from(hb), *dC = dev_from(hc), alpha = 2.0f, beta = 0.0f;
    for (int variant = 0; variant < 2; variant++) {
        cublasStatus_t st;
        if (variant == 0)
            st = cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, dA, lda, sA, dB, ldb, sB, &beta,
                                           dC, ldc, sC, batch);
        else
            st = cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, dA, CUDA_R_32F, lda, sA, dB,
                                            CUDA_R_32F, ldb, sB, &beta, dC, CUDA_R_32F, ldc, sC, batch,
                                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        CHECK(st == CUBLAS_STATUS_SUCCESS);
        std::vector<float> r = host_from(dC, hc.size());
        int bad = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0.0;
                    for (int l = 0; l < k; l++) s += (double)As[b].at(i, l) * B.at(l, j);
                    bad += fabs(r[b * sC + i + j * ldc] - alpha * s) > 1e-5;
                }
        CHECK_MSG(bad == 0, "strided batched variant %d: %d wrong", variant, bad);
        CHECK(std::isnan(r[sC - 1])); /* the gap between batches untouched */
    }

    /* bf16 operands (NN, column-major, lda > rows), fp32 C */
    {
        const int bm = 7, bn = 5, bk = 33, blda = bm + 4, bldb = bk + 1;
        Logical X = rand_logical(bm, bk), Y = rand_logical(bk, bn);
        std::vector<float> xs = store(X, false, blda, 0.0f), ys = store(Y, false, bldb, 0.0f);
        std::vector<__nv_bfloat16> xb(xs.size()), yb(ys.size());
        for (size_t i = 0; i < xs.size(); i++) xb[i] = __float2bfloat16(xs[i]);
        for (size_t i = 0; i < ys.size(); i++) yb[i] = __float2bfloat16(ys[i]);
        __nv_bfloat16 *dx = dev_from(xb), *dy = dev_from(yb);
        float *dz = dev<float>(bm * bn), one = 1.0f, zero = 0.0f;
        CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, bm, bn, bk, &one, dx, CUDA_R_16BF, blda, dy, CUDA_R_16BF, bldb,
                           &zero, dz, CUDA_R_32F, bm, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT_TENSOR_OP) ==
              CUBLAS_STATUS_SUCCESS);
        std::vector<float> z = host_from(dz, bm * bn);
        int bad = 0;
        double maxdiff_exact = 0.0;
        for (int i = 0; i < bm; i++)
            for (int j = 0; j < bn; j++) {
                double s = 0.0, e = 0.0;
                for (int l = 0; l < bk; l++) {
                    s += (double)round_bf16_ref(X.at(i, l)) * round_bf16_ref(Y.at(l, j));
                    e += (double)X.at(i, l) * Y.at(l, j);
                }
                bad += fabs(z[i + j * bm] - s) > 1e-5;
                maxdiff_exact = fmax(maxdiff_exact, fabs(z[i + j * bm] - e));
            }
        CHECK_MSG(bad == 0, "bf16 gemm: %d wrong", bad);
        CHECK(maxdiff_exact > 1e-4 && maxdiff_exact < 0.1); /* bf16 rounding visible but bounded */
        /* mixed operand types are not a cuBLAS combination */
        CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, bm, bn, bk, &one, dx, CUDA_R_16BF, blda, dz, CUDA_R_32F, bldb,
                           &zero, dz, CUDA_R_32F, bm, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
              CUBLAS_STATUS_NOT_SUPPORTED);
        CU(cudaFree(dx));
        CU(cudaFree(dy));
        CU(cudaFree(dz));
    }
    CU(cudaFree(dA));
    CU(cudaFree(dB));
    CU(cudaFree(dC));
    cublasDestroy(h);
}

static void test_cublas_tf32_and_args(void) {
    cublasHandle_t h;
    cublasCreate(&h);
    float a = 1.0f + 1.0f / 4096, b = 1.0f, c = -1.0f, one = 1.0f, zero = 0.0f; /* 2^-12 < tf32 ulp */
    float *da = dev_from(std::vector<float>{a}), *db = dev_from(std::vector<float>{b}), *dc = dev<float>(1);
    auto run_ex = [&](cublasComputeType_t ct) {
        CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, da, CUDA_R_32F, 1, db, CUDA_R_32F, 1, &zero, dc,
                           CUDA_R_32F, 1, ct, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
        return host_from(dc, 1)[0];
    };
    CHECK(run_ex(CUBLAS_COMPUTE_32F) == a);
    CHECK(run_ex(CUBLAS_COMPUTE_32F_FAST_TF32) == 1.0f);
    CHECK(run_ex(CUBLAS_COMPUTE_32F_FAST_16BF) == 1.0f);
    CHECK(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS);
    CHECK(run_ex(CUBLAS_COMPUTE_32F) == 1.0f);
    CHECK(run_ex(CUBLAS_COMPUTE_32F_PEDANTIC) == a);
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, da, 1, db, 1, &zero, dc, 1) == CUBLAS_STATUS_SUCCESS);
    CHECK(host_from(dc, 1)[0] == 1.0f);
    CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, da, 1, db, 1, &zero, dc, 1) == CUBLAS_STATUS_SUCCESS);
    CHECK(host_from(dc, 1)[0] == a);
    /* alpha == 0: A, B not read, C = beta C; k == 0 likewise */
    CU(cudaMemcpy(dc, &c, 4, cudaMemcpyHostToDevice));
    float two = 2.0f;
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 0, &one, da, 1, db, 1, &two, dc, 1) == CUBLAS_STATUS_SUCCESS);
    CHECK(host_from(dc, 1)[0] == -2.0f);

    /* leading dimensions: lda >= rows of A as stored, etc.; m = 2, n = 3, k = 4 */
    float *big = dev<float>(64);
    const cublasOperation_t ops[2] = {CUBLAS_OP_N, CUBLAS_OP_T};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = ta ? 4 : 2, ldb = tb ? 3 : 4;
            auto sg = [&](int la, int lb, int lc) {
                return cublasSgemm(h, ops[ta], ops[tb], 2, 3, 4, &one, big, la, big, lb, &zero, big + 32, lc);
            };
            CHECK(sg(lda, ldb, 2) == CUBLAS_STATUS_SUCCESS);
            CHECK(sg(lda - 1, ldb, 2) == CUBLAS_STATUS_INVALID_VALUE);
            CHECK(sg(lda, ldb - 1, 2) == CUBLAS_STATUS_INVALID_VALUE);
            CHECK(sg(lda, ldb, 1) == CUBLAS_STATUS_INVALID_VALUE);
        }
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 3, 4, &one, big, 2, big, 4, &zero, big, 2) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, 3, 4, &one, big, 1, big, 4, &zero, big, 1) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasSgemm(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, big, 1, big, 1, &zero, big, 1) == CUBLAS_STATUS_NOT_INITIALIZED);
    CHECK(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, big, 1, 1, big, 1, 1, &zero, big, 1, 1, -1) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(strcmp(cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE), "an invalid numeric value was used as an argument") == 0);
    CU(cudaFree(da));
    CU(cudaFree(db));
    CU(cudaFree(dc));
    CU(cudaFree(big));
    cublasDestroy(h);
}

/* Launches from several OS threads at once (OpenMP callers) are serialised; fibers parked by
 * one OS thread are resumed by another. */
static void test_host_threads(void) {
    const int nthreads = 4, n = 3000, blocks = 3;
    std::vector<int> ok(nthreads, 0);
    std::vector<std::thread> pool;
    for (int w = 0; w < nthreads; w++)
        pool.emplace_back([w, &ok]() {
            std::vector<float> h(n, (float)(w + 1));
            float *x = dev_from(h), *p = dev<float>(blocks);
            int good = 0;
            for (int rep = 0; rep < 20; rep++) {
                KLAUNCH(k_tree_sum, blocks, 256, 0, p, x, n);
                std::vector<float> r = host_from(p, blocks);
                good += r[0] + r[1] + r[2] == (float)(n * (w + 1));
            }
            ok[w] = good;
            CU(cudaFree(x));
            CU(cudaFree(p));
        });
    for (auto &t : pool) t.join();
    for (int w = 0; w < nthreads; w++) CHECK_MSG(ok[w] == 20, "host thread %d: %d of 20 right", w, ok[w]);
}

/* ------------------------------------------------------------------ timing */

__global__ void k_two_barriers(float *out) {
    __shared__ float s[256];
    s[threadIdx.x] = (float)threadIdx.x;
    __syncthreads();
    float v = s[255 - threadIdx.x];
    __syncthreads();
    s[threadIdx.x] = v;
    out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}
__global__ void k_no_barrier(float *out) { out[blockIdx.x * blockDim.x + threadIdx.x] = (float)threadIdx.x; }

static void test_timing(void) {
    const int blocks = 1024, threads = 256;
    float *out = dev<float>(blocks * threads);
    KLAUNCH(k_two_barriers, blocks, threads, 0, out); /* warm-up: fibers created */
    auto t0 = std::chrono::steady_clock::now();
    KLAUNCH(k_two_barriers, blocks, threads, 0, out);
    auto t1 = std::chrono::steady_clock::now();
    KLAUNCH(k_no_barrier, blocks, threads, 0, out);
    auto t2 = std::chrono::steady_clock::now();
    double s1 = std::chrono::duration<double>(t1 - t0).count(), s2 = std::chrono::duration<double>(t2 - t1).count();
    double switches = (double)blocks * threads * 3 * 2; /* 3 segments per thread, in and out */
    printf("timing: %d blocks x %d threads, 2 barriers: %.1f ms (%.1f ns per thread-switch, %.1f ns per thread)\n",
           blocks, threads, s1 * 1e3, s1 / switches * 1e9, s1 / (blocks * threads) * 1e9);
    printf("timing: %d blocks x %d threads, no barrier: %.1f ms (%.1f ns per thread)\n", blocks, threads, s2 * 1e3,
           s2 / (blocks * threads) * 1e9);
    std::vector<float> r = host_from(out, blocks * threads);
    CHECK(r[5] == 5.0f);
    KLAUNCH(k_two_barriers, blocks, threads, 0, out);
    r = host_from(out, blocks * threads);
    CHECK(r[blocks * threads - 1] == 0.0f && r[3] == 252.0f);
    CU(cudaFree(out));
}

int main(int argc, char **argv) {
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"block_sum", test_block_sum}, {"tree_sum", test_tree_sum}, {"shared_static", test_shared_static},
        {"shuffles", test_shuffles}, {"votes", test_votes}, {"dyn_smem", test_dyn_smem},
        {"atomics", test_atomics}, {"grids", test_grids}, {"deaths", test_deaths},
        {"runtime", test_runtime}, {"bf16_intrinsics", test_bf16_intrinsics}, {"cublas_ops", test_cublas_ops},
        {"cublas_row_major", test_cublas_row_major}, {"cublas_batched_bf16", test_cublas_batched_bf16},
        {"cublas_tf32_and_args", test_cublas_tf32_and_args}, {"host_threads", test_host_threads},
        {"timing", test_timing},
    };
    for (auto &t : tests) {
        if (argc > 1 && !strstr(t.name, argv[1])) continue;
        int before = g_fail;
        t.fn();
        printf("%s %s\n", g_fail == before ? "ok" : "FAIL", t.name);
    }
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
