/* bpe-bench — the tokenizer library's own speed, without the stream tools around it.
 *   bpe-bench VOCAB_DIR TEXT_FILE
 * Encodes TEXT_FILE line by line (each line one text, as tokenize sees records) on one thread,
 * with no warm-up pass: the piece cache starts empty, as in a real run.  Prints "bytes seconds tokens"; seconds are CPU time (user + system) of the
 * encoding, so that a busy machine does not skew the number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpe.h"
#include "util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    if (argc < 3) die_usage("usage: bpe-bench VOCAB_DIR TEXT_FILE");
    Bpe *b = bpe_load(argv[1]);
    size_t len;
    char *text = read_whole_file(argv[2], &len);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0, tokens = 0;
    double t0 = now();
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        n = 0;
        size_t k = bpe_encode(b, p, l, &ids, &n, &cap);
        if (k == BPE_INVALID_UTF8) die(argv[2], "invalid UTF-8");
        tokens += k;
        p += l + 1;
    }
    double secs = now() - t0;
    printf("%zu %.6f %zu\n", len, secs, tokens);
    free(ids);
    free(text);
    bpe_free(b);
    return 0;
}
