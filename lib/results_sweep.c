/* results_sweep.c — the sparsity sweep (results.h, the paper's Figure 5): for every task,
 * method and ratio, mean ± sd of each split present (test, dev, train) and the train − test
 * gap of the means. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "util.h"

const char *const SWEEP_SPLITS[3] = {"test", "dev", "train"};

static void cell_stats(const Cell *in, T1Cell *o) {
    o->n = in->n;
    cell_mean_sd(in, &o->mean, &o->sd);
}

Sweep *sweep_compute(const RunSet *rs, const RunFilter *f, double scale, const char *only) {
    Sweep *x = xcalloc(1, sizeof *x);
    x->rs = rs;
    RunFilter g = *f;
    g.has_ratio = 0;
    g.split = only;
    x->layout = table_build(rs, &g, scale);
    Table *L = x->layout;
    Table *per[3] = {0};
    for (int s = 0; s < 3; s++) {
        if (only && strcmp(only, SWEEP_SPLITS[s]) != 0) continue;
        g.split = SWEEP_SPLITS[s];
        per[s] = table_build(rs, &g, scale);
        x->has_split[s] = per[s]->nrows > 0;
    }
    x->row = xcalloc(L->nrows * L->ncols + 1, sizeof *x->row);
    for (size_t c = 0; c < L->ncols; c++)
        for (size_t r = 0; r < L->nrows; r++) {
            SweepRow *o = &x->row[x->n];
            *o = (SweepRow){.task = c, .row = r};
            int any = 0;
            for (int s = 0; s < 3; s++) {
                const Table *T = per[s];
                o->split[s].mean = o->split[s].sd = NAN;
                if (!T) continue;
                size_t pr, pc;
                for (pr = 0; pr < T->nrows; pr++)
                    if (T->row_method[pr] == L->row_method[r] && T->row_tag[pr] == L->row_tag[r] &&
                        ratio_eq(T->row_ratio[pr], L->row_ratio[r]))
                        break;
                for (pc = 0; pc < T->ncols && T->col_task[pc] != L->col_task[c]; pc++) {}
                if (pr < T->nrows && pc < T->ncols) cell_stats(table_cell(T, pr, pc), &o->split[s]);
                any |= o->split[s].n > 0;
            }
            if (any) x->n++;
        }
    for (int s = 0; s < 3; s++)
        if (per[s]) table_free(per[s]);
    return x;
}

void sweep_free(Sweep *x) {
    if (!x) return;
    table_free(x->layout);
    free(x->row);
    free(x);
}

static double gap(const SweepRow *o) {
    return o->split[0].n && o->split[2].n ? o->split[2].mean - o->split[0].mean : NAN;
}

/* The method with its tag when the layout has several tags for it. */
static void method_label(const Sweep *x, size_t r, char *buf, size_t n) {
    const Table *L = x->layout;
    int many_tags = 0;
    for (size_t q = 0; q < L->nrows; q++)
        if (L->row_method[q] == L->row_method[r] && L->row_tag[q] != L->row_tag[r]) many_tags = 1;
    const char *tag = x->rs->tags.s[L->row_tag[r]];
    snprintf(buf, n, "%s%s%s", x->rs->methods.s[L->row_method[r]], many_tags ? ":" : "",
             many_tags ? (L->row_tag[r] ? tag : "untagged") : "");
}

json_t *sweep_json(const Sweep *x) {
    const Table *L = x->layout;
    json_t *a = json_array();
    for (size_t i = 0; i < x->n; i++) {
        const SweepRow *o = &x->row[i];
        json_t *splits = json_object();
        for (int s = 0; s < 3; s++)
            if (o->split[s].n)
                json_object_set_new(splits, SWEEP_SPLITS[s],
                                    json_pack("{s:I, s:o, s:o}", "n", (json_int_t)o->split[s].n,
                                              "mean", json_num(o->split[s].mean), "std",
                                              json_num(o->split[s].sd)));
        uint32_t tag = L->row_tag[o->row];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "task", L->col_label[o->task], "method",
                         x->rs->methods.s[L->row_method[o->row]], "tag",
                         tag ? json_string(x->rs->tags.s[tag]) : json_null(), "ratio",
                         json_real(L->row_ratio[o->row]), "splits", splits, "gap",
                         json_num(gap(o))));
    }
    return a;
}

size_t sweep_grids(const Sweep *x, int digits, Grid ***out) {
    const Table *L = x->layout;
    Grid **gs = xcalloc(L->ncols + 1, sizeof *gs);
    size_t ng = 0;
    int show_gap = x->has_split[0] && x->has_split[2];
    for (size_t c = 0; c < L->ncols; c++) {
        size_t nrow = 0;
        for (size_t i = 0; i < x->n; i++) nrow += x->row[i].task == c;
        size_t ncol = 2 + (size_t)(x->has_split[0] + x->has_split[1] + x->has_split[2]) +
                      (size_t)show_gap;
        char title[300];
        snprintf(title, sizeof title, "Sparsity sweep: %s", L->col_label[c]);
        Grid *g = grid_new(title, nrow, ncol, digits);
        grid_header(g, 0, "method");
        grid_header(g, 1, "ratio");
        size_t col = 2;
        for (int s = 0; s < 3; s++)
            if (x->has_split[s]) grid_header(g, col++, SWEEP_SPLITS[s]);
        if (show_gap) grid_header(g, col, "train-test");
        size_t k = 0;
        for (size_t i = 0; i < x->n; i++) {
            const SweepRow *o = &x->row[i];
            if (o->task != c) continue;
            char buf[512];
            method_label(x, o->row, buf, sizeof buf);
            grid_text(g, k, 0, buf);
            snprintf(buf, sizeof buf, "%g", L->row_ratio[o->row]);
            grid_text(g, k, 1, buf);
            col = 2;
            for (int s = 0; s < 3; s++) {
                if (!x->has_split[s]) continue;
                if (o->split[s].n) grid_meansd(g, k, col, o->split[s].mean, o->split[s].sd, 0, 0);
                col++;
            }
            if (show_gap && !isnan(gap(o))) grid_fixed(g, k, col, gap(o));
            k++;
        }
        gs[ng++] = g;
    }
    *out = gs;
    return ng;
}

Grid *sweep_long(const Sweep *x) {
    const Table *L = x->layout;
    size_t n = 0;
    for (size_t i = 0; i < x->n; i++)
        for (int s = 0; s < 3; s++) n += x->row[i].split[s].n > 0;
    Grid *g = grid_new("sweep", n, 8, 6);
    const char *h[] = {"task", "method", "tag", "ratio", "split", "n", "mean", "std"};
    for (size_t c = 0; c < 8; c++) grid_header(g, c, h[c]);
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++) {
        const SweepRow *o = &x->row[i];
        for (int s = 0; s < 3; s++) {
            if (!o->split[s].n) continue;
            uint32_t tag = L->row_tag[o->row];
            grid_text(g, k, 0, L->col_label[o->task]);
            grid_text(g, k, 1, x->rs->methods.s[L->row_method[o->row]]);
            grid_text(g, k, 2, tag ? x->rs->tags.s[tag] : "");
            grid_fixed(g, k, 3, L->row_ratio[o->row]);
            grid_text(g, k, 4, SWEEP_SPLITS[s]);
            grid_int(g, k, 5, (long long)o->split[s].n);
            grid_fixed(g, k, 6, o->split[s].mean);
            grid_fixed(g, k, 7, o->split[s].sd);
            k++;
        }
    }
    return g;
}
