/* test_dynamics.c — the moving-mask methods of masktrain --method (methods/dynamics.h):
 * DiffPruning's gate and L0 term against float64 formulas written out here, MixOut's mixed
 * weights against the formula with M from philox_word_at, W restored, g⊙M, and the same M
 * on the CPU and the (emulated) CUDA backend. */
#include <math.h>
#include <stdlib.h>

#include "cuda_fixture.h"
#include "engine_fixture.h"
#include "harness.h"
#include "methods/dynamics.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

TEST(dynamics_diffpruning_gate_matches_float64) {
    const double stretches[] = {1.5, 3.0};
    double worst = 0;
    for (int si = 0; si < 2; si++) {
        double l = -stretches[si], r = stretches[si];
        for (int i = 0; i < 4000; i++) {
            double u = (i % 2000 + 0.5) / 2000.0, a = -8.0 + 16.0 * (double)(i * 7919 % 4000) / 4000.0;
            if (i >= 2000) u = -1; /* the deterministic gate */
            u = (float)u, a = (float)a; /* the function's inputs, exactly */
            double s = u < 0 ? sig(a) : sig(log(u) - log(1 - u) + a);
            double zt = s * (r - l) + l;
            double z = zt < 0 ? 0 : zt > 1 ? 1 : zt;
            double dz = zt > 0 && zt < 1 ? (r - l) * s * (1 - s) : 0;
            float got_dz;
            float got = diffpruning_gate((float)u, (float)a, (float)l, (float)r, &got_dz);
            /* at the clamp's kinks float rounding may pick the other side: skip a hair around them */
            if (fabs(zt) < 1e-5 || fabs(zt - 1) < 1e-5) continue;
            worst = fmax(worst, fmax(fabs(got - z), fabs(got_dz - dz)));
            double l0 = sig(a - log(-l / r)), dl0 = l0 * (1 - l0);
            float got_dl0, got_l0 = diffpruning_l0((float)a, (float)l, (float)r, &got_dl0);
            worst = fmax(worst, fmax(fabs(got_l0 - l0), fabs(got_dl0 - dl0)));
        }
    }
    printf("  diffpruning gate: max |float - float64| over z, dz/dalpha, L0, dL0/dalpha = %.3g\n", worst);
    CHECK_MSG(worst < 1e-6, "gate error %g", worst);
}

/* A tiny random model, all encoder tensors trained densely, W = U + noise. */
static Model *mixout_model(Optim *o, int **enc, int *n_enc) {
    HfConfig cfg;
    tiny_config(&cfg);
    cfg.vocab_size = 64;
    Model *m = model_create(&cfg, HEAD_CLASSIFICATION, ARCH_JIANT, 2);
    model_init_random(m, 3);
    optim_init(o, 0.9, 0.999, 1e-8, 0.01, 0);
    *enc = xmalloc((size_t)m->n_params * sizeof **enc);
    *n_enc = 0;
    for (int i = 0; i < m->n_params; i++) {
        optim_add(o, m, i, NULL, 0);
        if (!m->info[i].is_head) (*enc)[(*n_enc)++] = i;
    }
    for (int i = 0; i < m->n_params; i++) {
        float *p = model_param(m, i);
        for (size_t e = 0; e < m->info[i].numel; e++) p[e] += 0.01f * (float)((e * 37 + (size_t)i) % 17) - 0.08f;
    }
    return m;
}

TEST(dynamics_mixout_effective_weights_are_the_formula) {
    Optim o;
    int *enc, n_enc;
    Model *m = mixout_model(&o, &enc, &n_enc);
    DynConfig c;
    dyn_config_defaults(&c);
    c.method = DYN_MIXOUT;
    c.mixout_p = 0.3;
    c.seed = 11;
    Dyn *d = dyn_create(&c, m, &o, enc, n_enc);
    float *W = xmalloc(m->total * sizeof *W);
    memcpy(W, m->params, m->total * sizeof *W);
    const long step = 5;
    d->ops->pre_forward(d, step);
    const float p = 0.3f, scale = (float)(1.0 / (1.0 - (double)p));
    size_t bad = 0, mixed = 0, dropped = 0;
    int j = 0;
    for (int t = 0; t < n_enc; t++) {
        int i = enc[t];
        const ParamInfo *pi = &m->info[i];
        const float *U = o.t[i].theta0, *w = W + pi->offset, *eff = model_param(m, i);
        int linear = pi->ndim == 2 && !strstr(pi->name, "embeddings");
        for (size_t e = 0; e < pi->numel; e++) {
            float want = w[e];
            if (linear) {
                size_t col = e % (size_t)pi->shape[1];
                uint32_t x = philox_word_at(11, RNG_STREAM_DROPOUT, op_dropout_sub((uint32_t)step, MIXOUT_CALL0 + (uint32_t)j), col);
                int keep = rng_u32_to_unit_float(x) >= p;
                want = keep ? U[e] + (w[e] - U[e]) * scale : U[e];
                dropped += !keep;
                mixed++;
            }
            bad += memcmp(&want, &eff[e], sizeof want) != 0;
        }
        j += linear;
    }
    printf("  mixout p=0.3: %zu mixed entries (%zu at U), %zu differ from the formula\n", mixed, dropped, bad);
    CHECK(mixed > 0 && dropped > 0 && dropped < mixed);
    CHECK_EQ_INT(bad, 0);
    /* backward: W back exactly, the gradient g⊙M */
    model_zero_grad(m);
    for (int i = 0; i < m->n_params; i++) {
        float *g = model_grad(m, i);
        for (size_t e = 0; e < m->info[i].numel; e++) g[e] = 1.0f;
    }
    d->ops->post_backward(d, step);
    CHECK(memcmp(W, m->params, m->total * sizeof *W) == 0);
    j = 0;
    size_t gbad = 0;
    for (int t = 0; t < n_enc; t++) {
        const ParamInfo *pi = &m->info[enc[t]];
        if (pi->ndim != 2 || strstr(pi->name, "embeddings")) continue;
        const float *g = model_grad(m, enc[t]);
        for (size_t e = 0; e < pi->numel; e++) {
            size_t col = e % (size_t)pi->shape[1];
            uint32_t x = philox_word_at(11, RNG_STREAM_DROPOUT, op_dropout_sub((uint32_t)step, MIXOUT_CALL0 + (uint32_t)j), col);
            gbad += g[e] != (rng_u32_to_unit_float(x) >= p ? 1.0f : 0.0f);
        }
        j++;
    }
    CHECK_EQ_INT(gbad, 0);
    dyn_free(d);
    free(W), free(enc);
    optim_free(&o);
    model_free(m);
}

TEST(dynamics_mixout_columns_same_on_cpu_and_cuda) {
    const OpsBackend *cu = cuda_or_skip(), *prev = ops_current();
    if (!cu) return;
    const int widths[] = {1, 7, 768, 3072};
    const float ps[] = {0.1f, 0.5f, 0.9f};
    for (int wi = 0; wi < 4; wi++)
        for (int pi = 0; pi < 3; pi++)
            for (int j = 0; j < 3; j++) {
                int in = widths[wi];
                float *a = xmalloc((size_t)in * sizeof *a), *b = xmalloc((size_t)in * sizeof *b);
                ops_use(&ops_cpu_backend);
                mixout_columns(99, 1234, j * 40, in, ps[pi], a);
                ops_use(cu);
                mixout_columns(99, 1234, j * 40, in, ps[pi], b);
                ops_use(prev);
                CHECK_MSG(memcmp(a, b, (size_t)in * sizeof *a) == 0, "M differs: in=%d p=%g j=%d", in, ps[pi], j);
                free(a), free(b);
            }
}
