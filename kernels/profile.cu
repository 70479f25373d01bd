/* profile.cu — where a step's GPU time goes, op by op, without a profiler.
 *
 * SPARSETUNE_OPS_PROFILE=K in the environment (K >= 1; as lib/ops_cpu.c's CPU profile): from the
 * K-th forward pass on (counted by embed_fwd; K = 2 skips a warm-up step), ops.c calls
 * cu_mark(op) before every op, which records a CUDA event on the backend's stream.  The time
 * between an op's event and the next one is that op's share of the GPU timeline: its kernels
 * and cuBLAS calls plus any idle gap before the next op starts (so launch-bound stretches show
 * up as time of the op before them).  No synchronisation happens while profiling, except when
 * the event buffer is full; the table (op, calls, total ms, ms per step, share) goes to stderr
 * at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_common.h"

#define PROF_EVENTS 8192
#define PROF_OPS 64

typedef struct {
    const char *name;
    double ms;
    long calls;
} ProfOp;

static int prof_state = -1; /* -1 unknown, 0 off, 1 on */
static long prof_first, prof_forwards;
static cudaEvent_t prof_ev[PROF_EVENTS + 1];
static const char *prof_name[PROF_EVENTS];
static int prof_n, prof_ready;
static ProfOp prof_ops[PROF_OPS];

int cu_profiling(void) {
    if (prof_state < 0) {
        const char *v = getenv("SPARSETUNE_OPS_PROFILE");
        long k = v ? strtol(v, NULL, 10) : 0;
        prof_state = k >= 1;
        prof_first = k;
    }
    return prof_state;
}

static ProfOp *prof_op(const char *name) {
    for (int i = 0; i < PROF_OPS; i++) {
        if (!prof_ops[i].name) prof_ops[i].name = name;
        if (prof_ops[i].name == name || strcmp(prof_ops[i].name, name) == 0) return &prof_ops[i];
    }
    return &prof_ops[PROF_OPS - 1];
}

/* Attribute the recorded events: op i lasts until event i + 1 (the last one until now). */
static void prof_flush(void) {
    if (!prof_n) return;
    CU_CHECK(cudaEventRecord(prof_ev[prof_n], cu_stream));
    CU_CHECK(cudaEventSynchronize(prof_ev[prof_n]));
    for (int i = 0; i < prof_n; i++) {
        float ms = 0;
        CU_CHECK(cudaEventElapsedTime(&ms, prof_ev[i], prof_ev[i + 1]));
        ProfOp *o = prof_op(prof_name[i]);
        o->ms += ms;
        o->calls++;
    }
    prof_n = 0;
}

static void prof_report(void) {
    prof_flush();
    long steps = prof_forwards - prof_first + 1;
    double total = 0, st = steps > 0 ? (double)steps : 1;
    for (int i = 0; i < PROF_OPS && prof_ops[i].name; i++) total += prof_ops[i].ms;
    fprintf(stderr, "cuda ops profile: %ld steps, %.3f ms of GPU timeline per step\n", steps, total / st);
    fprintf(stderr, "  %-18s %8s %10s %12s %7s\n", "op", "calls", "ms", "ms/step", "share");
    for (int done = 0; done < PROF_OPS; done++) { /* largest first */
        int best = -1;
        for (int i = 0; i < PROF_OPS && prof_ops[i].name; i++)
            if (prof_ops[i].calls >= 0 && (best < 0 || prof_ops[i].ms > prof_ops[best].ms)) best = i;
        if (best < 0) break;
        ProfOp *o = &prof_ops[best];
        fprintf(stderr, "  %-18s %8ld %10.3f %12.4f %6.1f%%\n", o->name, o->calls, o->ms, o->ms / st,
                total > 0 ? 100 * o->ms / total : 0);
        o->calls = -1;
    }
}

void cu_mark(const char *op) {
    if (strcmp(op, "embed_fwd") == 0) prof_forwards++;
    if (prof_forwards < prof_first) return;
    if (!prof_ready) {
        for (int i = 0; i <= PROF_EVENTS; i++) CU_CHECK(cudaEventCreate(&prof_ev[i]));
        prof_ready = 1;
        atexit(prof_report); /* after the runtime's own handler, so it runs before it */
    }
    if (prof_n == PROF_EVENTS) prof_flush();
    prof_name[prof_n] = op;
    CU_CHECK(cudaEventRecord(prof_ev[prof_n], cu_stream));
    prof_n++;
}
