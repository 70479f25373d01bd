/* bpe_load.c — find a tokenizer's files in a directory or archive (source.h). */
#include <stdlib.h>

#include "bpe.h"
#include "source.h"
#include "util.h"

Bpe *bpe_load(const char *dir) {
    Source *src = source_open_dir(dir);
    static const char *const pairs[][2] = {{"vocab.json", "merges.txt"},
                                           {"encoder.json", "vocab.bpe"}};
    for (size_t k = 0; k < 2; k++) {
        size_t vl, ml;
        char *v = source_dir_read(src, pairs[k][0], &vl);
        if (!v) continue;
        char *m = source_dir_read(src, pairs[k][1], &ml);
        if (!m) die(source_name(src), "has %s but no %s", pairs[k][0], pairs[k][1]);
        char err[600];
        Bpe *b = bpe_load_mem_err(v, vl, m, ml, err, sizeof err);
        if (!b) die(source_name(src), "%s", err);
        free(v);
        free(m);
        source_close(src);
        return b;
    }
    die(source_name(src), "no tokenizer files: need vocab.json + merges.txt (RoBERTa) or "
                          "encoder.json + vocab.bpe (GPT-2)");
}
