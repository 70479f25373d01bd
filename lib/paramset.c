/* paramset.c — see paramset.h. */
#include "paramset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h" /* json_num */
#include "runs.h"
#include "stream.h"
#include "stream_tensor.h"
#include "util.h"

void paramset_init(ParamSet *s, int include_head) {
    *s = (ParamSet){.include_head = include_head};
}

void paramset_free(ParamSet *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->d[i].path);
        free(s->d[i].method);
        free(s->d[i].task);
        free(s->d[i].variant);
    }
    for (size_t i = 0; i < s->nrows; i++) {
        free(s->row[i].label);
        free(s->row[i].d);
    }
    free(s->d);
    free(s->row);
    *s = (ParamSet){0};
}

static int is_head(const char *name) {
    return strncmp(name, "classifier.", 11) == 0 || strncmp(name, "lm_head.", 8) == 0;
}

/* A tensor a structural method adds (lib/methods/: PEFT's and AdapterHub's names). */
static int is_extra(const char *name) {
    return strstr(name, ".lora_A.") || strstr(name, ".lora_B.") || strstr(name, ".adapters.");
}

static char *str_or_null(json_t *h, const char *key) {
    json_t *v = json_object_get(h, key);
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* "r=R T1,T2,..." for LoRA ("r=R all": the six Linears), "bottleneck=M" for the adapter, both joined by "; "; NULL
 * without a structure. */
static char *variant_of(json_t *h) {
    json_t *st = json_object_get(h, "structure");
    if (!json_is_object(st)) return NULL;
    char buf[512] = "";
    size_t len = 0;
    json_t *lo = json_object_get(st, "lora"), *ad = json_object_get(st, "adapter");
    if (json_is_object(lo)) {
        len += (size_t)snprintf(buf + len, sizeof buf - len, "r=%lld",
                                (long long)json_integer_value(json_object_get(lo, "r")));
        json_t *t = json_object_get(lo, "targets");
        static const char *six[] = {"query", "key", "value", "attention.output", "intermediate", "output"};
        int all = json_array_size(t) == 6;
        for (size_t i = 0; all && i < 6; i++)
            all = json_string_value(json_array_get(t, i)) && !strcmp(json_string_value(json_array_get(t, i)), six[i]);
        if (all) len += (size_t)snprintf(buf + len, sizeof buf - len, " all");
        for (size_t i = 0; !all && i < json_array_size(t) && len < sizeof buf; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : " ",
                                    json_string_value(json_array_get(t, i)) ? json_string_value(json_array_get(t, i)) : "?");
    }
    if (json_is_object(ad) && len < sizeof buf)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%sbottleneck=%lld", len ? "; " : "",
                                (long long)json_integer_value(json_object_get(ad, "bottleneck")));
    return len ? xstrdup(buf) : NULL;
}

void paramset_read(ParamSet *s, const char *path) {
    StReader *r = st_reader_open(path, "delta");
    json_t *h = st_reader_header(r);
    json_t *be = json_object_get(h, "base_entries");
    if (!json_is_integer(be) || json_integer_value(be) <= 0)
        die(st_reader_name(r), "the delta header has no positive integer base_entries (a delta of "
                               "an older masktrain: train it again)");
    s->d = xrealloc(s->d, (s->n + 1) * sizeof *s->d);
    ParamDelta *d = &s->d[s->n];
    *d = (ParamDelta){.path = xstrdup(st_reader_name(r)), .base = (uint64_t)json_integer_value(be),
                      .seed = -1};
    d->method = str_or_null(h, "method");
    if (!d->method) d->method = xstrdup("unknown");
    d->task = str_or_null(h, "task");
    d->variant = variant_of(h);
    json_t *v = json_object_get(h, "ratio");
    if (json_is_number(v)) d->ratio = json_number_value(v), d->has_ratio = 1;
    v = json_object_get(h, "seed");
    if (json_is_integer(v)) d->seed = (int64_t)json_integer_value(v);
    StRecord rec;
    StTensor t;
    StSparse sp;
    while (st_reader_next(r, &rec)) {
        int dense = st_delta_read(r, &rec, &t, &sp);
        const char *name = dense ? t.name : sp.name;
        uint64_t n = dense ? (uint64_t)t.numel : sp.k;
        if (is_head(name))
            d->head += n;
        else if (dense && is_extra(name))
            d->extra += n;
        else
            d->encoder += n;
    }
    st_reader_close(r);
    s->n++;
}

static double share_of(const ParamSet *s, const ParamDelta *d) {
    return 100.0 * (double)(d->encoder + d->extra + (s->include_head ? d->head : 0)) / (double)d->base;
}

typedef struct {
    long order;
    size_t first; /* first delta of the method: order of first appearance */
    double ratio;
    int has_ratio;
    const char *method, *variant;
} Key;
static int key_cmp(const void *pa, const void *pb) {
    const Key *a = pa, *b = pb;
    if (a->order != b->order) return a->order < b->order ? -1 : 1;
    int c = strcmp(a->method, b->method);
    if (c) return c;
    if (!a->variant != !b->variant) return a->variant ? 1 : -1;
    if (a->variant) return strcmp(a->variant, b->variant);
    if (a->has_ratio != b->has_ratio) return a->has_ratio - b->has_ratio;
    if (a->has_ratio && !ratio_eq(a->ratio, b->ratio)) return a->ratio < b->ratio ? -1 : 1;
    return 0;
}

void paramset_rows(ParamSet *s) {
    Key *k = xcalloc(s->n + 1, sizeof *k);
    size_t nk = 0;
    for (size_t i = 0; i < s->n; i++) {
        const ParamDelta *d = &s->d[i];
        long order = runs_paper_method(d->method);
        size_t first = i;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->d[j].method, d->method) == 0) {
                first = j;
                break;
            }
        Key key = {order >= 0 ? order : 1000000 + (long)first, first, d->ratio, d->has_ratio, d->method,
                   d->variant};
        size_t j;
        for (j = 0; j < nk && key_cmp(&k[j], &key) != 0; j++) {}
        if (j == nk) k[nk++] = key;
    }
    if (nk) qsort(k, nk, sizeof *k, key_cmp);
    s->row = xcalloc(nk + 1, sizeof *s->row);
    s->nrows = nk;
    for (size_t r = 0; r < nk; r++) {
        ParamRow *row = &s->row[r];
        int several = 0; /* the method with another ratio too: label METHOD@RATIO */
        for (size_t q = 0; q < nk; q++)
            several |= q != r && strcmp(k[q].method, k[r].method) == 0;
        char label[256];
        if (several && k[r].variant)
            snprintf(label, sizeof label, "%s[%s]", k[r].method, k[r].variant);
        else if (several && k[r].has_ratio)
            snprintf(label, sizeof label, "%s@%g", k[r].method, k[r].ratio);
        else
            snprintf(label, sizeof label, "%s", k[r].method);
        *row = (ParamRow){.label = xstrdup(label), .method = k[r].method, .variant = k[r].variant,
                          .ratio = k[r].ratio,
                          .has_ratio = k[r].has_ratio, .share_min = INFINITY, .share_max = -INFINITY};
        row->d = xcalloc(s->n + 1, sizeof *row->d);
        for (size_t i = 0; i < s->n; i++) {
            const ParamDelta *d = &s->d[i];
            Key key = {k[r].order, 0, d->ratio, d->has_ratio, d->method, d->variant};
            if (key_cmp(&key, &k[r]) != 0) continue;
            row->d[row->n++] = i;
            row->encoder += (double)d->encoder;
            row->extra += (double)d->extra;
            row->head += (double)d->head;
            row->base += (double)d->base;
            double sh = share_of(s, d);
            row->share += sh;
            row->share_min = fmin(row->share_min, sh);
            row->share_max = fmax(row->share_max, sh);
        }
        double n = (double)row->n;
        row->encoder /= n, row->extra /= n, row->head /= n, row->base /= n, row->share /= n;
    }
    free(k);
}

json_t *paramset_json(const ParamSet *s) {
    json_t *deltas = json_array(), *rows = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const ParamDelta *d = &s->d[i];
        json_array_append_new(
            deltas, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o}", "file", d->path,
                              "method", d->method, "variant", d->variant ? json_string(d->variant) : json_null(), "task", d->task ? json_string(d->task) : json_null(),
                              "ratio", d->has_ratio ? json_real(d->ratio) : json_null(), "seed",
                              d->seed >= 0 ? json_integer(d->seed) : json_null(), "encoder",
                              (json_int_t)d->encoder, "extra", (json_int_t)d->extra, "head",
                              (json_int_t)d->head, "base_entries", (json_int_t)d->base, "percent",
                              json_num(share_of(s, d))));
    }
    for (size_t r = 0; r < s->nrows; r++) {
        const ParamRow *row = &s->row[r];
        json_t *idx = json_array();
        for (size_t j = 0; j < row->n; j++) json_array_append_new(idx, json_integer((json_int_t)row->d[j]));
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "label",
                            row->label, "method", row->method, "variant",
                            row->variant ? json_string(row->variant) : json_null(), "ratio",
                            row->has_ratio ? json_real(row->ratio) : json_null(), "deltas",
                            (json_int_t)row->n, "encoder", json_num(row->encoder), "extra",
                            json_num(row->extra), "head", json_num(row->head), "base_entries",
                            json_num(row->base), "percent", json_num(row->share), "percent_min",
                            json_num(row->share_min), "percent_max", json_num(row->share_max),
                            "delta_index", idx));
    }
    return json_pack("{s:o, s:o, s:b}", "deltas", deltas, "rows", rows, "include_head", s->include_head);
}

/* A mean over deltas: an integer when they all agree (the usual case), else the mean. */
static void count_cell(Grid *g, size_t r, size_t c, double v) {
    if (v == floor(v))
        grid_int(g, r, c, (long long)v);
    else
        grid_fixed(g, r, c, v);
}

static const char *share_title(const ParamSet *s) {
    return s->include_head ? "Tunable parameters, % of the base model (Table 4; head included)"
                           : "Tunable parameters, % of the base model (Table 4)";
}

size_t paramset_grids(const ParamSet *s, int digits, Grid ***out) {
    Grid **gs = xcalloc(1, sizeof *gs);
    Grid *g = gs[0] = grid_new(share_title(s), s->nrows, 7, digits);
    const char *h[] = {"method", "deltas", "encoder", "extra", "head", "base", "%Param"};
    for (size_t c = 0; c < 7; c++) grid_header(g, c, h[c]);
    int spread = 0;
    for (size_t r = 0; r < s->nrows; r++) {
        const ParamRow *row = &s->row[r];
        grid_text(g, r, 0, row->label);
        grid_int(g, r, 1, (long long)row->n);
        count_cell(g, r, 2, row->encoder);
        count_cell(g, r, 3, row->extra);
        count_cell(g, r, 4, row->head);
        count_cell(g, r, 5, row->base);
        grid_fixed(g, r, 6, row->share);
        spread |= row->share_max - row->share_min > 1e-12 * row->share;
    }
    grid_note(g, "encoder: trained entries of the base model's tensors; extra: the tensors a "
                 "structural method adds; %%Param = 100 (encoder + extra%s) / base%s.",
              s->include_head ? " + head" : "",
              spread ? "; rows whose deltas differ show means (JSON: min, max)" : "");
    *out = gs;
    return 1;
}

/* TSV columns from c on: encoder, extra, head, base, percent. */
static void put_counts(Grid *g, size_t r, size_t c, double encoder, double extra, double head, double base,
                       double percent) {
    const double v[] = {encoder, extra, head, base, percent};
    for (size_t i = 0; i < 5; i++) grid_fixed(g, r, c + i, v[i]);
}

size_t paramset_long(const ParamSet *s, Grid ***out) {
    Grid **gs = xcalloc(2, sizeof *gs);
    Grid *g = gs[0] = grid_new("table4", s->nrows, 8, 6);
    const char *h[] = {"label", "method", "deltas", "encoder", "extra", "head", "base", "percent"};
    for (size_t c = 0; c < 8; c++) grid_header(g, c, h[c]);
    for (size_t r = 0; r < s->nrows; r++) {
        const ParamRow *row = &s->row[r];
        grid_text(g, r, 0, row->label);
        grid_text(g, r, 1, row->method);
        grid_int(g, r, 2, (long long)row->n);
        put_counts(g, r, 3, row->encoder, row->extra, row->head, row->base, row->share);
    }
    g = gs[1] = grid_new("deltas", s->n, 9, 6);
    const char *h2[] = {"file", "method", "task", "seed", "encoder", "extra", "head", "base", "percent"};
    for (size_t c = 0; c < 9; c++) grid_header(g, c, h2[c]);
    for (size_t i = 0; i < s->n; i++) {
        const ParamDelta *d = &s->d[i];
        grid_text(g, i, 0, d->path);
        grid_text(g, i, 1, d->method);
        if (d->task) grid_text(g, i, 2, d->task);
        if (d->seed >= 0) grid_int(g, i, 3, (long long)d->seed);
        put_counts(g, i, 4, (double)d->encoder, (double)d->extra, (double)d->head, (double)d->base, share_of(s, d));
    }
    *out = gs;
    return 2;
}
