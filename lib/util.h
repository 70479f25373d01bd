/* util.h — error reporting, checked allocation, atomic output files.
 *
 * Every tool reports errors as "tool: where: what" on stderr and exits 1 for bad
 * input / runtime failure, 2 for usage errors (DESIGN.md, Conventions). */
#ifndef SPARSETUNE_UTIL_H
#define SPARSETUNE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SPARSETUNE_VERSION "0.1.0"

#define EXIT_BAD 1   /* bad input or runtime failure */
#define EXIT_USAGE 2 /* command-line misuse */

/* Name of the running tool, used as the first field of every error message. */
extern const char *st_progname;
void st_set_progname(const char *argv0);

/* Called by die() before exiting, e.g. to remove a half-written output file. */
void st_atexit_cleanup(void (*fn)(void));

/* "tool: where: what\n" then exit(EXIT_BAD).  where may be NULL. */
_Noreturn void die(const char *where, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, exit code 2, followed by "Try 'tool --help'". */
_Noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only the "Try 'tool --help'" line and exit 2: after getopt has printed what was wrong. */
_Noreturn void die_usage_hint(void);
/* Run the cleanup (remove temporary outputs, registered functions) and exit with code; for
 * tools that stop on a signal after saving their state. */
_Noreturn void exit_after_cleanup(int code);
/* Print a warning in the same format, do not exit. */
void warnx_st(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Aligned allocation (64 bytes) for tensors; free with free(). */
void *xmalloc_aligned(size_t n);

/* Read a whole file (or "-" for stdin) into memory; adds a trailing NUL not counted in *len.
 * Dies with "tool: path: reason" on failure. */
char *read_whole_file(const char *path, size_t *len);

/* Output file handling: out_open(path) returns stdout for NULL/"-" (refusing a terminal when
 * binary != 0), otherwise a temporary file next to path that out_commit() renames into place.
 * If the tool dies before out_commit(), the temporary file is removed: no partial outputs.
 * A path that exists and is not a regular file (/dev/null, /dev/stdout, a FIFO) is written
 * directly: renaming a temporary file onto it would replace the device or pipe. */
typedef struct OutFile {
    FILE *fp;
    char *path;     /* final path, NULL for stdout */
    char *tmp_path; /* temporary path, NULL for stdout and direct writes */
} OutFile;
OutFile *out_open(const char *path, int binary);
void out_commit(OutFile *o); /* flush, fsync-free close, rename; dies on write errors */

/* Parse numbers from option arguments; die_usage with the option name on failure. */
long parse_long(const char *opt, const char *s, long lo, long hi);
double parse_double(const char *opt, const char *s, double lo, double hi);

/* Current UTC time as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes); the time of
 * SOURCE_DATE_EPOCH (seconds since 1970) when that is set. */
void utc_now_iso(char *buf, size_t n);

/* True when the file descriptor is a terminal (progress output goes only there). */
int is_tty(int fd);

#endif
