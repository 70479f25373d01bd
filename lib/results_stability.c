/* results_stability.c — stability against performance (results.h): per task, the methods
 * ranked by sd (most stable first) and by mean (best first), Spearman's ρ of the two rank
 * vectors; pooled: ρ over the rank pairs of every task together, as the paper's Figure 4. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "util.h"

Stability *stability_compute(const Table *t) {
    Stability *x = xcalloc(1, sizeof *x);
    x->t = t;
    x->task = xcalloc(t->ncols + 1, sizeof *x->task);
    size_t total = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        StabTask *s = &x->task[c];
        s->col = c;
        size_t nr = t->nrows + 1;
        s->row = xmalloc(nr * sizeof *s->row);
        s->mean = xmalloc(nr * sizeof(double));
        s->sd = xmalloc(nr * sizeof(double));
        s->sd_rank = xmalloc(nr * sizeof(double));
        s->mean_rank = xmalloc(nr * sizeof(double));
        for (size_t r = 0; r < t->nrows; r++) {
            const Cell *cell = table_cell(t, r, c);
            if (cell->n < 2) continue; /* no sd: no stability rank */
            s->row[s->m] = r;
            cell_mean_sd(cell, &s->mean[s->m], &s->sd[s->m]); /* as Table 1 */
            s->m++;
        }
        stats_rank_average(s->sd, s->m, 0, s->sd_rank);
        stats_rank_average(s->mean, s->m, 1, s->mean_rank);
        stats_spearman(s->sd_rank, s->mean_rank, s->m, &s->corr);
        total += s->m;
    }
    double *a = xmalloc((total + 1) * sizeof *a), *b = xmalloc((total + 1) * sizeof *b);
    size_t k = 0;
    for (size_t c = 0; c < t->ncols; c++)
        for (size_t i = 0; i < x->task[c].m; i++, k++) {
            a[k] = x->task[c].sd_rank[i];
            b[k] = x->task[c].mean_rank[i];
        }
    stats_spearman(a, b, total, &x->pooled);
    free(a);
    free(b);
    return x;
}

void stability_free(Stability *x) {
    if (!x) return;
    for (size_t c = 0; c < x->t->ncols; c++) {
        StabTask *s = &x->task[c];
        free(s->row);
        free(s->mean);
        free(s->sd);
        free(s->sd_rank);
        free(s->mean_rank);
    }
    free(x->task);
    free(x);
}

static json_t *corr_json(const StatsCorr *c) {
    return json_pack("{s:I, s:o, s:o}", "n", (json_int_t)c->n, "rho", json_num(c->rho), "p",
                     json_num(c->p));
}

json_t *stability_json(const Stability *x) {
    const Table *t = x->t;
    json_t *tasks = json_object();
    for (size_t c = 0; c < t->ncols; c++) {
        const StabTask *s = &x->task[c];
        json_t *rows = json_array();
        for (size_t i = 0; i < s->m; i++)
            json_array_append_new(
                rows, json_pack("{s:s, s:o, s:o, s:o, s:o}", "label", t->row_label[s->row[i]],
                                "mean", json_num(s->mean[i]), "std", json_num(s->sd[i]),
                                "std_rank", json_real(s->sd_rank[i]), "mean_rank",
                                json_real(s->mean_rank[i])));
        json_t *o = corr_json(&s->corr);
        json_object_set_new(o, "rows", rows);
        json_object_set_new(tasks, t->col_label[c], o);
    }
    return json_pack("{s:s, s:s, s:o, s:o}", "std_rank", "ascending (1 = smallest std)",
                     "mean_rank", "descending (1 = largest mean)", "tasks", tasks, "pooled",
                     corr_json(&x->pooled));
}

Grid *stability_grid(const Stability *x, int digits) {
    const Table *t = x->t;
    Grid *g = grid_new("Stability vs performance: Spearman rho of the rank by std (ascending) "
                       "and the rank by mean (descending)",
                       t->ncols + 1, 4, digits);
    const char *h[] = {"task", "methods", "rho", "p"};
    for (size_t c = 0; c < 4; c++) grid_header(g, c, h[c]);
    for (size_t c = 0; c <= t->ncols; c++) {
        const StatsCorr *s = c < t->ncols ? &x->task[c].corr : &x->pooled;
        grid_text(g, c, 0, c < t->ncols ? t->col_label[c] : "pooled");
        grid_int(g, c, 1, (long long)s->n);
        grid_fixed(g, c, 2, s->rho);
        grid_sig(g, c, 3, s->p);
    }
    grid_note(g, "p: t approximation with n-2 degrees of freedom, two-sided; pooled: the rank "
                 "pairs of all tasks together.");
    return g;
}

Grid *stability_ranks_grid(const Stability *x) {
    const Table *t = x->t;
    Grid *g = grid_new("Ranks (by std / by mean; 1 = most stable / best)", t->nrows,
                       t->ncols + 1, 1);
    grid_header(g, 0, "method");
    for (size_t c = 0; c < t->ncols; c++) grid_header(g, c + 1, t->col_label[c]);
    for (size_t r = 0; r < t->nrows; r++) grid_text(g, r, 0, t->row_label[r]);
    for (size_t c = 0; c < t->ncols; c++) {
        const StabTask *s = &x->task[c];
        for (size_t i = 0; i < s->m; i++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%g / %g", s->sd_rank[i], s->mean_rank[i]);
            grid_text(g, s->row[i], c + 1, buf);
        }
    }
    return g;
}

Grid *stability_long(const Stability *x) {
    const Table *t = x->t;
    size_t n = 0;
    for (size_t c = 0; c < t->ncols; c++) n += x->task[c].m;
    Grid *g = grid_new("stability", n, 6, 6);
    const char *h[] = {"task", "method", "mean", "std", "std_rank", "mean_rank"};
    for (size_t c = 0; c < 6; c++) grid_header(g, c, h[c]);
    size_t k = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        const StabTask *s = &x->task[c];
        for (size_t i = 0; i < s->m; i++, k++) {
            grid_text(g, k, 0, t->col_label[c]);
            grid_text(g, k, 1, t->row_label[s->row[i]]);
            grid_fixed(g, k, 2, s->mean[i]);
            grid_fixed(g, k, 3, s->sd[i]);
            grid_fixed(g, k, 4, s->sd_rank[i]);
            grid_fixed(g, k, 5, s->mean_rank[i]);
        }
    }
    return g;
}
