/* sgemm-peak — the best single-precision GEMM rate this machine reaches at the shapes of one
 * roberta-base training step (batch 16 x length 128 = 2048 tokens), with oneDNN's dnnl_sgemm
 * and, for comparison, OpenBLAS's cblas_sgemm (whatever core OPENBLAS_CORETYPE selects).
 * The best rate is the benchmark's floor: step FLOPs / best rate.
 *
 *   build/opt/bench/sgemm-peak [--threads N] [--min-time SECONDS] [--lib dnnl|openblas|both]
 *
 * Prints a markdown table (GFLOP/s of the fastest call of each case), then the lines
 *   best sgemm: <GFLOP/s> GFLOP/s (<lib> <case>)
 *   step mix <lib>: <seconds> s for the step's GEMMs (<GFLOP/s> GFLOP/s)
 * "step mix" weights each case by how often one training step runs it (12 layers), i.e. the
 * step's matrix time if every GEMM ran at that library's measured rate.
 *
 * Row-major throughout (dnnl_sgemm's convention; CblasRowMajor for OpenBLAS). Weights are
 * stored [out, in] as in torch.nn.Linear, so the forward is X W^T (NT), the input gradient
 * dY W (NN) and the weight gradient dY^T X (TN). Batched attention products run as an OpenMP
 * loop over the 192 (batch x head) matrices, each call single-threaded. */
#include <dlfcn.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "util.h"

/* OpenBLAS extensions (declared in its cblas.h too, but not in every cblas.h). */
char *openblas_get_corename(void);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);

typedef struct {
    const char *role; /* where the step uses it */
    char ta, tb;
    long m, n, k, batch;
    int per_step; /* calls (batched: batched calls) in one 12-layer training step */
} Case;

enum { TOK = 16 * 128, HID = 768, FFN = 3072, LAYERS = 12, BH = 16 * 12, LEN = 128, HD = 64 };

static const Case CASES[] = {
    {"q/k/v/o forward", 'N', 'T', TOK, HID, HID, 1, 4 * LAYERS},
    {"q/k/v/o input grad", 'N', 'N', TOK, HID, HID, 1, 4 * LAYERS},
    {"q/k/v/o weight grad", 'T', 'N', HID, HID, TOK, 1, 4 * LAYERS},
    {"ffn up forward", 'N', 'T', TOK, FFN, HID, 1, LAYERS},
    {"ffn up input grad", 'N', 'N', TOK, HID, FFN, 1, LAYERS},
    {"ffn up weight grad", 'T', 'N', FFN, HID, TOK, 1, LAYERS},
    {"ffn down forward", 'N', 'T', TOK, HID, FFN, 1, LAYERS},
    {"ffn down input grad", 'N', 'N', TOK, FFN, HID, 1, LAYERS},
    {"ffn down weight grad", 'T', 'N', HID, FFN, TOK, 1, LAYERS},
    {"transposition sweep", 'T', 'N', TOK, FFN, HID, 1, 0},
    {"transposition sweep", 'T', 'T', TOK, FFN, HID, 1, 0},
    /* scores Q K^T and its dP = dC V^T; context P V and dQ = dS K; dV = P^T dC, dK = dS^T Q */
    {"attn scores, dP", 'N', 'T', LEN, LEN, HD, BH, 2 * LAYERS},
    {"attn context, dQ", 'N', 'N', LEN, HD, LEN, BH, 2 * LAYERS},
    {"attn dV, dK", 'T', 'N', LEN, HD, LEN, BH, 2 * LAYERS},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

enum { LIB_DNNL, LIB_OPENBLAS, NLIBS };
static const char *LIB_NAMES[NLIBS] = {"dnnl", "openblas"};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rand_matrix(size_t n, unsigned *seed) {
    float *p = xmalloc_aligned(n * sizeof *p);
    for (size_t i = 0; i < n; i++) { /* uniform in [-1, 1): no denormals, no overflow */
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) * (2.0 / 16777216.0) - 1.0);
    }
    return p;
}

static void one_gemm(int lib, const Case *c, const float *a, const float *b, float *o) {
    long lda = c->ta == 'N' ? c->k : c->m, ldb = c->tb == 'N' ? c->n : c->k;
    if (lib == LIB_DNNL) {
        dnnl_status_t st = dnnl_sgemm(c->ta, c->tb, c->m, c->n, c->k, 1.0f, a, lda, b, ldb,
                                      0.0f, o, c->n);
        if (st != dnnl_success) die("dnnl_sgemm", "status %d", (int)st);
    } else {
        cblas_sgemm(CblasRowMajor, c->ta == 'N' ? CblasNoTrans : CblasTrans,
                    c->tb == 'N' ? CblasNoTrans : CblasTrans, (int)c->m, (int)c->n, (int)c->k,
                    1.0f, a, (int)lda, b, (int)ldb, 0.0f, o, (int)c->n);
    }
}

/* One timed unit: a single GEMM on all threads, or the whole batch with one matrix per
 * thread at a time (oneDNN runs sequentially inside a parallel region; OpenBLAS is set to one
 * thread for the batch so its own pool does not oversubscribe). */
static void run_case(int lib, const Case *c, const float *a, const float *b, float *o,
                     int threads) {
    if (c->batch == 1) {
        one_gemm(lib, c, a, b, o);
        return;
    }
    size_t sa = (size_t)c->m * c->k, sb = (size_t)c->k * c->n, so = (size_t)c->m * c->n;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < c->batch; i++) one_gemm(lib, c, a + i * sa, b + i * sb, o + i * so);
}

/* Best seconds of one call (fastest of >= 3 repetitions and >= min_time in total): the peak,
 * the least disturbed run on a shared machine. */
static double time_case(int lib, const Case *c, int threads, double min_time) {
    unsigned seed = 42;
    size_t bt = (size_t)c->batch;
    float *a = rand_matrix(bt * c->m * c->k, &seed), *b = rand_matrix(bt * c->k * c->n, &seed);
    float *o = xmalloc_aligned(bt * c->m * c->n * sizeof *o);
    if (lib == LIB_OPENBLAS) openblas_set_num_threads(c->batch == 1 ? threads : 1);
    run_case(lib, c, a, b, o, threads); /* warm-up: first touch, library init */
    double best = INFINITY, total = 0;
    for (int rep = 0; rep < 3 || total < min_time; rep++) {
        double t0 = now();
        run_case(lib, c, a, b, o, threads);
        double dt = now() - t0;
        total += dt;
        if (dt < best) best = dt;
        if (rep > 1000) break;
    }
    /* A cheap check that the product was computed: C[0][0] against a direct dot product. */
    double ref = 0;
    for (long p = 0; p < c->k; p++) {
        float av = c->ta == 'N' ? a[p] : a[p * c->m];
        float bv = c->tb == 'N' ? b[p * c->n] : b[p];
        ref += (double)av * bv;
    }
    if (fabs(ref - o[0]) > 1e-3 * (1 + fabs(ref)))
        die(LIB_NAMES[lib], "wrong result: C[0][0] = %g, expected %g", o[0], ref);
    free(a);
    free(b);
    free(o);
    return best;
}

static double case_flops(const Case *c) { return 2.0 * c->m * c->n * c->k * c->batch; }

static const char *lib_path(void *sym) {
    Dl_info info;
    return dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "?";
}

int main(int argc, char **argv) {
    st_set_progname("sgemm-peak");
    int threads = omp_get_num_procs();
    double min_time = 0.3;
    int use[NLIBS] = {1, 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            printf("usage: sgemm-peak [--threads N] [--min-time SECONDS] "
                   "[--lib dnnl|openblas|both]\n");
            return 0;
        }
        if (!val) die_usage("%s: missing value or unknown option", arg);
        if (!strcmp(arg, "--threads")) threads = (int)parse_long(arg, val, 1, 1024);
        else if (!strcmp(arg, "--min-time")) min_time = parse_double(arg, val, 0, 60);
        else if (!strcmp(arg, "--lib")) {
            use[LIB_DNNL] = !strcmp(val, "dnnl") || !strcmp(val, "both");
            use[LIB_OPENBLAS] = !strcmp(val, "openblas") || !strcmp(val, "both");
            if (!use[LIB_DNNL] && !use[LIB_OPENBLAS]) die_usage("--lib: unknown '%s'", val);
        } else die_usage("unknown option '%s'", arg);
        i++;
    }
    omp_set_num_threads(threads);

    const dnnl_version_t *v = dnnl_version();
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    printf("sgemm-peak: %d threads; oneDNN %d.%d.%d; OpenBLAS core %s "
           "(OPENBLAS_CORETYPE=%s, OPENBLAS_L2_SIZE=%s; cblas_sgemm from %s)\n\n",
           threads, v->major, v->minor, v->patch, openblas_get_corename(), ct ? ct : "(unset)",
           l2 ? l2 : "(unset)", lib_path((void *)cblas_sgemm));
    printf("| case | op | M x N x K | batch | per step |");
    for (int l = 0; l < NLIBS; l++)
        if (use[l]) printf(" %s GFLOP/s |", LIB_NAMES[l]);
    printf("\n|---|---|---|---|---|");
    for (int l = 0; l < NLIBS; l++)
        if (use[l]) printf("---|");
    printf("\n");

    double best = 0, mix_s[NLIBS] = {0}, mix_flops = 0;
    const char *best_lib = "", *best_role = "";
    const Case *best_case = NULL;
    for (size_t i = 0; i < NCASES; i++) {
        const Case *c = &CASES[i];
        printf("| %s | %c%c | %ld x %ld x %ld | %ld | %d |", c->role, c->ta, c->tb, c->m, c->n,
               c->k, c->batch, c->per_step);
        fflush(stdout);
        mix_flops += c->per_step * case_flops(c);
        for (int l = 0; l < NLIBS; l++) {
            if (!use[l]) continue;
            double s = time_case(l, c, threads, min_time), g = case_flops(c) / s / 1e9;
            mix_s[l] += c->per_step * s;
            if (g > best) best = g, best_lib = LIB_NAMES[l], best_role = c->role, best_case = c;
            printf(" %.1f |", g);
            fflush(stdout);
        }
        printf("\n");
    }
    printf("\nbest sgemm: %.1f GFLOP/s (%s %c%c %ldx%ldx%ld, %s)\n", best, best_lib,
           best_case->ta, best_case->tb, best_case->m, best_case->n, best_case->k, best_role);
    for (int l = 0; l < NLIBS; l++)
        if (use[l])
            printf("step mix %s: %.3f s for the step's %.4g GEMM FLOPs (%.1f GFLOP/s)\n",
                   LIB_NAMES[l], mix_s[l], mix_flops, mix_flops / mix_s[l] / 1e9);
    return 0;
}
