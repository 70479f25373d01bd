/* stream_tensor.c — validation and access of tensor, mask and delta records. */
#include "stream_tensor.h"

#include "safetensors.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *name;
    StDtype dtype;
    size_t size;
} dtypes[] = {{"f32", ST_F32, 4}, {"bf16", ST_BF16, 2}, {"f16", ST_F16, 2}, {"i32", ST_I32, 4}};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

int stream_dtype_parse(const char *s, size_t len, StDtype *out) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (strlen(dtypes[i].name) == len && !memcmp(dtypes[i].name, s, len)) {
            *out = dtypes[i].dtype;
            return 0;
        }
    return -1;
}

const char *stream_dtype_name(StDtype d) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == d) return dtypes[i].name;
    return "?";
}

size_t stream_dtype_size(StDtype d) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == d) return dtypes[i].size;
    return 0;
}

int64_t st_shape_numel(const int64_t *shape, int ndim) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n) || n > ((int64_t)1 << 62))
            return -1;
    return n;
}

static int perr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int get_name(const StRecord *rec, char *name, char *err, size_t errlen) {
    const msgpack_object *o = st_rec_get(rec, "name");
    if (!o) return perr(err, errlen, "missing field 'name'");
    if (o->type != MSGPACK_OBJECT_STR)
        return perr(err, errlen, "field 'name': expected a string, got %s", st_msgpack_type_name(o));
    size_t n = o->via.str.size;
    if (n == 0 || n >= ST_NAME_MAX || memchr(o->via.str.ptr, '\0', n))
        return perr(err, errlen, "field 'name': empty, too long or containing NUL");
    memcpy(name, o->via.str.ptr, n);
    name[n] = '\0';
    return 0;
}

static int get_shape(const StRecord *rec, int *ndim, int64_t *shape, int64_t *numel, char *err,
                     size_t errlen) {
    const msgpack_object *o = st_rec_get(rec, "shape");
    if (!o) return perr(err, errlen, "missing field 'shape'");
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return perr(err, errlen, "field 'shape': expected an array, got %s", st_msgpack_type_name(o));
    if (o->via.array.size > 8)
        return perr(err, errlen, "field 'shape': %u dimensions (at most 8)", o->via.array.size);
    *ndim = (int)o->via.array.size;
    for (int i = 0; i < *ndim; i++) {
        const msgpack_object *d = &o->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > ((uint64_t)1 << 40))
            return perr(err, errlen, "field 'shape': dimension %d is not a non-negative integer", i);
        shape[i] = (int64_t)d->via.u64;
    }
    *numel = st_shape_numel(shape, *ndim);
    if (*numel < 0) return perr(err, errlen, "field 'shape': too many elements");
    return 0;
}

static int get_bin(const StRecord *rec, const char *key, const void **p, size_t *n, char *err,
                   size_t errlen) {
    const msgpack_object *o = st_rec_get(rec, key);
    if (!o) return perr(err, errlen, "missing field '%s'", key);
    if (o->type != MSGPACK_OBJECT_BIN)
        return perr(err, errlen, "field '%s': expected binary data, got %s", key,
                    st_msgpack_type_name(o));
    *p = o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

int st_tensor_parse(const StRecord *rec, StTensor *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if (get_name(rec, t->name, err, errlen) < 0) return -1;
    const msgpack_object *d = st_rec_get(rec, "dtype");
    if (!d) return perr(err, errlen, "missing field 'dtype'");
    if (d->type != MSGPACK_OBJECT_STR || stream_dtype_parse(d->via.str.ptr, d->via.str.size, &t->dtype) < 0)
        return perr(err, errlen, "field 'dtype': expected one of f32, bf16, f16, i32");
    if (get_shape(rec, &t->ndim, t->shape, &t->numel, err, errlen) < 0) return -1;
    if (get_bin(rec, "data", &t->data, &t->nbytes, err, errlen) < 0) return -1;
    size_t want = (size_t)t->numel * stream_dtype_size(t->dtype);
    if (t->nbytes != want)
        return perr(err, errlen, "tensor '%s': data has %zu bytes, shape and dtype need %zu",
                    t->name, t->nbytes, want);
    return 0;
}

int st_sparse_parse(const StRecord *rec, int with_value, StSparse *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    if (get_name(rec, s->name, err, errlen) < 0) return -1;
    if (get_shape(rec, &s->ndim, s->shape, &s->numel, err, errlen) < 0) return -1;
    const msgpack_object *all = st_rec_get(rec, "all");
    if (all && !with_value) {
        if (all->type != MSGPACK_OBJECT_BOOLEAN || !all->via.boolean)
            return perr(err, errlen, "field 'all': expected true");
        if (st_rec_has(rec, "index"))
            return perr(err, errlen, "'%s': both 'all' and 'index' given", s->name);
        s->all = 1;
        s->k = (uint64_t)s->numel;
        return 0;
    }
    size_t nb = 0;
    if (get_bin(rec, "index", &s->index, &nb, err, errlen) < 0) return -1;
    if (nb % 4) return perr(err, errlen, "'%s': index has %zu bytes, not a multiple of 4", s->name, nb);
    s->k = nb / 4;
    if (s->numel > ((int64_t)1 << 32))
        return perr(err, errlen, "'%s': %lld elements cannot be addressed by uint32 indices",
                    s->name, (long long)s->numel);
    int64_t prev = -1;
    for (uint64_t i = 0; i < s->k; i++) {
        int64_t v = st_load_u32(s->index, i);
        if (v <= prev)
            return perr(err, errlen, "'%s': index not sorted and unique at entry %llu (%lld after %lld)",
                        s->name, (unsigned long long)i, (long long)v, (long long)prev);
        if (v >= s->numel)
            return perr(err, errlen, "'%s': index %lld out of range for %lld elements", s->name,
                        (long long)v, (long long)s->numel);
        prev = v;
    }
    if (with_value) {
        if (get_bin(rec, "value", &s->value, &nb, err, errlen) < 0) return -1;
        if (nb != 4 * s->k)
            return perr(err, errlen, "'%s': value has %zu bytes, %llu f32 entries need %llu", s->name,
                        nb, (unsigned long long)s->k, (unsigned long long)(4 * s->k));
    }
    return 0;
}

void st_tensor_read(StReader *r, const StRecord *rec, StTensor *t) {
    char err[512];
    if (st_tensor_parse(rec, t, err, sizeof err) < 0) st_reader_die(r, rec, "%s", err);
}

void st_mask_read(StReader *r, const StRecord *rec, StSparse *s) {
    char err[512];
    if (st_sparse_parse(rec, 0, s, err, sizeof err) < 0) st_reader_die(r, rec, "%s", err);
}

int st_delta_read(StReader *r, const StRecord *rec, StTensor *t, StSparse *s) {
    if (st_rec_has(rec, "data")) {
        st_tensor_read(r, rec, t);
        return 1;
    }
    char err[512];
    if (st_sparse_parse(rec, 1, s, err, sizeof err) < 0) st_reader_die(r, rec, "%s", err);
    return 0;
}

void st_put_tensor(StWriter *w, const char *name, StDtype dtype, const int64_t *shape, int ndim,
                   const void *data) {
    int64_t numel = st_shape_numel(shape, ndim);
    size_t size = stream_dtype_size(dtype);
    if (numel < 0 || !size) die(NULL, "internal error: bad tensor '%s'", name);
    st_record_begin(w, 4);
    st_put_str(w, "name", name);
    st_put_str(w, "dtype", stream_dtype_name(dtype));
    st_put_shape(w, "shape", shape, ndim);
    st_put_bin(w, "data", data, (size_t)numel * size);
}

void st_put_mask(StWriter *w, const char *name, const int64_t *shape, int ndim,
                 const uint32_t *index, uint64_t k) {
    st_record_begin(w, 3);
    st_put_str(w, "name", name);
    st_put_shape(w, "shape", shape, ndim);
    if (index) st_put_bin(w, "index", index, 4 * k);
    else st_put_bool(w, "all", 1);
}

void st_put_sparse_delta(StWriter *w, const char *name, const int64_t *shape, int ndim,
                         const uint32_t *index, const float *value, uint64_t k) {
    st_record_begin(w, 4);
    st_put_str(w, "name", name);
    st_put_shape(w, "shape", shape, ndim);
    st_put_bin(w, "index", index, 4 * k);
    st_put_bin(w, "value", value, 4 * k);
}

float st_tensor_at(const StTensor *t, int64_t i) {
    const char *p = t->data;
    switch (t->dtype) {
    case ST_F32: return st_load_f32(p, (size_t)i);
    case ST_I32: {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return (float)v;
    }
    case ST_BF16:
    case ST_F16: {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        return t->dtype == ST_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
    default: return 0.0f;
    }
}

void st_tensor_to_f32(const StTensor *t, float *dst) {
    if (t->dtype == ST_F32) {
        memcpy(dst, t->data, (size_t)t->numel * 4);
        return;
    }
    for (int64_t i = 0; i < t->numel; i++) dst[i] = st_tensor_at(t, i);
}
