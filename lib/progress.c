#include "progress.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(Progress *p, long total, int quiet, const char *log_path, int append) {
    memset(p, 0, sizeof *p);
    p->show = !quiet && isatty(STDERR_FILENO);
    p->total = total;
    p->t0 = p->last = now_seconds();
    if (log_path) {
        p->log = fopen(log_path, append ? "a" : "w");
        if (!p->log) die(log_path, "cannot create log: %s", strerror(errno));
        p->log_path = xstrdup(log_path);
    }
}

void progress_log(Progress *p, json_t *obj) {
    if (p->log) {
        char *s = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9));
        fprintf(p->log, "%s\n", s);
        fflush(p->log);
        free(s);
    }
    json_decref(obj);
}

void progress_step(Progress *p, long step, long examples, double loss) {
    if (p->log) {
        double el = now_seconds() - p->t0;
        json_t *o = json_object();
        json_object_set_new(o, "step", json_integer(step));
        if (!isnan(loss)) json_object_set_new(o, "loss", json_real(loss));
        json_object_set_new(o, "examples", json_integer(examples));
        json_object_set_new(o, "elapsed_s", json_real(el));
        progress_log(p, o);
    }
    progress_draw(p, step, examples, loss);
}

void progress_draw(Progress *p, long step, long examples, double loss) {
    double t = now_seconds();
    double el = t - p->t0;
    if (!p->show || (t - p->last < 0.5 && step != p->total)) return;
    p->last = t;
    double eta = step > 0 ? el / (double)step * (double)(p->total - step) : 0;
    fprintf(stderr, "\r%s: step %ld/%ld  %.1f ex/s  loss %.4f  %s%sETA %.0fs   ", st_progname, step,
            p->total, el > 0 ? (double)examples / el : 0.0, loss, p->note, p->note[0] ? "  " : "", eta);
    fflush(stderr);
}

void progress_note(Progress *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->note, sizeof p->note, fmt, ap);
    va_end(ap);
}

void progress_finish(Progress *p) {
    if (p->show) fputc('\n', stderr);
    if (p->log) {
        if (fclose(p->log) != 0) die(p->log_path, "write error: %s", strerror(errno));
        free(p->log_path);
    }
    p->log = NULL;
}
