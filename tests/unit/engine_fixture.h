/* engine_fixture.h — the reference fixtures of tests/ref/gen_reference.py as a Model + Batch. */
#ifndef SPARSETUNE_ENGINE_FIXTURE_H
#define SPARSETUNE_ENGINE_FIXTURE_H

#include "hfconfig.h"
#include "model.h"
#include "safetensors.h"

typedef struct Case {
    SafeTensors *st;
    Model *m;
    Batch b;
    HeadKind head;
    uint64_t seed;
    uint32_t step;
} Case;

/* The tiny model of gen_reference.py (CFG there). */
void tiny_config(HfConfig *c);
/* word_embedding() of gen_reference.py, computed here instead of stored in the fixture. */
void fill_word_embedding(Model *m);
const SafeTensor *need(const SafeTensors *st, const char *name);
void read_i32(const SafeTensors *st, const char *name, int32_t *dst);
/* Open tests/fixtures/engine/FILE.safetensors: parameters and batch; FILE "jiant_*" builds
 * the jiant head architecture, any other HF's.  -1 (test failed) when
 * the fixture is missing. */
int case_open(Case *c, const char *file, HeadKind head);
void case_close(Case *c);

#endif
