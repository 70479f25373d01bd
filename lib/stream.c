/* stream.c — writer and reader of the sparsetune stream (see stream.h, man 5
 * sparsetune-stream).
 *
 * Memory of the reader.  Records are parsed by msgpack_unpacker, whose str/bin objects point
 * into its buffer (zero-copy).  A record only completes once its last byte is buffered, so a
 * 200 MB tensor record needs one contiguous 200 MB buffer; the question is only whether it is
 * ever held twice.  msgpack-c grows the buffer in msgpack_unpacker_expand_buffer(): the
 * first growth inside a record moves the unparsed tail (a few KB: the bin header has been
 * consumed, only the body bytes read so far are copied) into a fresh buffer; later growths
 * of that buffer are realloc()s, which glibc performs with mremap() for such large blocks —
 * no copy, no second resident copy.  Capacity doubles, but pages beyond the bytes fread()
 * has written are never touched, so the resident size stays ≈ the record.  The record is
 * then used in place (never copied) and released when the next record is requested; see
 * shrink_buffer() for the one case where msgpack-c would keep it longer.
 * Measured by tests/unit/test_stream.c "stream_peak_rss": reading two 200 MiB records raises
 * the peak RSS by 1.0x one record (optimised build; under ASan realloc copies and freed
 * memory sits in quarantine, so the bound is checked there only loosely). */
#include "stream.h"

#include "source.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "hash.h"
#include "mpscan.h"

/* ======================= writer ======================= */

struct StWriter {
    FILE *fp;
    msgpack_packer pk;
    uint64_t count;
    int64_t remaining; /* keys still to be packed in the current record */
    uint64_t bin_left; /* bytes still owed by st_put_bin_part */
};

static int write_cb(void *data, const char *buf, size_t len) {
    StWriter *w = data;
    /* one writer per stream, never shared between threads: skip stdio's locking */
    if (len && fwrite_unlocked(buf, 1, len, w->fp) != len) die(NULL, "write error: %s", strerror(errno));
    return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static int reserved_key(const char *k) {
    return !strcmp(k, "stream") || !strcmp(k, "version") || !strcmp(k, "kind") ||
           !strcmp(k, "provenance");
}

static void check_record_done(StWriter *w) {
    if (w->remaining != 0 || w->bin_left != 0)
        die(NULL, "internal error: record %llu written with %lld keys missing or a short bin",
            (unsigned long long)w->count - 1, (long long)w->remaining);
}

StWriter *st_writer_open(FILE *fp, const char *kind, json_t *meta, json_t *provenance) {
    StWriter *w = xcalloc(1, sizeof *w);
    w->fp = fp;
    msgpack_packer_init(&w->pk, w, write_cb);
    size_t n = 4;
    const char *k;
    json_t *v;
    if (meta) {
        if (!json_is_object(meta)) die(NULL, "internal error: stream header meta is not an object");
        json_object_foreach(meta, k, v) {
            if (reserved_key(k)) die(NULL, "internal error: header key '%s' is reserved", k);
            n++;
        }
    }
    msgpack_pack_map(&w->pk, n);
    pack_cstr(&w->pk, "stream");
    pack_cstr(&w->pk, "sparsetune");
    pack_cstr(&w->pk, "version");
    msgpack_pack_int(&w->pk, ST_STREAM_VERSION);
    pack_cstr(&w->pk, "kind");
    pack_cstr(&w->pk, kind);
    if (meta) json_object_foreach(meta, k, v) {
            pack_cstr(&w->pk, k);
            st_pack_json(&w->pk, v);
        }
    pack_cstr(&w->pk, "provenance");
    if (provenance && json_is_array(provenance)) st_pack_json(&w->pk, provenance);
    else msgpack_pack_array(&w->pk, 0);
    return w;
}

void st_writer_close(StWriter *w) {
    if (w->count) check_record_done(w);
    msgpack_pack_map(&w->pk, 2);
    pack_cstr(&w->pk, "end");
    msgpack_pack_true(&w->pk);
    pack_cstr(&w->pk, "count");
    msgpack_pack_uint64(&w->pk, w->count);
    if (fflush(w->fp) != 0) die(NULL, "write error: %s", strerror(errno));
    free(w);
}

uint64_t st_writer_count(const StWriter *w) { return w->count; }

void st_record_begin(StWriter *w, uint32_t n_fields) {
    if (w->count) check_record_done(w);
    w->count++;
    w->remaining = n_fields;
    msgpack_pack_map(&w->pk, n_fields);
}

msgpack_packer *st_writer_packer(StWriter *w) { return &w->pk; }

void st_put_key(StWriter *w, const char *key) {
    if (w->bin_left) die(NULL, "internal error: key '%s' written inside a bin", key);
    if (--w->remaining < 0)
        die(NULL, "internal error: record %llu: more keys than declared",
            (unsigned long long)w->count - 1);
    pack_cstr(&w->pk, key);
}

void st_put_str(StWriter *w, const char *key, const char *value) {
    st_put_key(w, key);
    pack_cstr(&w->pk, value);
}
void st_put_int(StWriter *w, const char *key, int64_t value) {
    st_put_key(w, key);
    msgpack_pack_int64(&w->pk, value);
}
void st_put_uint(StWriter *w, const char *key, uint64_t value) {
    st_put_key(w, key);
    msgpack_pack_uint64(&w->pk, value);
}
void st_put_double(StWriter *w, const char *key, double value) {
    st_put_key(w, key);
    msgpack_pack_double(&w->pk, value);
}
void st_put_float(StWriter *w, const char *key, float value) {
    st_put_key(w, key);
    msgpack_pack_float(&w->pk, value);
}
void st_put_bool(StWriter *w, const char *key, int value) {
    st_put_key(w, key);
    if (value) msgpack_pack_true(&w->pk);
    else msgpack_pack_false(&w->pk);
}
void st_put_bin(StWriter *w, const char *key, const void *data, size_t len) {
    st_put_bin_begin(w, key, len);
    st_put_bin_part(w, data, len);
}
void st_put_bin_begin(StWriter *w, const char *key, size_t len) {
    if (len > UINT32_MAX) die(NULL, "internal error: bin '%s' of %zu bytes exceeds msgpack's 4 GiB", key, len);
    st_put_key(w, key);
    msgpack_pack_bin(&w->pk, len);
    w->bin_left = len;
}
void st_put_bin_part(StWriter *w, const void *data, size_t len) {
    if (len > w->bin_left) die(NULL, "internal error: bin part longer than declared");
    w->bin_left -= len;
    if (len) msgpack_pack_bin_body(&w->pk, data, len);
}
void st_put_shape(StWriter *w, const char *key, const int64_t *dims, int ndim) {
    st_put_key(w, key);
    msgpack_pack_array(&w->pk, ndim);
    for (int i = 0; i < ndim; i++) msgpack_pack_int64(&w->pk, dims[i]);
}
void st_put_json(StWriter *w, const char *key, json_t *value) {
    st_put_key(w, key);
    st_pack_json(&w->pk, value);
}
void st_write_json_record(StWriter *w, json_t *obj) {
    st_record_begin(w, json_object_size(obj));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) st_put_json(w, k, v);
}

/* ======================= reader ======================= */

#define READ_MIN (64 * 1024)          /* reserve at least this much before each fread */
#define READ_MAX (4 * 1024 * 1024)    /* and read at most this much per call */
#define SHRINK_ABOVE (16 * 1024 * 1024) /* a buffer this large is dropped between records */

struct StReader {
    FILE *fp;
    int own_fp;
    char *member; /* the archive member's bytes behind fp (ARCHIVE:MEMBER inputs), or NULL */
    char *name;
    msgpack_unpacker *up;
    msgpack_unpacked res;
    Sha256 *sha;
    char sha_hex[65];
    json_t *header;
    char *kind;
    uint64_t count;
    int eof, done;
    int io_error; /* the last error is reported as is (read error, pre-scan) */
    MpScan scan;
    char err[512];
};

static int seterr(StReader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int seterr(StReader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Buffers more input.  1: got bytes, 0: EOF, -1: read error. */
static int refill(StReader *r) {
    if (r->eof) return 0;
    if (!msgpack_unpacker_reserve_buffer(r->up, READ_MIN)) return seterr(r, "out of memory");
    size_t cap = msgpack_unpacker_buffer_capacity(r->up);
    if (cap > READ_MAX) cap = READ_MAX;
    char *buf = msgpack_unpacker_buffer(r->up);
    size_t n = fread(buf, 1, cap, r->fp);
    if (n == 0) {
        if (ferror(r->fp)) {
            r->io_error = 1;
            return seterr(r, "read error: %s", strerror(errno));
        }
        r->eof = 1;
        sha256_final_hex(r->sha, r->sha_hex);
        r->sha = NULL;
        return 0;
    }
    sha256_update(r->sha, buf, n);
    if (mpscan_feed(&r->scan, buf, n) < 0) {
        r->io_error = 1;
        return seterr(r, "malformed msgpack at byte %llu: a container of %llu elements (at most %u)",
                      (unsigned long long)r->scan.bad_offset, (unsigned long long)r->scan.bad_count,
                      MPSCAN_MAX_ELEMS);
    }
    msgpack_unpacker_buffer_consumed(r->up, n);
    return 1;
}

/* Next msgpack object into r->res.  1: got one; 0: clean EOF; -1: error (r->err), with
 * *partial set when the input ended inside an object. */
static int next_object(StReader *r, int *partial) {
    *partial = 0;
    for (;;) {
        msgpack_unpack_return ret = msgpack_unpacker_next(r->up, &r->res);
        if (ret == MSGPACK_UNPACK_SUCCESS) return 1;
        if (ret == MSGPACK_UNPACK_PARSE_ERROR) return seterr(r, "malformed msgpack");
        if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
            return seterr(r, "malformed msgpack (declared size too large) or out of memory");
        int got = refill(r);
        if (got < 0) return -1;
        if (got == 0) {
            if (msgpack_unpacker_message_size(r->up) > 0) {
                *partial = 1;
                return seterr(r, "input ends inside a msgpack object");
            }
            return 0;
        }
    }
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key) {
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

/* Describes the kind for "expected X stream, got Y": tensors streams by their role. */
static const char *kind_label(json_t *hdr) {
    const char *kind = json_string_value(json_object_get(hdr, "kind"));
    const char *role = json_string_value(json_object_get(hdr, "role"));
    if (kind && role && !strcmp(kind, "tensors")) return role;
    return kind;
}

static int check_kind(StReader *r, const char *want) {
    if (!want) return 0;
    char kind[64];
    snprintf(kind, sizeof kind, "%s", want);
    char *role = strchr(kind, ':');
    if (role) *role++ = '\0';
    const char *role_have = json_string_value(json_object_get(r->header, "role"));
    int ok = !strcmp(r->kind, kind) && (!role || (role_have && !strcmp(role_have, role)));
    if (ok) return 0;
    const char *article = strchr("aeiou", (role ? role : kind)[0]) ? "an" : "a";
    return seterr(r, "expected %s %s stream, got %s", article, role ? role : kind,
                  kind_label(r->header));
}

static int read_header(StReader *r, const char *want_kind) {
    int partial;
    int got = next_object(r, &partial);
    if (got == 0) return seterr(r, "empty input: not a sparsetune stream");
    if (got < 0) {
        if (partial) return seterr(r, "truncated stream: incomplete header");
        if (r->io_error) return -1;
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", r->err);
        return seterr(r, "not a msgpack stream (%s)", tmp);
    }
    const msgpack_object *h = &r->res.data;
    if (h->type != MSGPACK_OBJECT_MAP)
        return seterr(r, "not a sparsetune stream (the first object is %s, not the header map)",
                      st_msgpack_type_name(h));
    const msgpack_object *s = map_get(h, "stream");
    if (!s || s->type != MSGPACK_OBJECT_STR || s->via.str.size != 10 ||
        memcmp(s->via.str.ptr, "sparsetune", 10) != 0)
        return seterr(r, "not a sparsetune stream (header has no \"stream\":\"sparsetune\")");
    const msgpack_object *v = map_get(h, "version");
    if (!v || (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER))
        return seterr(r, "stream header has no integer \"version\"");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != ST_STREAM_VERSION)
        return seterr(r, "unsupported stream version %lld (this build reads version %d)",
                      v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long long)v->via.u64
                                                                 : (long long)v->via.i64,
                      ST_STREAM_VERSION);
    char cerr[256];
    r->header = st_msgpack_to_json_strict(h, cerr, sizeof cerr);
    if (!r->header) return seterr(r, "malformed stream header: %s", cerr);
    json_t *kind = json_object_get(r->header, "kind");
    if (!json_is_string(kind) || !json_string_length(kind))
        return seterr(r, "stream header has no \"kind\" string");
    json_t *prov = json_object_get(r->header, "provenance");
    if (prov && !json_is_array(prov)) return seterr(r, "stream header: \"provenance\" is not an array");
    r->kind = xstrdup(json_string_value(kind));
    return check_kind(r, want_kind);
}

StReader *st_reader_try_open_fp(FILE *fp, const char *name, const char *kind, char *err,
                                size_t errlen) {
    StReader *r = xcalloc(1, sizeof *r);
    r->fp = fp;
    r->name = xstrdup(name ? name : "<stdin>");
    r->up = msgpack_unpacker_new(MSGPACK_UNPACKER_INIT_BUFFER_SIZE);
    if (!r->up) die(NULL, "out of memory");
    msgpack_unpacked_init(&r->res);
    r->sha = sha256_new();
    if (read_header(r, kind) < 0) {
        if (err && errlen) snprintf(err, errlen, "%s", r->err);
        st_reader_close(r);
        return NULL;
    }
    return r;
}

StReader *st_reader_open_fp(FILE *fp, const char *name, const char *kind) {
    char err[512];
    StReader *r = st_reader_try_open_fp(fp, name, kind, err, sizeof err);
    if (!r) die(name ? name : "<stdin>", "%s", err);
    return r;
}

StReader *st_reader_open(const char *path, const char *kind) {
    if (!path || !strcmp(path, "-")) return st_reader_open_fp(stdin, "<stdin>", kind);
    FILE *fp = fopen(path, "rb");
    char *member = NULL;
    if (!fp && errno == ENOENT && source_is_archive_path(path)) {
        /* ARCHIVE:MEMBER (sparsetune(7)): the member is read into memory and parsed from there */
        size_t len = 0;
        member = source_read_file(path, &len);
        fp = fmemopen(member, len ? len : 1, "rb");
        if (fp && !len) fgetc(fp); /* an empty member: fmemopen needs a size of at least 1 */
    }
    if (!fp) die(path, "%s", strerror(errno));
    StReader *r = st_reader_open_fp(fp, path, kind);
    r->own_fp = 1;
    r->member = member;
    return r;
}

/* After the end map: nothing may follow. */
static int check_trailing(StReader *r) {
    for (;;) {
        if (msgpack_unpacker_message_size(r->up) > 0)
            return seterr(r, "garbage after the end marker (%llu records)",
                          (unsigned long long)r->count);
        int got = refill(r);
        if (got < 0) return -1;
        if (got == 0) return 0;
    }
}

static int end_marker(StReader *r, const msgpack_object *m, const msgpack_object *end) {
    const msgpack_object *c = map_get(m, "count");
    if (end->type != MSGPACK_OBJECT_BOOLEAN || !end->via.boolean || !c ||
        c->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return seterr(r, "malformed end marker after %llu records (want {\"end\":true,\"count\":N})",
                      (unsigned long long)r->count);
    if (c->via.u64 != r->count)
        return seterr(r, "wrong count: the end marker says %llu records, the stream has %llu",
                      (unsigned long long)c->via.u64, (unsigned long long)r->count);
    if (check_trailing(r) < 0) return -1;
    r->done = 1;
    msgpack_unpacked_destroy(&r->res);
    return 0;
}

/* After a big record has been released: move the bytes read beyond it (at most READ_MAX) into
 * a fresh small unpacker and free the big buffer.  Without this the next record's first keys
 * would be parsed inside the big buffer and keep it alive (msgpack-c's str/bin objects hold a
 * reference to their buffer) while the next big record accumulates: two records resident. */
static void shrink_buffer(StReader *r) {
    msgpack_unpacker *old = r->up;
    if (old->used + old->free <= SHRINK_ABOVE) return;
    size_t left = old->used - old->off; /* unparsed bytes: the previous record completed */
    msgpack_unpacker *fresh = msgpack_unpacker_new(MSGPACK_UNPACKER_INIT_BUFFER_SIZE);
    if (!fresh || !msgpack_unpacker_reserve_buffer(fresh, left ? left : 1)) die(NULL, "out of memory");
    memcpy(msgpack_unpacker_buffer(fresh), old->buffer + old->off, left);
    msgpack_unpacker_buffer_consumed(fresh, left);
    msgpack_unpacker_free(old);
    r->up = fresh;
}

int st_reader_try_next(StReader *r, StRecord *rec) {
    if (r->done) return 0;
    msgpack_unpacked_destroy(&r->res); /* the previous record: its buffer may now be freed */
    shrink_buffer(r);
    int partial;
    int got = next_object(r, &partial);
    if (got == 0 || partial)
        return seterr(r, "truncated stream: no end marker after %llu records",
                      (unsigned long long)r->count);
    if (got < 0) {
        if (r->io_error) return -1;
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", r->err);
        return seterr(r, "record %llu: %s", (unsigned long long)r->count, tmp);
    }
    const msgpack_object *m = &r->res.data;
    if (m->type != MSGPACK_OBJECT_MAP)
        return seterr(r, "record %llu: malformed record (%s, not a map)",
                      (unsigned long long)r->count, st_msgpack_type_name(m));
    const msgpack_object *end = map_get(m, "end");
    if (end) return end_marker(r, m, end);
    rec->map = m;
    rec->index = r->count++;
    return 1;
}

int st_reader_next(StReader *r, StRecord *rec) {
    int got = st_reader_try_next(r, rec);
    if (got < 0) die(r->name, "%s", r->err);
    return got;
}

const char *st_reader_error(const StReader *r) { return r->err; }
json_t *st_reader_header(StReader *r) { return r->header; }
const char *st_reader_kind(StReader *r) { return r->kind; }
const char *st_reader_name(StReader *r) { return r->name; }
uint64_t st_reader_count(const StReader *r) { return r->count; }

void st_reader_sha256(StReader *r, char hex[65]) {
    if (!r->done) die(r->name, "internal error: input digest requested before the end of the stream");
    memcpy(hex, r->sha_hex, 65);
}

void st_reader_close(StReader *r) {
    if (!r) return;
    msgpack_unpacked_destroy(&r->res);
    if (r->up) msgpack_unpacker_free(r->up);
    if (r->sha) {
        char tmp[65];
        sha256_final_hex(r->sha, tmp); /* frees it */
    }
    if (r->own_fp) fclose(r->fp);
    free(r->member);
    json_decref(r->header);
    free(r->kind);
    free(r->name);
    free(r);
}

/* ======================= record fields ======================= */

void st_reader_die(StReader *r, const StRecord *rec, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (rec) die(r->name, "record %llu: %s", (unsigned long long)rec->index, msg);
    die(r->name, "%s", msg);
}

const msgpack_object *st_rec_get(const StRecord *rec, const char *key) {
    return map_get(rec->map, key);
}

int st_rec_has(const StRecord *rec, const char *key) { return st_rec_get(rec, key) != NULL; }

static const msgpack_object *req(StReader *r, const StRecord *rec, const char *key) {
    const msgpack_object *o = st_rec_get(rec, key);
    if (!o) st_reader_die(r, rec, "missing field '%s'", key);
    return o;
}

static _Noreturn void wrong_type(StReader *r, const StRecord *rec, const char *key,
                                 const char *want, const msgpack_object *o) {
    st_reader_die(r, rec, "field '%s': expected %s, got %s", key, want, st_msgpack_type_name(o));
}

const char *st_rec_str_req(StReader *r, const StRecord *rec, const char *key, size_t *len) {
    const msgpack_object *o = req(r, rec, key);
    if (o->type != MSGPACK_OBJECT_STR) wrong_type(r, rec, key, "a string", o);
    if (len) *len = o->via.str.size;
    return o->via.str.ptr;
}

void st_rec_strcpy_req(StReader *r, const StRecord *rec, const char *key, char *buf, size_t n) {
    size_t len;
    const char *s = st_rec_str_req(r, rec, key, &len);
    if (len >= n || memchr(s, '\0', len))
        st_reader_die(r, rec, "field '%s': string too long or contains NUL", key);
    memcpy(buf, s, len);
    buf[len] = '\0';
}

int64_t st_rec_int_req(StReader *r, const StRecord *rec, const char *key) {
    const msgpack_object *o = req(r, rec, key);
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return o->via.i64;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX)
        return (int64_t)o->via.u64;
    wrong_type(r, rec, key, "an integer", o);
}

double st_rec_num_req(StReader *r, const StRecord *rec, const char *key) {
    const msgpack_object *o = req(r, rec, key);
    switch (o->type) {
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)o->via.i64;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)o->via.u64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return o->via.f64;
    default: wrong_type(r, rec, key, "a number", o);
    }
}

const void *st_rec_bin_req(StReader *r, const StRecord *rec, const char *key, size_t *len) {
    const msgpack_object *o = req(r, rec, key);
    if (o->type != MSGPACK_OBJECT_BIN) wrong_type(r, rec, key, "binary data", o);
    if (len) *len = o->via.bin.size;
    return o->via.bin.ptr;
}

int st_rec_shape_req(StReader *r, const StRecord *rec, const char *key, int64_t dims[8]) {
    const msgpack_object *o = req(r, rec, key);
    if (o->type != MSGPACK_OBJECT_ARRAY) wrong_type(r, rec, key, "an array of dimensions", o);
    if (o->via.array.size > 8)
        st_reader_die(r, rec, "field '%s': %u dimensions (at most 8)", key, o->via.array.size);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *d = &o->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > (uint64_t)1 << 40)
            st_reader_die(r, rec, "field '%s': dimension %u is not a non-negative integer", key, i);
        dims[i] = (int64_t)d->via.u64;
    }
    return (int)o->via.array.size;
}
