/* source.h — read files from a plain path, a directory, or inside an archive (libarchive).
 *
 * Path syntax (documented in sparsetune(7)):
 *   PATH                    a plain file (or "-" for stdin), or a directory
 *   ARCHIVE                 an archive (.zip .tar .tar.gz .tgz .tar.xz .txz .tar.bz2 .tbz2
 *                           .tar.zst .tzst) standing for a directory
 *   ARCHIVE:MEMBER          a member file or directory inside it, e.g.
 *                           glue.zip:RTE/train.tsv   models.tar.gz:roberta-base
 * A path that exists on disk is always taken literally, so a file whose name contains
 * ".zip:" still works.  Otherwise the split is at the first ':' whose left part ends in an
 * archive extension.  Member names are compared after dropping a leading "./" or "/", so
 * archives made with `tar -C dir .` work.  When a whole archive stands for a directory (a
 * model) and its members all sit under one top-level folder, that folder is the directory.
 *
 * Compressed tars are decompressed sequentially: reading a member scans the archive up to it.
 * A directory source scans the archive once when opened and keeps members of up to 64 MiB
 * (256 MiB in all) in memory, so config.json, vocab.json and merges.txt cost no extra scan;
 * larger members (model.safetensors) are read with one more scan. */
#ifndef SPARSETUNE_SOURCE_H
#define SPARSETUNE_SOURCE_H

#include <stddef.h>

/* Read one file: a plain path, "-" (stdin) or ARCHIVE:MEMBER.  Returns a malloc'ed buffer with
 * a trailing NUL (not counted in *len).  Dies "tool: path: what" on failure, including
 * truncated or unreadable archives ("ARCHIVE: <libarchive's message>") and missing members
 * ("ARCHIVE: no member 'x'"). */
char *source_read_file(const char *path, size_t *len);

/* A directory-like source: a real directory, an archive, or ARCHIVE:DIR. Dies when the path
 * is neither, the archive is unreadable, or DIR is not in it. */
typedef struct Source Source;
Source *source_open_dir(const char *path);
/* Read the file `name` (relative to the directory); NULL with *len = 0 if absent (so callers
 * can try alternatives such as vocab.json / encoder.json); dies on read errors. The buffer is
 * malloc'ed with a trailing NUL not counted in *len. */
char *source_dir_read(Source *s, const char *name, size_t *len);
/* 1 if `name` exists in the directory (a regular file), else 0. */
int source_dir_has(Source *s, const char *name);
/* For a real directory: malloc'ed "DIR/name" when that file exists (callers may mmap it);
 * NULL for archives or absent files. */
char *source_dir_file_path(const Source *s, const char *name);
/* "PATH/name" or "ARCHIVE:DIR/name" as the user would write it, for messages (malloc'ed). */
char *source_dir_describe(const Source *s, const char *name);
const char *source_name(const Source *s);
void source_close(Source *s);

/* Change the in-memory cache limits of directory sources (bytes per member, in all);
 * 0, 0 disables caching.  For tests and memory-tight callers. */
void source_set_cache_limits(size_t member_max, size_t total_max);

/* True if the path names an archive or an archive member (by extension). */
int source_is_archive_path(const char *path);

#endif
