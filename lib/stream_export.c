/* stream_export.c — `inspect --to` (see stream_export.h). */
#include "stream_export.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "safetensors.h"
#include "stream_tensor.h"

enum Mode { M_NPY, M_DIR, M_SAFETENSORS };
/* Where an exported array's elements come from. */
enum Src { S_TENSOR, S_INDEX, S_ARANGE };

typedef struct Arr {
    const char *name;
    enum Src src;
    StDtype dtype; /* S_TENSOR: the record's dtype */
    int ndim;
    int64_t shape[8];
    int64_t numel;
    const void *data; /* S_TENSOR: elements; S_INDEX: uint32 positions */
} Arr;

struct Exporter {
    enum Mode mode;
    char *to;
    OutFile *npy;             /* M_NPY */
    char *stage;              /* M_DIR: hidden staging directory inside the target */
    SafeTensorsWriter *stw;   /* M_SAFETENSORS */
    char **names;             /* exported names, in order */
    void **copies;            /* M_SAFETENSORS: data kept until save */
    size_t n, cap;
    /* predictions: one row per record, stacked into arrays at the end */
    float *scores;            /* [rows, width] */
    float *pred;              /* [rows] (the class as a number, or the regression value) */
    int32_t *idx;             /* [rows] */
    size_t rows, rows_cap;
    int64_t width;
};

static Exporter *cleanup_target; /* the M_DIR exporter whose staging files die() removes */

static void remove_stage(void) {
    Exporter *e = cleanup_target;
    if (!e || !e->stage) return;
    for (size_t i = 0; i < e->n; i++) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s.npy", e->stage, e->names[i]) >= 0) unlink(p);
        free(p);
    }
    rmdir(e->stage);
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

Exporter *export_open(const char *to, StReader *r) {
    const char *kind = st_reader_kind(r);
    if (strcmp(kind, "tensors") && strcmp(kind, "mask") && strcmp(kind, "delta") && strcmp(kind, "predictions"))
        die(st_reader_name(r), "--to: %s %s stream has no arrays to export (tensors, mask, delta "
            "and predictions streams do)", strchr("aeiou", kind[0]) ? "an" : "a", kind);
    Exporter *e = xcalloc(1, sizeof *e);
    e->to = xstrdup(to);
    if (ends_with(to, "/") || is_dir(to)) {
        e->mode = M_DIR;
        if (mkdir(to, 0777) != 0 && errno != EEXIST) die(to, "cannot create directory: %s", strerror(errno));
        if (asprintf(&e->stage, "%s/.inspect.XXXXXX", to) < 0) die(NULL, "out of memory");
        if (!mkdtemp(e->stage)) die(to, "cannot create a staging directory: %s", strerror(errno));
        cleanup_target = e;
        st_atexit_cleanup(remove_stage);
    } else if (ends_with(to, ".npy")) {
        e->mode = M_NPY;
    } else if (ends_with(to, ".safetensors")) {
        e->mode = M_SAFETENSORS;
        e->stw = safetensors_writer_new();
        safetensors_writer_meta(e->stw, "format", "pt");
        safetensors_writer_meta(e->stw, "sparsetune_kind", kind);
    } else {
        die_usage("--to: cannot tell the format of '%s' (use FILE.npy, FILE.safetensors or DIR/)", to);
    }
    return e;
}

/* ---- element conversion ---- */

static int bf16_widened(const Arr *a, int st) { return a->src == S_TENSOR && a->dtype == ST_BF16 && !st; }

static size_t out_size(const Arr *a, int st) {
    if (a->src != S_TENSOR) return st ? 8 : 4;
    return bf16_widened(a, st) ? 4 : stream_dtype_size(a->dtype);
}

static const char *npy_descr(const Arr *a) {
    if (a->src != S_TENSOR) return "<u4";
    switch (a->dtype) {
    case ST_F16: return "<f2";
    case ST_I32: return "<i4";
    default: return "<f4"; /* f32, and bf16 widened: numpy has no bfloat16 */
    }
}

/* Elements [start, start+n) of a in the output representation (st: safetensors) into dst. */
static void convert(const Arr *a, int st, int64_t start, int64_t n, void *dst) {
    char *d = dst;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = start + i;
        if (a->src == S_TENSOR) {
            if (bf16_widened(a, st)) {
                float f = st_tensor_at(&(StTensor){.dtype = ST_BF16, .data = a->data}, j);
                memcpy(d + 4 * i, &f, 4);
            } else {
                size_t sz = stream_dtype_size(a->dtype);
                memcpy(d + sz * (size_t)i, (const char *)a->data + sz * (size_t)j, sz);
            }
        } else {
            uint32_t u = a->src == S_INDEX ? st_load_u32(a->data, (size_t)j) : (uint32_t)j;
            if (st) {
                int64_t v = u;
                memcpy(d + 8 * i, &v, 8);
            } else memcpy(d + 4 * i, &u, 4);
        }
    }
}

static void write_npy(FILE *fp, const char *where, const Arr *a) {
    if (npy_write_header(fp, npy_descr(a), a->shape, a->ndim) < 0)
        die(where, "write error: %s", strerror(errno));
    enum { CHUNK = 1 << 16 };
    char *buf = xmalloc(CHUNK * 4);
    for (int64_t s = 0; s < a->numel; s += CHUNK) {
        int64_t n = a->numel - s < CHUNK ? a->numel - s : CHUNK;
        convert(a, 0, s, n, buf);
        if (fwrite(buf, out_size(a, 0), (size_t)n, fp) != (size_t)n)
            die(where, "write error: %s", strerror(errno));
    }
    free(buf);
}

static void emit(Exporter *e, StReader *r, const Arr *a) {
    char *name = xstrdup(a->name);
    for (char *p = name; *p; p++)
        if (*p == '/' && e->mode != M_SAFETENSORS) *p = '_'; /* file names: no directories */
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->names[i], name)) die(st_reader_name(r), "--to: two arrays named '%s'", name);
    if (e->mode == M_NPY && e->n)
        die(st_reader_name(r), "--to %s: more than one array to export ('%s', '%s'); choose one "
            "with --name or export to a directory (--to DIR/)", e->to, e->names[0], name);
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 16;
        e->names = xrealloc(e->names, e->cap * sizeof *e->names);
        e->copies = xrealloc(e->copies, e->cap * sizeof *e->copies);
    }
    e->names[e->n] = name;
    e->copies[e->n] = NULL;
    e->n++;
    if (e->mode == M_NPY) {
        e->npy = out_open(e->to, 1);
        write_npy(e->npy->fp, e->to, a);
    } else if (e->mode == M_DIR) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s.npy", e->stage, name) < 0) die(NULL, "out of memory");
        FILE *fp = fopen(path, "wb");
        if (!fp) die(path, "cannot create: %s", strerror(errno));
        write_npy(fp, path, a);
        if (fclose(fp) != 0) die(path, "write error: %s", strerror(errno));
        free(path);
    } else {
        /* the record's bytes live until the next record: keep a copy until the save */
        size_t sz = out_size(a, 1);
        void *copy = xmalloc((size_t)a->numel * sz + 1);
        convert(a, 1, 0, a->numel, copy);
        e->copies[e->n - 1] = copy;
        StDtype dt = a->src == S_TENSOR ? a->dtype : ST_I64;
        safetensors_writer_add(e->stw, name, dt, a->shape, a->ndim, copy);
    }
}

/* A predictions record: its scores (f32 bin, the logits), pred and idx become a row. */
static void add_prediction(Exporter *e, StReader *r, const StRecord *rec) {
    size_t len;
    const void *b = st_rec_bin_req(r, rec, "scores", &len);
    if (len % 4 || !len) st_reader_die(r, rec, "field 'scores': expected a non-empty f32 bin");
    int64_t w = (int64_t)(len / 4);
    if (e->rows && w != e->width)
        st_reader_die(r, rec, "%lld scores, the records before have %lld", (long long)w, (long long)e->width);
    e->width = w;
    if (e->rows == e->rows_cap) {
        e->rows_cap = e->rows_cap ? 2 * e->rows_cap : 1024;
        e->scores = xrealloc(e->scores, e->rows_cap * (size_t)w * sizeof *e->scores);
        e->pred = xrealloc(e->pred, e->rows_cap * sizeof *e->pred);
        e->idx = xrealloc(e->idx, e->rows_cap * sizeof *e->idx);
    }
    for (int64_t i = 0; i < w; i++) e->scores[e->rows * (size_t)w + (size_t)i] = st_load_f32(b, (size_t)i);
    e->pred[e->rows] = (float)st_rec_num_req(r, rec, "pred");
    e->idx[e->rows] = (int32_t)st_rec_int_req(r, rec, "idx");
    e->rows++;
}

/* The stacked predictions: scores [N, W] alone into FILE.npy (the array one wants), scores,
 * pred and idx into a directory or .safetensors. */
static void emit_predictions(Exporter *e, StReader *r) {
    Arr a = {.name = "scores", .src = S_TENSOR, .dtype = ST_F32, .ndim = 2,
             .numel = (int64_t)e->rows * e->width, .data = e->scores};
    a.shape[0] = (int64_t)e->rows, a.shape[1] = e->width;
    emit(e, r, &a);
    if (e->mode == M_NPY) return;
    a = (Arr){.name = "pred", .src = S_TENSOR, .dtype = ST_F32, .ndim = 1, .numel = (int64_t)e->rows,
              .data = e->pred};
    a.shape[0] = (int64_t)e->rows;
    emit(e, r, &a);
    a = (Arr){.name = "idx", .src = S_TENSOR, .dtype = ST_I32, .ndim = 1, .numel = (int64_t)e->rows,
              .data = e->idx};
    a.shape[0] = (int64_t)e->rows;
    emit(e, r, &a);
}

void export_record(Exporter *e, StReader *r, const StRecord *rec) {
    const char *kind = st_reader_kind(r);
    if (!strcmp(kind, "predictions")) {
        add_prediction(e, r, rec);
        return;
    }
    StTensor t;
    StSparse s;
    Arr a = {0};
    int dense = 0;
    if (!strcmp(kind, "tensors")) {
        st_tensor_read(r, rec, &t);
        dense = 1;
    } else if (!strcmp(kind, "mask")) {
        st_mask_read(r, rec, &s);
    } else {
        dense = st_delta_read(r, rec, &t, &s);
    }
    if (dense) {
        a = (Arr){.name = t.name, .src = S_TENSOR, .dtype = t.dtype, .ndim = t.ndim,
                  .numel = t.numel, .data = t.data};
        memcpy(a.shape, t.shape, sizeof a.shape);
        emit(e, r, &a);
        return;
    }
    /* index arrays are 1-D: k positions into the flattened tensor */
    a = (Arr){.name = s.name, .src = s.all ? S_ARANGE : S_INDEX, .ndim = 1,
              .numel = (int64_t)s.k, .data = s.index};
    a.shape[0] = (int64_t)s.k;
    if (!s.value) {
        emit(e, r, &a);
        return;
    }
    char name[ST_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s.index", s.name);
    a.name = name;
    emit(e, r, &a);
    snprintf(name, sizeof name, "%s.value", s.name);
    a = (Arr){.name = name, .src = S_TENSOR, .dtype = ST_F32, .ndim = 1, .numel = (int64_t)s.k,
              .data = s.value};
    a.shape[0] = (int64_t)s.k;
    emit(e, r, &a);
}

void export_finish(Exporter *e, StReader *r) {
    if (e->rows) emit_predictions(e, r);
    if (!e->n) die(st_reader_name(r), "--to %s: no records to export", e->to);
    if (e->mode == M_NPY) {
        out_commit(e->npy);
    } else if (e->mode == M_DIR) {
        for (size_t i = 0; i < e->n; i++) {
            char *from = NULL, *to = NULL;
            if (asprintf(&from, "%s/%s.npy", e->stage, e->names[i]) < 0 ||
                asprintf(&to, "%s/%s.npy", e->to, e->names[i]) < 0)
                die(NULL, "out of memory");
            if (rename(from, to) != 0) die(to, "cannot rename: %s", strerror(errno));
            free(from);
            free(to);
        }
        rmdir(e->stage);
        cleanup_target = NULL;
        free(e->stage);
    } else {
        safetensors_writer_save(e->stw, e->to);
        for (size_t i = 0; i < e->n; i++) free(e->copies[i]);
    }
    for (size_t i = 0; i < e->n; i++) free(e->names[i]);
    free(e->scores), free(e->pred), free(e->idx);
    free(e->names);
    free(e->copies);
    free(e->to);
    free(e);
}
