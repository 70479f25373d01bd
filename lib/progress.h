/* progress.h — progress lines on stderr (only when it is a terminal, unless --quiet) and
 * JSON-lines logs (--log FILE) for long-running tools. */
#ifndef SPARSETUNE_PROGRESS_H
#define SPARSETUNE_PROGRESS_H

#include <jansson.h>
#include <stdio.h>

typedef struct Progress {
    int show;         /* draw on stderr */
    long total;       /* steps planned */
    double t0, last;  /* monotonic seconds */
    FILE *log;        /* NULL: no log */
    char *log_path;
    char note[96];    /* shown after the step figures (e.g. the last dev metric) */
} Progress;

double now_seconds(void);
/* append: continue an existing log (a resumed run) instead of starting it anew. */
void progress_init(Progress *p, long total, int quiet, const char *log_path, int append);
/* One step done: log {step, loss, examples, elapsed_s} and draw the progress line. */
void progress_step(Progress *p, long step, long examples_so_far, double loss);
/* Only the progress line (for tools that log richer step records themselves). */
void progress_draw(Progress *p, long step, long examples_so_far, double loss);
/* Append one JSON object (stolen) as a line to the log. */
void progress_log(Progress *p, json_t *obj);
void progress_finish(Progress *p);
/* Text shown at the end of the progress line from now on (e.g. "dev 0.81 best 0.83@400"). */
void progress_note(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
