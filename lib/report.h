/* report.h — what `stats` prints: the selected analyses of results.h (or the mask analysis of
 * maskset.h, the parameter count of paramset.h) assembled into one document in the chosen format. */
#ifndef SPARSETUNE_REPORT_H
#define SPARSETUNE_REPORT_H

#include <stdio.h>

#include "grid.h"
#include "maskset.h"
#include "paramset.h"
#include "runs.h"

typedef struct ReportOpts {
    OutFormat format;
    RunFilter filter;
    const char *metric; /* component name, NULL = headline */
    double scale;       /* 100: the paper's tables */
    int digits;
    int marks;          /* [k] marks in the table */
    int table, ttest, stability, sweep; /* analyses; none set = table */
    const char *sweep_split; /* --sweep: only this split (stats --split given), NULL: each one */
    const char *ref;
    int equal_var;
} ReportOpts;

/* Dies (exit 1) when the filter leaves no runs. */
void report_metrics(FILE *fp, const RunSet *rs, const ReportOpts *o);
void report_masks(FILE *fp, const MaskSet *s, const ReportOpts *o);
void report_params(FILE *fp, const ParamSet *s, const ReportOpts *o);

#endif
