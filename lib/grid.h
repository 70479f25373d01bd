/* grid.h — a titled table of typed cells, rendered as aligned text, Markdown, LaTeX or TSV.
 * The analyses of `stats` describe their output as grids; only this file knows the formats.
 *
 * Cells keep numbers, not strings, so each format can print them its own way: text and
 * Markdown print an undefined number (NaN) as "–", LaTeX as "--", TSV as "NA"; TSV prints
 * every number with 12 significant digits (machine use), the others with the grid's digits.
 * A mean ± sd cell carries optional rank marks, printed [k] after the number in text,
 * <sup>[k]</sup> in Markdown and $^{[k]}$ in LaTeX (the paper's superscripts). */
#ifndef SPARSETUNE_GRID_H
#define SPARSETUNE_GRID_H

#include <stddef.h>
#include <stdio.h>

typedef enum { FMT_TEXT, FMT_MARKDOWN, FMT_TSV, FMT_LATEX, FMT_JSON } OutFormat;
/* "text" "markdown" "tsv" "latex" "json"; -1 if unknown. */
int out_format_parse(const char *s);

typedef enum {
    GC_EMPTY,  /* blank */
    GC_TEXT,   /* a string */
    GC_FIXED,  /* a number with the grid's digits after the point */
    GC_SIG,    /* a number with 3 significant digits (p-values) */
    GC_INT,    /* an integer */
    GC_MEANSD  /* mean ± sd with marks (0: none) */
} GCellKind;

typedef struct GCell {
    GCellKind kind;
    char *text;
    double a, b; /* value / mean, sd */
    int mark_a, mark_b;
    long long i;
} GCell;

typedef struct Grid {
    char *title;   /* may be NULL */
    char *note;    /* printed under the table (text, Markdown) or as a comment; may be NULL */
    size_t nrows, ncols;
    char **header; /* ncols */
    GCell *cell;   /* nrows × ncols */
    int digits;
} Grid;

Grid *grid_new(const char *title, size_t nrows, size_t ncols, int digits);
void grid_free(Grid *g);
void grid_header(Grid *g, size_t c, const char *s);
void grid_note(Grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
GCell *grid_at(Grid *g, size_t r, size_t c);
void grid_text(Grid *g, size_t r, size_t c, const char *s);
void grid_fixed(Grid *g, size_t r, size_t c, double v);
void grid_sig(Grid *g, size_t r, size_t c, double v);
void grid_int(Grid *g, size_t r, size_t c, long long v);
void grid_meansd(Grid *g, size_t r, size_t c, double mean, double sd, int mark_mean,
                 int mark_sd);

/* Renders g; fmt must not be FMT_JSON.  TSV writes the header line then the rows (no title);
 * several TSV grids in one output are separated by a blank line. */
void grid_render(FILE *fp, const Grid *g, OutFormat fmt);

#endif
