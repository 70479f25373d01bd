/* report.c — see report.h. */
#include "report.h"

#include <string.h>

#include "results.h"
#include "util.h"

/* Grids in order; TSV separates them by a blank line, the others by one too. */
typedef struct GridList {
    Grid **g;
    size_t n;
} GridList;
static void add(GridList *l, Grid *g) {
    l->g = xrealloc(l->g, (l->n + 1) * sizeof *l->g);
    l->g[l->n++] = g;
}
static void render_all(FILE *fp, GridList *l, OutFormat f) {
    for (size_t i = 0; i < l->n; i++) {
        if (i) fputc('\n', fp);
        grid_render(fp, l->g[i], f);
        grid_free(l->g[i]);
    }
    free(l->g);
}

static void dump_json(FILE *fp, json_t *doc) {
    if (json_dumpf(doc, fp, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0)
        die(NULL, "write error");
    fputc('\n', fp);
    json_decref(doc);
}

static json_t *filters_json(const RunSet *rs, const ReportOpts *o) {
    const RunFilter *f = &o->filter;
    json_t *files = json_array();
    for (size_t i = 0; i < rs->files.n; i++) json_array_append_new(files, json_string(rs->files.s[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:f, s:I}", "inputs", files, "split",
                     f->split ? json_string(f->split) : json_null(), "ratio",
                     f->has_ratio ? json_real(f->ratio) : json_null(), "tag",
                     f->tag ? json_string(f->tag) : json_null(), "metric",
                     o->metric ? json_string(o->metric) : json_string("metric"), "scale", o->scale,
                     "runs", (json_int_t)rs->n);
}

static void describe_filter(const ReportOpts *o, char *buf, size_t n) {
    const RunFilter *f = &o->filter;
    size_t len = (size_t)snprintf(buf, n, "split %s", f->split ? f->split : "any");
    if (f->has_ratio && len < n) len += (size_t)snprintf(buf + len, n - len, ", ratio %g", f->ratio);
    if (f->tag && len < n)
        snprintf(buf + len, n - len, ", %s%s", f->tag[0] ? "tag " : "untagged", f->tag);
    else if (len < n)
        snprintf(buf + len, n - len, ", any tag");
}

void report_metrics(FILE *fp, const RunSet *rs, const ReportOpts *o) {
    int table = o->table || !(o->ttest || o->stability || o->sweep);
    Table *t = table_build(rs, &o->filter, o->scale);
    char what[256];
    describe_filter(o, what, sizeof what);
    if ((table || o->ttest || o->stability) && t->nrows == 0)
        die(NULL, "no runs match (%s) among %zu runs read", what, rs->n);
    Table1 *t1 = table ? table1_compute(t) : NULL;
    TTests *tt = o->ttest ? ttests_compute(t, rs, o->ref, o->equal_var) : NULL;
    Stability *st = o->stability ? stability_compute(t) : NULL;
    Sweep *sw = o->sweep ? sweep_compute(rs, &o->filter, o->scale, o->sweep_split) : NULL;
    if (sw && sw->n == 0) die(NULL, "--sweep: no runs match among %zu runs read", rs->n);

    if (o->format == FMT_JSON) {
        json_t *doc = filters_json(rs, o);
        if (t1) json_object_set_new(doc, "table", table1_json(t1, rs));
        if (tt) json_object_set_new(doc, "ttest", ttests_json(tt));
        if (st) json_object_set_new(doc, "stability", stability_json(st));
        if (sw) json_object_set_new(doc, "sweep", sweep_json(sw));
        dump_json(fp, doc);
    } else {
        GridList l = {0};
        int tsv = o->format == FMT_TSV;
        if (t1) {
            Grid *g = tsv ? table1_long(t1) : table1_grid(t1, rs, o->digits, o->marks);
            if (!tsv) {
                char title[512];
                snprintf(title, sizeof title, "%s \u00d7 %g, mean \u00b1 std over seeds (%s)",
                         o->metric ? o->metric : "metric", o->scale, what);
                g->title = xstrdup(title);
                if (o->marks)
                    grid_note(g, "[k]: rank k of the mean (largest first) and of the std "
                                 "(smallest first) in its column, k <= 3.");
            }
            add(&l, g);
        }
        if (tt) {
            if (tsv) {
                add(&l, ttests_long(tt));
            } else {
                add(&l, ttests_grid_t(tt, o->digits));
                add(&l, ttests_grid_p(tt));
            }
        }
        if (st) {
            if (tsv) {
                add(&l, stability_long(st));
                add(&l, stability_grid(st, o->digits));
            } else {
                add(&l, stability_ranks_grid(st));
                add(&l, stability_grid(st, o->digits));
            }
        }
        if (sw) {
            if (tsv) {
                add(&l, sweep_long(sw));
            } else {
                Grid **gs;
                size_t n = sweep_grids(sw, o->digits, &gs);
                for (size_t i = 0; i < n; i++) add(&l, gs[i]);
                free(gs);
            }
        }
        render_all(fp, &l, o->format);
    }
    sweep_free(sw);
    stability_free(st);
    ttests_free(tt);
    table1_free(t1);
    table_free(t);
}

/* Renders the n grids of gs (an array the callee frees) in order. */
static void render_grids(FILE *fp, Grid **gs, size_t n, OutFormat f) {
    GridList l = {0};
    for (size_t i = 0; i < n; i++) add(&l, gs[i]);
    free(gs);
    render_all(fp, &l, f);
}

void report_masks(FILE *fp, const MaskSet *s, const ReportOpts *o) {
    if (o->format == FMT_JSON) {
        dump_json(fp, maskset_json(s));
        return;
    }
    Grid **gs;
    size_t n = o->format == FMT_TSV ? maskset_long(s, &gs) : maskset_grids(s, o->digits, &gs);
    render_grids(fp, gs, n, o->format);
}

void report_params(FILE *fp, const ParamSet *s, const ReportOpts *o) {
    if (o->format == FMT_JSON) {
        dump_json(fp, paramset_json(s));
        return;
    }
    Grid **gs;
    size_t n = o->format == FMT_TSV ? paramset_long(s, &gs) : paramset_grids(s, o->digits, &gs);
    render_grids(fp, gs, n, o->format);
}
