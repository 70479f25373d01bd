/* dataread.h — rows of a data file (JSON lines or GLUE-style TSV) as JSON objects.
 *
 * Both formats give one jansson object per row, so task code reads fields the same way:
 * JSON lines keep their types; TSV rows (first row = column names, tab-separated, no quoting,
 * as GLUE ships them) give string fields.  Blank lines are skipped.  Errors name the row:
 * "FILE:LINE: invalid JSON: ...", "FILE:LINE: invalid UTF-8 at byte N", "FILE:LINE: expected 3
 * tab-separated fields, got 2", "FILE: empty input". */
#ifndef SPARSETUNE_DATAREAD_H
#define SPARSETUNE_DATAREAD_H

#include <jansson.h>
#include <stddef.h>

typedef enum { DATA_AUTO, DATA_JSONL, DATA_TSV } DataFormat;

typedef struct DataRow {
    json_t *obj; /* owned by the DataFile */
    long line;   /* 1-based line number in the file */
} DataRow;

/* Called for each row by datafile_read_each; the row is freed when it returns. */
typedef void (*datarow_fn)(const json_t *obj, const char *name, long line, void *ctx);

typedef struct DataFile {
    char *name;  /* path as given, for messages */
    char sha256[65];
    DataRow *rows; /* NULL when read with datafile_read_each */
    size_t n;
    datarow_fn each; /* private */
    void *each_ctx;
} DataFile;

/* Read a whole file (plain path, "-" or ARCHIVE:MEMBER), parse every row, die on errors. */
DataFile *datafile_read(const char *path, DataFormat fmt);
/* Stream the rows to fn one at a time instead of keeping them (n and sha256 are still set):
 * a large file never holds all its rows as JSON at once. */
DataFile *datafile_read_each(const char *path, DataFormat fmt, datarow_fn fn, void *ctx);
/* Parse rows from a buffer (used by datafile_read and tests); dies with name:line messages. */
DataFile *datafile_parse(const char *buf, size_t len, const char *name, DataFormat fmt);
void datafile_free(DataFile *f);
/* Format from a name: ".tsv" (also inside ARCHIVE:MEMBER) -> TSV, otherwise JSON lines. */
DataFormat dataformat_guess(const char *path);

#endif
