/* curves.c — see curves.h. */
#include "curves.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct Point {
    long step;
    double loss, dev;
    int projection;
} Point;

static int by_step(const void *a, const void *b) {
    long x = ((const Point *)a)->step, y = ((const Point *)b)->step;
    return (x > y) - (x < y);
}

static void put_num(FILE *out, double v) {
    if (isfinite(v)) fprintf(out, "\t%.9g", v);
    else fputs("\t", out);
}

void curves_write(FILE *out, const char *log, const MaskSet *masks, int header) {
    FILE *fp = fopen(log, "r");
    if (!fp) die(log, "cannot open: %s", strerror(errno));
    Point *p = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t len = 0;
    while (getline(&line, &len, fp) > 0) {
        lineno++;
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!json_is_object(o)) die(log, "line %zu: not a JSON object", lineno);
        json_t *step = json_object_get(o, "step");
        if (!json_is_integer(step)) die(log, "line %zu: no integer \"step\" (not a masktrain --log?)", lineno);
        long s = (long)json_integer_value(step);
        if (n == 0 || p[n - 1].step != s) { /* the records of one step are adjacent */
            if (n == cap) p = xrealloc(p, (cap = cap ? 2 * cap : 256) * sizeof *p);
            p[n++] = (Point){s, NAN, NAN, 0};
        }
        json_t *v;
        if ((v = json_object_get(o, "loss")) && json_is_number(v)) p[n - 1].loss = json_number_value(v);
        if ((v = json_object_get(o, "dev_metric")) && json_is_number(v)) p[n - 1].dev = json_number_value(v);
        if (json_is_true(json_object_get(o, "projection"))) p[n - 1].projection = 1;
        json_decref(o);
    }
    free(line);
    fclose(fp);
    qsort(p, n, sizeof *p, by_step);
    const char *base = strrchr(log, '/');
    base = base ? base + 1 : log;
    if (header) fputs("run\tstep\tloss\tdev_metric\tprojection\tjaccard_previous\tjaccard_final\n", out);
    size_t last = SIZE_MAX; /* the final mask of the mask log */
    for (size_t i = 0; masks && i < masks->n; i++)
        if (masks->m[i].step >= 0) last = i;
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s\t%ld", base, p[i].step);
        put_num(out, p[i].loss);
        put_num(out, p[i].dev);
        fprintf(out, "\t%d", p[i].projection);
        size_t at = SIZE_MAX;
        for (size_t j = 0; p[i].projection && masks && j < masks->n; j++)
            if (masks->m[j].step == p[i].step) at = j;
        put_num(out, at != SIZE_MAX && at > 0 && masks->m[at - 1].step >= 0 ? maskset_jaccard(masks, at - 1, at) : NAN);
        put_num(out, at != SIZE_MAX ? maskset_jaccard(masks, at, last) : NAN);
        fputc('\n', out);
    }
    free(p);
}
