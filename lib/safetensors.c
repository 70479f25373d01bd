/* safetensors.c — validating reader (mmap or buffer) and atomic writer of .safetensors files.
 * The validation rules follow the reference implementation; see safetensors.h. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"
#include "util.h"

/* Tensor data are little-endian; we read them with memcpy into host values. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");

enum { MAP_BORROWED = 0, MAP_MALLOC = 1, MAP_MMAP = 2 };

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
    [ST_I32] = {"I32", 4}, [ST_I64] = {"I64", 8}, [ST_F64] = {"F64", 8},
    [ST_U8] = {"U8", 1},   [ST_I8] = {"I8", 1},   [ST_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *st_dtype_name(StDtype d) {
    return (int)d >= 0 && (int)d < N_DTYPES ? dtypes[d].name : "?";
}

size_t st_dtype_size(StDtype d) { return (int)d >= 0 && (int)d < N_DTYPES ? dtypes[d].size : 0; }

int st_dtype_parse(const char *s, StDtype *d) {
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(s, dtypes[i].name) == 0) {
            *d = (StDtype)i;
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- f16 / bf16 */

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) { /* zero or subnormal: m x 2^-24, exact in f32 */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13)); /* inf, NaN (payload kept) */
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1); /* round to nearest, ties to even */
    return (uint16_t)(x >> 16);
}

uint16_t f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return sign | 0x7e00 | (uint16_t)((x >> 13) & 0x3ff); /* NaN */
    if (x >= 0x477ff000u) return sign | 0x7c00; /* >= 65520 rounds to inf */
    if (x < 0x38800000u) {                      /* below 2^-14: f16 subnormal or zero */
        if (x <= 0x33000000u) return sign;      /* <= 2^-25 rounds to 0 (tie to even) */
        uint32_t mant = (x & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(x >> 23); /* 14..24: value x 2^24 = mant >> shift */
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t h = ((((x >> 23) - 112) << 10) | ((x & 0x7fffffu) >> 13));
    uint32_t rem = x & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry into the exponent is right */
    return sign | (uint16_t)h;
}

void safetensor_to_f32(const SafeTensor *t, float *dst) {
    const unsigned char *p = t->data;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case ST_F32: memcpy(dst, p, n * 4); break;
    case ST_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = f16_to_f32(h);
        }
        break;
    case ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = bf16_to_f32(h);
        }
        break;
    case ST_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, p + 8 * i, 8);
            dst[i] = (float)v;
        }
        break;
    case ST_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = (float)v;
        }
        break;
    case ST_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            dst[i] = (float)v;
        }
        break;
    case ST_U8:
        for (size_t i = 0; i < n; i++) dst[i] = (float)p[i];
        break;
    case ST_I8:
        for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)p[i];
        break;
    case ST_BOOL:
        for (size_t i = 0; i < n; i++) dst[i] = p[i] ? 1.0f : 0.0f;
        break;
    }
}

/* ---------------------------------------------------------------- reader */

/* Offsets of one entry while validating; index into the tensor array. */
typedef struct {
    uint64_t begin, end;
    int idx;
} Span;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int span_cmp(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}

static const SafeTensor *sort_base; /* qsort has no context argument in C11 */
static int name_cmp(const void *a, const void *b) {
    return strcmp(sort_base[*(const int *)a].name, sort_base[*(const int *)b].name);
}

static void release_map(void *buf, size_t len, int kind) {
    if (kind == MAP_MALLOC) free(buf);
    else if (kind == MAP_MMAP && buf) munmap(buf, len);
}

static void free_tensors(SafeTensor *t, int n) {
    for (int i = 0; i < n; i++) free(t[i].name);
    free(t);
}

/* A non-negative JSON integer, or -1. */
static long long json_nonneg(const json_t *v) {
    if (!json_is_integer(v)) return -1;
    long long x = json_integer_value(v);
    return x < 0 ? -1 : x;
}

/* Fills t from one header entry; returns 0 or -1 with err set.  data_len bounds the offsets. */
static int parse_entry(const char *name, json_t *e, uint64_t data_len, SafeTensor *t, Span *sp,
                       char *err, size_t errlen) {
    if (!json_is_object(e)) {
        seterr(err, errlen, "tensor '%s': entry is not a JSON object", name);
        return -1;
    }
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
           *jo = json_object_get(e, "data_offsets");
    if (!jd || !js || !jo) {
        seterr(err, errlen, "tensor '%s': missing \"%s\"", name,
               !jd ? "dtype" : !js ? "shape" : "data_offsets");
        return -1;
    }
    if (!json_is_string(jd)) {
        seterr(err, errlen, "tensor '%s': dtype is not a string", name);
        return -1;
    }
    if (st_dtype_parse(json_string_value(jd), &t->dtype) != 0) {
        seterr(err, errlen, "tensor '%s': unsupported dtype '%s'", name, json_string_value(jd));
        return -1;
    }
    if (!json_is_array(js)) {
        seterr(err, errlen, "tensor '%s': shape is not an array", name);
        return -1;
    }
    size_t nd = json_array_size(js);
    if (nd > ST_MAX_DIMS) {
        seterr(err, errlen, "tensor '%s': %zu dimensions (at most %d supported)", name, nd,
               ST_MAX_DIMS);
        return -1;
    }
    t->ndim = (int)nd;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        long long d = json_nonneg(json_array_get(js, i));
        if (d < 0) {
            seterr(err, errlen, "tensor '%s': shape[%zu] is not a non-negative integer", name, i);
            return -1;
        }
        t->shape[i] = d;
        if (__builtin_mul_overflow(numel, (uint64_t)d, &numel)) overflow = 1;
    }
    uint64_t nbytes;
    if (overflow || numel > INT64_MAX ||
        __builtin_mul_overflow(numel, (uint64_t)st_dtype_size(t->dtype), &nbytes)) {
        seterr(err, errlen, "tensor '%s': shape size overflows", name);
        return -1;
    }
    if (!json_is_array(jo) || json_array_size(jo) != 2) {
        seterr(err, errlen, "tensor '%s': data_offsets is not a [begin, end] pair", name);
        return -1;
    }
    long long b = json_nonneg(json_array_get(jo, 0)), en = json_nonneg(json_array_get(jo, 1));
    if (b < 0 || en < 0) {
        seterr(err, errlen, "tensor '%s': data_offsets are not non-negative integers", name);
        return -1;
    }
    if (b > en) {
        seterr(err, errlen, "tensor '%s': data_offsets [%lld, %lld] end before they begin", name,
               b, en);
        return -1;
    }
    if ((uint64_t)en > data_len) {
        seterr(err, errlen,
               "tensor '%s': data_offsets [%lld, %lld] run past the end of the data section "
               "(%llu bytes)",
               name, b, en, (unsigned long long)data_len);
        return -1;
    }
    if ((uint64_t)(en - b) != nbytes) {
        char dims[160];
        size_t o = 0;
        dims[0] = '\0';
        for (int i = 0; i < t->ndim && o < sizeof dims - 24; i++)
            o += (size_t)snprintf(dims + o, sizeof dims - o, "%s%lld", i ? ", " : "",
                                  (long long)t->shape[i]);
        seterr(err, errlen,
               "tensor '%s': shape [%s] of %s needs %llu bytes but data_offsets span %lld",
               name, dims, st_dtype_name(t->dtype), (unsigned long long)nbytes, en - b);
        return -1;
    }
    t->numel = (int64_t)numel;
    t->nbytes = (size_t)nbytes;
    sp->begin = (uint64_t)b;
    sp->end = (uint64_t)en;
    return 0;
}

static SafeTensors *parse_impl(void *buf, size_t len, int kind, const char *where, char *err,
                               size_t errlen) {
    const unsigned char *p = buf;
    json_t *root = NULL;
    SafeTensor *t = NULL;
    Span *sp = NULL;
    int n = 0;
    if (len < 8) {
        seterr(err, errlen, "too short for a safetensors file (%zu bytes)", len);
        goto fail;
    }
    uint64_t hlen;
    memcpy(&hlen, p, 8);
    if (hlen > ST_MAX_HEADER) {
        seterr(err, errlen, "header length %llu exceeds the %u-byte limit (not a safetensors file?)",
               (unsigned long long)hlen, ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > len - 8) {
        seterr(err, errlen, "header length %llu exceeds the file size (%zu bytes); truncated?",
               (unsigned long long)hlen, len);
        goto fail;
    }
    /* The reference insists on a JSON object starting at the first byte. */
    if (hlen == 0 || p[8] != '{') {
        seterr(err, errlen, "header does not start with '{' (not a safetensors file?)");
        goto fail;
    }
    json_error_t jerr;
    root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        seterr(err, errlen, "invalid JSON header: %s (at byte %d)", jerr.text, jerr.position);
        goto fail;
    }
    if (!json_is_object(root)) {
        seterr(err, errlen, "JSON header is not an object");
        goto fail;
    }
    uint64_t data_len = (uint64_t)(len - 8 - hlen);
    size_t cap = json_object_size(root);
    t = xcalloc(cap ? cap : 1, sizeof *t);
    sp = xcalloc(cap ? cap : 1, sizeof *sp);
    json_t *meta = NULL;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                seterr(err, errlen, "__metadata__ is not a JSON object");
                goto fail;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    seterr(err, errlen, "__metadata__ value of '%s' is not a string", mk);
                    goto fail;
                }
            }
            meta = val;
            continue;
        }
        SafeTensor *ti = &t[n];
        if (parse_entry(key, val, data_len, ti, &sp[n], err, errlen) != 0) goto fail;
        ti->name = xstrdup(key);
        sp[n].idx = n;
        n++;
    }
    /* Sorted by offsets, the tensors must tile the data section exactly. */
    qsort(sp, (size_t)n, sizeof *sp, span_cmp);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = t[sp[i].idx].name;
        if (sp[i].begin < at) {
            seterr(err, errlen, "tensors '%s' and '%s' overlap (bytes %llu..%llu)",
                   t[sp[i - 1].idx].name, nm, (unsigned long long)sp[i].begin,
                   (unsigned long long)at);
            goto fail;
        }
        if (sp[i].begin > at) {
            seterr(err, errlen, "gap of %llu bytes in the data section before tensor '%s'",
                   (unsigned long long)(sp[i].begin - at), nm);
            goto fail;
        }
        at = sp[i].end;
    }
    if (at != data_len) {
        seterr(err, errlen,
               "tensors cover %llu bytes of a %llu-byte data section (trailing bytes)",
               (unsigned long long)at, (unsigned long long)data_len);
        goto fail;
    }

    SafeTensors *st = xcalloc(1, sizeof *st);
    st->n = n;
    st->t = xcalloc(n ? (size_t)n : 1, sizeof *st->t);
    const unsigned char *data = p + 8 + hlen;
    for (int i = 0; i < n; i++) {
        st->t[i] = t[sp[i].idx];
        st->t[i].data = data + sp[i].begin;
    }
    free(t);
    free(sp);
    st->by_name = xmalloc((n ? (size_t)n : 1) * sizeof *st->by_name);
    for (int i = 0; i < n; i++) st->by_name[i] = i;
    sort_base = st->t;
    qsort(st->by_name, (size_t)n, sizeof *st->by_name, name_cmp);
    if (meta) st->meta = json_incref(meta);
    json_decref(root);
    st->map = buf;
    st->map_len = len;
    st->map_kind = kind;
    st->where = xstrdup(where ? where : "safetensors");
    return st;

fail:
    if (t) free_tensors(t, n);
    free(sp);
    json_decref(root);
    release_map(buf, len, kind);
    return NULL;
}

SafeTensors *safetensors_parse(void *buf, size_t len, int owns, const char *where, char *err,
                               size_t errlen) {
    return parse_impl(buf, len, owns ? MAP_MALLOC : MAP_BORROWED, where, err, errlen);
}

SafeTensors *safetensors_from_buffer(void *buf, size_t len, const char *where) {
    char err[512];
    SafeTensors *st = parse_impl(buf, len, MAP_MALLOC, where, err, sizeof err);
    if (!st) die(where, "%s", err);
    return st;
}

SafeTensors *safetensors_open(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(path, "%s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) die(path, "%s", strerror(errno));
    if (S_ISDIR(sb.st_mode)) die(path, "is a directory, not a safetensors file");
    if (!S_ISREG(sb.st_mode)) {
        /* A pipe or device cannot be mapped: read it into memory instead. */
        close(fd);
        size_t len;
        char *buf = read_whole_file(path, &len);
        return safetensors_from_buffer(buf, len, path);
    }
    size_t len = (size_t)sb.st_size;
    if (len < 8) die(path, "too short for a safetensors file (%zu bytes)", len);
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) die(path, "cannot map: %s", strerror(errno));
    close(fd);
    char err[512];
    SafeTensors *st = parse_impl(map, len, MAP_MMAP, path, err, sizeof err);
    if (!st) die(path, "%s", err);
    return st;
}

SafeTensors *safetensors_load(Source *src, const char *name) {
    char *path = source_dir_file_path(src, name);
    if (path) {
        SafeTensors *st = safetensors_open(path);
        free(path);
        return st;
    }
    size_t len;
    char *buf = source_dir_read(src, name, &len);
    if (!buf) return NULL;
    char *where = source_dir_describe(src, name);
    SafeTensors *st = safetensors_from_buffer(buf, len, where);
    free(where);
    return st;
}

const SafeTensor *safetensors_find(const SafeTensors *st, const char *name) {
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const SafeTensor *t = &st->t[st->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const char *safetensors_meta(const SafeTensors *st, const char *key) {
    if (!st->meta) return NULL;
    return json_string_value(json_object_get(st->meta, key));
}

void safetensors_close(SafeTensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) free(st->t[i].name);
    free(st->t);
    free(st->by_name);
    if (st->meta) json_decref(st->meta);
    release_map(st->map, st->map_len, st->map_kind);
    free(st->where);
    free(st);
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} WEntry;

struct SafeTensorsWriter {
    WEntry *e;
    int n, cap;
    json_t *meta;
};

SafeTensorsWriter *safetensors_writer_new(void) {
    SafeTensorsWriter *w = xcalloc(1, sizeof *w);
    w->meta = json_object();
    return w;
}

void safetensors_writer_add(SafeTensorsWriter *w, const char *name, StDtype dtype,
                            const int64_t *shape, int ndim, const void *data) {
    if (strcmp(name, "__metadata__") == 0) die(NULL, "safetensors: reserved tensor name '%s'", name);
    if ((int)dtype < 0 || (int)dtype >= N_DTYPES) die(name, "safetensors: invalid dtype %d", dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS)
        die(name, "safetensors: %d dimensions (at most %d)", ndim, ST_MAX_DIMS);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0) die(name, "safetensors: duplicate tensor name");
    if (w->n == w->cap) w->e = xrealloc(w->e, (size_t)(w->cap = w->cap ? 2 * w->cap : 64) * sizeof *w->e);
    WEntry *e = &w->e[w->n++];
    memset(e, 0, sizeof *e);
    e->name = xstrdup(name);
    e->dtype = dtype;
    e->ndim = ndim;
    uint64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) die(name, "safetensors: negative dimension %lld", (long long)shape[i]);
        e->shape[i] = shape[i];
        if (__builtin_mul_overflow(numel, (uint64_t)shape[i], &numel))
            die(name, "safetensors: shape size overflows");
    }
    uint64_t nb;
    if (__builtin_mul_overflow(numel, (uint64_t)st_dtype_size(dtype), &nb) || nb > SIZE_MAX)
        die(name, "safetensors: shape size overflows");
    e->nbytes = (size_t)nb;
    e->data = data;
}

void safetensors_writer_meta(SafeTensorsWriter *w, const char *key, const char *value) {
    json_t *s = json_string(value);
    if (!s) die(key, "safetensors metadata value is not valid UTF-8");
    json_object_set_new(w->meta, key, s);
}

/* The header JSON, entries in declaration order, padded with spaces to a multiple of 8. */
static char *writer_header(const SafeTensorsWriter *w, size_t *hlen) {
    json_t *root = json_object();
    if (json_object_size(w->meta)) json_object_set(root, "__metadata__", w->meta);
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const WEntry *e = &w->e[i];
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer(e->shape[d]));
        json_t *ent = json_object();
        json_object_set_new(ent, "dtype", json_string(st_dtype_name(e->dtype)));
        json_object_set_new(ent, "shape", shape);
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + e->nbytes)));
        json_object_set_new(ent, "data_offsets", offs);
        off += e->nbytes;
        if (json_object_set_new(root, e->name, ent) != 0)
            die(e->name, "safetensors: tensor name is not valid UTF-8");
    }
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!s) die(NULL, "safetensors: cannot serialise the header");
    size_t n = strlen(s), padded = (n + 7) / 8 * 8;
    s = xrealloc(s, padded + 1);
    memset(s + n, ' ', padded - n);
    s[padded] = '\0';
    *hlen = padded;
    return s;
}

void safetensors_writer_save(SafeTensorsWriter *w, const char *path) {
    size_t hlen;
    char *hdr = writer_header(w, &hlen);
    if (hlen > ST_MAX_HEADER) die(path, "safetensors header of %zu bytes is too large", hlen);
    OutFile *o = out_open(path, 1);
    uint64_t n = hlen;
    unsigned char len8[8];
    memcpy(len8, &n, 8);
    fwrite(len8, 1, 8, o->fp);
    fwrite(hdr, 1, hlen, o->fp);
    for (int i = 0; i < w->n; i++)
        if (w->e[i].nbytes && fwrite(w->e[i].data, 1, w->e[i].nbytes, o->fp) != w->e[i].nbytes)
            break; /* out_commit reports the write error */
    out_commit(o);
    free(hdr);
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    json_decref(w->meta);
    free(w);
}
