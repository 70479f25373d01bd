/* curves.h — stats --curves: training curves from masktrain --log files (JSON lines) as one
 * TSV table, the steps where a method re-projected its mask marked, and with a mask log
 * (masktrain --mask-log) the Jaccard overlap of each projection's mask with the previous one
 * and with the final one beside it (Figure 3).
 *
 * Columns: run (the log's file name), step, loss, dev_metric, projection (1 at a
 * re-projection step), jaccard_previous, jaccard_final (empty where they do not apply).
 * One row per step that has a loss, a dev metric or a projection, in step order. */
#ifndef SPARSETUNE_CURVES_H
#define SPARSETUNE_CURVES_H

#include <stdio.h>

#include "maskset.h"

/* Append the rows of log (dies "log: line N: what" on bad input) to out; masks: the mask log
 * read by maskset_read (its masks are matched to projections by step), or NULL. */
void curves_write(FILE *out, const char *log, const MaskSet *masks, int header);

#endif
