/* stream.h — the sparsetune stream (man 5 sparsetune-stream), on msgpack-c.
 *
 * A stream is a sequence of msgpack objects:
 *   1. header map {"stream":"sparsetune","version":1,"kind":K, ...meta..., "provenance":[...]}
 *   2. records, one map each
 *   3. end map {"end":true,"count":N}
 * A missing end map or a wrong count means the stream was truncated: the reader dies naming
 * the file.  Headers are handled as jansson objects (they are small); records are msgpack
 * maps read zero-copy: binary fields point into the reader's buffer and stay valid until the
 * next st_reader_next() call, so a tensor of hundreds of MB is held once. */
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
 * may be NULL) and "provenance" (borrowed array, may be NULL → empty). */
StWriter *st_writer_open(FILE *fp, const char *kind, json_t *meta, json_t *provenance);
/* Writes the end map and frees the writer; does not close fp. */
void st_writer_close(StWriter *w);
uint64_t st_writer_count(const StWriter *w);

/* A record is a map of n_fields key/value pairs: begin it, then pack exactly n_fields pairs
 * with the st_put_* helpers (or raw msgpack through st_writer_packer after st_put_key). */
void st_record_begin(StWriter *w, uint32_t n_fields);
msgpack_packer *st_writer_packer(StWriter *w);
void st_put_key(StWriter *w, const char *key);
void st_put_str(StWriter *w, const char *key, const char *value);
void st_put_int(StWriter *w, const char *key, int64_t value);
void st_put_uint(StWriter *w, const char *key, uint64_t value);
void st_put_double(StWriter *w, const char *key, double value);
void st_put_bool(StWriter *w, const char *key, int value);
void st_put_bin(StWriter *w, const char *key, const void *data, size_t len);
void st_put_shape(StWriter *w, const char *key, const int64_t *dims, int ndim);
/* Any JSON value (objects, arrays, numbers, strings) packed as msgpack. */
void st_put_json(StWriter *w, const char *key, json_t *value);
/* A whole record from a JSON object (small records only: no binary data). */
void st_write_json_record(StWriter *w, json_t *obj);

/* ---- reading ---- */
typedef struct StReader StReader;

typedef struct StRecord {
    const msgpack_object *map; /* the record map, valid until the next st_reader_next() */
    uint64_t index;            /* 0-based position of the record in the stream */
} StRecord;

/* Opens path ("-" or NULL for stdin) and reads the header; dies with "tool: path: what" on
 * anything that is not a sparsetune stream.  If kind is non-NULL the header kind must match. */
StReader *st_reader_open(const char *path, const char *kind);
/* Same, on an already open FILE (name used in messages). */
StReader *st_reader_open_fp(FILE *fp, const char *name, const char *kind);
json_t *st_reader_header(StReader *r); /* borrowed */
const char *st_reader_kind(StReader *r);
const char *st_reader_name(StReader *r);
/* 1: *rec holds the next record; 0: end reached and its count verified.  Dies on truncation,
 * a wrong count, or malformed msgpack. */
int st_reader_next(StReader *r, StRecord *rec);
/* SHA-256 (hex, 64 chars + NUL) of every byte read so far; complete once next() returned 0. */
void st_reader_sha256(StReader *r, char hex[65]);
void st_reader_close(StReader *r);

/* Record field access.  The _req variants die with "path: record N: missing/invalid field". */
const msgpack_object *st_rec_get(const StRecord *rec, const char *key);
int st_rec_has(const StRecord *rec, const char *key);
const char *st_rec_str_req(StReader *r, const StRecord *rec, const char *key, size_t *len);
int64_t st_rec_int_req(StReader *r, const StRecord *rec, const char *key);
double st_rec_num_req(StReader *r, const StRecord *rec, const char *key);
const void *st_rec_bin_req(StReader *r, const StRecord *rec, const char *key, size_t *len);
/* Shape as int64 dims; returns ndim (≤ 8). */
int st_rec_shape_req(StReader *r, const StRecord *rec, const char *key, int64_t dims[8]);
/* Any msgpack object to JSON (bin fields become {"bin": nbytes}); used for headers. */
json_t *st_msgpack_to_json(const msgpack_object *o);
_Noreturn void st_reader_die(StReader *r, const StRecord *rec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
