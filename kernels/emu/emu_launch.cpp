/* emu_launch.cpp — kernel launches of the CUDA emulator: blocks in order, the threads of a
 * block as fibers switched only at barriers (see cuda_emu.h for the model).
 *
 * Fiber t always runs thread t of the current block; its stack (mmap, guard page below) and
 * context live for the whole process, and between blocks the fiber waits at the top of its
 * loop, so starting a thread costs one switch, not a context set-up.  On x86-64 the switch is
 * hand-written (callee-saved registers + MXCSR/x87 control word, ~10 ns); elsewhere it is
 * swapcontext.  Under ASan every switch is announced with __sanitizer_{start,finish}_switch_fiber. */
#include "cuda_emu.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif
#ifdef EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if !defined(__x86_64__) || defined(EMU_USE_UCONTEXT)
#define EMU_UCONTEXT 1
#include <ucontext.h>
#endif

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
unsigned char *emu_dyn_smem_ptr;

void (*emu_fatal_hook)(const char *msg);

namespace {
char g_die_msg[2048];
bool g_on_fiber, g_dying;

[[noreturn]] void finish_die() {
    if (emu_fatal_hook) emu_fatal_hook(g_die_msg);
    fflush(stdout);
    fprintf(stderr, "cuda-emu: %s\n", g_die_msg);
    exit(1);
}
void to_sched();
} // namespace

/* On a fiber, the exit happens back on the scheduler's (the caller's) stack: exit handlers
 * and LeakSanitizer then see the real stack, not a 64 KiB fiber stack. */
void emu_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_die_msg, sizeof g_die_msg, fmt, ap);
    va_end(ap);
    if (g_on_fiber) {
        g_dying = true;
        to_sched();
    }
    finish_die();
}

#ifndef EMU_UCONTEXT
/* void emu_ctx_switch(void **save_sp, void *to_sp): saves the callee-saved state on the current
 * stack, stores the stack pointer in *save_sp, and resumes the context saved at to_sp. */
asm(".text\n"
    ".p2align 4\n"
    ".globl emu_ctx_switch\n"
    ".hidden emu_ctx_switch\n"
    ".type emu_ctx_switch,@function\n"
    "emu_ctx_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  subq $8, %rsp\n  stmxcsr (%rsp)\n  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n  fldcw 4(%rsp)\n  addq $8, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size emu_ctx_switch, .-emu_ctx_switch\n");
extern "C" void emu_ctx_switch(void **save_sp, void *to_sp);
#endif

namespace {

enum { READY, WAITING, DONE };
constexpr int kMaxThreads = 1024;
const char *const kBarrierName[] = {"__syncthreads", "a warp shuffle", "__syncwarp", "a warp vote",
                                    "__syncthreads_count/and/or"};

struct Fiber {
#ifdef EMU_UCONTEXT
    ucontext_t uc;
#else
    void *sp;
#endif
    char *lo; /* usable stack [lo, lo + size) */
    size_t size;
    void *asan_fake;
};

/* All state is plain globals guarded by g_mu (one launch at a time).  The fibers touch no
 * thread_local: a fiber parked between launches may be resumed by another OS thread. */
std::mutex g_mu;
thread_local bool t_launching;
Fiber g_fib[kMaxThreads];
int g_nfib;
#ifdef EMU_UCONTEXT
ucontext_t g_sched_uc;
#else
void *g_sched_sp;
#endif
const void *g_sched_lo;
size_t g_sched_size;
void *g_sched_fake;

const std::function<void()> *g_body;
const char *g_name;
int g_nthreads, g_cur;
bool g_in_block, g_direct;
uint3 g_tidx[kMaxThreads];
unsigned char g_state[kMaxThreads], g_kind[kMaxThreads], g_parity[kMaxThreads];
uint64_t g_slot[2][kMaxThreads];

inline void asan_start(void **fake, const void *lo, size_t size) {
#ifdef EMU_ASAN
    __sanitizer_start_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}
inline void asan_finish(void *fake, const void **lo, size_t *size) {
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}

/* Scheduler -> fiber t; returns when it waits at a barrier or finished its thread. */
void to_fiber(int t) {
    Fiber &f = g_fib[t];
    g_cur = t;
    threadIdx = g_tidx[t];
    g_on_fiber = true;
    asan_start(&g_sched_fake, f.lo, f.size);
#ifdef EMU_UCONTEXT
    swapcontext(&g_sched_uc, &f.uc);
#else
    emu_ctx_switch(&g_sched_sp, f.sp);
#endif
    asan_finish(g_sched_fake, nullptr, nullptr);
    g_on_fiber = false;
    if (g_dying) finish_die();
}

/* Fiber g_cur -> scheduler; returns when the scheduler resumes this fiber. */
void to_sched() {
    Fiber &f = g_fib[g_cur];
    asan_start(&f.asan_fake, g_sched_lo, g_sched_size);
#ifdef EMU_UCONTEXT
    swapcontext(&f.uc, &g_sched_uc);
#else
    emu_ctx_switch(&f.sp, g_sched_sp);
#endif
    asan_finish(f.asan_fake, &g_sched_lo, &g_sched_size);
}

void fiber_entry() {
    asan_finish(nullptr, &g_sched_lo, &g_sched_size);
    for (;;) { /* one CUDA thread per turn */
        (*g_body)();
        g_state[g_cur] = DONE;
        to_sched();
    }
}

size_t stack_bytes() {
    const char *e = getenv("SPARSETUNE_EMU_STACK_KB");
    long kb = e ? atol(e) : 0;
#ifdef EMU_ASAN
    if (kb <= 0) kb = 256; /* ASan frames are several times larger */
#else
    if (kb <= 0) kb = 64;
#endif
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return ((size_t)kb * 1024 + page - 1) / page * page;
}

void make_fiber(Fiber &f) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), size = stack_bytes();
    void *m = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) emu_die("cannot map a %zu-byte fiber stack", size);
    mprotect(m, page, PROT_NONE); /* overflow faults instead of corrupting the next stack */
    f.lo = (char *)m + page;
    f.size = size;
    f.asan_fake = nullptr;
#ifdef EMU_UCONTEXT
    if (getcontext(&f.uc) != 0) emu_die("getcontext failed");
    f.uc.uc_stack.ss_sp = f.lo;
    f.uc.uc_stack.ss_size = size;
    f.uc.uc_link = nullptr;
    makecontext(&f.uc, fiber_entry, 0);
#else
    /* The frame emu_ctx_switch pops: control words, r15..rbp, return address = fiber_entry;
     * the slot above keeps the ABI's rsp % 16 == 8 at function entry. */
    uint64_t *sp = (uint64_t *)(f.lo + size);
    *--sp = 0;
    *--sp = (uint64_t)(uintptr_t)&fiber_entry;
    for (int i = 0; i < 6; i++) *--sp = 0; /* rbp = 0 ends frame-pointer unwinds */
    *--sp = 0x1f80ull | (0x037full << 32); /* default MXCSR, x87 control word */
    f.sp = sp;
#endif
}

void dim_str(char *buf, size_t cap, uint3 v) { snprintf(buf, cap, "(%u,%u,%u)", v.x, v.y, v.z); }

[[noreturn]] void die_divergent(int waiter, int other) {
    char b[40], w[40], o[40];
    dim_str(b, sizeof b, blockIdx);
    dim_str(w, sizeof w, g_tidx[waiter]);
    dim_str(o, sizeof o, g_tidx[other]);
    if (g_state[other] == DONE)
        emu_die("kernel %s: block %s: divergent barrier: thread %s waits at %s but thread %s "
                "finished (every thread of the block must reach every barrier)",
                g_name, b, w, kBarrierName[g_kind[waiter]], o);
    emu_die("kernel %s: block %s: divergent barrier: thread %s waits at %s but thread %s at %s "
            "(every thread of the block must reach the same barriers in the same order)",
            g_name, b, w, kBarrierName[g_kind[waiter]], o, kBarrierName[g_kind[other]]);
}

void run_block() {
    int n = g_nthreads;
    for (int t = 0; t < n; t++) g_state[t] = READY, g_parity[t] = 0;
    to_fiber(0);
    if (g_state[0] == DONE) { /* thread 0 never waited: no barriers, no fibers needed */
        g_direct = true;
        for (int t = 1; t < n; t++) {
            g_cur = t;
            threadIdx = g_tidx[t];
            (*g_body)();
        }
        g_direct = false;
        return;
    }
    for (int t = 1; t < n; t++) to_fiber(t);
    for (;;) {
        int waiting = 0, done = 0, first_wait = -1, first_done = -1;
        for (int t = 0; t < n; t++) {
            if (g_state[t] == WAITING) {
                if (first_wait < 0) first_wait = t;
                waiting++;
            } else {
                if (first_done < 0) first_done = t;
                done++;
            }
        }
        if (done == n) return;
        if (waiting != n) die_divergent(first_wait, first_done);
        for (int t = 1; t < n; t++)
            if (g_kind[t] != g_kind[0]) die_divergent(0, t);
        for (int t = 0; t < n; t++) {
            g_state[t] = READY;
            to_fiber(t);
        }
    }
}

void need_block(const char *what) {
    if (!g_in_block) emu_die("%s called outside a kernel", what);
}

} // namespace

void emu_barrier(int kind) {
    need_block(kBarrierName[kind]);
    if (g_direct) {
        char b[40], w[40];
        dim_str(b, sizeof b, blockIdx);
        dim_str(w, sizeof w, g_tidx[g_cur]);
        emu_die("kernel %s: block %s: divergent barrier: thread %s reached %s but thread "
                "(0,0,0) finished without any barrier (every thread of the block must reach "
                "every barrier)", g_name, b, w, kBarrierName[kind]);
    }
    g_state[g_cur] = WAITING;
    g_kind[g_cur] = (unsigned char)kind;
    to_sched();
}

/* Warp exchange: write own slot, block barrier, read the source's slot.  Two slot sets used
 * alternately: a slot is rewritten two exchanges later, after everyone passed the barrier of
 * the exchange in between, i.e. after everyone read it. */
uint64_t emu_shfl(unsigned mask, uint64_t v, int mode, int b, int width) {
    need_block("a warp shuffle");
    int t = g_cur, lane = t & 31, p = g_parity[t];
    if (width < 1 || width > 32 || (width & (width - 1)))
        emu_die("kernel %s: shuffle width %d is not a power of 2 in 1..32", g_name, width);
    if (!((mask >> lane) & 1u))
        emu_die("kernel %s: thread %d calls a shuffle with mask 0x%08x that excludes its lane %d", g_name, t, mask, lane);
    g_parity[t] ^= 1;
    g_slot[p][t] = v;
    emu_barrier(EMU_BAR_SHFL);
    /* PTX shfl.sync: c = ((32 - width) << 8) | clamp, clamp 0 for up, 31 otherwise. */
    int seg = 32 - width, clamp = mode == 1 ? 0 : 31, bv = b & 31;
    int max_lane = (lane & seg) | (clamp & ~seg), min_lane = lane & seg, j;
    bool ok;
    switch (mode) {
    case 0: j = min_lane | (bv & ~seg), ok = j <= max_lane; break;
    case 1: j = lane - bv, ok = j >= max_lane; break;
    case 2: j = lane + bv, ok = j <= max_lane; break;
    default: j = lane ^ bv, ok = j <= max_lane; break;
    }
    if (!ok) j = lane;
    int src = (t & ~31) + j;
    if (src >= g_nthreads)
        emu_die("kernel %s: thread %d shuffles from lane %d, which does not exist (block of %d threads)", g_name, t, j, g_nthreads);
    if (!((mask >> j) & 1u))
        emu_die("kernel %s: thread %d shuffles from lane %d outside mask 0x%08x", g_name, t, j, mask);
    return g_slot[p][src];
}

unsigned emu_activemask(void) {
    need_block("__activemask");
    int base = g_cur & ~31, cnt = g_nthreads - base < 32 ? g_nthreads - base : 32;
    return cnt == 32 ? 0xffffffffu : (1u << cnt) - 1u;
}

unsigned emu_ballot(unsigned mask, int pred) {
    need_block("a warp vote");
    int t = g_cur, p = g_parity[t];
    if (!((mask >> (t & 31)) & 1u))
        emu_die("kernel %s: thread %d votes with mask 0x%08x that excludes its lane", g_name, t, mask);
    g_parity[t] ^= 1;
    g_slot[p][t] = pred != 0;
    emu_barrier(EMU_BAR_VOTE);
    unsigned r = 0;
    int base = t & ~31;
    for (int l = 0; l < 32 && base + l < g_nthreads; l++)
        if (((mask >> l) & 1u) && g_slot[p][base + l]) r |= 1u << l;
    return r;
}

int emu_sync_count(int pred) {
    need_block("__syncthreads_count");
    int t = g_cur, p = g_parity[t], r = 0;
    g_parity[t] ^= 1;
    g_slot[p][t] = pred != 0;
    emu_barrier(EMU_BAR_COUNT);
    for (int i = 0; i < g_nthreads; i++) r += (int)g_slot[p][i];
    return r;
}

void emu_launch(dim3 grid, dim3 block, size_t smem, const char *name, std::function<void()> body) {
    if (t_launching)
        emu_die("kernel %s launched from inside kernel %s (dynamic parallelism is not emulated)", name, g_name);
    unsigned long long nt = (unsigned long long)block.x * block.y * block.z;
    if (block.x < 1 || block.y < 1 || block.z < 1 || block.x > 1024 || block.y > 1024 || block.z > 64 || nt > 1024)
        emu_die("kernel %s: invalid block (%u,%u,%u): 1..1024 threads, x,y <= 1024, z <= 64",
                name, block.x, block.y, block.z);
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
        emu_die("kernel %s: invalid grid (%u,%u,%u): x 1..2^31-1, y,z 1..65535", name, grid.x, grid.y, grid.z);
    if (smem > 232448)
        emu_die("kernel %s: %zu bytes of dynamic shared memory, the device has 227 KiB per block", name, smem);
    if (smem > 49152 && (size_t)emu_func_max_dyn_smem(name) < smem)
        emu_die("kernel %s: %zu bytes of dynamic shared memory > 48 KiB needs cudaFuncSetAttribute(%s, "
                "cudaFuncAttributeMaxDynamicSharedMemorySize, >= %zu) first", name, smem, name, smem);

    std::lock_guard<std::mutex> lock(g_mu);
    t_launching = true;
    int n = (int)nt;
    while (g_nfib < n) make_fiber(g_fib[g_nfib++]);
    void *dyn = nullptr;
    if (posix_memalign(&dyn, 16, smem) != 0) emu_die("kernel %s: out of memory for shared memory", name);
    emu_dyn_smem_ptr = (unsigned char *)dyn;
    blockDim = block;
    gridDim = grid;
    g_body = &body;
    g_name = name;
    g_nthreads = n;
    for (int t = 0; t < n; t++)
        g_tidx[t] = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
    g_in_block = true;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = {x, y, z};
                memset(dyn, 0xcd, smem); /* unwritten shared memory reads as garbage */
                run_block();
            }
    g_in_block = false;
    emu_dyn_smem_ptr = nullptr;
    free(dyn);
    t_launching = false;
}
