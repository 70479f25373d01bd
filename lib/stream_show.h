/* stream_show.h — the listings of `inspect` (man 1 inspect): a human summary or JSON lines
 * of a stream's header, provenance, records and end marker, and summary statistics. */
#ifndef SPARSETUNE_STREAM_SHOW_H
#define SPARSETUNE_STREAM_SHOW_H

#include <stdio.h>

#include "stream.h"
#include "stream_tensor.h"

typedef struct ShowOpts {
    int json;          /* JSON lines instead of the human listing */
    int top;           /* print the top-K entries by |x| of tensors and delta values */
    int64_t max_elems; /* --json: tensors up to this many elements are printed in full */
    const char *name;  /* only records whose "name" is this (NULL: all) */
} ShowOpts;

void show_header(FILE *out, StReader *r, const ShowOpts *o);
void show_record(FILE *out, StReader *r, const StRecord *rec, const ShowOpts *o);
/* After st_reader_next() returned 0: the end marker (count, and the input's SHA-256). */
void show_end(FILE *out, StReader *r, const ShowOpts *o);
/* 1 when the record passes the --name filter. */
int show_selected(const StRecord *rec, const ShowOpts *o);

/* Summary statistics of a tensor or of a value array. */
typedef struct TStats {
    double min, max, sum, sumsq; /* over finite values */
    int64_t n, nnz, nan, inf;
} TStats;
void tstats_tensor(const StTensor *t, TStats *s);
void tstats_f32(const void *values, uint64_t k, TStats *s); /* unaligned f32 array */

/* Top-k entries by |x| (NaN ranks first, ties by lower position), in decreasing order.
 * get(ctx, i) gives entry i of n; pos[] receives i.  Returns the number found (<= k). */
int topk_abs(float (*get)(const void *ctx, int64_t i), const void *ctx, int64_t n, int k,
             int64_t *pos, float *val);

#endif
