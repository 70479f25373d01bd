/* CUDA backend, own kernels (kernels/elementwise.cu, norm.cu, embed.cu, loss.cu): every op
 * against the CPU backend through the two backend tables, on random data of awkward sizes,
 * with outputs poisoned (NaN) before the call, in-place cases where ops.h allows them, the
 * accumulate flags and the optional (NULL) arguments.  Tolerance: max |cuda - cpu| <= 1e-5 *
 * max |cpu| per output; dropout masks bit-exact (also against rng.h's philox_word_at
 * directly); the embedding gradients are also checked to be identical run to run.  In the
 * emulated build these run the kernels on the CPU emulator; without a CUDA backend they skip
 * with the reason. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "cuda_fixture.h"
#include "ops_backend.h"
#include "rng.h"

#define TOL 1e-5

/* Downloads d (n floats) and checks it against the CPU's r; frees nothing. */
#define CHECK_CLOSE(cu, d, r, n, what, ...)                                                    \
    do {                                                                                       \
        float *got_ = tc_get(cu, d, n);                                                           \
        double e_ = tc_rel_err(got_, r, n);                                                       \
        CHECK_MSG(e_ <= TOL, "%s: rel. error %.3g (" what ")", #d, e_, __VA_ARGS__);          \
        free(got_);                                                                            \
    } while (0)

#define CHECK_SAME(cu, d, r, n, what, ...)                                                     \
    do {                                                                                       \
        float *got_ = tc_get(cu, d, n);                                                           \
        CHECK_MSG(memcmp(got_, r, (n) * sizeof(float)) == 0, "%s differs bitwise (" what ")", #d, \
                  __VA_ARGS__);                                                                \
        free(got_);                                                                            \
    } while (0)

static const size_t SIZES[] = {1, 3, 7, 256, 1000, 4099};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

/* ---------------------------------------------------------------- elementwise */

TEST(cuda_kern_gelu_tanh_relu) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = SIZES[k];
        float *x = tc_rand(n, 1 + (uint32_t)k, -6.0f, 6.0f), *dy = tc_rand(n, 2, -1.0f, 1.0f);
        float *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx);
        float *dX = tc_put(cu, x, n), *dDy = tc_put(cu, dy, n), *dY = tc_poisoned(cu, n), *dDx = tc_poisoned(cu, n);

        cpu->gelu_fwd(y, x, n);
        cu->gelu_fwd(dY, dX, n);
        CHECK_CLOSE(cu, dY, y, n, "gelu_fwd n=%zu", n);
        cpu->gelu_bwd(dx, dy, x, n);
        cu->gelu_bwd(dDx, dDy, dX, n);
        CHECK_CLOSE(cu, dDx, dx, n, "gelu_bwd n=%zu", n);
        float *dZ = tc_put(cu, x, n); /* in place */
        cu->gelu_fwd(dZ, dZ, n);
        CHECK_CLOSE(cu, dZ, y, n, "gelu_fwd in place n=%zu", n);

        cpu->tanh_fwd(y, x, n);
        cu->tanh_fwd(dY, dX, n);
        CHECK_CLOSE(cu, dY, y, n, "tanh_fwd n=%zu", n);
        cpu->tanh_bwd(dx, dy, y, n); /* y = tanh output, some of them +-1 */
        float *dT = tc_put(cu, y, n);
        cu->tanh_bwd(dDx, dDy, dT, n);
        CHECK_CLOSE(cu, dDx, dx, n, "tanh_bwd n=%zu", n);

        cpu->relu_fwd(y, x, n); /* the adapter's bottleneck (methods/adapter.c) */
        cu->relu_fwd(dY, dX, n);
        CHECK_SAME(cu, dY, y, n, "relu_fwd n=%zu", n);
        cpu->relu_bwd(dx, dy, y, n);
        float *dR = tc_put(cu, y, n);
        cu->relu_bwd(dDx, dDy, dR, n);
        CHECK_SAME(cu, dDx, dx, n, "relu_bwd n=%zu", n);
        cu->free(dR);

        cu->free(dX), cu->free(dDy), cu->free(dY), cu->free(dDx), cu->free(dZ), cu->free(dT);
        free(x), free(dy), free(y), free(dx);
    }
}

TEST(cuda_kern_add_accumulate) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    for (size_t k = 0; k < NSIZES; k++) {
        size_t n = SIZES[k];
        float *a = tc_rand(n, 3, -2.0f, 2.0f), *b = tc_rand(n, 4, -2.0f, 2.0f), *y = malloc(n * sizeof *y);
        float *dA = tc_put(cu, a, n), *dB = tc_put(cu, b, n), *dY = tc_poisoned(cu, n);
        cpu->add(y, a, b, n);
        cu->add(dY, dA, dB, n);
        CHECK_SAME(cu, dY, y, n, "add n=%zu", n);
        cu->add(dA, dA, dB, n); /* the residual in place */
        CHECK_SAME(cu, dA, y, n, "add in place n=%zu", n);
        cpu->accumulate(y, b, n);
        cu->accumulate(dY, dB, n);
        CHECK_SAME(cu, dY, y, n, "accumulate n=%zu", n);
        cu->free(dA), cu->free(dB), cu->free(dY);
        free(a), free(b), free(y);
    }
}

/* Dropout: bit-exact with the CPU backend and with the contract written out with
 * philox_word_at, fwd and bwd, in place, on pointers that are and are not 16-byte aligned. */
TEST(cuda_kern_dropout_bit_exact) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    const float ps[] = {0.1f, 0.5f, 0.0f, 1.0f, 0.9999f};
    const uint64_t seeds[] = {42, 0xfedcba9876543210ull};
    const size_t ns[] = {1, 3, 5, 64, 1027, 4099};
    for (size_t ip = 0; ip < sizeof ps / sizeof ps[0]; ip++)
        for (size_t is = 0; is < 2; is++)
            for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++)
                for (int off = 0; off < 2; off++) { /* off 1: x + 1, not 16-byte aligned */
                    size_t n = ns[in];
                    float p = ps[ip];
                    uint64_t seed = seeds[is];
                    uint32_t sub = op_dropout_sub(123456 + (uint32_t)in, 7 + (uint32_t)off);
                    float *x = tc_rand(n + 1, 5 + (uint32_t)n, -1.0f, 1.0f), *y = malloc(n * sizeof *y);
                    float *dX = tc_put(cu, x, n + 1), *dY = tc_poisoned(cu, n + 1);
                    cpu->dropout_fwd(y, x + off, n, p, seed, sub);
                    cu->dropout_fwd(dY + off, dX + off, n, p, seed, sub);
                    float *got = tc_get(cu, dY + off, n);
                    CHECK_MSG(memcmp(got, y, n * sizeof *y) == 0, "dropout_fwd p=%g n=%zu off=%d", p, n, off);
                    /* the contract itself */
                    float scale = (float)(1.0 / (1.0 - (double)p));
                    size_t bad = 0;
                    for (size_t i = 0; i < n; i++) {
                        int keep = p <= 0.0f || rng_u32_to_unit_float(philox_word_at(seed, RNG_STREAM_DROPOUT, sub, i)) >= p;
                        float want = p <= 0.0f ? x[off + i] : keep ? x[off + i] * scale : 0.0f;
                        bad += memcmp(&want, &got[i], sizeof want) != 0;
                    }
                    CHECK_MSG(bad == 0, "dropout_fwd p=%g n=%zu: %zu elements off the contract", p, n, bad);
                    free(got);
                    /* in place (the model's case) and the backward on the same mask */
                    cu->dropout_fwd(dX + off, dX + off, n, p, seed, sub);
                    CHECK_SAME(cu, dX + off, y, n, "dropout_fwd in place p=%g n=%zu off=%d", p, n, off);
                    float *dy = tc_rand(n, 6, -1.0f, 1.0f), *dx = malloc(n * sizeof *dx);
                    float *dDy = tc_put(cu, dy, n), *dDx = tc_poisoned(cu, n);
                    cpu->dropout_bwd(dx, dy, n, p, seed, sub);
                    cu->dropout_bwd(dDx, dDy, n, p, seed, sub);
                    CHECK_SAME(cu, dDx, dx, n, "dropout_bwd p=%g n=%zu", p, n);
                    cu->dropout_bwd(dDy, dDy, n, p, seed, sub);
                    CHECK_SAME(cu, dDy, dx, n, "dropout_bwd in place p=%g n=%zu", p, n);
                    cu->free(dX), cu->free(dY), cu->free(dDy), cu->free(dDx);
                    free(x), free(y), free(dy), free(dx);
                }
}

/* ---------------------------------------------------------------- LayerNorm */

static const int LN_N[] = {1, 5, 37, 100};
static const int LN_H[] = {24, 32, 768};

TEST(cuda_kern_layernorm_fwd) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 3; c++) {
            int N = LN_N[a], H = LN_H[c];
            size_t nh = (size_t)N * H;
            float *x = tc_rand(nh, 7 + a, -2.0f, 2.0f), *w = tc_rand(H, 8, 0.5f, 1.5f), *b = tc_rand(H, 9, -0.5f, 0.5f);
            for (size_t i = 0; i < nh; i += 3) x[i] += 50.0f; /* a mean far from 0 */
            float *y = malloc(nh * sizeof *y), *mean = malloc(N * sizeof *mean), *rstd = malloc(N * sizeof *rstd);
            float *dX = tc_put(cu, x, nh), *dW = tc_put(cu, w, H), *dB = tc_put(cu, b, H);
            float *dY = tc_poisoned(cu, nh), *dM = tc_poisoned(cu, N), *dR = tc_poisoned(cu, N);
            cpu->layernorm_fwd(y, mean, rstd, x, w, b, N, H, 1e-5f);
            cu->layernorm_fwd(dY, dM, dR, dX, dW, dB, N, H, 1e-5f);
            CHECK_CLOSE(cu, dY, y, nh, "N=%d H=%d", N, H);
            CHECK_CLOSE(cu, dM, mean, (size_t)N, "N=%d H=%d", N, H);
            CHECK_CLOSE(cu, dR, rstd, (size_t)N, "N=%d H=%d", N, H);
            cu->layernorm_fwd(dX, dM, dR, dX, dW, dB, N, H, 1e-5f); /* y == x */
            CHECK_CLOSE(cu, dX, y, nh, "in place N=%d H=%d", N, H);
            cu->free(dX), cu->free(dW), cu->free(dB), cu->free(dY), cu->free(dM), cu->free(dR);
            free(x), free(w), free(b), free(y), free(mean), free(rstd);
        }
}

TEST(cuda_kern_layernorm_bwd) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 3; c++)
            for (int mode = 0; mode < 4; mode++) { /* accumulate dx; NULL dw; NULL db; both NULL */
                int N = LN_N[a], H = LN_H[c], acc = mode & 1;
                int has_dw = mode != 1 && mode != 3, has_db = mode != 2 && mode != 3;
                size_t nh = (size_t)N * H;
                float *x = tc_rand(nh, 10 + a, -2.0f, 2.0f), *w = tc_rand(H, 11, 0.5f, 1.5f), *bb = tc_rand(H, 12, -1, 1);
                float *dy = tc_rand(nh, 13 + c, -1.0f, 1.0f), *y = malloc(nh * sizeof *y);
                float *mean = malloc(N * sizeof *mean), *rstd = malloc(N * sizeof *rstd);
                cpu->layernorm_fwd(y, mean, rstd, x, w, bb, N, H, 1e-12f);
                float *dx = tc_rand(nh, 14, -1.0f, 1.0f), *dw = tc_rand(H, 15, -1, 1), *db = tc_rand(H, 16, -1, 1);
                float *dX = tc_put(cu, x, nh), *dW = tc_put(cu, w, H), *dDy = tc_put(cu, dy, nh);
                float *dM = tc_put(cu, mean, N), *dR = tc_put(cu, rstd, N);
                float *dDx = acc ? tc_put(cu, dx, nh) : tc_poisoned(cu, nh);
                float *dDw = has_dw ? tc_put(cu, dw, H) : NULL, *dDb = has_db ? tc_put(cu, db, H) : NULL;
                cpu->layernorm_bwd(dx, has_dw ? dw : NULL, has_db ? db : NULL, dy, x, mean, rstd, w, N, H, acc);
                cu->layernorm_bwd(dDx, dDw, dDb, dDy, dX, dM, dR, dW, N, H, acc);
                CHECK_CLOSE(cu, dDx, dx, nh, "N=%d H=%d mode=%d", N, H, mode);
                if (has_dw) CHECK_CLOSE(cu, dDw, dw, (size_t)H, "N=%d H=%d mode=%d", N, H, mode);
                if (has_db) CHECK_CLOSE(cu, dDb, db, (size_t)H, "N=%d H=%d mode=%d", N, H, mode);
                cu->free(dX), cu->free(dW), cu->free(dDy), cu->free(dM), cu->free(dR), cu->free(dDx);
                if (dDw) cu->free(dDw);
                if (dDb) cu->free(dDb);
                free(x), free(w), free(bb), free(dy), free(y), free(mean), free(rstd), free(dx), free(dw), free(db);
            }
}

/* ---------------------------------------------------------------- softmax */

TEST(cuda_kern_softmax) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    /* attention shapes: rows = S*NH*T, cols = T, padded keys masked with -1e30 */
    const int shapes[][3] = {{2, 3, 7}, {1, 2, 128}, {3, 1, 1}, {1, 1, 600}};
    for (int k = 0; k < 4; k++) {
        int S = shapes[k][0], NH = shapes[k][1], T = shapes[k][2];
        size_t rows = (size_t)S * NH * T, n = rows * T;
        float *x = tc_rand(n, 17 + k, -8.0f, 8.0f), *dy = tc_rand(n, 18, -1.0f, 1.0f);
        for (size_t r = 0; r < rows; r++)
            for (int j = T - T / 3; j < T; j++) x[r * T + j] += -1e30f; /* the last third masked */
        float *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx);
        float *dX = tc_put(cu, x, n), *dY = tc_poisoned(cu, n), *dDy = tc_put(cu, dy, n), *dDx = tc_poisoned(cu, n);
        cpu->softmax_fwd(y, x, rows, T);
        cu->softmax_fwd(dY, dX, rows, T);
        CHECK_CLOSE(cu, dY, y, n, "fwd rows=%zu cols=%d", rows, T);
        float *got = tc_get(cu, dY, n);
        size_t nonzero = 0;
        for (size_t r = 0; r < rows; r++)
            for (int j = T - T / 3; j < T; j++) nonzero += got[r * T + j] != 0.0f;
        CHECK_MSG(nonzero == 0, "masked entries not exactly 0: %zu", nonzero);
        free(got);
        cu->softmax_fwd(dX, dX, rows, T); /* in place */
        CHECK_CLOSE(cu, dX, y, n, "fwd in place rows=%zu cols=%d", rows, T);
        cpu->softmax_bwd(dx, dy, y, rows, T);
        cu->softmax_bwd(dDx, dDy, dY, rows, T);
        CHECK_CLOSE(cu, dDx, dx, n, "bwd rows=%zu cols=%d", rows, T);
        cu->softmax_bwd(dDy, dDy, dY, rows, T); /* dx == dy */
        CHECK_CLOSE(cu, dDy, dx, n, "bwd in place rows=%zu cols=%d", rows, T);
        cu->free(dX), cu->free(dY), cu->free(dDy), cu->free(dDx);
        free(x), free(dy), free(y), free(dx);
    }
}

/* ---------------------------------------------------------------- embeddings */

TEST(cuda_kern_embed) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    const int Ns[] = {1, 37, 150, 600}, Hs[] = {24, 768};
    const int V = 50, P = 40, TT = 2;
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 2; c++)
            for (int mode = 0; mode < 3; mode++) { /* 0 all; 1 tt NULL, dwpe NULL; 2 only dwtt */
                int N = Ns[a], H = Hs[c];
                size_t nh = (size_t)N * H;
                int32_t *ids = malloc(N * sizeof *ids), *pos = malloc(N * sizeof *pos), *tt = malloc(N * sizeof *tt);
                uint64_t s = 99 + (uint64_t)N;
                for (int n = 0; n < N; n++) {
                    s = s * 6364136223846793005ull + 1442695040888963407ull;
                    /* the pad row 1 for ~ half the tokens: runs longer than a 32-token piece */
                    ids[n] = (s >> 33) % 2 ? 1 : (int32_t)((s >> 40) % V);
                    pos[n] = 2 + n % 30;
                    tt[n] = (int32_t)((s >> 50) % TT);
                }
                int32_t *ttp = mode == 1 ? NULL : tt;
                float *wte = tc_rand((size_t)V * H, 20, -1, 1), *wpe = tc_rand((size_t)P * H, 21, -1, 1);
                float *wtt = tc_rand((size_t)TT * H, 22, -1, 1), *dout = tc_rand(nh, 23 + a, -1, 1);
                float *out = malloc(nh * sizeof *out);
                int32_t *dI = tc_put_i32(cu, ids, N), *dP = tc_put_i32(cu, pos, N), *dT = tc_put_i32(cu, ttp, N);
                float *dWte = tc_put(cu, wte, (size_t)V * H), *dWpe = tc_put(cu, wpe, (size_t)P * H);
                float *dWtt = tc_put(cu, wtt, (size_t)TT * H), *dOut = tc_poisoned(cu, nh), *dDout = tc_put(cu, dout, nh);
                cpu->embed_fwd(out, ids, pos, ttp, wte, wpe, wtt, N, H);
                cu->embed_fwd(dOut, dI, dP, dT, dWte, dWpe, dWtt, N, H);
                CHECK_SAME(cu, dOut, out, nh, "embed_fwd N=%d H=%d mode=%d", N, H, mode);
                /* backward: += into the (random) weights' gradients */
                float *gte = tc_rand((size_t)V * H, 24, -1, 1), *gpe = tc_rand((size_t)P * H, 25, -1, 1);
                float *gtt = tc_rand((size_t)TT * H, 26, -1, 1);
                float *dGte = tc_put(cu, gte, (size_t)V * H), *dGpe = tc_put(cu, gpe, (size_t)P * H);
                float *dGtt = tc_put(cu, gtt, (size_t)TT * H);
                float *hte = mode == 2 ? NULL : gte, *hpe = mode ? NULL : gpe;
                cpu->embed_bwd(dout, ids, pos, ttp, hte, hpe, gtt, N, H);
                cu->embed_bwd(dDout, dI, dP, dT, mode == 2 ? NULL : dGte, mode ? NULL : dGpe, dGtt, N, H);
                CHECK_CLOSE(cu, dGte, gte, (size_t)V * H, "dwte N=%d H=%d mode=%d", N, H, mode);
                CHECK_CLOSE(cu, dGpe, gpe, (size_t)P * H, "dwpe N=%d H=%d mode=%d", N, H, mode);
                CHECK_CLOSE(cu, dGtt, gtt, (size_t)TT * H, "dwtt N=%d H=%d mode=%d", N, H, mode);
                /* from zero: the same bits as the CPU for rows within one piece, and the same
                 * bits run to run for all */
                cu->zero(dGte, (size_t)V * H);
                cu->embed_bwd(dDout, dI, NULL, NULL, dGte, NULL, NULL, N, H);
                float *first = tc_get(cu, dGte, (size_t)V * H);
                cu->zero(dGte, (size_t)V * H);
                cu->embed_bwd(dDout, dI, NULL, NULL, dGte, NULL, NULL, N, H);
                CHECK_SAME(cu, dGte, first, (size_t)V * H, "rerun N=%d H=%d", N, H);
                memset(gte, 0, (size_t)V * H * sizeof *gte);
                cpu->embed_bwd(dout, ids, NULL, NULL, gte, NULL, NULL, N, H);
                CHECK_MSG(tc_rel_err(first, gte, (size_t)V * H) <= TOL, "dwte from 0 N=%d H=%d", N, H);
                free(first);
                cu->free(dI), cu->free(dP), cu->free(dWte), cu->free(dWpe), cu->free(dWtt), cu->free(dOut);
                cu->free(dDout), cu->free(dGte), cu->free(dGpe), cu->free(dGtt);
                if (dT) cu->free(dT);
                free(ids), free(pos), free(tt), free(wte), free(wpe), free(wtt), free(dout), free(out);
                free(gte), free(gpe), free(gtt);
            }
}

TEST(cuda_kern_gather_first) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    const int shapes[][3] = {{1, 1, 24}, {3, 7, 32}, {5, 128, 768}};
    for (int k = 0; k < 3; k++) {
        int S = shapes[k][0], T = shapes[k][1], H = shapes[k][2];
        size_t nx = (size_t)S * T * H, ny = (size_t)S * H;
        float *x = tc_rand(nx, 30, -1, 1), *dy = tc_rand(ny, 31, -1, 1), *dx = tc_rand(nx, 32, -1, 1);
        float *y = malloc(ny * sizeof *y);
        float *dX = tc_put(cu, x, nx), *dY = tc_poisoned(cu, ny), *dDy = tc_put(cu, dy, ny), *dDx = tc_put(cu, dx, nx);
        cpu->gather_first_fwd(y, x, S, T, H);
        cu->gather_first_fwd(dY, dX, S, T, H);
        CHECK_SAME(cu, dY, y, ny, "S=%d T=%d H=%d", S, T, H);
        cpu->gather_first_bwd(dx, dy, S, T, H);
        cu->gather_first_bwd(dDx, dDy, S, T, H);
        CHECK_SAME(cu, dDx, dx, nx, "S=%d T=%d H=%d", S, T, H);
        cu->free(dX), cu->free(dY), cu->free(dDy), cu->free(dDx);
        free(x), free(dy), free(dx), free(y);
    }
}

/* ---------------------------------------------------------------- losses */

TEST(cuda_kern_cross_entropy) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    const int shapes[][2] = {{1, 2}, {5, 3}, {37, 1000}, {300, 4}};
    for (int k = 0; k < 4; k++) {
        int B = shapes[k][0], C = shapes[k][1];
        size_t n = (size_t)B * C;
        float *l = tc_rand(n, 40 + k, -5, 5), *p = malloc(n * sizeof *p), *dl = malloc(n * sizeof *dl);
        int32_t *lab = malloc(B * sizeof *lab);
        for (int b = 0; b < B; b++) lab[b] = (b * 7 + 3) % C;
        float *dL = tc_put(cu, l, n), *dPr = tc_poisoned(cu, n), *dDl = tc_poisoned(cu, n);
        int32_t *dLab = tc_put_i32(cu, lab, B);
        float lc = cpu->cross_entropy_fwd(p, l, lab, B, C), lg = cu->cross_entropy_fwd(dPr, dL, dLab, B, C);
        CHECK_MSG(fabs(lg - lc) <= TOL * fabs(lc), "loss %.9g vs %.9g (B=%d C=%d)", lg, lc, B, C);
        CHECK_CLOSE(cu, dPr, p, n, "probs B=%d C=%d", B, C);
        cpu->cross_entropy_bwd(dl, p, lab, B, C, 0.75f);
        cu->cross_entropy_bwd(dDl, dPr, dLab, B, C, 0.75f);
        CHECK_CLOSE(cu, dDl, dl, n, "dlogits B=%d C=%d", B, C);
        cu->free(dL), cu->free(dPr), cu->free(dDl), cu->free(dLab);
        free(l), free(p), free(dl), free(lab);
    }
}

TEST(cuda_kern_mse) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    const int Bs[] = {1, 7, 300, 1000};
    for (int k = 0; k < 4; k++) {
        int B = Bs[k];
        float *pr = tc_rand(B, 50 + k, -3, 3), *tg = tc_rand(B, 51, 0, 5), *d = malloc(B * sizeof *d);
        float *dPr = tc_put(cu, pr, B), *dTg = tc_put(cu, tg, B), *dD = tc_poisoned(cu, B);
        float lc = cpu->mse_fwd(pr, tg, B), lg = cu->mse_fwd(dPr, dTg, B);
        CHECK_MSG(fabs(lg - lc) <= TOL * fabs(lc), "mse %.9g vs %.9g (B=%d)", lg, lc, B);
        cpu->mse_bwd(d, pr, tg, B, 1.5f);
        cu->mse_bwd(dD, dPr, dTg, B, 1.5f);
        CHECK_CLOSE(cu, dD, d, (size_t)B, "mse_bwd B=%d", B);
        cu->free(dPr), cu->free(dTg), cu->free(dD);
        free(pr), free(tg), free(d);
    }
}

TEST(cuda_kern_span_pool) {
    const OpsBackend *cu = cuda_or_skip(), *cpu = &ops_cpu_backend;
    if (!cu) return;
    const int shapes[][4] = {{1, 1, 24, 1}, {3, 7, 24, 2}, {2, 128, 32, 3}, {2, 9, 768, 2}}; /* S T H NS */
    for (int k = 0; k < 4; k++) {
        int S = shapes[k][0], T = shapes[k][1], H = shapes[k][2], NS = shapes[k][3];
        size_t nx = (size_t)S * T * H, no = (size_t)S * NS * H, nw = (size_t)S * NS * T, na = (size_t)S * T;
        int32_t *spans = malloc((size_t)S * NS * 2 * sizeof *spans);
        for (int s = 0; s < S; s++)
            for (int j = 0; j < NS; j++) { /* overlapping spans, a one-token span, a whole one */
                int32_t *sp = spans + 2 * ((size_t)s * NS + j);
                int st = j == 0 ? 0 : (s + j) % T, en = j == 0 ? T - 1 : st + (j == 1 ? 0 : (T - 1 - st) / 2);
                sp[0] = st, sp[1] = en;
            }
        float *x = tc_rand(nx, 60 + k, -1, 1), *a = tc_rand(na, 61, -3, 3), *dout = tc_rand(no, 62, -1, 1);
        float *dx = tc_rand(nx, 63, -1, 1), *out = malloc(no * sizeof *out), *w = malloc(nw * sizeof *w);
        float *da = malloc(na * sizeof *da);
        float *dX = tc_put(cu, x, nx), *dA = tc_put(cu, a, na), *dDout = tc_put(cu, dout, no), *dDx = tc_put(cu, dx, nx);
        float *dOut = tc_poisoned(cu, no), *dW = tc_poisoned(cu, nw), *dDa = tc_poisoned(cu, na);
        int32_t *dSp = tc_put_i32(cu, spans, (size_t)S * NS * 2);
        cpu->span_pool_fwd(out, w, x, a, spans, S, T, H, NS);
        cu->span_pool_fwd(dOut, dW, dX, dA, dSp, S, T, H, NS);
        CHECK_CLOSE(cu, dOut, out, no, "out S=%d T=%d H=%d NS=%d", S, T, H, NS);
        CHECK_CLOSE(cu, dW, w, nw, "w S=%d T=%d H=%d NS=%d", S, T, H, NS);
        cpu->span_pool_bwd(dx, da, dout, out, w, x, spans, S, T, H, NS);
        cu->span_pool_bwd(dDx, dDa, dDout, dOut, dW, dX, dSp, S, T, H, NS);
        CHECK_CLOSE(cu, dDx, dx, nx, "dx S=%d T=%d H=%d NS=%d", S, T, H, NS);
        CHECK_CLOSE(cu, dDa, da, na, "da S=%d T=%d H=%d NS=%d", S, T, H, NS);
        cu->free(dX), cu->free(dA), cu->free(dDout), cu->free(dDx), cu->free(dOut), cu->free(dW);
        cu->free(dDa), cu->free(dSp);
        free(spans), free(x), free(a), free(dout), free(dx), free(out), free(w), free(da);
    }
}
