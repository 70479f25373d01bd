/* cuda-step — the engine on the GPU at roberta-base size: parity with the CPU and speed.
 *
 *   (every form takes --layers --hidden --heads --ffn --vocab; default roberta-base)
 *   build/opt/bench/cuda-step --check [--batch B] [--len T] [--layers L] [--ratio R]
 *       one training forward/backward (dropout on) of the same randomly initialised model on
 *       the CPU backend and on the CUDA backend in fp32, tf32 and bf16: the loss and every
 *       gradient tensor compared (relative error ||gpu - cpu|| / ||cpu||); with --ratio R > 0
 *       the encoder tensors get random masks of density R (masked gradients).  One JSON line
 *       per precision; exit 1 when fp32 exceeds 1e-4.
 *   build/opt/bench/cuda-step [--batch 32] [--len 128] [--steps 20] [--precision P] [--ratio R]
 *       times full training steps (forward, backward, gradient norm + clipping, AdamW over every
 *       parameter) or, with --ratio R > 0, masked steps (random masks of density R on the
 *       encoder, dense head, sparse AdamW): median seconds per step, TFLOP/s (dense-equivalent
 *       matrix FLOPs as engine-step counts them) and the cuBLAS rate of the step's largest
 *       product shape [B*T, 768] x [768, 3072] measured through op_gemm in the same precision.
 *       One JSON line.
 * SPARSETUNE_OPS_PROFILE=3 adds the CUDA backend's per-op profile of the steps after the two
 * warm-up steps (kernels/profile.cu) on stderr.
 * Steps are synchronised by reading a value back (the gradient norm and a parameter), so the
 * times are whole steps as a training loop sees them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hfconfig.h"
#include "model.h"
#include "ops_backend.h"
#include "optim.h"
#include "rng.h"
#include "select.h"
#include "util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct Args {
    int B, T, L, H, NH, I, V, steps, check;
    double ratio;
    const char *precision;
} Args;

static HfConfig base_config(const Args *a) {
    HfConfig c;
    hfconfig_default(&c); /* roberta-base unless the sizes are given */
    c.max_position_embeddings = 514;
    c.type_vocab_size = 1;
    c.num_hidden_layers = a->L;
    if (a->H) c.hidden_size = a->H;
    if (a->NH) c.num_attention_heads = a->NH;
    if (a->I) c.intermediate_size = a->I;
    if (a->V) c.vocab_size = a->V;
    return c;
}

static void make_batch(Batch *b, int B, int T, int V) {
    batch_alloc(b, B, 1, T, 1);
    unsigned x = 12345;
    for (int s = 0; s < B; s++) {
        int len = T - (s % 4) * (T / 8); /* some padding, as real batches have */
        b->ids[(size_t)s * T] = 0;
        for (int t = 1; t < len - 1; t++)
            b->ids[(size_t)s * T + t] = 3 + (int)((x = x * 1103515245u + 12345u) >> 8) % (V - 3);
        b->ids[(size_t)s * T + len - 1] = 2;
        b->len[s] = len;
        b->label[s] = s & 1;
    }
}

/* Random masks of density ratio (exactly k = int(ratio * numel) entries) for the encoder. */
static uint32_t **make_masks(const Model *m, double ratio, size_t *ks) {
    uint32_t **idx = xcalloc((size_t)m->n_params, sizeof *idx);
    for (int i = 0; i < m->head_first; i++) {
        ks[i] = select_count(ratio, m->info[i].numel);
        idx[i] = xmalloc((ks[i] ? ks[i] : 1) * sizeof(uint32_t));
        if (select_random(3, (uint32_t)i, m->info[i].numel, ks[i], idx[i]) != SELECT_OK) die("mask", "too large");
    }
    return idx;
}

static double norm(const float *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

static double dist(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(d);
}

static double rel(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* Loss and gradients (host, per tensor) of one training forward/backward on backend be. */
static float grads_on(const OpsBackend *be, const Args *a, const float *params, float **g) {
    ops_use(be);
    HfConfig c = base_config(a);
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2);
    for (int i = 0; i < m->n_params; i++) model_set_tensor(m, i, params + m->info[i].offset);
    size_t *ks = xcalloc((size_t)m->n_params, sizeof *ks);
    uint32_t **idx = a->ratio > 0 ? make_masks(m, a->ratio, ks) : NULL;
    for (int i = 0; idx && i < m->head_first; i++) model_set_grad_mode(m, i, GRAD_SPARSE, idx[i], ks[i]);
    Batch b;
    make_batch(&b, a->B, a->T, c.vocab_size);
    model_zero_grad(m);
    float loss = model_forward(m, &b, 1, 7, 1);
    model_backward(m, &b);
    for (int i = 0; i < m->n_params; i++) {
        size_t n = idx && i < m->head_first ? ks[i] : m->info[i].numel;
        g[i] = xmalloc((n ? n : 1) * sizeof(float));
        ops_download(g[i], model_grad(m, i), n * sizeof(float));
    }
    int np = m->n_params;
    batch_free(&b);
    model_free(m);
    for (int i = 0; idx && i < np; i++) free(idx[i]);
    free(idx), free(ks);
    ops_use(&ops_cpu_backend);
    return loss;
}

static int check(const Args *a, const OpsBackend *cu) {
    HfConfig c = base_config(a);
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2);
    model_init_random(m, 1);
    float *params = xmalloc(m->total * sizeof(float));
    model_get_params(m, params);
    size_t *ks = xcalloc((size_t)m->n_params, sizeof *ks);
    uint32_t **idx = a->ratio > 0 ? make_masks(m, a->ratio, ks) : NULL;
    float **ref = xcalloc((size_t)m->n_params, sizeof *ref), **g = xcalloc((size_t)m->n_params, sizeof *g);
    double t0 = now();
    float lref = grads_on(&ops_cpu_backend, a, params, ref);
    fprintf(stderr, "cuda-step: CPU reference step %.2f s\n", now() - t0);
    int bad = 0;
    const char *precs[] = {"fp32", "tf32", "bf16"};
    for (int p = 0; p < 3; p++) {
        char err[256];
        if (ops_cuda_set_precision((OpsPrecision)p, err, sizeof err) != 0) die("precision", "%s", err);
        float loss = grads_on(cu, a, params, g);
        /* Gradients that are zero in exact arithmetic (the attention key bias: softmax ignores
         * a constant added to a row) hold rounding noise on both sides: they are measured
         * against the largest gradient norm instead of their own. */
        double top = 0, worst = 0, sum = 0;
        for (int i = 0; i < m->n_params; i++) top = fmax(top, norm(ref[i], idx && i < m->head_first ? ks[i] : m->info[i].numel));
        int wi = 0;
        for (int i = 0; i < m->n_params; i++) {
            size_t n = idx && i < m->head_first ? ks[i] : m->info[i].numel;
            double own = norm(ref[i], n);
            double e = own >= 1e-6 * top ? rel(g[i], ref[i], n) : dist(g[i], ref[i], n) / top;
            if (!(e <= worst)) worst = e, wi = i; /* NaN counts as worst */
            sum += e;
            free(g[i]);
        }
        if (p == 0 && !(worst <= 1e-4)) bad = 1;
        printf("{\"check\": \"gradients\", \"precision\": \"%s\", \"batch\": %d, \"len\": %d, \"layers\": %d, "
               "\"ratio\": %g, \"loss_cpu\": %.7f, \"loss_gpu\": %.7f, \"loss_rel_err\": %.3g, "
               "\"worst_tensor_rel_err\": %.3g, \"worst_tensor\": \"%s\", \"mean_tensor_rel_err\": %.3g}\n",
               precs[p], a->B, a->T, a->L, a->ratio, lref, loss, fabs(loss - lref) / fabs(lref), worst,
               m->info[wi].name, sum / m->n_params);
        fflush(stdout);
    }
    for (int i = 0; i < m->n_params; i++) free(ref[i]);
    for (int i = 0; idx && i < m->n_params; i++) free(idx[i]);
    free(ref), free(g), free(idx), free(ks), free(params);
    model_free(m);
    return bad;
}

/* Best time of C[M,N] = A[M,K] B[K,N] through op_gemm on the current backend, as TFLOP/s. */
static double gemm_rate(int M, int N, int K) {
    float *A = ops_alloc((size_t)M * K), *B = ops_alloc((size_t)K * N), *C = ops_alloc((size_t)M * N);
    size_t most = (size_t)M * K > (size_t)K * N ? (size_t)M * K : (size_t)K * N;
    float *h = xmalloc(most * sizeof *h);
    for (size_t i = 0; i < most; i++) h[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    ops_upload(A, h, (size_t)M * K * sizeof *h);
    ops_upload(B, h, (size_t)K * N * sizeof *h);
    double best = 1e30;
    float sink;
    for (int r = 0; r < 8; r++) {
        double t0 = now();
        for (int j = 0; j < 10; j++) op_gemm('N', 'N', M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        ops_download(&sink, C, sizeof sink);
        double t = (now() - t0) / 10;
        if (r > 1 && t < best) best = t;
    }
    ops_free(A), ops_free(B), ops_free(C), free(h);
    return 2.0 * M * N * K / best * 1e-12;
}

static void bench(const Args *a) {
    HfConfig c = base_config(a);
    Model *m = model_create(&c, HEAD_CLASSIFICATION, ARCH_HF, 2);
    model_init_random(m, 1);
    Optim o;
    optim_init(&o, 0.9, 0.999, 1e-8, 0.01, 0);
    size_t *ks = xcalloc((size_t)m->n_params, sizeof *ks);
    uint32_t **idx = a->ratio > 0 ? make_masks(m, a->ratio, ks) : NULL;
    for (int i = 0; i < m->n_params; i++) optim_add(&o, m, i, idx && i < m->head_first ? idx[i] : NULL, ks[i]);
    optim_freeze_rest(&o, m);
    Batch b;
    make_batch(&b, a->B, a->T, c.vocab_size);
    double *ts = xmalloc((size_t)a->steps * sizeof *ts);
    float sink;
    for (int s = -2; s < a->steps; s++) { /* 2 warm-up steps */
        double t0 = now();
        model_zero_grad(m);
        model_forward(m, &b, 1, 1, (uint32_t)(s + 2));
        model_backward(m, &b);
        double norm = optim_grad_norm(&o, m);
        optim_step(&o, m, 1e-5, norm > 1.0 ? 1.0 / norm : 1.0);
        ops_download(&sink, m->params, sizeof sink);
        if (s >= 0) ts[s] = now() - t0;
    }
    qsort(ts, (size_t)a->steps, sizeof *ts, cmp_double);
    double med = ts[a->steps / 2];
    double Hd = c.hidden_size, Id = c.intermediate_size, N = (double)a->B * a->T, L = a->L;
    double fwd = L * (2 * N * (4 * Hd * Hd + 2 * Hd * Id) + 4.0 * a->B * a->T * a->T * Hd) + 2 * a->B * Hd * Hd;
    double tflops = 3 * fwd / med * 1e-12;
    /* not while profiling the ops (SPARSETUNE_OPS_PROFILE): its products would count as the step's */
    double gr = getenv("SPARSETUNE_OPS_PROFILE") ? NAN : gemm_rate(a->B * a->T, c.intermediate_size, c.hidden_size);
    printf("{\"bench\": \"%s\", \"precision\": \"%s\", \"batch\": %d, \"len\": %d, \"layers\": %d, \"ratio\": %g, "
           "\"seconds_per_step\": %.5f, \"min_seconds\": %.5f, \"steps\": %d, \"tflops\": %.2f, "
           "\"gemm_tflops\": %.2f, \"fraction_of_gemm\": %.3f, \"grad_bytes\": %zu, \"trainable\": %zu, "
           "\"sparse_dw\": \"%s\"}\n",
           a->ratio > 0 ? "masked" : "full", a->precision, a->B, a->T, a->L, a->ratio, med, ts[0], a->steps,
           tflops, gr, tflops / gr, model_grad_bytes(m), optim_trainable(&o),
           getenv("SPARSETUNE_SPARSE_DW") ? getenv("SPARSETUNE_SPARSE_DW") : "auto");
    free(ts);
    batch_free(&b);
    optim_free(&o);
    int np = m->n_params;
    model_free(m);
    for (int i = 0; idx && i < np; i++) free(idx[i]);
    free(idx), free(ks);
}

int main(int argc, char **argv) {
    st_set_progname("cuda-step");
    Args a = {32, 128, 12, 0, 0, 0, 0, 20, 0, 0, "fp32"};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--check") == 0) { a.check = 1; continue; }
        if (i + 1 >= argc) die_usage("%s: missing value", o);
        const char *v = argv[++i];
        if (strcmp(o, "--batch") == 0) a.B = (int)parse_long(o, v, 1, 1 << 16);
        else if (strcmp(o, "--len") == 0) a.T = (int)parse_long(o, v, 8, 512);
        else if (strcmp(o, "--layers") == 0) a.L = (int)parse_long(o, v, 1, 1000);
        else if (strcmp(o, "--hidden") == 0) a.H = (int)parse_long(o, v, 8, 1 << 16);
        else if (strcmp(o, "--heads") == 0) a.NH = (int)parse_long(o, v, 1, 1024);
        else if (strcmp(o, "--ffn") == 0) a.I = (int)parse_long(o, v, 1, 1 << 18);
        else if (strcmp(o, "--vocab") == 0) a.V = (int)parse_long(o, v, 8, 1 << 22);
        else if (strcmp(o, "--steps") == 0) a.steps = (int)parse_long(o, v, 1, 1 << 20);
        else if (strcmp(o, "--ratio") == 0) a.ratio = parse_double(o, v, 0, 1);
        else if (strcmp(o, "--precision") == 0) a.precision = v;
        else die_usage("unknown option %s", o);
    }
    char err[512], desc[256];
    const OpsBackend *cu = ops_cuda_backend(err, sizeof err, desc, sizeof desc);
    if (!cu) die("cuda", "%s", err);
    fprintf(stderr, "cuda-step: %s (%s build)\n", desc, ops_cuda_build());
    if (a.check) return check(&a, cu);
    ops_select("cuda", a.precision, 1);
    bench(&a);
    return 0;
}
