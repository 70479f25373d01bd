/* runs.h — experiment results read from `metrics` streams (man 1 stats, "INPUT"), filtered
 * and grouped into a method × task table of per-seed values.
 *
 * A metrics stream (written by evaluate) has a header {kind:"metrics", task, metric, ...} and
 * one record per run:
 *   task (string), method (string), seed (int), ratio (number), metric (number, headline
 *   value on a 0–1 scale), components (map name → number), n (int, examples),
 *   split ("test" | "dev" | "train"), optional tag (string).
 * The reading functions die ("stats: FILE: record N: what") on anything else, since bad
 * results must never turn silently into a table. */
#ifndef SPARSETUNE_RUNS_H
#define SPARSETUNE_RUNS_H

#include <stddef.h>
#include <stdint.h>

/* Interned strings: ids are positions, stable while the table grows. */
typedef struct StrTab {
    char **s;
    size_t n, cap;
} StrTab;
size_t strtab_intern(StrTab *t, const char *s, size_t len);
size_t strtab_push(StrTab *t, const char *s); /* appends, no de-duplication */
long strtab_find(const StrTab *t, const char *s); /* -1 if absent */
void strtab_free(StrTab *t);

typedef struct Run {
    uint32_t task, method, split, tag; /* StrTab ids; tag 0 is "" (no tag) */
    uint32_t file;                     /* index into RunSet.files */
    uint64_t rec;                      /* record number in that file, for messages */
    int64_t seed, n;
    double ratio;
    double value; /* the headline metric, or the component chosen at read time */
} Run;

typedef struct RunSet {
    StrTab tasks, methods, splits, tags, files;
    char **task_metric; /* per task id: the header's metric name, NULL if none */
    size_t n_task_metric;
    Run *run;
    size_t n, cap;
} RunSet;

void runset_init(RunSet *rs);
void runset_free(RunSet *rs);
/* Appends the runs of one metrics stream ("-" = stdin).  component NULL: the record's
 * "metric"; otherwise components[component] (a record without it is an error). */
void runset_read(RunSet *rs, const char *path, const char *component);
/* Dies naming both places when two runs share task, method, ratio, seed, split and tag. */
void runset_check_duplicates(const RunSet *rs);
/* Position of a method name in the paper's order (full random mixout bitfit magnitude adapter
 * lora diffpruning childpruning sam, with the aliases fulltuning and magpruning), case
 * insensitive; -1 for another name. */
long runs_paper_method(const char *name);
/* Ratios equal to 1e-6 relative (a float32 0.005 and a float64 0.005 are the same ratio). */
int ratio_eq(double a, double b);

/* Which runs an analysis uses.  NULL / has_ratio 0 / n = 0: no restriction. */
typedef struct RunFilter {
    const char *split;
    int has_ratio;
    double ratio;
    const char *tag; /* "" selects untagged runs */
    char **tasks;    /* also fixes the column order */
    size_t ntasks;
    char **methods;  /* also fixes the row order */
    size_t nmethods;
} RunFilter;
int run_selected(const RunSet *rs, const Run *r, const RunFilter *f);

/* Values of one (row, column) cell, ordered by seed. */
typedef struct Cell {
    size_t n;
    double *v;      /* scale × value */
    int64_t *seed;
} Cell;

/* Rows are (method, ratio, tag) groups; columns are tasks.  Labels: the method, with "@ratio"
 * when the method appears with several ratios and ":tag" when with several tags.  Order: the
 * filter's lists when given; otherwise the paper's order for known names (Table 1: methods
 * full random mixout bitfit magnitude adapter lora diffpruning childpruning sam; tasks cola
 * stsb mrpc rte cb copa wsc), then the others in order of first appearance. */
typedef struct Table {
    size_t nrows, ncols;
    char **row_label;
    uint32_t *row_method, *row_tag;
    double *row_ratio;
    char **col_label;
    uint32_t *col_task;
    Cell *cell; /* nrows × ncols, row-major */
} Table;
Table *table_build(const RunSet *rs, const RunFilter *f, double scale);
void table_free(Table *t);
static inline Cell *table_cell(const Table *t, size_t r, size_t c) {
    return &t->cell[r * t->ncols + c];
}

/* Distinct ratios of the selected runs (ignoring f's ratio), ascending; returns the count. */
size_t runset_ratios(const RunSet *rs, const RunFilter *f, double **out);

#endif
