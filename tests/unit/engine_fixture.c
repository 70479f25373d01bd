/* engine_fixture.c — loading the PyTorch reference fixtures (tests/ref/gen_reference.py)
 * into a Model and a Batch; shared by the engine and optimiser tests. */
#include <string.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "harness.h"
#include "rng.h"
#include "util.h"

/* The tiny model of gen_reference.py (CFG there). */
void tiny_config(HfConfig *c) {
    hfconfig_default(c);
    c->vocab_size = 50265;
    c->hidden_size = 32;
    c->num_hidden_layers = 2;
    c->num_attention_heads = 4;
    c->intermediate_size = 37;
    c->max_position_embeddings = 32;
    c->type_vocab_size = 1;
    c->pad_token_id = 1;
    c->layer_norm_eps = 1e-5;
    c->hidden_dropout_prob = 0.1;
    c->attention_probs_dropout_prob = 0.1;
    c->initializer_range = 0.02;
}

/* word_embedding() of gen_reference.py: ((w >> 8) * 2^-24 - 0.5) * 0.1 in float32 */
void fill_word_embedding(Model *m) {
    float *w = model_param(m, 0);
    size_t n = m->info[0].numel;
    for (size_t i = 0; i < n; i++) {
        float u = rng_u32_to_unit_float(philox_word_at(0x5EED0001u, RNG_STREAM_MODEL_INIT, 0, i));
        w[i] = (u - 0.5f) * 0.1f;
    }
}

const SafeTensor *need(const SafeTensors *st, const char *name) {
    const SafeTensor *t = safetensors_find(st, name);
    if (!t) die(name, "missing in the engine fixture");
    return t;
}

void read_i32(const SafeTensors *st, const char *name, int32_t *dst) {
    const SafeTensor *t = need(st, name);
    memcpy(dst, t->data, t->nbytes);
}

int case_open(Case *c, const char *file, HeadKind head) {
    char path[512];
    snprintf(path, sizeof path, "%s/engine/%s.safetensors", harness_fixture_dir(), file);
    if (access(path, R_OK) != 0) {
        harness_fail(__FILE__, __LINE__, "fixture %s missing (run tests/ref/gen_reference.py)", path);
        return -1;
    }
    memset(c, 0, sizeof *c);
    c->st = safetensors_open(path);
    c->head = head;
    HfConfig cfg;
    tiny_config(&cfg);
    int32_t nl, nc, seed[2], step;
    read_i32(c->st, "batch.num_labels", &nl);
    read_i32(c->st, "batch.n_choices", &nc);
    read_i32(c->st, "dropout.seed", seed);
    read_i32(c->st, "dropout.step", &step);
    c->seed = (uint64_t)(uint32_t)seed[0] | (uint64_t)(uint32_t)seed[1] << 32;
    c->step = (uint32_t)step;
    /* jiant_<head> fixtures are jiant's pooled heads, the others HF's (gen_reference.py) */
    c->m = model_create(&cfg, head, strncmp(file, "jiant_", 6) == 0 ? ARCH_JIANT : ARCH_HF, nl);
    fill_word_embedding(c->m);
    for (int i = 1; i < c->m->n_params; i++) {
        char name[160];
        snprintf(name, sizeof name, "param.%s", c->m->info[i].name);
        const SafeTensor *t = need(c->st, name);
        CHECK_EQ_INT(t->numel, (int64_t)c->m->info[i].numel);
        safetensor_to_f32(t, model_param(c->m, i));
    }
    const SafeTensor *ids = need(c->st, "batch.ids");
    int S = (int)ids->shape[0], T = (int)ids->shape[1];
    batch_alloc(&c->b, S / nc, nc, T, cfg.pad_token_id);
    read_i32(c->st, "batch.ids", c->b.ids);
    read_i32(c->st, "batch.len", c->b.len);
    if (safetensors_find(c->st, "batch.label")) read_i32(c->st, "batch.label", c->b.label);
    if (safetensors_find(c->st, "batch.target")) safetensor_to_f32(need(c->st, "batch.target"), c->b.target);
    if (safetensors_find(c->st, "batch.spans")) read_i32(c->st, "batch.spans", c->b.spans);
    return 0;
}

void case_close(Case *c) {
    model_free(c->m);
    batch_free(&c->b);
    safetensors_close(c->st);
}

