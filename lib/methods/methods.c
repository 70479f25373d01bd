/* methods.c — a plan's structure onto a model (methods.h). */
#include "methods/methods.h"

#include <string.h>

#include "methods/adapter.h"
#include "methods/lora.h"
#include "rng.h"
#include "util.h"

void methods_attach(Model *m, json_t *header, uint64_t seed, const char *where) {
    json_t *s = json_object_get(header, "structure");
    if (!s) return;
    if (!json_is_object(s)) die(where, "\"structure\" is not an object");
    char err[256];
    const char *key;
    json_t *v;
    json_object_foreach(s, key, v) {
        if (strcmp(key, "lora") == 0) {
            LoraConfig c;
            if (lora_config_parse(v, &c, err, sizeof err) != 0) die(where, "%s", err);
            lora_attach(m, &c, seed);
        } else if (strcmp(key, "adapter") == 0) {
            AdapterConfig c;
            if (adapter_config_parse(v, &c, err, sizeof err) != 0) die(where, "%s", err);
            adapter_attach(m, &c, seed);
        } else {
            die(where, "unknown structural method \"%s\" (lora, adapter)", key);
        }
    }
}

void methods_fill(Model *m, int idx, uint64_t seed, uint32_t sub, int normal, double scale) {
    size_t n = m->info[idx].numel;
    float *host = xmalloc(n * sizeof *host);
    Rng r;
    rng_init(&r, seed, RNG_STREAM_METHOD_INIT, sub);
    for (size_t i = 0; i < n; i++)
        host[i] = (float)(normal ? scale * rng_normal(&r) : (2.0 * rng_uniform(&r) - 1.0) * scale);
    model_set_tensor(m, idx, host);
    free(host);
}

int methods_freeze_head(json_t *header) { return json_is_true(json_object_get(header, "freeze_head")); }
