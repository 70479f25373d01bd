/* results_table.c — Table 1 and the t-tests (results.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "util.h"

json_t *json_num(double v) {
    if (isnan(v)) return json_null();
    if (isinf(v)) return json_string(v < 0 ? "-inf" : "inf");
    return json_real(v);
}

static int dbl_cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

void cell_mean_sd(const Cell *c, double *mean, double *sd) {
    *mean = *sd = NAN;
    if (!c->n) return;
    double *v = xmalloc(c->n * sizeof *v);
    memcpy(v, c->v, c->n * sizeof *v);
    qsort(v, c->n, sizeof *v, dbl_cmp);
    *mean = stats_mean(v, c->n);
    *sd = stats_sd(v, c->n);
    free(v);
}

T1Cell *table1_at(const Table1 *x, size_t r, size_t c) {
    return &x->cell[r * (x->t->ncols + 1) + c];
}

/* Competition ranks of the defined values of one column; others keep rank 0. */
static void rank_column(const Table1 *x, size_t c, int use_sd) {
    size_t nr = x->t->nrows, m = 0;
    double *v = xmalloc((nr + 1) * sizeof *v);
    size_t *row = xmalloc((nr + 1) * sizeof *row);
    int *rank = xmalloc((nr + 1) * sizeof *rank);
    for (size_t r = 0; r < nr; r++) {
        T1Cell *cell = table1_at(x, r, c);
        double y = use_sd ? cell->sd : cell->mean;
        if (cell->n && isfinite(y)) {
            v[m] = y;
            row[m++] = r;
        }
    }
    stats_rank_min(v, m, !use_sd, rank);
    for (size_t k = 0; k < m; k++) {
        T1Cell *cell = table1_at(x, row[k], c);
        if (use_sd)
            cell->sd_rank = rank[k];
        else
            cell->mean_rank = rank[k];
    }
    free(v);
    free(row);
    free(rank);
}

Table1 *table1_compute(const Table *t) {
    Table1 *x = xcalloc(1, sizeof *x);
    x->t = t;
    size_t nc = t->ncols;
    x->cell = xcalloc(t->nrows * (nc + 1) + 1, sizeof *x->cell);
    for (size_t r = 0; r < t->nrows; r++) {
        double msum = 0, ssum = 0;
        size_t have = 0, have_sd = 0;
        for (size_t c = 0; c < nc; c++) {
            const Cell *in = table_cell(t, r, c);
            T1Cell *o = table1_at(x, r, c);
            o->n = in->n;
            cell_mean_sd(in, &o->mean, &o->sd);
            if (!in->n) continue;
            have++;
            msum += o->mean;
            if (isfinite(o->sd)) {
                have_sd++;
                ssum += o->sd;
            }
        }
        T1Cell *avg = table1_at(x, r, nc);
        avg->n = have;
        avg->mean = nc && have == nc ? msum / (double)nc : NAN;
        avg->sd = nc && have_sd == nc ? ssum / (double)nc : NAN;
        if (have < nc) avg->n = 0;
    }
    for (size_t c = 0; c <= nc; c++) {
        rank_column(x, c, 0);
        rank_column(x, c, 1);
    }
    return x;
}

void table1_free(Table1 *x) {
    if (!x) return;
    free(x->cell);
    free(x);
}

static json_t *rank_json(int k) { return k ? json_integer(k) : json_null(); }

static json_t *row_meta(const Table *t, const RunSet *rs, size_t r) {
    return json_pack("{s:s, s:s, s:o, s:o}", "label", t->row_label[r], "method",
                     rs->methods.s[t->row_method[r]], "ratio", json_real(t->row_ratio[r]), "tag",
                     t->row_tag[r] ? json_string(rs->tags.s[t->row_tag[r]]) : json_null());
}

json_t *table1_json(const Table1 *x, const RunSet *rs) {
    const Table *t = x->t;
    json_t *tasks = json_array(), *metrics = json_object(), *rows = json_array();
    for (size_t c = 0; c < t->ncols; c++) {
        json_array_append_new(tasks, json_string(t->col_label[c]));
        uint32_t id = t->col_task[c];
        const char *m = id < rs->n_task_metric ? rs->task_metric[id] : NULL;
        json_object_set_new(metrics, t->col_label[c], m ? json_string(m) : json_null());
    }
    for (size_t r = 0; r < t->nrows; r++) {
        json_t *row = row_meta(t, rs, r), *cells = json_object();
        for (size_t c = 0; c < t->ncols; c++) {
            const T1Cell *o = table1_at(x, r, c);
            const Cell *in = table_cell(t, r, c);
            if (!o->n) {
                json_object_set_new(cells, t->col_label[c], json_null());
                continue;
            }
            json_t *seeds = json_array(), *values = json_array();
            for (size_t i = 0; i < in->n; i++) {
                json_array_append_new(seeds, json_integer(in->seed[i]));
                json_array_append_new(values, json_real(in->v[i]));
            }
            json_object_set_new(
                cells, t->col_label[c],
                json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)o->n, "mean",
                          json_num(o->mean), "std", json_num(o->sd), "mean_rank",
                          rank_json(o->mean_rank), "std_rank", rank_json(o->sd_rank), "seeds",
                          seeds, "values", values));
        }
        json_object_set_new(row, "cells", cells);
        const T1Cell *a = table1_at(x, r, t->ncols);
        json_object_set_new(row, "avg",
                            json_pack("{s:I, s:o, s:o, s:o, s:o}", "tasks", (json_int_t)a->n,
                                      "mean", json_num(a->mean), "std", json_num(a->sd),
                                      "mean_rank", rank_json(a->mean_rank), "std_rank",
                                      rank_json(a->sd_rank)));
        json_array_append_new(rows, row);
    }
    return json_pack("{s:o, s:o, s:o}", "tasks", tasks, "metrics", metrics, "rows", rows);
}

Grid *table1_grid(const Table1 *x, const RunSet *rs, int digits, int marks) {
    const Table *t = x->t;
    size_t nc = t->ncols;
    Grid *g = grid_new(NULL, t->nrows, nc + 2, digits);
    grid_header(g, 0, "method");
    for (size_t c = 0; c < nc; c++) grid_header(g, c + 1, t->col_label[c]);
    grid_header(g, nc + 1, "AVG");
    for (size_t r = 0; r < t->nrows; r++) {
        grid_text(g, r, 0, t->row_label[r]);
        for (size_t c = 0; c <= nc; c++) {
            const T1Cell *o = table1_at(x, r, c);
            if (!o->n) continue; /* missing: blank */
            int mm = marks && o->mean_rank && o->mean_rank <= 3 ? o->mean_rank : 0;
            int ms = marks && o->sd_rank && o->sd_rank <= 3 ? o->sd_rank : 0;
            grid_meansd(g, r, c + 1, o->mean, o->sd, mm, ms);
        }
    }
    return g;
}

Grid *table1_long(const Table1 *x) {
    const Table *t = x->t;
    size_t nc = t->ncols;
    Grid *g = grid_new("table", t->nrows * (nc + 1), 7, 6);
    const char *h[] = {"method", "task", "n", "mean", "std", "mean_rank", "std_rank"};
    for (size_t c = 0; c < 7; c++) grid_header(g, c, h[c]);
    size_t k = 0;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c <= nc; c++, k++) {
            const T1Cell *o = table1_at(x, r, c);
            grid_text(g, k, 0, t->row_label[r]);
            grid_text(g, k, 1, c < nc ? t->col_label[c] : "AVG");
            grid_int(g, k, 2, (long long)o->n);
            grid_fixed(g, k, 3, o->n ? o->mean : NAN);
            grid_fixed(g, k, 4, o->n ? o->sd : NAN);
            grid_fixed(g, k, 5, o->mean_rank ? o->mean_rank : NAN);
            grid_fixed(g, k, 6, o->sd_rank ? o->sd_rank : NAN);
        }
    return g;
}

/* ---- t-tests ---- */

TTests *ttests_compute(const Table *t, const RunSet *rs, const char *ref, int equal_var) {
    long found = -1;
    for (size_t r = 0; r < t->nrows && found < 0; r++)
        if (strcmp(t->row_label[r], ref) == 0) found = (long)r;
    if (found < 0) {
        size_t hits = 0;
        for (size_t r = 0; r < t->nrows; r++)
            if (strcmp(rs->methods.s[t->row_method[r]], ref) == 0) {
                hits++;
                found = (long)r;
            }
        if (hits > 1) {
            char list[1024] = "";
            for (size_t r = 0; r < t->nrows; r++)
                if (strcmp(rs->methods.s[t->row_method[r]], ref) == 0 &&
                    strlen(list) + strlen(t->row_label[r]) + 3 < sizeof list) {
                    if (list[0]) strcat(list, ", ");
                    strcat(list, t->row_label[r]);
                }
            die(NULL, "--ref %s: the method has %zu rows (%s); name one of them, or select with "
                      "--ratio or --tag", ref, hits, list);
        }
    }
    if (found < 0) die(NULL, "--ref %s: no such method among the selected runs", ref);
    TTests *x = xcalloc(1, sizeof *x);
    x->t = t;
    x->ref = (size_t)found;
    x->equal_var = equal_var;
    x->res = xcalloc(t->nrows * t->ncols + 1, sizeof *x->res);
    x->ok = xcalloc(t->nrows * t->ncols + 1, 1);
    for (size_t r = 0; r < t->nrows; r++) {
        if (r == x->ref) continue;
        for (size_t c = 0; c < t->ncols; c++) {
            const Cell *a = table_cell(t, x->ref, c), *b = table_cell(t, r, c);
            if (!a->n || !b->n) continue;
            stats_ttest(a->v, a->n, b->v, b->n, equal_var, &x->res[r * t->ncols + c]);
            x->ok[r * t->ncols + c] = 1;
        }
    }
    return x;
}

void ttests_free(TTests *x) {
    if (!x) return;
    free(x->res);
    free(x->ok);
    free(x);
}

static const char *test_name(int equal_var) {
    return equal_var ? "student" : "welch";
}

json_t *ttests_json(const TTests *x) {
    const Table *t = x->t;
    json_t *rows = json_array();
    for (size_t r = 0; r < t->nrows; r++) {
        if (r == x->ref) continue;
        json_t *cells = json_object();
        for (size_t c = 0; c < t->ncols; c++) {
            const StatsTTest *s = &x->res[r * t->ncols + c];
            if (!x->ok[r * t->ncols + c]) {
                json_object_set_new(cells, t->col_label[c], json_null());
                continue;
            }
            json_object_set_new(
                cells, t->col_label[c],
                json_pack("{s:o, s:o, s:o, s:I, s:I, s:o, s:o}", "t", json_num(s->t), "p",
                          json_num(s->p), "df", json_num(s->df), "n_ref", (json_int_t)s->na, "n",
                          (json_int_t)s->nb, "mean_ref", json_num(s->mean_a), "mean",
                          json_num(s->mean_b)));
        }
        json_array_append_new(rows, json_pack("{s:s, s:o}", "label", t->row_label[r], "cells",
                                              cells));
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "ref", t->row_label[x->ref], "test",
                     test_name(x->equal_var), "alternative", "two-sided", "rows", rows);
}

static Grid *ttests_grid(const TTests *x, int digits, int p) {
    const Table *t = x->t;
    char title[512];
    snprintf(title, sizeof title, "%s: %s against each method (%s t-test, two-sided)",
             p ? "p-value" : "t-statistic", t->row_label[x->ref],
             x->equal_var ? "Student's" : "Welch's");
    Grid *g = grid_new(title, t->nrows ? t->nrows - 1 : 0, t->ncols + 1, digits);
    grid_header(g, 0, "method");
    for (size_t c = 0; c < t->ncols; c++) grid_header(g, c + 1, t->col_label[c]);
    size_t k = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (r == x->ref) continue;
        grid_text(g, k, 0, t->row_label[r]);
        for (size_t c = 0; c < t->ncols; c++) {
            if (!x->ok[r * t->ncols + c]) continue;
            const StatsTTest *s = &x->res[r * t->ncols + c];
            if (p)
                grid_sig(g, k, c + 1, s->p);
            else
                grid_fixed(g, k, c + 1, s->t);
        }
        k++;
    }
    return g;
}
Grid *ttests_grid_t(const TTests *x, int digits) { return ttests_grid(x, digits, 0); }
Grid *ttests_grid_p(const TTests *x) { return ttests_grid(x, 2, 1); }

Grid *ttests_long(const TTests *x) {
    const Table *t = x->t;
    size_t n = 0;
    for (size_t k = 0; k < t->nrows * t->ncols; k++) n += x->ok[k];
    Grid *g = grid_new("ttest", n, 10, 6);
    const char *h[] = {"task", "ref", "method", "n_ref", "n", "mean_ref", "mean", "t", "df", "p"};
    for (size_t c = 0; c < 10; c++) grid_header(g, c, h[c]);
    size_t k = 0;
    for (size_t c = 0; c < t->ncols; c++)
        for (size_t r = 0; r < t->nrows; r++) {
            if (!x->ok[r * t->ncols + c]) continue;
            const StatsTTest *s = &x->res[r * t->ncols + c];
            grid_text(g, k, 0, t->col_label[c]);
            grid_text(g, k, 1, t->row_label[x->ref]);
            grid_text(g, k, 2, t->row_label[r]);
            grid_int(g, k, 3, (long long)s->na);
            grid_int(g, k, 4, (long long)s->nb);
            grid_fixed(g, k, 5, s->mean_a);
            grid_fixed(g, k, 6, s->mean_b);
            grid_fixed(g, k, 7, s->t);
            grid_fixed(g, k, 8, s->df);
            grid_fixed(g, k, 9, s->p);
            k++;
        }
    return g;
}
