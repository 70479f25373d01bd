/* source.h — read files from a plain path, a directory, or inside an archive (libarchive).
 *
 * Path syntax (documented in sparsetune(7)):
 *   ARCHIVE                 an archive (.zip .tar .tar.gz .tgz .tar.xz .txz .tar.bz2 .tar.zst)
 *   ARCHIVE:MEMBER          a member file or directory inside it, e.g.
 *                           glue.zip:RTE/train.tsv   models.tar.gz:roberta-base
 * A path that exists on disk is always taken literally, so a file whose name contains
 * ".zip:" still works.  When a whole archive stands for a directory (a model) and its members
 * all sit under one top-level folder, that folder is the directory. */
#ifndef SPARSETUNE_SOURCE_H
#define SPARSETUNE_SOURCE_H

#include <stddef.h>

/* Read one file: a plain path, "-" (stdin) or ARCHIVE:MEMBER.  Returns a malloc'ed buffer with
 * a trailing NUL (not counted in *len).  Dies "tool: path: what" on failure, including
 * truncated or unreadable archives and missing members. */
char *source_read_file(const char *path, size_t *len);

/* A directory-like source: a real directory, an archive, or ARCHIVE:DIR. */
typedef struct Source Source;
Source *source_open_dir(const char *path);
/* Read the file `name` (relative to the directory); NULL with *len = 0 if absent (so callers
 * can try alternatives such as vocab.json / encoder.json); dies on read errors. */
char *source_dir_read(Source *s, const char *name, size_t *len);
const char *source_name(const Source *s);
void source_close(Source *s);

/* True if the path names an archive or an archive member (by extension). */
int source_is_archive_path(const char *path);

#endif
