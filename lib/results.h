/* results.h — the analyses of `stats` (man 1 stats) on a method × task Table (runs.h):
 * the paper's Table 1 (mean ± sd with rank marks and AVG), t-tests of a reference method
 * against the others (Tables 5, 6), stability against performance (Figure 4), and the sparsity
 * sweep (Figure 5).  Each analysis computes a struct, then renders it as JSON (jansson) or as
 * grids (grid.h) for the text formats; the "long" grids are the TSV form, one row per number.
 *
 * JSON numbers: NaN (undefined) → null, ±inf → the strings "inf" / "-inf". */
#ifndef SPARSETUNE_RESULTS_H
#define SPARSETUNE_RESULTS_H

#include <jansson.h>

#include "grid.h"
#include "runs.h"
#include "stats.h"

json_t *json_num(double v);

/* Mean and sample sd of a cell's values, computed on the values sorted ascending so that the
 * same values in another seed order give exactly the same numbers (NaN when undefined). */
void cell_mean_sd(const Cell *c, double *mean, double *sd);

/* ---- Table 1 ---- */
typedef struct T1Cell {
    size_t n;            /* seeds; 0: missing (blank cell) */
    double mean, sd;     /* sd NaN for one seed */
    int mean_rank;       /* competition rank of the mean in its column (largest = 1), 0: none */
    int sd_rank;         /* competition rank of the sd (smallest = 1), 0: none */
} T1Cell;
typedef struct Table1 {
    const Table *t;
    T1Cell *cell; /* nrows × (ncols + 1); column ncols is AVG */
} Table1;
/* Means and sds are computed on the values sorted ascending, so two cells with the same
 * values in another seed order tie exactly.  AVG: the mean of the row's task means and the
 * mean of its task sds (the paper's AVG column), defined only when every task of the table
 * is present for the row (sd: when every task sd is defined). */
Table1 *table1_compute(const Table *t);
void table1_free(Table1 *x);
T1Cell *table1_at(const Table1 *x, size_t r, size_t c);
json_t *table1_json(const Table1 *x, const RunSet *rs);
/* marks: print [k] after means and sds of rank k <= 3. */
Grid *table1_grid(const Table1 *x, const RunSet *rs, int digits, int marks);
Grid *table1_long(const Table1 *x);

/* ---- t-tests of a reference row against every other row, per task ---- */
typedef struct TTests {
    const Table *t;
    size_t ref;      /* row of the reference method */
    int equal_var;   /* 0 Welch, 1 Student */
    StatsTTest *res; /* nrows × ncols; res of the ref row unused */
    unsigned char *ok; /* 1 where both cells exist */
} TTests;
/* ref: a row label, or a method name that labels exactly one row.  Dies (exit 1) naming the
 * rows when it matches none or several. */
TTests *ttests_compute(const Table *t, const RunSet *rs, const char *ref, int equal_var);
void ttests_free(TTests *x);
json_t *ttests_json(const TTests *x);
Grid *ttests_grid_t(const TTests *x, int digits);
Grid *ttests_grid_p(const TTests *x);
Grid *ttests_long(const TTests *x);

/* ---- stability (sd) against performance (mean) ---- */
typedef struct StabTask {
    size_t col, m;       /* column; rows with a defined sd (>= 2 seeds) */
    size_t *row;         /* m rows */
    double *mean, *sd;
    double *sd_rank;     /* average ranks, smallest sd = 1 (most stable) */
    double *mean_rank;   /* average ranks, largest mean = 1 (best) */
    StatsCorr corr;      /* Spearman of (sd_rank, mean_rank) */
} StabTask;
typedef struct Stability {
    const Table *t;
    StabTask *task; /* t->ncols */
    StatsCorr pooled; /* Spearman over the rank pairs of all tasks together (Figure 4) */
} Stability;
Stability *stability_compute(const Table *t);
void stability_free(Stability *x);
json_t *stability_json(const Stability *x);
Grid *stability_grid(const Stability *x, int digits);
Grid *stability_ranks_grid(const Stability *x);
Grid *stability_long(const Stability *x);

/* ---- sparsity sweep: per task, method (and tag), ratio: each split's mean ± sd ---- */
typedef struct SweepRow {
    size_t task;   /* column of the layout table */
    size_t row;    /* row of the layout table: (method, ratio, tag) */
    T1Cell split[3]; /* test, dev, train (n = 0: none) */
} SweepRow;
typedef struct Sweep {
    const RunSet *rs;
    Table *layout; /* all splits: fixes the order of tasks and rows */
    int has_split[3];
    SweepRow *row;
    size_t n;
} Sweep;
extern const char *const SWEEP_SPLITS[3];
/* f's split and ratio are ignored: the sweep is over ratios and shows every split present,
 * or only `only` when it is not NULL. */
Sweep *sweep_compute(const RunSet *rs, const RunFilter *f, double scale, const char *only);
void sweep_free(Sweep *x);
json_t *sweep_json(const Sweep *x);
/* One grid per task; returns the count, grids in *out (free each and the array). */
size_t sweep_grids(const Sweep *x, int digits, Grid ***out);
Grid *sweep_long(const Sweep *x);

#endif
