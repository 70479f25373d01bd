/* grid.c — see grid.h. */
#include "grid.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int out_format_parse(const char *s) {
    static const char *const names[] = {"text", "markdown", "tsv", "latex", "json"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

Grid *grid_new(const char *title, size_t nrows, size_t ncols, int digits) {
    Grid *g = xcalloc(1, sizeof *g);
    g->title = title ? xstrdup(title) : NULL;
    g->nrows = nrows;
    g->ncols = ncols;
    g->header = xcalloc(ncols + 1, sizeof *g->header);
    g->cell = xcalloc(nrows * ncols + 1, sizeof *g->cell);
    g->digits = digits;
    return g;
}

void grid_free(Grid *g) {
    if (!g) return;
    for (size_t c = 0; c < g->ncols; c++) free(g->header[c]);
    for (size_t k = 0; k < g->nrows * g->ncols; k++) free(g->cell[k].text);
    free(g->header);
    free(g->cell);
    free(g->title);
    free(g->note);
    free(g);
}

void grid_header(Grid *g, size_t c, const char *s) {
    free(g->header[c]);
    g->header[c] = xstrdup(s);
}

void grid_note(Grid *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) die(NULL, "out of memory");
    va_end(ap);
    free(g->note);
    g->note = s;
}

GCell *grid_at(Grid *g, size_t r, size_t c) { return &g->cell[r * g->ncols + c]; }

void grid_text(Grid *g, size_t r, size_t c, const char *s) {
    GCell *x = grid_at(g, r, c);
    free(x->text);
    *x = (GCell){.kind = GC_TEXT, .text = xstrdup(s)};
}
void grid_fixed(Grid *g, size_t r, size_t c, double v) {
    *grid_at(g, r, c) = (GCell){.kind = GC_FIXED, .a = v};
}
void grid_sig(Grid *g, size_t r, size_t c, double v) {
    *grid_at(g, r, c) = (GCell){.kind = GC_SIG, .a = v};
}
void grid_int(Grid *g, size_t r, size_t c, long long v) {
    *grid_at(g, r, c) = (GCell){.kind = GC_INT, .i = v};
}
void grid_meansd(Grid *g, size_t r, size_t c, double mean, double sd, int mark_mean,
                 int mark_sd) {
    *grid_at(g, r, c) =
        (GCell){.kind = GC_MEANSD, .a = mean, .b = sd, .mark_a = mark_mean, .mark_b = mark_sd};
}

/* ---- formatting one cell ---- */

static void num(char *buf, size_t n, double v, OutFormat f, const char *numfmt, int prec) {
    if (isnan(v)) {
        snprintf(buf, n, "%s", f == FMT_TSV ? "NA" : f == FMT_LATEX ? "--" : "\u2013");
    } else if (isinf(v)) {
        if (f == FMT_LATEX)
            snprintf(buf, n, "$%s\\infty$", v < 0 ? "-" : "");
        else
            snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
    } else if (f == FMT_TSV) {
        snprintf(buf, n, "%.12g", v);
    } else {
        snprintf(buf, n, numfmt, prec, v);
        if (strcmp(buf, "-0") == 0 || strspn(buf, "-0.") == strlen(buf)) {
            /* -0.00: a negative number that rounds to zero prints without its sign */
            if (buf[0] == '-') memmove(buf, buf + 1, strlen(buf));
        }
    }
}

static void mark(char *buf, size_t n, int k, OutFormat f) {
    if (k <= 0) {
        buf[0] = 0;
        return;
    }
    if (f == FMT_MARKDOWN)
        snprintf(buf, n, "<sup>[%d]</sup>", k);
    else if (f == FMT_LATEX)
        snprintf(buf, n, "$^{[%d]}$", k);
    else
        snprintf(buf, n, "[%d]", k);
}

static void latex_escape(char *dst, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 16 < n; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "\\&"; break;
        case '%': rep = "\\%"; break;
        case '$': rep = "\\$"; break;
        case '#': rep = "\\#"; break;
        case '_': rep = "\\_"; break;
        case '{': rep = "\\{"; break;
        case '}': rep = "\\}"; break;
        case '~': rep = "\\textasciitilde{}"; break;
        case '^': rep = "\\textasciicircum{}"; break;
        case '\\': rep = "\\textbackslash{}"; break;
        }
        if (rep) {
            size_t l = strlen(rep);
            memcpy(dst + j, rep, l);
            j += l;
        } else {
            dst[j++] = *s;
        }
    }
    dst[j] = 0;
}

static void text_cell(char *buf, size_t n, const char *s, OutFormat f) {
    if (f == FMT_LATEX) {
        latex_escape(buf, n, s);
    } else if (f == FMT_MARKDOWN) {
        size_t j = 0;
        for (; *s && j + 3 < n; s++) {
            if (*s == '|') buf[j++] = '\\';
            buf[j++] = *s;
        }
        buf[j] = 0;
    } else {
        snprintf(buf, n, "%s", s);
    }
}

static void format_cell(char *buf, size_t n, const GCell *x, OutFormat f, int digits) {
    char a[64], b[64], ma[32], mb[32];
    switch (x->kind) {
    case GC_EMPTY: buf[0] = 0; break;
    case GC_TEXT: text_cell(buf, n, x->text, f); break;
    case GC_FIXED: num(buf, n, x->a, f, "%.*f", digits); break;
    case GC_SIG: num(buf, n, x->a, f, "%.*g", 3); break;
    case GC_INT: snprintf(buf, n, "%lld", x->i); break;
    case GC_MEANSD:
        num(a, sizeof a, x->a, f, "%.*f", digits);
        num(b, sizeof b, x->b, f, "%.*f", digits);
        mark(ma, sizeof ma, x->mark_a, f);
        mark(mb, sizeof mb, x->mark_b, f);
        if (f == FMT_TSV)
            snprintf(buf, n, "%s\t%s", a, b);
        else if (f == FMT_LATEX)
            snprintf(buf, n, "%s%s$\\pm$%s%s", a, ma, b, mb);
        else
            snprintf(buf, n, "%s%s \u00b1 %s%s", a, ma, b, mb);
        break;
    }
}

/* Display width: UTF-8 code points (every character we print is one column wide). */
static size_t width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

#define CELL_MAX 1024

static void pad(FILE *fp, size_t n) {
    while (n--) fputc(' ', fp);
}

void grid_render(FILE *fp, const Grid *g, OutFormat f) {
    size_t nr = g->nrows, nc = g->ncols;
    /* Every cell formatted once: [row 0 = header][col]. */
    char **s = xcalloc((nr + 1) * nc + 1, sizeof *s);
    char buf[CELL_MAX];
#define S(r, c) (s[(r) * nc + (c)])
    for (size_t c = 0; c < nc; c++) {
        text_cell(buf, sizeof buf, g->header[c] ? g->header[c] : "", f);
        S(0, c) = xstrdup(buf);
    }
    for (size_t r = 0; r < nr; r++)
        for (size_t c = 0; c < nc; c++) {
            format_cell(buf, sizeof buf, &g->cell[r * nc + c], f, g->digits);
            S(r + 1, c) = xstrdup(buf);
        }

    if (f == FMT_TSV) {
        if (g->title) fprintf(fp, "# %s\n", g->title);
        for (size_t r = 0; r <= nr; r++)
            for (size_t c = 0; c < nc; c++)
                fprintf(fp, "%s%s", S(r, c), c + 1 < nc ? "\t" : "\n");
    } else if (f == FMT_MARKDOWN) {
        if (g->title) fprintf(fp, "**%s**\n\n", g->title);
        for (size_t r = 0; r <= nr; r++) {
            for (size_t c = 0; c < nc; c++) fprintf(fp, "| %s ", S(r, c));
            fprintf(fp, "|\n");
            if (r == 0) {
                for (size_t c = 0; c < nc; c++) fprintf(fp, "|%s", c ? "---:" : "---");
                fprintf(fp, "|\n");
            }
        }
        if (g->note) fprintf(fp, "\n%s\n", g->note);
    } else if (f == FMT_LATEX) {
        if (g->title) fprintf(fp, "%% %s\n", g->title);
        fprintf(fp, "\\begin{tabular}{l");
        for (size_t c = 1; c < nc; c++) fputc('r', fp);
        fprintf(fp, "}\n\\toprule\n");
        for (size_t r = 0; r <= nr; r++) {
            for (size_t c = 0; c < nc; c++) fprintf(fp, "%s%s", c ? " & " : "", S(r, c));
            fprintf(fp, " \\\\\n%s", r == 0 ? "\\midrule\n" : "");
        }
        fprintf(fp, "\\bottomrule\n\\end{tabular}\n");
        if (g->note) fprintf(fp, "%% %s\n", g->note);
    } else {
        size_t *w = xcalloc(nc + 1, sizeof *w);
        for (size_t r = 0; r <= nr; r++)
            for (size_t c = 0; c < nc; c++)
                if (width(S(r, c)) > w[c]) w[c] = width(S(r, c));
        if (g->title) fprintf(fp, "%s\n", g->title);
        for (size_t r = 0; r <= nr; r++) {
            /* Blank cells at the end of a row: no trailing spaces. */
            size_t last = nc;
            while (last > 1 && !S(r, last - 1)[0]) last--;
            for (size_t c = 0; c < last; c++) {
                size_t gap = w[c] - width(S(r, c));
                if (c) fputs("  ", fp);
                /* Column 0 (labels) left-aligned, the numbers right-aligned. */
                if (c == 0) {
                    fputs(S(r, c), fp);
                    if (c + 1 < last) pad(fp, gap);
                } else {
                    pad(fp, gap);
                    fputs(S(r, c), fp);
                }
            }
            fputc('\n', fp);
        }
        if (g->note) fprintf(fp, "%s\n", g->note);
        free(w);
    }
#undef S
    for (size_t k = 0; k < (nr + 1) * nc; k++) free(s[k]);
    free(s);
}
