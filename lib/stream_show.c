/* stream_show.c — human and JSON-lines listings of a stream (see stream_show.h). */
#include "stream_show.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------- statistics ---------- */

static void tstats_init(TStats *s) {
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

static inline void tstats_add(TStats *s, double v) {
    s->n++;
    if (isnan(v)) { s->nan++; return; }
    if (isinf(v)) { s->inf++; return; }
    if (v != 0) s->nnz++;
    if (v < s->min) s->min = v;
    if (v > s->max) s->max = v;
    s->sum += v;
    s->sumsq += v * v;
}

void tstats_tensor(const StTensor *t, TStats *s) {
    tstats_init(s);
    for (int64_t i = 0; i < t->numel; i++) tstats_add(s, st_tensor_at(t, i));
}

void tstats_f32(const void *values, uint64_t k, TStats *s) {
    tstats_init(s);
    for (uint64_t i = 0; i < k; i++) tstats_add(s, st_load_f32(values, i));
}

/* ---------- top-k by |x| (a min-heap of the k best so far) ---------- */

static double rank_key(float v) { return isnan(v) ? INFINITY : fabs((double)v); }

/* a is "worse" than b: smaller |x|, or equal and later position */
static int worse(double ka, int64_t pa, double kb, int64_t pb) {
    return ka < kb || (ka == kb && pa > pb);
}

int topk_abs(float (*get)(const void *ctx, int64_t i), const void *ctx, int64_t n, int k,
             int64_t *pos, float *val) {
    if (k <= 0) return 0;
    int m = 0;
    double *key = xmalloc(sizeof *key * (size_t)k);
    for (int64_t i = 0; i < n; i++) {
        float v = get(ctx, i);
        double kv = rank_key(v);
        int j;
        if (m < k) j = m++;
        else if (worse(key[0], pos[0], kv, i)) j = 0; /* replace the root, sift down */
        else continue;
        if (j == 0 && m == k && i >= k) {
            for (;;) {
                int c = 2 * j + 1;
                if (c >= m) break;
                if (c + 1 < m && worse(key[c + 1], pos[c + 1], key[c], pos[c])) c++;
                if (!worse(key[c], pos[c], kv, i)) break;
                key[j] = key[c], pos[j] = pos[c], val[j] = val[c];
                j = c;
            }
        } else { /* sift up */
            while (j > 0) {
                int p = (j - 1) / 2;
                if (!worse(kv, i, key[p], pos[p])) break;
                key[j] = key[p], pos[j] = pos[p], val[j] = val[p];
                j = p;
            }
        }
        key[j] = kv, pos[j] = i, val[j] = v;
    }
    /* heap order -> decreasing rank (selection sort: k is small) */
    for (int a = 0; a < m; a++) {
        int best = a;
        for (int b = a + 1; b < m; b++)
            if (worse(key[best], pos[best], key[b], pos[b])) best = b;
        double tk = key[a]; key[a] = key[best]; key[best] = tk;
        int64_t tp = pos[a]; pos[a] = pos[best]; pos[best] = tp;
        float tv = val[a]; val[a] = val[best]; val[best] = tv;
    }
    free(key);
    return m;
}

static float get_tensor(const void *ctx, int64_t i) { return st_tensor_at(ctx, i); }
static float get_sparse_value(const void *ctx, int64_t i) {
    return st_load_f32(((const StSparse *)ctx)->value, (size_t)i);
}

/* ---------- JSON text: shortest round-trip numbers ---------- */

/* jansson prints reals with a fixed precision (0.1 -> 0.10000000000000001); this prints the
 * shortest text that reads back to the same double (f32: to the same float), as Python does. */
static void put_real(FILE *out, double v, int f32) {
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        double back = strtod(buf, NULL);
        if (f32 ? (float)back == (float)v : back == v) break;
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".eEni")) fputs(".0", out); /* keep it a real for JSON readers */
}

static void put_json(FILE *out, json_t *v, int f32) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        fputc('{', out);
        json_object_foreach(v, k, x) {
            if (!first) fputc(',', out);
            first = 0;
            json_t *ks = json_string(k);
            put_json(out, ks, f32);
            json_decref(ks);
            fputc(':', out);
            put_json(out, x, f32);
        }
        fputc('}', out);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        fputc('[', out);
        json_array_foreach(v, i, x) {
            if (i) fputc(',', out);
            put_json(out, x, f32);
        }
        fputc(']', out);
        break;
    }
    case JSON_REAL: put_real(out, json_real_value(v), f32); break;
    default: { /* strings (escaping), integers, true/false/null */
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(s ? s : "null", out);
        free(s);
    }
    }
}

static char *json_text(json_t *v, int f32) {
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    if (!m) die(NULL, "out of memory");
    put_json(m, v, f32);
    fclose(m);
    return s;
}

/* ---------- helpers ---------- */

static int kind_is(StReader *r, const char *k) { return !strcmp(st_reader_kind(r), k); }

int show_selected(const StRecord *rec, const ShowOpts *o) {
    if (!o->name) return 1;
    const msgpack_object *n = st_rec_get(rec, "name");
    return n && n->type == MSGPACK_OBJECT_STR && n->via.str.size == strlen(o->name) &&
           !memcmp(n->via.str.ptr, o->name, n->via.str.size);
}

static void print_shape(FILE *out, const int64_t *shape, int ndim) {
    fputc('[', out);
    for (int i = 0; i < ndim; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)shape[i]);
    fputc(']', out);
}

static void print_coords(FILE *out, int64_t flat, const int64_t *shape, int ndim) {
    int64_t c[8];
    for (int i = ndim - 1; i >= 0; i--) {
        c[i] = shape[i] ? flat % shape[i] : 0;
        flat = shape[i] ? flat / shape[i] : 0;
    }
    print_shape(out, c, ndim);
}

static void print_stats(FILE *out, const TStats *s) {
    if (s->n == 0) { fprintf(out, "  (empty)"); return; }
    int64_t fin = s->n - s->nan - s->inf;
    if (fin) fprintf(out, "  min=%.6g max=%.6g mean=%.6g", s->min, s->max, s->sum / (double)fin);
    fprintf(out, " l2=%.6g nnz=%.4g%%", sqrt(s->sumsq), 100.0 * (double)s->nnz / (double)s->n);
    if (s->nan) fprintf(out, " nan=%lld", (long long)s->nan);
    if (s->inf) fprintf(out, " inf=%lld", (long long)s->inf);
}

/* A JSON value on one line, cut to max characters. */
static void print_json_short(FILE *out, json_t *v, size_t max, int f32) {
    char *s = json_text(v, f32);
    if (strlen(s) > max) fprintf(out, "%.*s...", (int)max, s);
    else fputs(s, out);
    free(s);
}

static void print_arg(FILE *out, const char *a) {
    if (*a && !strpbrk(a, " \t\n'\"\\$`*?;&|<>()")) { fputs(a, out); return; }
    fputc('\'', out);
    for (; *a; a++) {
        if (*a == '\'') fputs("'\\''", out);
        else fputc(*a, out);
    }
    fputc('\'', out);
}

/* ---------- header ---------- */

static void show_provenance_line(FILE *out, size_t i, json_t *e) {
    const char *tool = json_string_value(json_object_get(e, "tool"));
    const char *ver = json_string_value(json_object_get(e, "version"));
    const char *time = json_string_value(json_object_get(e, "time"));
    fprintf(out, "  %zu. %s %s  %s ", i + 1, tool ? tool : "?", ver ? ver : "?", time ? time : "?");
    json_t *argv = json_object_get(e, "argv"), *a;
    size_t j;
    json_array_foreach(argv, j, a) {
        fputc(' ', out);
        print_arg(out, json_is_string(a) ? json_string_value(a) : "?");
    }
    json_t *inputs = json_object_get(e, "inputs"), *in;
    if (json_array_size(inputs)) {
        fputs("  <-", out);
        json_array_foreach(inputs, j, in) {
            const char *p = json_string_value(json_object_get(in, "path"));
            const char *h = json_string_value(json_object_get(in, "sha256"));
            fprintf(out, "%s %s (%.12s)", j ? "," : "", p ? p : "?", h ? h : "?");
        }
    }
    fputc('\n', out);
}

void show_header(FILE *out, StReader *r, const ShowOpts *o) {
    json_t *h = st_reader_header(r);
    if (o->json) {
        char *s = json_text(h, 0);
        fprintf(out, "%s\n", s);
        free(s);
        return;
    }
    fprintf(out, "%s: sparsetune stream v%d, kind %s\n", st_reader_name(r), ST_STREAM_VERSION,
            st_reader_kind(r));
    const char *k;
    json_t *v;
    int any = 0;
    json_object_foreach(h, k, v) {
        if (!strcmp(k, "stream") || !strcmp(k, "version") || !strcmp(k, "kind") ||
            !strcmp(k, "provenance"))
            continue;
        if (!any++) fputs("header:\n", out);
        fprintf(out, "  %s: ", k);
        print_json_short(out, v, 200, 0);
        fputc('\n', out);
    }
    json_t *prov = json_object_get(h, "provenance");
    fprintf(out, "provenance:%s\n", json_array_size(prov) ? "" : " (none)");
    size_t i;
    json_array_foreach(prov, i, v) show_provenance_line(out, i, v);
    fputs("records:\n", out);
}

/* ---------- human record lines ---------- */

static void show_top(FILE *out, float (*get)(const void *, int64_t), const void *ctx, int64_t n,
                     const void *index, const int64_t *shape, int ndim, int k) {
    int64_t *pos = xmalloc(sizeof *pos * (size_t)k);
    float *val = xmalloc(sizeof *val * (size_t)k);
    int m = topk_abs(get, ctx, n, k, pos, val);
    for (int i = 0; i < m; i++) {
        int64_t flat = index ? st_load_u32(index, (size_t)pos[i]) : pos[i];
        fprintf(out, "      top %d: flat %lld ", i + 1, (long long)flat);
        print_coords(out, flat, shape, ndim);
        fprintf(out, " = %.8g\n", val[i]);
    }
    free(pos);
    free(val);
}

static void human_tensor(FILE *out, const StTensor *t, const ShowOpts *o) {
    TStats s;
    tstats_tensor(t, &s);
    fprintf(out, "%s  %s ", t->name, stream_dtype_name(t->dtype));
    print_shape(out, t->shape, t->ndim);
    print_stats(out, &s);
    fputc('\n', out);
    if (o->top) show_top(out, get_tensor, t, t->numel, NULL, t->shape, t->ndim, o->top);
}

static void human_sparse(FILE *out, const StSparse *m, const ShowOpts *o) {
    fprintf(out, "%s  ", m->name);
    print_shape(out, m->shape, m->ndim);
    if (m->all) fputs("  all", out);
    else
        fprintf(out, "  k=%llu density=%.4g%%", (unsigned long long)m->k,
                m->numel ? 100.0 * (double)m->k / (double)m->numel : 0.0);
    if (m->value) {
        TStats s;
        tstats_f32(m->value, m->k, &s);
        fputs("  value:", out);
        print_stats(out, &s);
    }
    fputc('\n', out);
    if (m->value && o->top)
        show_top(out, get_sparse_value, m, (int64_t)m->k, m->index, m->shape, m->ndim, o->top);
}

static size_t ids_len(StReader *r, const StRecord *rec, const char *key, const msgpack_object *b) {
    if (b->type != MSGPACK_OBJECT_BIN || b->via.bin.size % 4)
        st_reader_die(r, rec, "field '%s': expected an int32 bin", key);
    return b->via.bin.size / 4;
}

static void human_example(FILE *out, StReader *r, const StRecord *rec) {
    const msgpack_object *v;
    if ((v = st_rec_get(rec, "idx"))) {
        json_t *j = st_msgpack_to_json(v);
        fputs("idx=", out);
        print_json_short(out, j, 40, 1);
        json_decref(j);
    }
    if ((v = st_rec_get(rec, "label"))) {
        json_t *j = st_msgpack_to_json(v);
        fputs(" label=", out);
        print_json_short(out, j, 40, 1);
        json_decref(j);
    }
    if ((v = st_rec_get(rec, "ids"))) fprintf(out, " len=%zu", ids_len(r, rec, "ids", v));
    if ((v = st_rec_get(rec, "choices"))) {
        if (v->type != MSGPACK_OBJECT_ARRAY)
            st_reader_die(r, rec, "field 'choices': expected an array of int32 bins");
        fprintf(out, " choices=%u len=", v->via.array.size);
        for (uint32_t i = 0; i < v->via.array.size; i++)
            fprintf(out, "%s%zu", i ? "/" : "", ids_len(r, rec, "choices", &v->via.array.ptr[i]));
    }
    if ((v = st_rec_get(rec, "spans"))) {
        json_t *j = st_msgpack_to_json(v);
        fprintf(out, " spans=%zu ", json_array_size(j));
        print_json_short(out, j, 80, 1);
        json_decref(j);
    }
    fputc('\n', out);
}

static void human_generic(FILE *out, const StRecord *rec) {
    const msgpack_object *m = rec->map;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (i) fputc(' ', out);
        if (kv->key.type == MSGPACK_OBJECT_STR)
            fprintf(out, "%.*s=", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        else fputs("?=", out);
        if (kv->val.type == MSGPACK_OBJECT_BIN) {
            fprintf(out, "<%u bytes>", kv->val.via.bin.size);
            continue;
        }
        json_t *j = st_msgpack_to_json(&kv->val);
        print_json_short(out, j, 120, 0);
        json_decref(j);
    }
    fputc('\n', out);
}

/* ---------- JSON record lines ---------- */

static json_t *int32_array(const void *p, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, (const char *)p + 4 * i, 4);
        json_array_append_new(a, json_integer(v));
    }
    return a;
}

static json_t *f32_json(float v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *stats_json(const TStats *s) {
    json_t *o = json_object();
    int64_t fin = s->n - s->nan - s->inf;
    json_object_set_new(o, "min", fin ? json_real(s->min) : json_null());
    json_object_set_new(o, "max", fin ? json_real(s->max) : json_null());
    json_object_set_new(o, "mean", fin ? json_real(s->sum / (double)fin) : json_null());
    json_object_set_new(o, "l2", json_real(sqrt(s->sumsq)));
    json_object_set_new(o, "nnz", json_integer(s->nnz));
    json_object_set_new(o, "nan", json_integer(s->nan));
    json_object_set_new(o, "inf", json_integer(s->inf));
    return o;
}

static json_t *top_json(float (*get)(const void *, int64_t), const void *ctx, int64_t n,
                        const void *index, int k) {
    int64_t *pos = xmalloc(sizeof *pos * (size_t)k);
    float *val = xmalloc(sizeof *val * (size_t)k);
    int m = topk_abs(get, ctx, n, k, pos, val);
    json_t *a = json_array();
    for (int i = 0; i < m; i++) {
        int64_t flat = index ? st_load_u32(index, (size_t)pos[i]) : pos[i];
        json_array_append_new(a, json_pack("[Io]", (json_int_t)flat, f32_json(val[i])));
    }
    free(pos);
    free(val);
    return a;
}

static void json_tensor(json_t *j, const StTensor *t, const ShowOpts *o) {
    json_object_set_new(j, "numel", json_integer(t->numel));
    if (t->numel <= o->max_elems) {
        json_t *a = json_array();
        for (int64_t i = 0; i < t->numel; i++) {
            if (t->dtype == ST_I32) {
                int32_t v;
                memcpy(&v, (const char *)t->data + 4 * i, 4);
                json_array_append_new(a, json_integer(v));
            } else json_array_append_new(a, f32_json(st_tensor_at(t, i)));
        }
        json_object_set_new(j, "data", a);
    } else {
        json_object_del(j, "data");
        TStats s;
        tstats_tensor(t, &s);
        json_object_set_new(j, "stats", stats_json(&s));
    }
    if (o->top) json_object_set_new(j, "top", top_json(get_tensor, t, t->numel, NULL, o->top));
}

static void json_sparse(json_t *j, const StSparse *m, const ShowOpts *o) {
    if (m->all) return;
    json_t *idx = json_array();
    for (uint64_t i = 0; i < m->k; i++) json_array_append_new(idx, json_integer(st_load_u32(m->index, i)));
    json_object_set_new(j, "index", idx);
    if (m->value) {
        json_t *val = json_array();
        for (uint64_t i = 0; i < m->k; i++) json_array_append_new(val, f32_json(st_load_f32(m->value, i)));
        json_object_set_new(j, "value", val);
        if (o->top)
            json_object_set_new(j, "top", top_json(get_sparse_value, m, (int64_t)m->k, m->index, o->top));
    }
}

static void json_example(json_t *j, StReader *r, const StRecord *rec) {
    const msgpack_object *v;
    if ((v = st_rec_get(rec, "ids")))
        json_object_set_new(j, "ids", int32_array(v->via.bin.ptr, ids_len(r, rec, "ids", v)));
    if ((v = st_rec_get(rec, "choices")) && v->type == MSGPACK_OBJECT_ARRAY) {
        json_t *a = json_array();
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            const msgpack_object *b = &v->via.array.ptr[i];
            json_array_append_new(a, int32_array(b->via.bin.ptr, ids_len(r, rec, "choices", b)));
        }
        json_object_set_new(j, "choices", a);
    }
}

/* predictions: the scores (logits, an f32 bin) as an array of numbers */
static void json_prediction(json_t *j, StReader *r, const StRecord *rec) {
    const msgpack_object *v = st_rec_get(rec, "scores");
    if (!v) return;
    if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size % 4)
        st_reader_die(r, rec, "field 'scores': expected an f32 bin");
    json_t *a = json_array();
    for (uint32_t i = 0; i < v->via.bin.size / 4; i++)
        json_array_append_new(a, f32_json(st_load_f32(v->via.bin.ptr, i)));
    json_object_set_new(j, "scores", a);
}

/* ---------- dispatch ---------- */

void show_record(FILE *out, StReader *r, const StRecord *rec, const ShowOpts *o) {
    StTensor t;
    StSparse m;
    int is_tensor = 0, is_sparse = 0;
    if (kind_is(r, "tensors")) {
        st_tensor_read(r, rec, &t);
        is_tensor = 1;
    } else if (kind_is(r, "mask")) {
        st_mask_read(r, rec, &m);
        is_sparse = 1;
    } else if (kind_is(r, "delta")) {
        is_tensor = st_delta_read(r, rec, &t, &m);
        is_sparse = !is_tensor;
    }
    if (!o->json) {
        fprintf(out, "  %llu  ", (unsigned long long)rec->index);
        if (is_tensor) human_tensor(out, &t, o);
        else if (is_sparse) human_sparse(out, &m, o);
        else if (kind_is(r, "examples")) human_example(out, r, rec);
        else human_generic(out, rec);
        return;
    }
    json_t *j = st_msgpack_to_json(rec->map);
    if (is_tensor) json_tensor(j, &t, o);
    else if (is_sparse) json_sparse(j, &m, o);
    else if (kind_is(r, "examples")) json_example(j, r, rec);
    else if (kind_is(r, "predictions")) json_prediction(j, r, rec);
    /* float32 payloads print as the shortest text that reads back to the same float */
    int f32 = is_tensor || is_sparse || kind_is(r, "examples") || kind_is(r, "predictions");
    char *s = json_text(j, f32);
    fprintf(out, "%s\n", s);
    free(s);
    json_decref(j);
}

void show_end(FILE *out, StReader *r, const ShowOpts *o) {
    char hex[65];
    st_reader_sha256(r, hex);
    if (o->json) {
        fprintf(out, "{\"end\":true,\"count\":%llu}\n", (unsigned long long)st_reader_count(r));
        return;
    }
    fprintf(out, "end: %llu records, sha256 %s\n", (unsigned long long)st_reader_count(r), hex);
}
