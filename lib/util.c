#include "util.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *st_progname = "sparsetune";

/* OpenMP's default wait policy spins idle threads for a while after every parallel region;
 * on a loaded machine (GNU parallel sweeps, other jobs) those spins steal the cores the work
 * needs and a run gets 15-30x slower.  libgomp reads OMP_WAIT_POLICY once, in its own
 * constructor, before any of ours runs, so a tool started without the variable sets it to
 * passive and re-executes itself (before main: nothing has been read or written yet).  A
 * variable the user set, either of the two, is left alone; if the re-exec fails the tool runs
 * on as it is.  glibc passes argc/argv/envp to constructors of the executable. */
__attribute__((constructor)) static void tool_runtime_init(int argc, char **argv, char **envp) {
    (void)argc;
    (void)envp;
    if (!argv || !argv[0]) return;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT") && setenv("OMP_WAIT_POLICY", "passive", 0) == 0)
        execv("/proc/self/exe", argv);
    /* getopt's own messages ("tool: unrecognized option '--x'") name the tool as every other
     * message does, not by the path it was started with; the tools add only the --help hint */
    const char *slash = strrchr(argv[0], '/');
    if (slash && slash[1]) argv[0] = (char *)slash + 1;
}

void st_set_progname(const char *argv0) {
    const char *slash = strrchr(argv0, '/');
    st_progname = slash ? slash + 1 : argv0;
}

/* Temporary output files still to be removed if the tool fails before committing. */
#define MAX_PENDING 16
static char *pending_tmp[MAX_PENDING];
static void (*cleanup_fns[8])(void);
static int n_cleanup;

void st_atexit_cleanup(void (*fn)(void)) {
    if (n_cleanup < 8) cleanup_fns[n_cleanup++] = fn;
}

static void remove_pending(void) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_tmp[i]) {
            unlink(pending_tmp[i]);
            pending_tmp[i] = NULL;
        }
}

static void run_cleanup(void) {
    for (int i = n_cleanup - 1; i >= 0; i--) cleanup_fns[i]();
    n_cleanup = 0;
    remove_pending();
}

static void vmessage(const char *where, const char *fmt, va_list ap) {
    fflush(stdout);
    fprintf(stderr, "%s: ", st_progname);
    if (where && *where) fprintf(stderr, "%s: ", where);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die(const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(where, fmt, ap);
    va_end(ap);
    run_cleanup();
    exit(EXIT_BAD);
}

void die_usage_hint(void) {
    fprintf(stderr, "Try '%s --help' for more information.\n", st_progname);
    run_cleanup();
    exit(EXIT_USAGE);
}

void die_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(NULL, fmt, ap);
    va_end(ap);
    die_usage_hint();
}

void exit_after_cleanup(int code) {
    fflush(stdout);
    run_cleanup();
    exit(code);
}

void warnx_st(const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmessage(where, fmt, ap);
    va_end(ap);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die(NULL, "out of memory allocating %zu bytes", n);
    return p;
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die(NULL, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die(NULL, "out of memory allocating %zu bytes", n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void *xmalloc_aligned(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? (n + 63) / 64 * 64 : 64) != 0)
        die(NULL, "out of memory allocating %zu bytes", n);
    return p;
}

char *read_whole_file(const char *path, size_t *len) {
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) die(path, "%s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) die(is_stdin ? "<stdin>" : path, "read error: %s", strerror(errno));
    if (!is_stdin) fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void on_signal(int sig) {
    /* Only async-signal-safe calls: unlink the temporaries, then re-raise. */
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_tmp[i]) unlink(pending_tmp[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

OutFile *out_open(const char *path, int binary) {
    OutFile *o = xcalloc(1, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        if (binary && isatty(STDOUT_FILENO))
            die(NULL, "refusing to write binary output to a terminal; redirect it or use -o FILE");
        o->fp = stdout;
        return o;
    }
    o->path = xstrdup(path);
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        o->fp = fopen(path, "wb");
        if (!o->fp) die(path, "cannot open: %s", strerror(errno));
        return o;
    }
    size_t n = strlen(path) + 32;
    o->tmp_path = xmalloc(n);
    snprintf(o->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    int slot = -1;
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending_tmp[i]) { slot = i; break; }
    if (slot < 0) die(path, "too many open output files");
    o->fp = fopen(o->tmp_path, "wb");
    if (!o->fp) die(path, "cannot create: %s", strerror(errno));
    pending_tmp[slot] = o->tmp_path;
    static int handlers_set;
    if (!handlers_set) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        signal(SIGPIPE, on_signal);
        handlers_set = 1;
    }
    return o;
}

void out_commit(OutFile *o) {
    const char *where = o->path ? o->path : "<stdout>";
    if (fflush(o->fp) != 0 || ferror(o->fp)) die(where, "write error: %s", strerror(errno));
    if (o->path) {
        if (fclose(o->fp) != 0) die(where, "write error: %s", strerror(errno));
        if (o->tmp_path && rename(o->tmp_path, o->path) != 0) die(where, "cannot rename: %s", strerror(errno));
        for (int i = 0; i < MAX_PENDING; i++)
            if (pending_tmp[i] == o->tmp_path) pending_tmp[i] = NULL;
        free(o->tmp_path);
        free(o->path);
    }
    free(o);
}

long parse_long(const char *opt, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) die_usage("%s: not an integer: '%s'", opt, s);
    if (v < lo || v > hi) die_usage("%s: %ld is out of range [%ld, %ld]", opt, v, lo, hi);
    return v;
}

double parse_double(const char *opt, const char *s, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) die_usage("%s: not a number: '%s'", opt, s);
    if (v < lo || v > hi) die_usage("%s: %g is out of range [%g, %g]", opt, v, lo, hi);
    return v;
}

void utc_now_iso(char *buf, size_t n) {
    /* SOURCE_DATE_EPOCH (reproducible-builds.org) pins the time stamps written into streams,
     * so that reruns of a pipeline can be compared byte for byte. */
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    char *end;
    long long e = epoch ? strtoll(epoch, &end, 10) : -1;
    time_t t = epoch && *epoch && !*end && e >= 0 ? (time_t)e : time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int is_tty(int fd) { return isatty(fd); }
