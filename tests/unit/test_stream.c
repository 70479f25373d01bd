/* Unit tests of lib/stream.c, lib/stream_tensor.c, lib/npy.c and the statistics of
 * lib/stream_show.c.  Error paths go through the non-dying st_reader_try_* API; the dying
 * accessors are checked in a fork()ed child (exit status and message). */
#include <msgpack/fbuffer.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "safetensors.h"
#include "hash.h"
#include "mpscan.h"
#include "npy.h"
#include "provenance.h"
#include "stream.h"
#include "stream_show.h"
#include "stream_tensor.h"

/* ---------- helpers ---------- */

typedef struct {
    char *buf;
    size_t len;
} Mem;

/* A whole stream written by build(w) into memory. */
static Mem write_stream(const char *kind, json_t *meta, void (*build)(StWriter *)) {
    Mem m = {NULL, 0};
    FILE *fp = open_memstream(&m.buf, &m.len);
    json_t *prov = json_array();
    StWriter *w = st_writer_open(fp, kind, meta, prov);
    if (build) build(w);
    st_writer_close(w);
    fclose(fp);
    json_decref(prov);
    return m;
}

/* Reads a stream held in memory to the end; returns the number of records, or -1 with the
 * message in err. */
static long read_all(const void *buf, size_t len, const char *kind, char *err, size_t errlen) {
    FILE *fp = len ? fmemopen((void *)buf, len, "rb") : fopen("/dev/null", "rb");
    if (!fp) return -2;
    StReader *r = st_reader_try_open_fp(fp, "mem", kind, err, errlen);
    long n = -1;
    if (r) {
        StRecord rec;
        int got;
        while ((got = st_reader_try_next(r, &rec)) == 1) {}
        if (got == 0) n = (long)st_reader_count(r);
        else snprintf(err, errlen, "%s", st_reader_error(r));
        st_reader_close(r);
    }
    fclose(fp);
    return n;
}

static void build_small(StWriter *w) {
    float v[6] = {1, -2, 3, -4, 5, -6};
    int64_t shape[2] = {2, 3};
    st_put_tensor(w, "a.weight", ST_F32, shape, 2, v);
    uint32_t idx[2] = {1, 4};
    st_put_mask(w, "a.weight", shape, 2, idx, 2);
    st_record_begin(w, 2);
    st_put_int(w, "idx", -7);
    st_put_double(w, "label", 0.25);
}

/* Runs fn in a child; returns its exit status and its stderr in err. */
static int run_child(void (*fn)(void *), void *ctx, char *err, size_t errlen) {
    int p[2];
    if (pipe(p) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        fn(ctx);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < errlen && (got = read(p[0], err + n, errlen - 1 - n)) > 0) n += (size_t)got;
    err[n] = '\0';
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---------- round trip ---------- */

static uint8_t big[3 * 1024 * 1024 + 5];

static void build_roundtrip(StWriter *w) {
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 2654435761u >> 13);
    st_record_begin(w, 3);
    st_put_str(w, "name", "big");
    st_put_bin(w, "data", big, sizeof big);
    st_put_bool(w, "flag", 1);
    /* the same bytes written in pieces */
    st_record_begin(w, 1);
    st_put_bin_begin(w, "data", sizeof big);
    st_put_bin_part(w, big, 1000);
    st_put_bin_part(w, big + 1000, sizeof big - 1000);
    json_t *j = json_pack("{s:i, s:f, s:[i,i], s:s}", "n", 3, "x", 0.5, "pair", 1, 2, "s", "é");
    st_write_json_record(w, j);
    json_decref(j);
    st_record_begin(w, 2);
    st_put_float(w, "f", 0.1f);
    st_put_uint(w, "u", UINT64_MAX);
}

TEST(stream_roundtrip) {
    json_t *meta = json_pack("{s:s, s:i, s:f, s:[s,s], s:{s:b}}", "role", "grads", "steps", 700,
                             "ratio", 0.005, "labels", "no", "yes", "nested", "ok", 1);
    char *argv[] = {"tool", "--x", "1"};
    json_t *prov = prov_chain(NULL, prov_entry(3, argv));
    Mem m = {NULL, 0};
    FILE *fp = open_memstream(&m.buf, &m.len);
    StWriter *w = st_writer_open(fp, "tensors", meta, prov);
    build_roundtrip(w);
    CHECK_EQ_INT(st_writer_count(w), 4);
    st_writer_close(w);
    fclose(fp);

    FILE *in = fmemopen(m.buf, m.len, "rb");
    char err[512];
    StReader *r = st_reader_try_open_fp(in, "mem", "tensors:grads", err, sizeof err);
    CHECK_MSG(r != NULL, "open: %s", err);
    if (!r) return;
    json_t *h = st_reader_header(r);
    CHECK_STR(st_reader_kind(r), "tensors");
    CHECK(json_is_integer(json_object_get(h, "steps")));
    CHECK_EQ_INT(json_integer_value(json_object_get(h, "steps")), 700);
    CHECK(json_is_real(json_object_get(h, "ratio")));
    CHECK_NEAR(json_real_value(json_object_get(h, "ratio")), 0.005, 0);
    CHECK(json_equal(json_object_get(h, "labels"), json_object_get(meta, "labels")));
    CHECK(json_equal(json_object_get(h, "nested"), json_object_get(meta, "nested")));
    CHECK(json_equal(json_object_get(h, "provenance"), prov));
    CHECK_EQ_INT(json_integer_value(json_object_get(h, "version")), 1);

    StRecord rec;
    CHECK_EQ_INT(st_reader_try_next(r, &rec), 1);
    size_t n;
    const void *p = st_rec_get(&rec, "data")->via.bin.ptr;
    n = st_rec_get(&rec, "data")->via.bin.size;
    CHECK_EQ_INT(n, sizeof big);
    CHECK(memcmp(p, big, sizeof big) == 0);
    CHECK(st_rec_get(&rec, "flag")->via.boolean);
    CHECK_EQ_INT(rec.index, 0);
    CHECK_EQ_INT(st_reader_try_next(r, &rec), 1);
    CHECK_EQ_INT(st_rec_get(&rec, "data")->via.bin.size, sizeof big);
    CHECK(memcmp(st_rec_get(&rec, "data")->via.bin.ptr, big, sizeof big) == 0);
    CHECK_EQ_INT(st_reader_try_next(r, &rec), 1);
    json_t *j = st_msgpack_to_json(rec.map);
    json_t *want = json_pack("{s:i, s:f, s:[i,i], s:s}", "n", 3, "x", 0.5, "pair", 1, 2, "s", "é");
    CHECK(json_equal(j, want));
    json_decref(j);
    json_decref(want);
    CHECK_EQ_INT(st_reader_try_next(r, &rec), 1);
    CHECK(st_rec_get(&rec, "f")->type == MSGPACK_OBJECT_FLOAT32);
    CHECK_NEAR(st_rec_get(&rec, "f")->via.f64, 0.1f, 0);
    CHECK(st_rec_get(&rec, "u")->via.u64 == UINT64_MAX);
    CHECK_EQ_INT(st_reader_try_next(r, &rec), 0);
    CHECK_EQ_INT(st_reader_try_next(r, &rec), 0);
    CHECK_EQ_INT(st_reader_count(r), 4);
    char hex[65], want_hex[65];
    st_reader_sha256(r, hex);
    sha256_hex(m.buf, m.len, want_hex);
    CHECK_STR(hex, want_hex);
    st_reader_close(r);
    fclose(in);
    free(m.buf);
    json_decref(meta);
    json_decref(prov);
}

/* Records bigger than one read (16 MiB) through a real file. */
TEST(stream_record_larger_than_read_chunk) {
    FILE *fp = tmpfile();
    StWriter *w = st_writer_open(fp, "tensors", NULL, NULL);
    size_t n = 20u << 20;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(i * 31 + (i >> 11));
    for (int rep = 0; rep < 2; rep++) {
        st_record_begin(w, 1);
        st_put_bin(w, "data", d, n);
    }
    st_writer_close(w);
    rewind(fp);
    StReader *r = st_reader_open_fp(fp, "tmp", "tensors");
    StRecord rec;
    int k = 0;
    while (st_reader_next(r, &rec)) {
        size_t len;
        const void *p = st_rec_bin_req(r, &rec, "data", &len);
        CHECK_EQ_INT(len, n);
        CHECK(memcmp(p, d, n) == 0);
        k++;
    }
    CHECK_EQ_INT(k, 2);
    st_reader_close(r);
    fclose(fp);
    free(d);
}

/* ---------- errors ---------- */

TEST(stream_truncation_at_every_offset) {
    Mem m = write_stream("tensors", NULL, build_small);
    long full = read_all(m.buf, m.len, NULL, (char[256]){0}, 256);
    CHECK_EQ_INT(full, 3);
    for (size_t len = 0; len < m.len; len++) {
        char err[256] = "";
        long n = read_all(m.buf, len, NULL, err, sizeof err);
        CHECK_MSG(n == -1, "cut at %zu of %zu bytes not detected (n=%ld)", len, m.len, n);
        CHECK_MSG(strstr(err, "truncated") || strstr(err, "empty input"),
                  "cut at %zu: unexpected message '%s'", len, err);
    }
    free(m.buf);
}

static void expect_error(const void *buf, size_t len, const char *kind, const char *want) {
    char err[256] = "";
    long n = read_all(buf, len, kind, err, sizeof err);
    CHECK_MSG(n == -1, "expected an error '%s', read %ld records", want, n);
    CHECK_MSG(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
}

/* Hand-packed msgpack: a header map, then whatever the test appends. */
static Mem hand_stream(const char *kind, int version, void (*more)(msgpack_packer *)) {
    Mem m = {NULL, 0};
    FILE *fp = open_memstream(&m.buf, &m.len);
    msgpack_packer pk;
    msgpack_packer_init(&pk, fp, msgpack_fbuffer_write);
    json_t *h = json_pack("{s:s, s:i, s:s, s:[]}", "stream", "sparsetune", "version", version,
                          "kind", kind, "provenance");
    st_pack_json(&pk, h);
    json_decref(h);
    if (more) more(&pk);
    fclose(fp);
    return m;
}

static void end_map(msgpack_packer *pk, uint64_t count) {
    json_t *e = json_pack("{s:b, s:I}", "end", 1, "count", (json_int_t)count);
    st_pack_json(pk, e);
    json_decref(e);
}
static void more_wrong_count(msgpack_packer *pk) {
    json_t *r = json_pack("{s:i}", "idx", 0);
    st_pack_json(pk, r);
    json_decref(r);
    end_map(pk, 2);
}
static void more_not_a_map(msgpack_packer *pk) {
    msgpack_pack_array(pk, 0);
    end_map(pk, 1);
}
static void more_garbage(msgpack_packer *pk) {
    end_map(pk, 0);
    msgpack_pack_int(pk, 1);
}
static void more_bad_end(msgpack_packer *pk) {
    json_t *e = json_pack("{s:b}", "end", 0);
    st_pack_json(pk, e);
    json_decref(e);
}
static void more_end_only(msgpack_packer *pk) { end_map(pk, 0); }

TEST(stream_errors) {
    Mem m;
    expect_error("\xc1\x00", 2, NULL, "not a msgpack stream");
    expect_error("\x05", 1, NULL, "not a sparsetune stream (the first object is an integer");
    expect_error("{\"a\":1}\n", 8, NULL, "not a sparsetune stream");
    expect_error("", 0, NULL, "empty input");
    /* a map without "stream" */
    m = write_stream("x", NULL, NULL);
    m.buf[2] = 'S'; /* "stream" -> "Stream" (fixmap, fixstr header, then the key) */
    expect_error(m.buf, m.len, NULL, "not a sparsetune stream");
    free(m.buf);
    m = hand_stream("tensors", 2, more_end_only);
    expect_error(m.buf, m.len, NULL, "unsupported stream version 2");
    free(m.buf);
    m = hand_stream("grads", 1, more_end_only);
    expect_error(m.buf, m.len, "mask", "expected a mask stream, got grads");
    free(m.buf);
    json_t *meta = json_pack("{s:s}", "role", "grads");
    m = write_stream("tensors", meta, NULL);
    expect_error(m.buf, m.len, "mask", "expected a mask stream, got grads");
    expect_error(m.buf, m.len, "tensors:scores", "expected a scores stream, got grads");
    CHECK_EQ_INT(read_all(m.buf, m.len, "tensors:grads", (char[256]){0}, 256), 0);
    CHECK_EQ_INT(read_all(m.buf, m.len, "tensors", (char[256]){0}, 256), 0);
    free(m.buf);
    json_decref(meta);
    m = hand_stream("examples", 1, more_wrong_count);
    expect_error(m.buf, m.len, NULL, "wrong count: the end marker says 2 records, the stream has 1");
    free(m.buf);
    m = hand_stream("examples", 1, more_not_a_map);
    expect_error(m.buf, m.len, NULL, "record 0: malformed record (an array, not a map)");
    free(m.buf);
    m = hand_stream("examples", 1, more_garbage);
    expect_error(m.buf, m.len, NULL, "garbage after the end marker");
    free(m.buf);
    m = hand_stream("examples", 1, more_bad_end);
    expect_error(m.buf, m.len, NULL, "malformed end marker");
    free(m.buf);
    m = hand_stream("examples", 1, NULL);
    expect_error(m.buf, m.len, NULL, "truncated stream: no end marker after 0 records");
    free(m.buf);
    /* garbage byte that is not msgpack inside the records */
    m = hand_stream("examples", 1, NULL);
    m.buf = realloc(m.buf, m.len + 1);
    m.buf[m.len] = (char)0xc1;
    expect_error(m.buf, m.len + 1, NULL, "record 0: malformed msgpack");
    free(m.buf);
}

/* ---------- dying accessors (in a child) ---------- */

static Mem g_small;

static void child_missing_field(void *ctx) {
    FILE *fp = fmemopen(g_small.buf, g_small.len, "rb");
    StReader *r = st_reader_open_fp(fp, "small.st", NULL);
    StRecord rec;
    st_reader_next(r, &rec);
    st_rec_int_req(r, &rec, (const char *)ctx);
}

static void child_truncated(void *ctx) {
    FILE *fp = fmemopen(g_small.buf, g_small.len - 3, "rb");
    StReader *r = st_reader_open_fp(fp, "cut.st", NULL);
    StRecord rec;
    while (st_reader_next(r, &rec)) {}
}

static void child_wrong_type(void *ctx) {
    FILE *fp = fmemopen(g_small.buf, g_small.len, "rb");
    StReader *r = st_reader_open_fp(fp, "small.st", NULL);
    StRecord rec;
    st_reader_next(r, &rec);
    st_reader_next(r, &rec);
    StTensor t;
    st_tensor_read(r, &rec, &t); /* a mask record: no dtype */
}

TEST(stream_dying_messages) {
    g_small = write_stream("tensors", NULL, build_small);
    char err[512];
    CHECK_EQ_INT(run_child(child_missing_field, "x", err, sizeof err), 1);
    CHECK_STR(err, "unit-tests: small.st: record 0: missing field 'x'\n");
    CHECK_EQ_INT(run_child(child_missing_field, "name", err, sizeof err), 1);
    CHECK_STR(err, "unit-tests: small.st: record 0: field 'name': expected an integer, got a string\n");
    CHECK_EQ_INT(run_child(child_truncated, NULL, err, sizeof err), 1);
    CHECK_STR(err, "unit-tests: cut.st: truncated stream: no end marker after 3 records\n");
    CHECK_EQ_INT(run_child(child_wrong_type, NULL, err, sizeof err), 1);
    CHECK_STR(err, "unit-tests: small.st: record 1: missing field 'dtype'\n");
    free(g_small.buf);
}

/* ---------- typed records ---------- */

static StRecord first_record(const Mem *m, StReader **rp, FILE **fpp) {
    *fpp = fmemopen(m->buf, m->len, "rb");
    *rp = st_reader_open_fp(*fpp, "mem", NULL);
    StRecord rec = {0};
    st_reader_next(*rp, &rec);
    return rec;
}

static json_t *g_rec;
static void build_json_rec(StWriter *w) {
    /* tensor-like records with bins need the raw packer */
    const char *k;
    json_t *v;
    st_record_begin(w, json_object_size(g_rec));
    json_object_foreach(g_rec, k, v) {
        if (json_is_object(v) && json_object_get(v, "hex")) {
            const char *hx = json_string_value(json_object_get(v, "hex"));
            size_t n = strlen(hx) / 2;
            uint8_t b[64];
            for (size_t i = 0; i < n; i++) sscanf(hx + 2 * i, "%2hhx", &b[i]);
            st_put_bin(w, k, b, n);
        } else st_put_json(w, k, v);
    }
}

/* Parses the record described by a JSON spec (bins as {"hex": "..."}) with parser kind 0
 * tensor, 1 mask, 2 sparse delta; returns the parser's status and message. */
static StReader *g_r;
static FILE *g_fp;
static Mem g_m;

/* Closes the reader of the previous parse_spec (its records' data stay valid until then). */
static void spec_done(void) {
    if (g_r) st_reader_close(g_r), fclose(g_fp), free(g_m.buf);
    g_r = NULL;
}

static int parse_spec(const char *spec, int which, char *err, size_t errlen, StTensor *t, StSparse *s) {
    spec_done();
    g_rec = json_loads(spec, 0, NULL);
    g_m = write_stream("x", NULL, build_json_rec);
    StRecord rec = first_record(&g_m, &g_r, &g_fp);
    int rc = which == 0 ? st_tensor_parse(&rec, t, err, errlen)
                        : st_sparse_parse(&rec, which == 2, s, err, errlen);
    json_decref(g_rec);
    return rc;
}

TEST(stream_tensor_records) {
    char err[256];
    StTensor t;
    StSparse s;
    /* f16 [1.0, -2.0] and bf16 [1.5] */
    CHECK_EQ_INT(parse_spec("{\"name\":\"w\",\"dtype\":\"f16\",\"shape\":[2],\"data\":{\"hex\":\"003c00c0\"}}",
                            0, err, sizeof err, &t, &s), 0);
    CHECK_EQ_INT(t.numel, 2);
    CHECK_NEAR(st_tensor_at(&t, 0), 1.0, 0);
    CHECK_NEAR(st_tensor_at(&t, 1), -2.0, 0);
    CHECK_EQ_INT(parse_spec("{\"name\":\"w\",\"dtype\":\"bf16\",\"shape\":[],\"data\":{\"hex\":\"c03f\"}}",
                            0, err, sizeof err, &t, &s), 0);
    CHECK_EQ_INT(t.ndim, 0);
    CHECK_NEAR(st_tensor_at(&t, 0), 1.5, 0);
    CHECK_EQ_INT(parse_spec("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[2],\"data\":{\"hex\":\"0000803f\"}}",
                            0, err, sizeof err, &t, &s), -1);
    CHECK_STR(err, "tensor 'w': data has 4 bytes, shape and dtype need 8");
    CHECK_EQ_INT(parse_spec("{\"name\":\"w\",\"dtype\":\"f64\",\"shape\":[1],\"data\":{\"hex\":\"00\"}}",
                            0, err, sizeof err, &t, &s), -1);
    CHECK_STR(err, "field 'dtype': expected one of f32, bf16, f16, i32");
    CHECK_EQ_INT(parse_spec("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[-1],\"data\":{\"hex\":\"00\"}}",
                            0, err, sizeof err, &t, &s), -1);
    CHECK(strstr(err, "field 'shape'") != NULL);
    CHECK_EQ_INT(parse_spec("{\"dtype\":\"f32\",\"shape\":[1],\"data\":{\"hex\":\"00000000\"}}",
                            0, err, sizeof err, &t, &s), -1);
    CHECK_STR(err, "missing field 'name'");
    /* masks */
    CHECK_EQ_INT(parse_spec("{\"name\":\"m\",\"shape\":[2,3],\"index\":{\"hex\":\"0100000005000000\"}}",
                            1, err, sizeof err, &t, &s), 0);
    CHECK_EQ_INT(s.k, 2);
    CHECK_EQ_INT(st_load_u32(s.index, 1), 5);
    CHECK_EQ_INT(parse_spec("{\"name\":\"m\",\"shape\":[2,3],\"all\":true}", 1, err, sizeof err, &t, &s), 0);
    CHECK(s.all);
    CHECK_EQ_INT(s.k, 6);
    CHECK_EQ_INT(parse_spec("{\"name\":\"m\",\"shape\":[2,3],\"index\":{\"hex\":\"0500000001000000\"}}",
                            1, err, sizeof err, &t, &s), -1);
    CHECK(strstr(err, "not sorted and unique") != NULL);
    CHECK_EQ_INT(parse_spec("{\"name\":\"m\",\"shape\":[2,3],\"index\":{\"hex\":\"0100000001000000\"}}",
                            1, err, sizeof err, &t, &s), -1);
    CHECK(strstr(err, "not sorted and unique") != NULL);
    CHECK_EQ_INT(parse_spec("{\"name\":\"m\",\"shape\":[2,3],\"index\":{\"hex\":\"06000000\"}}",
                            1, err, sizeof err, &t, &s), -1);
    CHECK_STR(err, "'m': index 6 out of range for 6 elements");
    CHECK_EQ_INT(parse_spec("{\"name\":\"m\",\"shape\":[2,3],\"index\":{\"hex\":\"060000\"}}",
                            1, err, sizeof err, &t, &s), -1);
    CHECK(strstr(err, "not a multiple of 4") != NULL);
    /* sparse delta */
    CHECK_EQ_INT(parse_spec("{\"name\":\"d\",\"shape\":[4],\"index\":{\"hex\":\"03000000\"},"
                            "\"value\":{\"hex\":\"000000bf\"}}", 2, err, sizeof err, &t, &s), 0);
    CHECK_NEAR(st_load_f32(s.value, 0), -0.5, 0);
    CHECK_EQ_INT(parse_spec("{\"name\":\"d\",\"shape\":[4],\"index\":{\"hex\":\"03000000\"},"
                            "\"value\":{\"hex\":\"00\"}}", 2, err, sizeof err, &t, &s), -1);
    CHECK(strstr(err, "value has 1 bytes") != NULL);
    CHECK_EQ_INT(parse_spec("{\"name\":\"d\",\"shape\":[4],\"index\":{\"hex\":\"03000000\"}}",
                            2, err, sizeof err, &t, &s), -1);
    CHECK_STR(err, "missing field 'value'");
    spec_done();
}

TEST(stream_half_conversions) {
    CHECK_NEAR(f16_to_f32(0x3c00), 1.0, 0);
    CHECK_NEAR(f16_to_f32(0xc000), -2.0, 0);
    CHECK_NEAR(f16_to_f32(0x7bff), 65504.0, 0);
    CHECK_NEAR(f16_to_f32(0x0001), ldexp(1.0, -24), 0); /* smallest subnormal */
    CHECK_NEAR(f16_to_f32(0x0200), ldexp(1.0, -15), 0);
    CHECK(isinf(f16_to_f32(0x7c00)));
    CHECK(isnan(f16_to_f32(0x7e00)));
    CHECK_NEAR(bf16_to_f32(0x3fc0), 1.5, 0);
    CHECK_NEAR(bf16_to_f32(0xc2f7), -123.5, 0);
}

/* ---------- npy ---------- */

TEST(npy_header_layout) {
    char buf[256];
    int64_t s2[2] = {768, 3072}, s1[1] = {5};
    size_t n = npy_header(buf, sizeof buf, "<f4", s2, 2);
    CHECK_EQ_INT(n, 128);
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK_EQ_INT((uint8_t)buf[8] | (uint8_t)buf[9] << 8, 118);
    CHECK(memcmp(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (768, 3072), }", 64) == 0);
    CHECK_EQ_INT(buf[n - 1], '\n');
    n = npy_header(buf, sizeof buf, "<u4", s1, 1);
    CHECK_EQ_INT(n % 64, 0);
    CHECK(strstr(buf + 10, "'shape': (5,), }") != NULL);
    n = npy_header(buf, sizeof buf, "<i4", NULL, 0);
    CHECK(strstr(buf + 10, "'shape': (), }") != NULL);
    CHECK_EQ_INT(npy_header(buf, 32, "<i4", NULL, 0), 0);
}

/* ---------- statistics ---------- */

static float get_arr(const void *ctx, int64_t i) { return ((const float *)ctx)[i]; }

TEST(stream_topk_and_stats) {
    float v[8] = {0.5f, -3.0f, 2.0f, 3.0f, 0.0f, NAN, -0.25f, 1.0f};
    int64_t pos[4];
    float val[4];
    int m = topk_abs(get_arr, v, 8, 4, pos, val);
    CHECK_EQ_INT(m, 4);
    CHECK_EQ_INT(pos[0], 5); /* NaN first */
    CHECK_EQ_INT(pos[1], 1); /* |-3| ties with 3: lower position first */
    CHECK_EQ_INT(pos[2], 3);
    CHECK_EQ_INT(pos[3], 2);
    CHECK_EQ_INT(topk_abs(get_arr, v, 3, 10, pos, val), 3);
    CHECK_EQ_INT(pos[0], 1);
    CHECK_EQ_INT(pos[2], 0);
    TStats s;
    tstats_f32(v, 8, &s);
    CHECK_EQ_INT(s.n, 8);
    CHECK_EQ_INT(s.nan, 1);
    CHECK_EQ_INT(s.nnz, 6);
    CHECK_NEAR(s.min, -3, 0);
    CHECK_NEAR(s.max, 3, 0);
    CHECK_NEAR(s.sum, 3.25, 1e-12);
    CHECK_NEAR(s.sumsq, 0.25 + 9 + 4 + 9 + 0.0625 + 1, 1e-12);
}

/* ---------- memory: a big record is held once ---------- */

static long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n)) v = atol(line + n + 1);
    fclose(f);
    return v;
}

static const char *g_big_path;
static size_t g_big_bytes;

static void child_peak(void *ctx) {
    long *out = ctx;
    FILE *c = fopen("/proc/self/clear_refs", "w");
    if (!c || fputs("5", c) < 0 || fclose(c) != 0) _exit(3); /* reset the peak (VmHWM) */
    long base = status_kb("VmRSS:");
    StReader *r = st_reader_open(g_big_path, "tensors");
    StRecord rec;
    uint64_t sum = 0;
    while (st_reader_next(r, &rec)) {
        size_t len;
        const uint8_t *p = st_rec_bin_req(r, &rec, "data", &len);
        if (len != g_big_bytes) _exit(4);
        for (size_t i = 0; i < len; i += 4096) sum += p[i];
    }
    st_reader_close(r);
    out[0] = status_kb("VmHWM:") - base;
    fprintf(stderr, "%ld %llu", out[0], (unsigned long long)sum);
}

TEST(stream_peak_rss) {
#ifdef __SANITIZE_ADDRESS__
    /* ASan's realloc always copies and freed blocks stay resident in its quarantine */
    harness_skip("peak RSS is measured on the optimised build (make test SAN=0)");
    return;
#endif
    const size_t mb = 200;
    const double bound = 1.15;
    char path[] = "/tmp/st-peak-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { harness_skip("cannot create a temporary file"); return; }
    FILE *fp = fdopen(fd, "wb");
    StWriter *w = st_writer_open(fp, "tensors", NULL, NULL);
    g_big_bytes = mb << 20;
    uint8_t *chunk = malloc(1 << 20);
    for (int i = 0; i < 1 << 20; i++) chunk[i] = (uint8_t)i;
    for (int rec = 0; rec < 2; rec++) { /* two records: the buffer is reused, not doubled */
        st_record_begin(w, 1);
        st_put_bin_begin(w, "data", g_big_bytes);
        for (size_t i = 0; i < mb; i++) st_put_bin_part(w, chunk, 1 << 20);
    }
    st_writer_close(w);
    fclose(fp);
    free(chunk);
    g_big_path = path;
    char msg[256];
    long res[1] = {0};
    int rc = run_child(child_peak, res, msg, sizeof msg);
    unlink(path);
    if (rc == 3) { harness_skip("/proc/self/clear_refs not writable"); return; }
    CHECK_EQ_INT(rc, 0);
    long peak_kb = atol(msg);
    double ratio = (double)peak_kb / (double)(mb << 10);
    printf("     peak RSS growth reading two %zu MiB records: %.1f MiB (%.2fx one record)\n", mb,
           peak_kb / 1024.0, ratio);
    CHECK_MSG(ratio < bound, "peak RSS %.2fx the record size (bound %.2f)", ratio, bound);
}

/* ---------- pre-scan of container sizes ---------- */

static void more_huge_array(msgpack_packer *pk) {
    msgpack_pack_map(pk, 1);
    msgpack_pack_str(pk, 1);
    msgpack_pack_str_body(pk, "x", 1);
    msgpack_pack_array(pk, 0xffffffffu); /* 4 billion elements declared, none present */
}

TEST(stream_absurd_container_refused_before_allocation) {
    Mem m = hand_stream("examples", 1, more_huge_array);
    expect_error(m.buf, m.len, NULL, "a container of 4294967295 elements (at most 16777216)");
    free(m.buf);
    /* the scanner skips bin bodies whatever bytes they hold, fed one byte at a time */
    uint8_t tok[] = {0xc4, 3, 0xdd, 0xff, 0xff, /* bin8 holding an array32 header */
                     0xd8, 1, 0xdd, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                     0xdc, 0x01, 0x00, 0xde, 0xff, 0xff}; /* fixext16, array16 256, map16 65535 */
    MpScan s = {0};
    for (size_t i = 0; i < sizeof tok; i++) CHECK_EQ_INT(mpscan_feed(&s, tok + i, 1), 0);
    CHECK_EQ_INT(s.offset, sizeof tok);
    uint8_t bad[] = {0x93, 0x01, 0xdf, 0x01, 0x00, 0x00, 0x01};
    MpScan t = {0};
    CHECK_EQ_INT(mpscan_feed(&t, bad, sizeof bad), -1);
    CHECK_EQ_INT(t.bad_offset, 2);
    CHECK_EQ_INT(t.bad_count, 0x01000001);
}

TEST(stream_msgpack_to_json_keys_and_values) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, "\xff", 1);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_bin_with_body(&pk, "xyz", 3);
    msgpack_pack_str_with_body(&pk, "c", 1);
    msgpack_pack_double(&pk, NAN);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    json_t *j = st_msgpack_to_json(&u.data);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"1\":\"a\",\"<invalid UTF-8 key>\":2,\"b\":{\"bin\":3},\"c\":null}");
    free(s);
    json_decref(j);
    char err[128];
    CHECK(st_msgpack_to_json_strict(&u.data, err, sizeof err) == NULL);
    CHECK_STR(err, "map key is an integer, not a string");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}
