/* select-bench — top-k mask selection at p = 0.005 over roberta-base-shaped tensors
 * (124.6 M floats: word embeddings 50265x768 = 38.6 M, 12 layers of 768x768 and 768x3072
 * matrices, biases and LayerNorms) against a full sort (qsort of (|x|, index) pairs with the
 * same tie rule) of the largest tensor.  Prints a table of wall seconds.
 *
 *   build/opt/bench/select-bench [SCALE]     SCALE (default 1) divides every tensor size
 *
 * The data are Philox normals scaled like gradients, with a share of exact zeros and repeated
 * values (ties).  The per-tensor result on the largest tensor is checked against the sort. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "select.h"
#include "util.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    uint32_t key, idx;
} Pair;

static int by_rank(const void *a, const void *b) {
    const Pair *p = a, *q = b;
    if (p->key != q->key) return p->key < q->key ? 1 : -1;
    return (p->idx > q->idx) - (p->idx < q->idx);
}

static int by_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    st_set_progname("select-bench");
    size_t scale = argc > 1 ? (size_t)atol(argv[1]) : 1;
    if (scale < 1) scale = 1;
    /* roberta-base: embeddings, 12 layers, pooler */
    size_t sizes[256], T = 0;
    sizes[T++] = 50265 * 768; /* word embeddings */
    sizes[T++] = 514 * 768;   /* positions */
    sizes[T++] = 768;         /* token type */
    sizes[T++] = 768, sizes[T++] = 768;
    for (int l = 0; l < 12; l++) {
        for (int q = 0; q < 4; q++) sizes[T++] = 768 * 768, sizes[T++] = 768; /* q k v o */
        sizes[T++] = 768, sizes[T++] = 768;                                   /* attn LN */
        sizes[T++] = 3072 * 768, sizes[T++] = 3072;                           /* intermediate */
        sizes[T++] = 768 * 3072, sizes[T++] = 768;                            /* output */
        sizes[T++] = 768, sizes[T++] = 768;                                   /* output LN */
    }
    sizes[T++] = 768 * 768, sizes[T++] = 768; /* pooler */
    size_t total = 0;
    for (size_t t = 0; t < T; t++) {
        sizes[t] = sizes[t] / scale ? sizes[t] / scale : 1;
        total += sizes[t];
    }

    float *all = xmalloc_aligned(total * sizeof *all);
    const float *x[256];
    double t0 = now();
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < (total + 4095) / 4096; b++) {
        Rng r;
        rng_init(&r, 1, RNG_STREAM_MODEL_INIT, (uint32_t)b);
        for (size_t i = b * 4096; i < total && i < (b + 1) * 4096; i++) {
            uint32_t u = rng_u32(&r);
            /* 1/16 exact zeros, 1/16 from 8 repeated levels, the rest normal-ish (sum of
             * uniforms: cheap and continuous) */
            if ((u & 15) == 0) all[i] = 0.0f;
            else if ((u & 15) == 1) all[i] = (float)((u >> 4) & 7) * 1e-4f - 4e-4f;
            else {
                double s = rng_u32_to_unit_float(rng_u32(&r)) + rng_u32_to_unit_float(rng_u32(&r)) +
                           rng_u32_to_unit_float(rng_u32(&r)) - 1.5;
                all[i] = (float)(s * 1e-3);
            }
        }
    }
    size_t off = 0;
    for (size_t t = 0; t < T; t++) x[t] = all + off, off += sizes[t];
    printf("select-bench: %zu tensors, %zu floats (largest %zu), p = 0.005, %d threads "
           "(data generated in %.2f s)\n",
           T, total, sizes[0], omp_get_max_threads(), now() - t0);

    uint32_t **out = xmalloc(T * sizeof *out);
    size_t *count = xmalloc(T * sizeof *count), ksum = 0;
    for (size_t t = 0; t < T; t++) {
        out[t] = xmalloc((sizes[t] + 1) * sizeof *out[t]);
        ksum += select_count(0.005, sizes[t]);
    }

    size_t *ks = xmalloc(T * sizeof *ks);
    for (size_t t = 0; t < T; t++) ks[t] = select_count(0.005, sizes[t]);
    int threads = omp_get_max_threads();
    /* rows x {1 thread, all threads}; the 1-thread column first (no warm-up advantage) */
    enum { LOOP, EACH, LARGEST, GLOBAL, RANDOM, NROWS };
    static const char *const row[NROWS] = {
        "top-k per tensor, select_topk loop", "top-k per tensor, select_topk_each",
        "top-k, largest tensor only", "top-k global over all tensors",
        "random exact-k per tensor (1 thread)"};
    double sec[NROWS][2];
    for (int col = 0; col < 2; col++) {
        omp_set_num_threads(col == 0 ? 1 : threads);
        t0 = now();
        for (size_t t = 0; t < T; t++)
            if (select_topk(x[t], sizes[t], ks[t], SELECT_ABS, out[t])) die(NULL, "select_topk failed");
        sec[LOOP][col] = now() - t0;
        t0 = now();
        if (select_topk_each(x, sizes, ks, T, SELECT_ABS, out, NULL)) die(NULL, "select_topk_each failed");
        sec[EACH][col] = now() - t0;
        t0 = now();
        if (select_topk(x[0], sizes[0], ks[0], SELECT_ABS, out[0])) die(NULL, "select_topk failed");
        sec[LARGEST][col] = now() - t0;
        t0 = now();
        if (select_topk_global(x, sizes, T, select_count(0.005, total), SELECT_ABS, out, count))
            die(NULL, "select_topk_global failed");
        sec[GLOBAL][col] = now() - t0;
        t0 = now();
        for (size_t t = 0; t < T; t++)
            if (select_random(1, (uint32_t)t, sizes[t], ks[t], out[t])) die(NULL, "select_random failed");
        sec[RANDOM][col] = now() - t0;
    }
    omp_set_num_threads(threads);
    printf("%-40s %11s %11s %11s\n", "operation (seconds)", "elements", "1 thread", "threads");
    for (int r = 0; r < NROWS; r++)
        printf("%-40s %11zu %11.3f %11.3f\n", row[r], r == LARGEST ? sizes[0] : total, sec[r][0],
               sec[r][1]);
    double largest = sec[LARGEST][0] < sec[LARGEST][1] ? sec[LARGEST][0] : sec[LARGEST][1];
    double best = sec[EACH][1];
    for (int r = LOOP; r <= EACH; r++)
        for (int c = 0; c < 2; c++) best = sec[r][c] < best ? sec[r][c] : best;
    free(ks);

    /* Full sort of the largest tensor: (|x| bits, index) pairs, rank order, then the first k
     * indices sorted ascending. */
    size_t n0 = sizes[0], k0 = select_count(0.005, n0);
    Pair *p = xmalloc(n0 * sizeof *p);
    uint32_t *ref = xmalloc((k0 + 1) * sizeof *ref), *mine = xmalloc((k0 + 1) * sizeof *mine);
    t0 = now();
    for (size_t i = 0; i < n0; i++) {
        uint32_t b;
        memcpy(&b, &x[0][i], sizeof b);
        p[i].key = b & 0x7fffffffu, p[i].idx = (uint32_t)i;
    }
    qsort(p, n0, sizeof *p, by_rank);
    for (size_t i = 0; i < k0; i++) ref[i] = p[i].idx;
    qsort(ref, k0, sizeof *ref, by_u32);
    double sorted = now() - t0;
    printf("%-40s %11zu %11.3f\n", "qsort (|x|, index) pairs, largest tensor", n0, sorted);
    printf("qsort / top-k on the largest tensor: %.0fx; per-tensor top-k, best: %.0f M floats/s\n",
           sorted / largest, (double)total / best * 1e-6);
    if (select_topk(x[0], n0, k0, SELECT_ABS, mine) || memcmp(mine, ref, k0 * sizeof *ref) != 0)
        die(NULL, "top-k of the largest tensor differs from the full sort");
    printf("check: top-k of the largest tensor equals the full sort (k = %zu); k total %zu\n", k0, ksum);

    for (size_t t = 0; t < T; t++) free(out[t]);
    free(out), free(count), free(p), free(ref), free(mine), free(all);
    return 0;
}
