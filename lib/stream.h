/* stream.h — the sparsetune stream (man 5 sparsetune-stream), on msgpack-c.
 *
 * A stream is a sequence of msgpack objects:
 *   1. header map {"stream":"sparsetune","version":1,"kind":K, ...meta..., "provenance":[...]}
 *   2. records, one map each
 *   3. end map {"end":true,"count":N}
 * A missing end map or a wrong count means the stream was truncated: the reader fails naming
 * the file.  Headers are handled as jansson objects (they are small; integers stay integers,
 * reals stay floats); records are msgpack maps read zero-copy: binary fields point into the
 * reader's buffer and stay valid until the next st_reader_next() call, so a tensor of
 * hundreds of MB is held once.  Such pointers are NOT aligned: read elements with memcpy or
 * the helpers of stream_tensor.h, never through a cast to float * (UBSan rejects it).
 *
 * Every reading function has a dying form (message "tool: FILE: what", exit 1) for tools and
 * a non-dying st_reader_try_* form (returns an error, message in st_reader_error()) for
 * tests and for callers that want to recover. */
#ifndef SPARSETUNE_STREAM_H
#define SPARSETUNE_STREAM_H

#include <jansson.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define ST_STREAM_VERSION 1

/* ---- writing ---- */
typedef struct StWriter StWriter;

/* Writes the header: {"stream","version","kind"} followed by every key of meta (borrowed,
 * may be NULL; the keys stream/version/kind/provenance are reserved) and "provenance"
 * (borrowed array, may be NULL → empty).  Write errors die with "tool: write error: ...". */
StWriter *st_writer_open(FILE *fp, const char *kind, json_t *meta, json_t *provenance);
/* Writes the end map and frees the writer; flushes but does not close fp. */
void st_writer_close(StWriter *w);
uint64_t st_writer_count(const StWriter *w);

/* A record is a map of n_fields key/value pairs: begin it, then pack exactly n_fields pairs
 * with the st_put_* helpers (or raw msgpack through st_writer_packer after st_put_key).
 * A record with a wrong number of keys is a programming error: the next begin/close dies. */
void st_record_begin(StWriter *w, uint32_t n_fields);
msgpack_packer *st_writer_packer(StWriter *w);
void st_put_key(StWriter *w, const char *key);
void st_put_str(StWriter *w, const char *key, const char *value);
void st_put_int(StWriter *w, const char *key, int64_t value);
void st_put_uint(StWriter *w, const char *key, uint64_t value);
void st_put_double(StWriter *w, const char *key, double value);
void st_put_float(StWriter *w, const char *key, float value); /* msgpack float32 */
void st_put_bool(StWriter *w, const char *key, int value);
void st_put_bin(StWriter *w, const char *key, const void *data, size_t len);
/* A bin written in pieces (e.g. converted on the fly): begin with the total length, then
 * st_put_bin_part() calls whose lengths add up to exactly len. */
void st_put_bin_begin(StWriter *w, const char *key, size_t len);
void st_put_bin_part(StWriter *w, const void *data, size_t len);
void st_put_shape(StWriter *w, const char *key, const int64_t *dims, int ndim);
/* Any JSON value (objects, arrays, numbers, strings) packed as msgpack. */
void st_put_json(StWriter *w, const char *key, json_t *value);
/* A whole record from a JSON object (small records only: no binary data). */
void st_write_json_record(StWriter *w, json_t *obj);
/* Packs a JSON value as msgpack (integers as ints, reals as float64). */
void st_pack_json(msgpack_packer *pk, json_t *value);

/* ---- reading ---- */
typedef struct StReader StReader;

typedef struct StRecord {
    const msgpack_object *map; /* the record map, valid until the next st_reader_next() */
    uint64_t index;            /* 0-based position of the record in the stream */
} StRecord;

/* Opens path ("-" or NULL for stdin) and reads the header; dies with "tool: path: what" on
 * anything that is not a sparsetune stream.  kind (may be NULL: any) is the expected kind;
 * "tensors:grads" also requires the header's "role" to be "grads". */
StReader *st_reader_open(const char *path, const char *kind);
/* Same, on an already open FILE (name used in messages; the FILE is not closed). */
StReader *st_reader_open_fp(FILE *fp, const char *name, const char *kind);
json_t *st_reader_header(StReader *r); /* borrowed */
const char *st_reader_kind(StReader *r);
const char *st_reader_name(StReader *r); /* "<stdin>" for standard input */
/* 1: *rec holds the next record; 0: end reached, its count verified and no byte follows it.
 * Dies on truncation, a wrong count, garbage after the end map, a record that is not a map,
 * or malformed msgpack. */
int st_reader_next(StReader *r, StRecord *rec);
/* Records read so far. */
uint64_t st_reader_count(const StReader *r);
/* SHA-256 (hex, 64 chars + NUL) of every byte of the input.  Only available once next()
 * returned 0 (the reader reads to EOF to check for trailing garbage, so it is the digest of
 * the whole file, the same as sha256sum's); earlier calls die (programming error). */
void st_reader_sha256(StReader *r, char hex[65]);
/* Closes the file if the reader opened it; frees everything. */
void st_reader_close(StReader *r);

/* Non-dying forms.  try_open returns NULL and writes "what" (without the file name) into err;
 * try_next returns 1 / 0 as next() does, or -1 with the message in st_reader_error(). */
StReader *st_reader_try_open_fp(FILE *fp, const char *name, const char *kind, char *err,
                                size_t errlen);
int st_reader_try_next(StReader *r, StRecord *rec);
const char *st_reader_error(const StReader *r);

/* Record field access.  The _req variants die with "FILE: record N: missing field 'x'" or
 * "FILE: record N: field 'x': expected ..., got ...". */
const msgpack_object *st_rec_get(const StRecord *rec, const char *key);
int st_rec_has(const StRecord *rec, const char *key);
/* String fields are not NUL-terminated: *len gives the length. */
const char *st_rec_str_req(StReader *r, const StRecord *rec, const char *key, size_t *len);
/* Copies a string field into buf (NUL-terminated); dies when it does not fit. */
void st_rec_strcpy_req(StReader *r, const StRecord *rec, const char *key, char *buf, size_t n);
int64_t st_rec_int_req(StReader *r, const StRecord *rec, const char *key);
double st_rec_num_req(StReader *r, const StRecord *rec, const char *key);
const void *st_rec_bin_req(StReader *r, const StRecord *rec, const char *key, size_t *len);
/* Shape as int64 dims (each >= 0); returns ndim (<= 8). */
int st_rec_shape_req(StReader *r, const StRecord *rec, const char *key, int64_t dims[8]);

/* Any msgpack object to JSON (bin fields become {"bin": nbytes}, non-finite floats null,
 * non-string map keys stringified); never fails. */
json_t *st_msgpack_to_json(const msgpack_object *o);
/* Strict form used for headers: NULL and a message in err for bin/ext values, non-string
 * keys, invalid UTF-8, non-finite floats or integers beyond int64. */
json_t *st_msgpack_to_json_strict(const msgpack_object *o, char *err, size_t errlen);
/* "a map", "an integer", ... for messages. */
const char *st_msgpack_type_name(const msgpack_object *o);
/* "tool: FILE: record N: what" (rec may be NULL: "tool: FILE: what"), exit 1. */
_Noreturn void st_reader_die(StReader *r, const StRecord *rec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
