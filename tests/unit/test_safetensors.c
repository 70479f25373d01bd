/* Unit tests of lib/safetensors.c: conversions, round trip, validation, interop with Python. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "die_capture.h"
#include "harness.h"
#include "safetensors.h"
#include "source.h"
#include "util.h"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---------------------------------------------------------------- conversions */

TEST(f16_to_f32_known_bits) {
    CHECK(f16_to_f32(0x3c00) == 1.0f);
    CHECK(f16_to_f32(0xc000) == -2.0f);
    CHECK(f16_to_f32(0x7bff) == 65504.0f);
    CHECK(f16_to_f32(0x0400) == 0x1p-14f);  /* smallest normal */
    CHECK(f16_to_f32(0x0001) == 0x1p-24f);  /* smallest subnormal */
    CHECK(f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    CHECK(f16_to_f32(0x3555) == 0x1.554p-2f); /* 0.333251953125 */
    CHECK_EQ_INT(fbits(f16_to_f32(0x8000)), 0x80000000u);
    CHECK(f16_to_f32(0x7c00) == INFINITY);
    CHECK(f16_to_f32(0xfc00) == -INFINITY);
    CHECK(isnan(f16_to_f32(0x7e00)));
    CHECK(isnan(f16_to_f32(0x7c01)));
}

TEST(f32_to_f16_rounding) {
    CHECK_EQ_INT(f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(f32_to_f16(0.1f), 0x2e66);
    CHECK_EQ_INT(f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(f32_to_f16(65519.0f), 0x7bff);  /* below the midpoint to 65536 */
    CHECK_EQ_INT(f32_to_f16(65520.0f), 0x7c00);  /* the midpoint rounds (to even) to inf */
    CHECK_EQ_INT(f32_to_f16(1e30f), 0x7c00);
    CHECK_EQ_INT(f32_to_f16(-INFINITY), 0xfc00);
    CHECK_EQ_INT(f32_to_f16(0x1p-25f), 0x0000);        /* tie between 0 and 2^-24: even */
    CHECK_EQ_INT(f32_to_f16(0x1.000002p-25f), 0x0001); /* just above the tie */
    CHECK_EQ_INT(f32_to_f16(0x1.8p-24f), 0x0002);      /* 1.5 ulp: tie to even 2 */
    CHECK_EQ_INT(f32_to_f16(0x1.4p-23f), 0x0002);      /* 2.5 ulp: tie to even 2 */
    CHECK_EQ_INT(f32_to_f16(1e-8f), 0x0000);
    CHECK_EQ_INT(f32_to_f16(-0.0f), 0x8000);
    CHECK_EQ_INT(f32_to_f16(0x1.ff8p-15f), 0x03ff);  /* largest subnormal */
    CHECK_EQ_INT(f32_to_f16(0x1.ffap-15f), 0x03ff);  /* below the midpoint */
    CHECK_EQ_INT(f32_to_f16(0x1.ffcp-15f), 0x0400);  /* midpoint: to even, into the normals */
    CHECK_EQ_INT(f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie: even mantissa stays */
    CHECK_EQ_INT(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02); /* tie: odd mantissa rounds up */
    CHECK_EQ_INT(f32_to_f16(NAN) & 0x7e00, 0x7e00);
    /* Every finite or infinite f16 survives f16 -> f32 -> f16. */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN */
        if (f32_to_f16(f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(f32_to_f16_matches_compiler_float16) {
#if defined(__FLT16_MAX__)
    /* GCC's _Float16 conversion is IEEE round-to-nearest-even: use it as an oracle on a
     * sweep of bit patterns across every exponent. */
    int bad = 0;
    for (uint64_t u = 0; u < 0x100000000ull; u += 0x3f1d) {
        float f = bitsf((uint32_t)u);
        if (isnan(f)) continue;
        _Float16 h = (_Float16)f;
        uint16_t hb;
        memcpy(&hb, &h, 2);
        if (f32_to_f16(f) != hb && bad++ < 5)
            harness_fail(__FILE__, __LINE__, "f32 %08x: %04x vs %04x", (unsigned)u,
                         f32_to_f16(f), hb);
    }
    CHECK_EQ_INT(bad, 0);
#else
    harness_skip("compiler has no _Float16");
#endif
}

TEST(bf16_conversions) {
    CHECK(bf16_to_f32(0x3f80) == 1.0f);
    CHECK(bf16_to_f32(0x4049) == 3.140625f);
    CHECK(bf16_to_f32(0xff80) == -INFINITY);
    CHECK(bf16_to_f32(0x0001) == bitsf(0x00010000u)); /* subnormal */
    CHECK_EQ_INT(f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(f32_to_bf16(bitsf(0x3f808000u)), 0x3f80); /* tie, even: down */
    CHECK_EQ_INT(f32_to_bf16(bitsf(0x3f818000u)), 0x3f82); /* tie, odd: up */
    CHECK_EQ_INT(f32_to_bf16(bitsf(0x3f808001u)), 0x3f81);
    CHECK_EQ_INT(f32_to_bf16(bitsf(0x3f807fffu)), 0x3f80);
    CHECK_EQ_INT(f32_to_bf16(FLT_MAX), 0x7f80); /* rounds to inf */
    CHECK_EQ_INT(f32_to_bf16(-0.0f), 0x8000);
    CHECK_EQ_INT(f32_to_bf16(bitsf(0x7f800001u)) & 0x7fc0, 0x7fc0); /* sNaN stays a NaN */
    CHECK_EQ_INT(f32_to_bf16(bitsf(0xffc00000u)), 0xffc0);
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
        if (f32_to_bf16(bf16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(st_dtype_names_and_sizes) {
    StDtype d;
    CHECK(st_dtype_parse("BF16", &d) == 0 && d == ST_BF16);
    CHECK(st_dtype_parse("bf16", &d) == -1);
    CHECK(st_dtype_parse("F8_E4M3", &d) == -1);
    CHECK_STR(st_dtype_name(ST_I64), "I64");
    CHECK_EQ_INT(st_dtype_size(ST_F64), 8);
    CHECK_EQ_INT(st_dtype_size(ST_BOOL), 1);
    CHECK_EQ_INT(st_dtype_size(ST_F16), 2);
}

/* ---------------------------------------------------------------- the shared test tensors */

/* Same formula as tests/fixtures/safetensors/interop.py: exact in float32. */
static float val(uint64_t i, float scale) {
    double v = (double)((i * 2654435761ull) % 1000003ull) / 1024.0 - 400.0;
    return (float)v * scale;
}

static const float specials[] = {0.0f,  -0.0f,          1.0f,           -2.5f,   65504.0f,
                                 65519.0f, 65520.0f,    1e-8f,          3e-8f,   0x1p-25f,
                                 0x1.8p-24f, FLT_MAX,   INFINITY,       -INFINITY, 0.1f,
                                 (float)(1.0 / 3.0), NAN};
#define NSPEC ((int)(sizeof specials / sizeof specials[0]))

typedef struct {
    float a[15];
    uint16_t b[32 + NSPEC], c[24 + NSPEC];
    float bsrc[32 + NSPEC], csrc[24 + NSPEC];
    int64_t d[4];
    float f;
} Tensors;

static void make_tensors(Tensors *t) {
    for (int i = 0; i < 15; i++) t->a[i] = val((uint64_t)i, 1.0f);
    for (int i = 0; i < 32 + NSPEC; i++) {
        t->bsrc[i] = i < 32 ? val((uint64_t)i, 0x1p-16f) : specials[i - 32];
        t->b[i] = f32_to_f16(t->bsrc[i]);
    }
    for (int i = 0; i < 24 + NSPEC; i++) {
        t->csrc[i] = i < 24 ? val((uint64_t)i, 1.0f) : specials[i - 24];
        t->c[i] = f32_to_bf16(t->csrc[i]);
    }
    int64_t d[4] = {-3, 0, (int64_t)1 << 40, 7};
    memcpy(t->d, d, sizeof d);
    t->f = 42.5f;
}

static void write_tensors(const Tensors *t, const char *path) {
    SafeTensorsWriter *w = safetensors_writer_new();
    safetensors_writer_meta(w, "format", "pt");
    safetensors_writer_meta(w, "writer", "sparsetune");
    int64_t sa[2] = {3, 5}, sb[1] = {32 + NSPEC}, sc[1] = {24 + NSPEC}, sd[1] = {4}, se[1] = {0};
    safetensors_writer_add(w, "a.f32", ST_F32, sa, 2, t->a);
    safetensors_writer_add(w, "b.f16", ST_F16, sb, 1, t->b);
    safetensors_writer_add(w, "c.bf16", ST_BF16, sc, 1, t->c);
    safetensors_writer_add(w, "d.i64", ST_I64, sd, 1, t->d);
    safetensors_writer_add(w, "e.u8", ST_U8, se, 1, NULL);
    safetensors_writer_add(w, "f.scalar", ST_F32, NULL, 0, &t->f);
    safetensors_writer_save(w, path);
}

/* 16-bit floats equal bit for bit, except that any NaN equals any NaN (payloads differ
 * between implementations: torch writes bfloat16 NaN as 0xffff). */
static int same_bits16(const void *data, const uint16_t *want, int n, uint16_t exp_mask,
                       uint16_t mant_mask) {
    for (int i = 0; i < n; i++) {
        uint16_t g;
        memcpy(&g, (const unsigned char *)data + 2 * i, 2);
        int gn = (g & exp_mask) == exp_mask && (g & mant_mask);
        int wn = (want[i] & exp_mask) == exp_mask && (want[i] & mant_mask);
        if (gn && wn) continue;
        if (g != want[i]) {
            fprintf(stderr, "    element %d: %04x vs %04x\n", i, g, want[i]);
            return 0;
        }
    }
    return 1;
}

/* Checks the tensors read back (from our writer or from Python's). */
static void check_tensors(const SafeTensors *st, const Tensors *t) {
    CHECK_EQ_INT(st->n, 6);
    const SafeTensor *a = safetensors_find(st, "a.f32");
    CHECK(a && a->dtype == ST_F32 && a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 5 &&
          a->numel == 15 && a->nbytes == 60);
    if (a) CHECK(memcmp(a->data, t->a, 60) == 0);
    const SafeTensor *b = safetensors_find(st, "b.f16");
    CHECK(b && b->dtype == ST_F16 && b->numel == 32 + NSPEC);
    if (b) {
        CHECK(same_bits16(b->data, t->b, 32 + NSPEC, 0x7c00, 0x3ff));
        float out[32 + NSPEC];
        safetensor_to_f32(b, out);
        for (int i = 0; i < 32 + NSPEC; i++)
            CHECK(fbits(out[i]) == fbits(f16_to_f32(t->b[i])));
    }
    const SafeTensor *c = safetensors_find(st, "c.bf16");
    CHECK(c && c->dtype == ST_BF16 && c->numel == 24 + NSPEC);
    if (c) {
        CHECK(same_bits16(c->data, t->c, 24 + NSPEC, 0x7f80, 0x7f));
        float out[24 + NSPEC];
        safetensor_to_f32(c, out);
        for (int i = 0; i < 24; i++) CHECK(out[i] == bf16_to_f32(t->c[i]));
    }
    const SafeTensor *d = safetensors_find(st, "d.i64");
    CHECK(d && d->dtype == ST_I64 && d->nbytes == 32);
    if (d) {
        CHECK(memcmp(d->data, t->d, 32) == 0);
        float out[4];
        safetensor_to_f32(d, out);
        CHECK(out[2] == 0x1p40f && out[0] == -3.0f);
    }
    const SafeTensor *e = safetensors_find(st, "e.u8");
    CHECK(e && e->dtype == ST_U8 && e->ndim == 1 && e->shape[0] == 0 && e->numel == 0 &&
          e->nbytes == 0);
    const SafeTensor *f = safetensors_find(st, "f.scalar");
    CHECK(f && f->ndim == 0 && f->numel == 1);
    if (f) {
        float v;
        safetensor_to_f32(f, &v);
        CHECK(v == 42.5f);
    }
    CHECK(safetensors_find(st, "nope") == NULL);
    CHECK_STR(safetensors_meta(st, "format"), "pt");
    CHECK(safetensors_meta(st, "nope") == NULL);
}

static char *read_all(const char *path, size_t *len) { return read_whole_file(path, len); }

TEST(safetensors_round_trip) {
    char *dir = make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    Tensors t;
    make_tensors(&t);
    write_tensors(&t, path);

    /* The header: a multiple of 8, declaration order, contiguous offsets, spaces. */
    size_t len;
    unsigned char *raw = (unsigned char *)read_all(path, &len);
    uint64_t hlen;
    memcpy(&hlen, raw, 8);
    CHECK_EQ_INT(hlen % 8, 0);
    CHECK(raw[8] == '{');
    CHECK(raw[8 + hlen - 1] == '}' || raw[8 + hlen - 1] == ' ');
    const char *h = (const char *)raw + 8;
    const char *pa = strstr(h, "\"a.f32\""), *pf = strstr(h, "\"f.scalar\"");
    const char *pm = strstr(h, "\"__metadata__\"");
    CHECK(pa && pf && pm && pm < pa && pa < pf);
    CHECK(strstr(h, "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[3,5],\"data_offsets\":[0,60]}"));
    CHECK(strstr(h, "\"f.scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":"));

    SafeTensors *st = safetensors_open(path);
    check_tensors(st, &t);
    /* File order: sorted by offsets = declaration order. */
    CHECK_STR(st->t[0].name, "a.f32");
    CHECK_STR(st->t[5].name, "f.scalar");
    CHECK((const unsigned char *)st->t[0].data == (const unsigned char *)st->map + 8 + hlen);
    safetensors_close(st);

    /* From an unaligned buffer in memory (borrowed): no misaligned loads (UBSan). */
    unsigned char *shifted = malloc(len + 1);
    memcpy(shifted + 1, raw, len);
    char err[256];
    st = safetensors_parse(shifted + 1, len, 0, "mem", err, sizeof err);
    CHECK(st != NULL);
    if (st) check_tensors(st, &t), safetensors_close(st);
    free(shifted);
    /* Owned buffer. */
    st = safetensors_from_buffer(raw, len, "owned");
    check_tensors(st, &t);
    safetensors_close(st);
    rm_tree(dir);
}

TEST(safetensors_writer_empty_and_stdout_free) {
    char *dir = make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/e.safetensors", dir);
    safetensors_writer_save(safetensors_writer_new(), path);
    size_t len;
    char *raw = read_all(path, &len);
    /* As the reference writes an empty file: {} padded to 8. */
    CHECK_EQ_INT(len, 16);
    CHECK(memcmp(raw, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0);
    SafeTensors *st = safetensors_from_buffer(raw, len, "empty");
    CHECK_EQ_INT(st->n, 0);
    safetensors_close(st);
    /* No temporary left behind. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    CHECK(system(cmd) == 0);
    rm_tree(dir);
}

/* ---------------------------------------------------------------- validation */

/* 8-byte length + header text + data_len bytes of data; hlen_override when != -1. */
static unsigned char *mk(const char *json, size_t data_len, long long hlen_override,
                         size_t *len) {
    size_t h = strlen(json);
    *len = 8 + h + data_len;
    unsigned char *b = calloc(1, *len + 1);
    uint64_t n = hlen_override >= 0 ? (uint64_t)hlen_override : h;
    memcpy(b, &n, 8);
    memcpy(b + 8, json, h);
    return b;
}

/* Parses and expects failure with `want` in the message. */
static void expect_bad(const char *json, size_t data_len, long long hlen, const char *want,
                       int line) {
    size_t len;
    unsigned char *b = mk(json, data_len, hlen, &len);
    char err[512] = "";
    SafeTensors *st = safetensors_parse(b, len, 1, "t", err, sizeof err);
    if (st) {
        harness_fail(__FILE__, line, "accepted invalid input %s", json);
        safetensors_close(st);
    } else if (!strstr(err, want)) {
        harness_fail(__FILE__, line, "message '%s' lacks '%s'", err, want);
    }
}
#define BAD(json, dlen, want) expect_bad(json, dlen, -1, want, __LINE__)

static int parses(const char *json, size_t data_len) {
    size_t len;
    unsigned char *b = mk(json, data_len, -1, &len);
    char err[512];
    SafeTensors *st = safetensors_parse(b, len, 1, "t", err, sizeof err);
    if (!st) fprintf(stderr, "    unexpected: %s\n", err);
    int ok = st != NULL;
    safetensors_close(st);
    return ok;
}

#define T1 "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

TEST(safetensors_accepts_valid_headers) {
    CHECK(parses("{}", 0));
    CHECK(parses("{" T1 "}", 8));
    CHECK(parses("{" T1 "}   ", 8)); /* space padding */
    CHECK(parses("{\"__metadata__\":{\"format\":\"pt\"}," T1 "}", 8));
    /* Any order of entries; zero-size tensors anywhere. */
    CHECK(parses("{\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}," T1
                 ",\"z\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[8,8]}}",
                 11));
    CHECK(parses("{\"x\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[0,1]},"
                 "\"extra\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[1,2],\"note\":1}}",
                 2));
}

TEST(safetensors_rejects_bad_header_length) {
    size_t len;
    char err[256];
    unsigned char *b = mk("", 0, 0, &len);
    CHECK(safetensors_parse(b, 5, 1, "t", err, sizeof err) == NULL); /* < 8 bytes */
    CHECK(strstr(err, "too short"));
    expect_bad("{" T1 "}", 8, 1000, "exceeds the file size", __LINE__);
    expect_bad("{}", 0, 3, "exceeds the file size", __LINE__);
    expect_bad("{}", 0, 100000001, "exceeds the 100000000-byte limit", __LINE__);
    expect_bad("{}", 0, (long long)(~0ull >> 1), "limit", __LINE__);
    expect_bad("{}", 0, 0, "does not start with '{'", __LINE__);
    /* Header length one short: the JSON is cut. */
    expect_bad("{" T1 "}", 8, (long long)strlen("{" T1 "}") - 1, "invalid JSON", __LINE__);
}

TEST(safetensors_rejects_invalid_json) {
    BAD("{\"w\":", 0, "invalid JSON");
    BAD("{\"w\":{\"dtype\":\"F32\",}}", 0, "invalid JSON");
    BAD("{} x", 0, "invalid JSON");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
        "\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
        0, "duplicate");
    BAD("{\"a\":\"\xff\xfe\"}", 0, "invalid JSON"); /* not UTF-8 */
    BAD("[]", 0, "does not start with '{'");
    BAD("{\"w\":[1,2]}", 0, "not a JSON object");
    BAD("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string");
    BAD("{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object");
    BAD("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "missing \"dtype\"");
    BAD("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "missing \"shape\"");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "missing \"data_offsets\"");
}

TEST(safetensors_rejects_unknown_dtype) {
    BAD("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
        "tensor 'w': unsupported dtype 'F8_E4M3'");
    BAD("{\"w\":{\"dtype\":\"float32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "unsupported dtype 'float32'");
    BAD("{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype is not a string");
}

TEST(safetensors_rejects_bad_shapes) {
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
        "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets span 8");
    BAD("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16,
        "shape [2, 2] of F16 needs 8 bytes");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
        "shape[0] is not a non-negative integer");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
        "not a non-negative integer");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "shape is not an array");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
        "\"data_offsets\":[0,8]}}",
        8, "overflows");
    BAD("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", 8,
        "overflows"); /* numel fits, bytes do not */
    BAD("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
        "9 dimensions");
}

TEST(safetensors_rejects_bad_offsets) {
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
        "run past the end of the data section (4 bytes)");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8, "run past the end");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8,
        "end before they begin");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "[begin, end] pair");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8,
        "not non-negative integers");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551615]}}", 8,
        "invalid JSON"); /* jansson: integer overflow */
    /* Overlap: b starts inside a. */
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        12, "tensors 'a' and 'b' overlap");
    /* Aliases: the same bytes twice. */
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        8, "overlap");
    /* A zero-size tensor inside another one. */
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
        8, "overlap");
    /* Gaps and trailing bytes, rejected by the reference implementation too. */
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
        "gap of 4 bytes in the data section before tensor 'a'");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
        12, "gap of 4 bytes");
    BAD("{" T1 "}", 9, "tensors cover 8 bytes of a 9-byte data section");
}

/* ---------------------------------------------------------------- dying entry points */

static void open_arg(void *p) { safetensors_close(safetensors_open(p)); }

TEST(safetensors_open_dies_with_path) {
    char *dir = make_tmpdir();
    char path[512], msg[1024];
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fwrite("\x10\0\0\0\0\0\0\0{\"w\":", 1, 13, f); /* header length past the end */
    fclose(f);
    CHECK_EQ_INT(die_capture(open_arg, path, msg, sizeof msg), 1);
    char want[600];
    snprintf(want, sizeof want, "unit-tests: %s: header length 16 exceeds the file size", path);
    CHECK_MSG(strstr(msg, want) != NULL, "message: %s", msg);

    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    CHECK_EQ_INT(die_capture(open_arg, path, msg, sizeof msg), 1);
    CHECK_MSG(strstr(msg, "missing.safetensors: No such file or directory") != NULL, "%s", msg);

    snprintf(path, sizeof path, "%s/short", dir);
    f = fopen(path, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    CHECK_EQ_INT(die_capture(open_arg, path, msg, sizeof msg), 1);
    CHECK_MSG(strstr(msg, "short: too short for a safetensors file (3 bytes)") != NULL, "%s", msg);

    CHECK_EQ_INT(die_capture(open_arg, dir, msg, sizeof msg), 1);
    CHECK_MSG(strstr(msg, "is a directory") != NULL, "%s", msg);
    rm_tree(dir);
}

static void dup_add(void *p) {
    (void)p;
    SafeTensorsWriter *w = safetensors_writer_new();
    float x = 1;
    int64_t s = 1;
    safetensors_writer_add(w, "a", ST_F32, &s, 1, &x);
    safetensors_writer_add(w, "a", ST_F32, &s, 1, &x);
}

TEST(safetensors_writer_rejects_duplicates) {
    char msg[512];
    CHECK_EQ_INT(die_capture(dup_add, NULL, msg, sizeof msg), 1);
    CHECK_MSG(strstr(msg, "a: safetensors: duplicate tensor name") != NULL, "%s", msg);
}

/* ---------------------------------------------------------------- interop with Python */

TEST(safetensors_interop_with_python_torch) {
    if (system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        harness_skip("/usr/bin/python3 with torch and numpy not available");
        return;
    }
    char script[512];
    snprintf(script, sizeof script, "%s/safetensors/interop.py", harness_fixture_dir());
    struct stat sb;
    if (stat(script, &sb) != 0) {
        harness_fail(__FILE__, __LINE__, "missing %s", script);
        return;
    }
    char *dir = make_tmpdir();
    char ours[512], theirs[512], cmd[2048];
    snprintf(ours, sizeof ours, "%s/ours.safetensors", dir);
    snprintf(theirs, sizeof theirs, "%s/theirs.safetensors", dir);
    Tensors t;
    make_tensors(&t);
    write_tensors(&t, ours);
    /* Python checks our file bit for bit (its own f16/bf16 rounding) and writes its own. */
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", script, ours, theirs);
    CHECK_EQ_INT(system(cmd), 0);
    if (stat(theirs, &sb) == 0) {
        SafeTensors *st = safetensors_open(theirs);
        check_tensors(st, &t);
        /* Python sorted by dtype size then name: I64 first. */
        CHECK_STR(st->t[0].name, "d.i64");
        safetensors_close(st);
    }
    rm_tree(dir);
}

/* ---------------------------------------------------------------- loading from sources */

static void load_arg(void *p) {
    Source *s = source_open_dir(p);
    safetensors_close(safetensors_load(s, "bad.safetensors"));
}

TEST(safetensors_load_from_dir_and_archive) {
    if (system("command -v tar >/dev/null") != 0) {
        harness_skip("tar not installed");
        return;
    }
    char *dir = make_tmpdir();
    char p[600], cmd[1400];
    snprintf(p, sizeof p, "%s/model", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/model/model.safetensors", dir);
    Tensors t;
    make_tensors(&t);
    write_tensors(&t, p);
    snprintf(p, sizeof p, "%s/model/bad.safetensors", dir);
    FILE *f = fopen(p, "wb");
    fwrite("\x02\0\0\0\0\0\0\0{}", 1, 10, f);
    fputc('x', f); /* one byte no tensor covers */
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && tar -czf m.tar.gz model", dir);
    CHECK(system(cmd) == 0);

    snprintf(p, sizeof p, "%s/model", dir);
    Source *s = source_open_dir(p);
    SafeTensors *st = safetensors_load(s, "model.safetensors");
    CHECK(st && st->map_kind == 2); /* mmap'ed */
    if (st) check_tensors(st, &t);
    safetensors_close(st);
    CHECK(safetensors_load(s, "nope.safetensors") == NULL);
    source_close(s);

    snprintf(p, sizeof p, "%s/m.tar.gz", dir);
    s = source_open_dir(p);
    st = safetensors_load(s, "model.safetensors");
    CHECK(st && st->map_kind == 1); /* read from the archive */
    if (st) check_tensors(st, &t);
    safetensors_close(st);
    CHECK(safetensors_load(s, "nope.safetensors") == NULL);
    source_close(s);

    char msg[1024], want[800];
    CHECK_EQ_INT(die_capture(load_arg, p, msg, sizeof msg), 1);
    snprintf(want, sizeof want, "%s:model/bad.safetensors: tensors cover 0 bytes of a 1-byte", p);
    CHECK_MSG(strstr(msg, want) != NULL, "%s", msg);
    rm_tree(dir);
}
