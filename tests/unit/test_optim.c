/* Optimiser tests: full fine-tuning steps against torch.optim.AdamW in float64
 * (tests/ref/gen_adamw.py -> tests/fixtures/engine/adamw.safetensors), and the sparse path
 * against the dense path with a masked gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"
#include "harness.h"
#include "optim.h"
#include "rng.h"
#include "util.h"

/* ||a - b|| / ||b||, or the absolute error where the reference is ~0 (key biases: their
 * gradient is 0 in exact arithmetic, and Adam turns fp32 noise into visible updates there). */
static double delta_err(const float *a, const float *b, size_t n, double *ref_norm) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - b[i];
        d += e * e;
        s += (double)b[i] * b[i];
    }
    *ref_norm = sqrt(s);
    return s > 1e-12 ? sqrt(d / s) : sqrt(d);
}

static void train_steps(Model *m, Optim *o, const Batch *b, int steps, double lr, long warmup,
                        long total, double clip_norm, const float *losses) {
    model_zero_grad(m);
    for (int s = 0; s < steps; s++) {
        float loss = model_forward(m, b, 0, 0, 0);
        if (losses) CHECK_MSG(fabs(loss - losses[s]) <= 1e-5 * fabs(losses[s]), "step %d loss %.8f vs %.8f", s, loss, losses[s]);
        model_backward(m, b);
        double norm = optim_grad_norm(o, m);
        double clip = clip_norm / (norm + 1e-6);
        optim_step(o, m, lr_at(lr, s, warmup, total, 0), clip < 1 ? clip : 1);
    }
}

TEST(optim_adamw_matches_pytorch_trajectory) {
    Case c;
    if (case_open(&c, "adamw", HEAD_CLASSIFICATION) != 0) return;
    Model *m = c.m;
    float hp[6], losses[16];
    safetensor_to_f32(need(c.st, "adamw.hparams"), hp);
    safetensor_to_f32(need(c.st, "adamw.losses"), losses);
    double lr = hp[0], wd = hp[1];
    long warmup = (long)hp[2], total = (long)hp[3];
    int steps = (int)hp[4];
    float *theta0 = xmalloc(m->total * sizeof *theta0);
    memcpy(theta0, m->params, m->total * sizeof *theta0);
    Optim o;
    optim_init(&o, 0.9, 0.999, 1e-8, wd, 0);
    for (int i = 0; i < m->n_params; i++) optim_add(&o, m, i, NULL, 0);
    train_steps(m, &o, &c.b, steps, lr, warmup, total, hp[5], losses);

    double worst = 0;
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        char name[200];
        snprintf(name, sizeof name, "delta.%s", p->name);
        const SafeTensor *ref = need(c.st, name);
        float *want = xmalloc((size_t)ref->numel * sizeof *want);
        safetensor_to_f32(ref, want);
        size_t n = (size_t)ref->numel;
        float *got = xmalloc(n * sizeof *got);
        const float *th = model_param(m, i), *t0 = theta0 + p->offset;
        if (i == 0) { /* word embeddings: the batch's rows; the others only decay */
            const SafeTensor *rows = need(c.st, "wgrad_rows");
            int32_t *r = xmalloc((size_t)rows->numel * sizeof *r);
            read_i32(c.st, "wgrad_rows", r);
            int H = (int)p->shape[1];
            for (int64_t k = 0; k < rows->numel; k++)
                for (int h = 0; h < H; h++) got[k * H + h] = th[(size_t)r[k] * H + h] - t0[(size_t)r[k] * H + h];
            double f = 1;
            for (int s = 0; s < steps; s++) f *= 1 - lr_at(lr, s, warmup, total, 0) * wd;
            size_t probe = (size_t)(r[rows->numel - 1] + 1) * H; /* a row the batch never uses */
            CHECK_NEAR(th[probe], t0[probe] * f, 1e-9);
            free(r);
        } else {
            for (size_t j = 0; j < n; j++) got[j] = th[j] - t0[j];
        }
        double norm, e = delta_err(got, want, n, &norm);
        if (norm > 1e-6) {
            if (e > worst) worst = e;
            CHECK_MSG(e <= 1e-4, "%s: relative error of the update %.3g", p->name, e);
        } else {
            CHECK_MSG(e <= lr * steps * 0.5, "%s: update %.3g where the reference has none", p->name, e);
        }
        free(want);
        free(got);
    }
    fprintf(stderr, "    worst relative error of an update vs PyTorch AdamW: %.3g\n", worst);
    optim_free(&o);
    free(theta0);
    case_close(&c);
}

/* A random sorted subset of k positions of n. */
static uint32_t *random_subset(uint32_t seed, size_t n, size_t k) {
    Rng r;
    rng_init(&r, seed, RNG_STREAM_RANDOM_MASK, 0);
    uint8_t *in = xcalloc(n, 1);
    for (size_t c = 0; c < k;) {
        size_t j = (size_t)rng_below(&r, n);
        if (!in[j]) in[j] = 1, c++;
    }
    uint32_t *idx = xmalloc((k ? k : 1) * sizeof *idx);
    for (size_t j = 0, c = 0; j < n; j++)
        if (in[j]) idx[c++] = (uint32_t)j;
    free(in);
    return idx;
}

/* The sparse path (a) against the dense path with masked gradients (b).  clip_all: a takes
 * the clip norm from the dense gradients of every tensor (dense_grads), b before masking, as
 * the reference does (PAPER.md); otherwise both clip with the norm of the trained entries. */
static void sparse_vs_dense(int clip_all) {
    Case a, b;
    if (case_open(&a, "classification", HEAD_CLASSIFICATION) != 0) return;
    if (case_open(&b, "classification", HEAD_CLASSIFICATION) != 0) return;
    Model *ma = a.m, *mb = b.m;
    Optim oa, ob;
    optim_init(&oa, 0.9, 0.999, 1e-8, 0.01, 1); /* decay_frozen: the dense path decays all */
    optim_init(&ob, 0.9, 0.999, 1e-8, 0.01, 0);
    oa.dense_grads = clip_all;
    uint8_t **keep = xcalloc((size_t)ma->n_params, sizeof *keep);
    for (int i = 0; i < ma->n_params; i++) {
        size_t n = ma->info[i].numel;
        if (ma->info[i].is_head) {
            optim_add(&oa, ma, i, NULL, 0);
        } else {
            size_t k = n / 20 + 1;
            uint32_t *idx = random_subset(7 + (uint32_t)i, n, k);
            optim_add(&oa, ma, i, idx, k);
            keep[i] = xcalloc(n, 1);
            for (size_t j = 0; j < k; j++) keep[i][idx[j]] = 1;
            free(idx);
        }
        optim_add(&ob, mb, i, NULL, 0);
    }
    optim_freeze_rest(&oa, ma);
    model_zero_grad(ma);
    model_zero_grad(mb);
    for (int s = 0; s < 3; s++) {
        model_forward(ma, &a.b, 1, 11, (uint32_t)s);
        model_backward(ma, &a.b);
        model_forward(mb, &b.b, 1, 11, (uint32_t)s);
        model_backward(mb, &b.b);
        double nb = clip_all ? optim_grad_norm(&ob, mb) : 0;
        for (int i = 0; i < mb->n_params; i++) /* the dense path: mask the gradient */
            if (keep[i])
                for (size_t j = 0; j < mb->info[i].numel; j++)
                    if (!keep[i][j]) model_grad(mb, i)[j] = 0;
        double na = optim_grad_norm(&oa, ma);
        if (!clip_all) nb = optim_grad_norm(&ob, mb);
        CHECK_NEAR(na, nb, 1e-5 * nb);
        CHECK_MSG(na > 1, "step %d: the norm %.3g does not clip", s, na);
        optim_step(&oa, ma, 1e-3, na > 1 ? 1 / (na + 1e-6) : 1);
        optim_step(&ob, mb, 1e-3, nb > 1 ? 1 / (nb + 1e-6) : 1);
    }
    for (int i = 0; i < ma->n_params; i++) {
        /* Key biases have a zero gradient in exact arithmetic (softmax is shift invariant):
         * both paths feed fp32 noise of ~1e-9 to Adam, which normalises it into updates
         * that differ between the sampled and the dense product.  Nothing to compare. */
        if (strstr(ma->info[i].name, ".key.bias")) {
            free(keep[i]);
            continue;
        }
        const float *pa = model_param(ma, i), *pb = model_param(mb, i);
        double d = 0, s = 0;
        for (size_t j = 0; j < ma->info[i].numel; j++) {
            double e = (double)pa[j] - pb[j];
            d += e * e;
            s += (double)pb[j] * pb[j];
        }
        CHECK_MSG(sqrt(d) <= 1e-5 * sqrt(s) + 1e-7, "%s differs: %.3g", ma->info[i].name, sqrt(d / (s + 1e-30)));
        free(keep[i]);
    }
    free(keep);
    optim_free(&oa);
    optim_free(&ob);
    case_close(&a);
    case_close(&b);
}

TEST(optim_sparse_path_equals_dense_path_with_masked_gradients) { sparse_vs_dense(0); }
TEST(optim_clip_all_equals_dense_path_clipped_before_masking) { sparse_vs_dense(1); }

TEST(optim_linear_schedule_like_hf) {
    CHECK_NEAR(lr_at(1.0, 0, 2, 10, 0), 0.0, 0);
    CHECK_NEAR(lr_at(1.0, 1, 2, 10, 0), 0.5, 1e-12);
    CHECK_NEAR(lr_at(1.0, 2, 2, 10, 0), 1.0, 1e-12);
    CHECK_NEAR(lr_at(1.0, 6, 2, 10, 0), 0.5, 1e-12);
    CHECK_NEAR(lr_at(1.0, 10, 2, 10, 0), 0.0, 1e-12);
    CHECK_NEAR(lr_at(1.0, 7, 2, 10, 1), 1.0, 0);
    CHECK_NEAR(lr_at(1.0, 0, 0, 10, 0), 1.0, 0);
    CHECK(optim_decays("roberta.encoder.layer.0.attention.self.query.weight"));
    CHECK(!optim_decays("roberta.encoder.layer.0.attention.self.query.bias"));
    CHECK(!optim_decays("roberta.embeddings.LayerNorm.weight"));
}
