/* engine-step — time one training step (forward + backward, dropout on) of a randomly
 * initialised roberta-base-sized model on the CPU and report seconds per step and GFLOP/s.
 *
 *   build/opt/bench/engine-step [--layers N] [--hidden N] [--heads N] [--ffn N] [--vocab N]
 *                               [--batch N] [--len N] [--steps N] [--ratio R] [--no-sgemm]
 *       prints one JSON object on stdout (seconds_per_step = median step, forward/backward
 *       seconds, cpu_seconds_per_step, gflops, sgemm_gflops, fraction_of_sgemm, ...) and a
 *       human-readable line on stderr; defaults are roberta-base, batch 16 x 128, 3 steps.
 *   build/opt/bench/engine-step [STEPS [BATCH [LEN [LAYERS [RATIO]]]]]  (old form, defaults
 *       3 16 128 12 0): the human-readable line on stdout.
 *
 * RATIO > 0: every encoder tensor gets a random sparse gradient mask of that density
 * (GRAD_SPARSE, as masked training uses), the head stays dense; the FLOP rate is then still
 * computed on the dense count, so it reads as "dense-equivalent" throughput.
 *
 * sgemm reference: unless --no-sgemm, one 2048x768 . 768x3072 dnnl_sgemm (the FFN product
 * of the default shape) is timed before and after the steps, best of 5 each; the step's
 * GFLOP/s is reported as a fraction of the better of those, so a loaded machine slows both.
 * cpu_seconds_per_step (process CPU time / threads) is a second, load-robust view: it counts
 * only the time our threads ran (with OMP_WAIT_POLICY=passive, no spinning).
 *
 * SPARSETUNE_OPS_PROFILE=2 in the environment adds lib/ops_cpu.c's per-op wall/CPU profile of
 * the timed steps (the warm-up skipped) on stderr.
 *
 * FLOPs counted: 2 per multiply-add of the matrix products, forward x 3 for forward+backward
 * (the backward does two products per forward one); elementwise work is not counted. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#include "hfconfig.h"
#include "model.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long minflt_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Best-of-5 GFLOP/s of C[M,N] = A[M,K] B[K,N] with dnnl_sgemm on all threads. */
static double sgemm_rate(int M, int N, int K) {
    float *A = ops_alloc((size_t)M * K), *B = ops_alloc((size_t)K * N), *C = ops_alloc((size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 7) * 0.25f - 0.75f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 5) * 0.25f - 0.5f;
    double best = 1e30;
    for (int r = 0; r < 6; r++) { /* the first call JITs the kernel: not counted */
        double t0 = now();
        dnnl_sgemm('N', 'N', M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        double t = now() - t0;
        if (r > 0 && t < best) best = t;
    }
    ops_free(A), ops_free(B), ops_free(C);
    return 2.0 * M * N * K / best * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    st_set_progname("engine-step");
    int steps = 3, B = 16, T = 128, L = 12, H = 768, NH = 12, I = 3072, V = 50265;
    double ratio = 0;
    int json = 0, do_sgemm = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        json = 1;
        for (int i = 1; i < argc; i++) {
            const char *o = argv[i];
            if (strcmp(o, "--no-sgemm") == 0) {
                do_sgemm = 0;
                continue;
            }
            if (i + 1 >= argc) die_usage("%s: missing value", o);
            const char *v = argv[++i];
            if (strcmp(o, "--layers") == 0) L = (int)parse_long(o, v, 1, 1000);
            else if (strcmp(o, "--hidden") == 0) H = (int)parse_long(o, v, 1, 1 << 16);
            else if (strcmp(o, "--heads") == 0) NH = (int)parse_long(o, v, 1, 1024);
            else if (strcmp(o, "--ffn") == 0) I = (int)parse_long(o, v, 1, 1 << 18);
            else if (strcmp(o, "--vocab") == 0) V = (int)parse_long(o, v, 4, 1 << 22);
            else if (strcmp(o, "--batch") == 0) B = (int)parse_long(o, v, 1, 1 << 16);
            else if (strcmp(o, "--len") == 0) T = (int)parse_long(o, v, 2, 512);
            else if (strcmp(o, "--steps") == 0) steps = (int)parse_long(o, v, 1, 1 << 20);
            else if (strcmp(o, "--ratio") == 0) ratio = parse_double(o, v, 0, 1);
            else die_usage("unknown option %s", o);
        }
    } else {
        steps = argc > 1 ? atoi(argv[1]) : 3, B = argc > 2 ? atoi(argv[2]) : 16;
        T = argc > 3 ? atoi(argv[3]) : 128, L = argc > 4 ? atoi(argv[4]) : 12;
        ratio = argc > 5 ? atof(argv[5]) : 0;
        if (steps < 1 || B < 1 || T < 2 || T > 512 || L < 1) die_usage("bad arguments");
    }
    if (H % NH) die_usage("--hidden %d is not a multiple of --heads %d", H, NH);
    HfConfig c;
    hfconfig_default(&c);
    c.max_position_embeddings = 514; /* roberta-base's config.json */
    c.type_vocab_size = 1;
    c.num_hidden_layers = L;
    c.hidden_size = H;
    c.num_attention_heads = NH;
    c.intermediate_size = I;
    c.vocab_size = V;
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2);
    model_init_random(m, 1);
    uint32_t **masks = xcalloc((size_t)m->n_params, sizeof *masks);
    if (ratio > 0) {
        Rng r;
        rng_init(&r, 2, RNG_STREAM_RANDOM_MASK, 0);
        for (int i = 0; i < m->head_first; i++) {
            size_t n = m->info[i].numel, k = 0;
            masks[i] = xmalloc((n * ratio + 16) * sizeof(uint32_t));
            for (size_t j = 0; j < n && k < (size_t)(n * ratio) + 16; j++)
                if (rng_uniform(&r) < ratio) masks[i][k++] = (uint32_t)j;
            model_set_grad_mode(m, i, GRAD_SPARSE, masks[i], k);
        }
    }
    Batch b;
    batch_alloc(&b, B, 1, T, c.pad_token_id);
    unsigned x = 12345;
    for (int s = 0; s < B; s++) {
        b.ids[(size_t)s * T] = 0;
        for (int t = 1; t < T - 1; t++) b.ids[(size_t)s * T + t] = 3 + (int)((x = x * 1103515245u + 12345u) >> 8) % (V - 3);
        b.ids[(size_t)s * T + T - 1] = 2;
        b.len[s] = T;
        b.label[s] = s & 1;
    }
    double Hd = H, Id = I, N = (double)B * T;
    double fwd = L * (2 * N * (4 * Hd * Hd + 2 * Hd * Id) + 4.0 * B * T * T * Hd) + 2 * B * Hd * Hd;
    double flops = 3 * fwd;
    double sg = do_sgemm ? sgemm_rate(2048, 3072, 768) : 0;
    model_zero_grad(m);
    model_forward(m, &b, 1, 1, 0); /* warm-up: allocations, oneDNN kernels */
    model_backward(m, &b);
    double tf = 0, tb = 0, cpu = 0;
    long flt0 = minflt_now();
    double *ts = xmalloc((size_t)steps * sizeof(double));
    for (int i = 0; i < steps; i++) {
        double c0 = cpu_now(), t0 = now();
        model_forward(m, &b, 1, 1, (uint32_t)i + 1);
        double t1 = now();
        model_backward(m, &b);
        double t2 = now();
        cpu += cpu_now() - c0;
        tf += t1 - t0;
        tb += t2 - t1;
        ts[i] = t2 - t0;
    }
    double faults = (double)(minflt_now() - flt0) / steps;
    if (do_sgemm) {
        double sg2 = sgemm_rate(2048, 3072, 768);
        if (sg2 > sg) sg = sg2;
    }
    tf /= steps;
    tb /= steps;
    cpu /= steps;
    qsort(ts, (size_t)steps, sizeof *ts, cmp_double);
    double med = steps % 2 ? ts[steps / 2] : 0.5 * (ts[steps / 2 - 1] + ts[steps / 2]);
    int nt = omp_get_max_threads();
    double rate = flops / med * 1e-9;
    double load[3] = {0, 0, 0};
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(lf);
    }
    FILE *human = json ? stderr : stdout;
    fprintf(human, "engine-step: %d layers, batch %d x %d tokens, %d threads, sparse ratio %g: forward %.3f s, backward %.3f s, "
            "step %.3f s (median of %d), %.1f GFLOP/s (%.0f GFLOP/step); cpu %.3f s/step/thread",
            L, B, T, nt, ratio, tf, tb, med, steps, rate, flops * 1e-9, cpu / nt);
    if (do_sgemm) fprintf(human, "; sgemm 2048x768x3072 %.1f GFLOP/s, step at %.0f %% of it", sg, 100 * rate / sg);
    fprintf(human, "; load %.2f\n", load[0]);
    if (json)
        printf("{\"seconds_per_step\": %.4f, \"forward_seconds\": %.4f, \"backward_seconds\": %.4f, "
               "\"min_seconds\": %.4f, \"cpu_seconds_per_step\": %.4f, \"threads\": %d, \"steps\": %d, "
               "\"gflop_per_step\": %.2f, \"gflops\": %.2f, \"sgemm_gflops\": %.2f, \"fraction_of_sgemm\": %.4f, "
               "\"sparse_ratio\": %g, \"page_faults_per_step\": %.0f, \"load\": %.2f}\n",
               med, tf, tb, ts[0], cpu / nt, nt, steps, flops * 1e-9, rate, sg, sg > 0 ? rate / sg : 0, ratio, faults, load[0]);
    free(ts);
    batch_free(&b);
    for (int i = 0; i < m->n_params; i++) free(masks[i]);
    free(masks);
    model_free(m);
    return 0;
}
