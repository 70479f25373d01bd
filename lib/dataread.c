#include "dataread.h"

#include <string.h>

#include "hash.h"
#include "json_fast.h"
#include "source.h"
#include "utf8.h"
#include "util.h"

DataFormat dataformat_guess(const char *path) {
    size_t n = path ? strlen(path) : 0;
    if (n >= 4 && strcmp(path + n - 4, ".tsv") == 0) return DATA_TSV;
    return DATA_JSONL;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static void add_row(DataFile *f, size_t *cap, json_t *obj, long line) {
    if (f->each) {
        f->each(obj, f->name, line, f->each_ctx);
        json_decref(obj);
        f->n++;
        return;
    }
    if (f->n == *cap) f->rows = xrealloc(f->rows, (*cap = *cap ? *cap * 2 : 256) * sizeof *f->rows);
    f->rows[f->n].obj = obj;
    f->rows[f->n].line = line;
    f->n++;
}

/* Split buf into lines (LF, with an optional CR before it) and call fn on each. */
typedef void (*line_fn)(DataFile *f, size_t *cap, const char *s, size_t n, long line, void *ctx);
static void for_each_line(DataFile *f, size_t *cap, const char *buf, size_t len, line_fn fn,
                          void *ctx) {
    long line = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t n = end - i;
        if (n > 0 && buf[i + n - 1] == '\r') n--;
        line++;
        fn(f, cap, buf + i, n, line, ctx);
        i = end + 1;
    }
}

static void check_utf8(const DataFile *f, const char *s, size_t n, long line) {
    size_t bad;
    if (!utf8_valid(s, n, &bad)) {
        char where[4096];
        snprintf(where, sizeof where, "%s:%ld", f->name, line);
        die(where, "invalid UTF-8 at byte %zu of the line", bad + 1);
    }
}

static void jsonl_line(DataFile *f, size_t *cap, const char *s, size_t n, long line, void *ctx) {
    (void)ctx;
    if (is_blank(s, n)) return;
    check_utf8(f, s, n, line);
    json_error_t err;
    json_t *obj = json_fast_loadb(s, n); /* the line is valid UTF-8 (checked above) */
    if (!obj) obj = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!obj || !json_is_object(obj)) {
        char where[4096];
        snprintf(where, sizeof where, "%s:%ld", f->name, line);
        if (!obj) die(where, "invalid JSON at column %d: %s", err.column, err.text);
        die(where, "expected a JSON object, got %s", json_is_array(obj) ? "an array" : "a scalar");
    }
    add_row(f, cap, obj, line);
}

typedef struct TsvCtx {
    char **cols;
    size_t n_cols;
} TsvCtx;

/* Split a TSV line into fields (no quoting: GLUE's files are written with QUOTE_NONE). */
static size_t split_tabs(const char *s, size_t n, char ***out) {
    size_t k = 1;
    for (size_t i = 0; i < n; i++) k += s[i] == '\t';
    char **fields = xmalloc(k * sizeof *fields);
    size_t start = 0, j = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '\t') {
            fields[j] = xmalloc(i - start + 1);
            memcpy(fields[j], s + start, i - start);
            fields[j][i - start] = '\0';
            j++;
            start = i + 1;
        }
    }
    *out = fields;
    return k;
}

static void free_fields(char **fields, size_t k) {
    for (size_t i = 0; i < k; i++) free(fields[i]);
    free(fields);
}

static void tsv_line(DataFile *f, size_t *cap, const char *s, size_t n, long line, void *vctx) {
    TsvCtx *ctx = vctx;
    if (is_blank(s, n)) return;
    check_utf8(f, s, n, line);
    char **fields;
    size_t k = split_tabs(s, n, &fields);
    if (!ctx->cols) { /* header row */
        ctx->cols = fields;
        ctx->n_cols = k;
        return;
    }
    if (k != ctx->n_cols) {
        char where[4096];
        snprintf(where, sizeof where, "%s:%ld", f->name, line);
        die(where, "expected %zu tab-separated fields (as in the header row), got %zu",
            ctx->n_cols, k);
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < k; i++) json_object_set_new(obj, ctx->cols[i], json_string(fields[i]));
    free_fields(fields, k);
    add_row(f, cap, obj, line);
}

static DataFile *parse_into(DataFile *f, const char *buf, size_t len, const char *name,
                            DataFormat fmt) {
    f->name = xstrdup(name);
    sha256_hex(buf, len, f->sha256);
    if (fmt == DATA_AUTO) fmt = dataformat_guess(name);
    size_t cap = 0;
    if (fmt == DATA_TSV) {
        TsvCtx ctx = {0};
        for_each_line(f, &cap, buf, len, tsv_line, &ctx);
        if (!ctx.cols) die(name, "empty input (no header row)");
        free_fields(ctx.cols, ctx.n_cols);
    } else {
        for_each_line(f, &cap, buf, len, jsonl_line, NULL);
    }
    if (f->n == 0) die(name, "empty input: no examples");
    return f;
}

DataFile *datafile_parse(const char *buf, size_t len, const char *name, DataFormat fmt) {
    return parse_into(xcalloc(1, sizeof(DataFile)), buf, len, name, fmt);
}

static DataFile *read_file(const char *path, DataFormat fmt, datarow_fn fn, void *ctx) {
    size_t len;
    char *buf = source_read_file(path, &len);
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    if (fmt == DATA_AUTO) fmt = dataformat_guess(path);
    DataFile *f = xcalloc(1, sizeof *f);
    f->each = fn;
    f->each_ctx = ctx;
    parse_into(f, buf, len, name, fmt);
    free(buf);
    return f;
}

DataFile *datafile_read(const char *path, DataFormat fmt) { return read_file(path, fmt, NULL, NULL); }

DataFile *datafile_read_each(const char *path, DataFormat fmt, datarow_fn fn, void *ctx) {
    return read_file(path, fmt, fn, ctx);
}

void datafile_free(DataFile *f) {
    if (!f) return;
    for (size_t i = 0; f->rows && i < f->n; i++) json_decref(f->rows[i].obj);
    free(f->rows);
    free(f->name);
    free(f);
}
