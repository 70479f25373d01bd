/* Runs every registered unit test; the last line is "N passed, N failed[, N skipped]". */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"

#define MAX_TESTS 1024
typedef struct {
    const char *name;
    test_fn fn;
} TestEntry;
static TestEntry tests[MAX_TESTS];
static int n_tests;
int harness_current_failed;
static int current_skipped;

void harness_register(const char *name, test_fn fn) {
    if (n_tests < MAX_TESTS) tests[n_tests].name = name, tests[n_tests++].fn = fn;
}

void harness_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    harness_current_failed = 1;
}

void harness_skip(const char *why) {
    fprintf(stderr, "    skipped: %s\n", why);
    current_skipped = 1;
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *harness_fixture_dir(void) {
    const char *e = getenv("SPARSETUNE_FIXTURES");
    return e ? e : "tests/fixtures";
}

const char *harness_shared_data(void) {
    const char *e = getenv("SPARSETUNE_SHARED_DATA");
    if (e) return is_dir(e) ? e : NULL;
    return is_dir("../shared/data/tasks") ? "../shared/data" : NULL;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const TestEntry *)a)->name, ((const TestEntry *)b)->name);
}

int main(int argc, char **argv) {
    st_set_progname("unit-tests");
    qsort(tests, n_tests, sizeof tests[0], by_name);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        harness_current_failed = 0;
        current_skipped = 0;
        tests[i].fn();
        const char *status = harness_current_failed ? "FAIL" : current_skipped ? "skip" : "ok";
        printf("%-4s %s\n", status, tests[i].name);
        fflush(stdout);
        if (harness_current_failed) failed++;
        else if (current_skipped) skipped++;
        else passed++;
    }
    if (skipped) printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
