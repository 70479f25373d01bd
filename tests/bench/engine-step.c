/* engine-step — time one training step (forward + backward, dropout on) of a randomly
 * initialised roberta-base-sized model on the CPU and report seconds per step and GFLOP/s.
 *
 *   build/opt/bench/engine-step [STEPS [BATCH [LEN [LAYERS [RATIO]]]]]  (defaults 3 16 128 12 0)
 *
 * RATIO > 0: every encoder tensor gets a random sparse gradient mask of that density
 * (GRAD_SPARSE, as masked training uses), the head stays dense; the FLOP rate is then still
 * computed on the dense count, so it reads as "dense-equivalent" throughput.
 *
 * FLOPs counted: 2 per multiply-add of the matrix products, forward x 3 for forward+backward
 * (the backward does two products per forward one); elementwise work is not counted. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hfconfig.h"
#include "model.h"
#include "rng.h"
#include "util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    st_set_progname("engine-step");
    int steps = argc > 1 ? atoi(argv[1]) : 3, B = argc > 2 ? atoi(argv[2]) : 16;
    int T = argc > 3 ? atoi(argv[3]) : 128, L = argc > 4 ? atoi(argv[4]) : 12;
    double ratio = argc > 5 ? atof(argv[5]) : 0;
    if (steps < 1 || B < 1 || T < 2 || T > 512 || L < 1) die_usage("bad arguments");
    HfConfig c;
    hfconfig_default(&c);
    c.max_position_embeddings = 514; /* roberta-base's config.json */
    c.type_vocab_size = 1;
    c.num_hidden_layers = L;
    Model *m = model_create(&c, HEAD_CLASSIFICATION, 2);
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
        for (int t = 1; t < T - 1; t++) b.ids[(size_t)s * T + t] = 3 + (int)((x = x * 1103515245u + 12345u) >> 8) % 50000;
        b.ids[(size_t)s * T + T - 1] = 2;
        b.len[s] = T;
        b.label[s] = s & 1;
    }
    double H = c.hidden_size, I = c.intermediate_size, N = (double)B * T;
    double fwd = L * (2 * N * (4 * H * H + 2 * H * I) + 4.0 * B * T * T * H) + 2 * B * H * H;
    double flops = 3 * fwd;
    model_zero_grad(m);
    model_forward(m, &b, 1, 1, 0); /* warm-up: allocations, oneDNN kernels */
    model_backward(m, &b);
    double tf = 0, tb = 0;
    for (int i = 0; i < steps; i++) {
        double t0 = now();
        model_forward(m, &b, 1, 1, (uint32_t)i + 1);
        double t1 = now();
        model_backward(m, &b);
        double t2 = now();
        tf += t1 - t0;
        tb += t2 - t1;
    }
    tf /= steps;
    tb /= steps;
    printf("engine-step: %d layers, batch %d x %d tokens, %d threads, sparse ratio %g: forward %.3f s, backward %.3f s, "
           "step %.3f s, %.1f GFLOP/s (%.0f GFLOP/step)\n",
           L, B, T, omp_get_max_threads(), ratio, tf, tb, tf + tb, flops / (tf + tb) * 1e-9, flops * 1e-9);
    batch_free(&b);
    for (int i = 0; i < m->n_params; i++) free(masks[i]);
    free(masks);
    model_free(m);
    return 0;
}
