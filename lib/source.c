/* source.c — plain files, directories, and files or directories inside archives (libarchive).
 * Path syntax and caching policy: see source.h. */
#include "source.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util.h"

static int64_t cache_member_max = (int64_t)64 << 20;
static int64_t cache_total_max = (int64_t)256 << 20;

void source_set_cache_limits(size_t member_max, size_t total_max) {
    cache_member_max = (int64_t)member_max;
    cache_total_max = (int64_t)total_max;
}

static const char *const archive_exts[] = {".zip",     ".tar", ".tar.gz", ".tgz",
                                           ".tar.xz",  ".txz", ".tar.bz2", ".tbz2",
                                           ".tar.zst", ".tzst"};

static int has_archive_ext(const char *s, size_t n) {
    for (size_t i = 0; i < sizeof archive_exts / sizeof archive_exts[0]; i++) {
        size_t m = strlen(archive_exts[i]);
        if (n > m && strncasecmp(s + n - m, archive_exts[i], m) == 0) return 1;
    }
    return 0;
}

static int path_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Splits ARCHIVE:MEMBER at the first ':' whose left part is an existing file with an archive
 * extension, else at the first ':' whose left part merely has one (the open then reports that
 * the archive is missing).  Returns 0 when the path has no such form. */
static int split_archive_path(const char *path, char **archive, char **member) {
    const char *fallback = NULL;
    for (const char *c = strchr(path, ':'); c; c = strchr(c + 1, ':')) {
        size_t n = (size_t)(c - path);
        if (!has_archive_ext(path, n)) continue;
        char *a = xmalloc(n + 1);
        memcpy(a, path, n);
        a[n] = '\0';
        if (path_exists(a)) {
            *archive = a;
            *member = xstrdup(c + 1);
            return 1;
        }
        free(a);
        if (!fallback) fallback = c;
    }
    if (!fallback) return 0;
    size_t n = (size_t)(fallback - path);
    *archive = xmalloc(n + 1);
    memcpy(*archive, path, n);
    (*archive)[n] = '\0';
    *member = xstrdup(fallback + 1);
    return 1;
}

int source_is_archive_path(const char *path) {
    if (has_archive_ext(path, strlen(path))) return 1;
    char *a, *m;
    if (!split_archive_path(path, &a, &m)) return 0;
    free(a);
    free(m);
    return 1;
}

/* Member names compare without a leading "./" or "/" and without a trailing "/". */
static char *norm_name(const char *s) {
    for (;;) {
        if (s[0] == '.' && s[1] == '/') s += 2;
        else if (s[0] == '/') s++;
        else break;
    }
    if (strcmp(s, ".") == 0) s = "";
    char *d = xstrdup(s);
    size_t n = strlen(d);
    while (n > 0 && d[n - 1] == '/') d[--n] = '\0';
    return d;
}

/* ---------------------------------------------------------------- libarchive helpers */

static _Noreturn void ar_die(struct archive *a, const char *apath, const char *fallback) {
    const char *msg = archive_error_string(a);
    if (!msg || !*msg) msg = fallback;
    /* libarchive says only this for a zip cut before its central directory. */
    if (strstr(msg, "Unrecognized archive format"))
        die(apath, "%s (truncated, or not a zip/tar archive?)", msg);
    die(apath, "%s", msg);
}

static struct archive *ar_open(const char *apath) {
    struct stat sb;
    if (stat(apath, &sb) != 0) die(apath, "%s", strerror(errno));
    if (S_ISDIR(sb.st_mode)) die(apath, "is a directory, not an archive");
    struct archive *a = archive_read_new();
    if (!a) die(apath, "out of memory");
    size_t n = strlen(apath);
    if (n >= 4 && strcasecmp(apath + n - 4, ".zip") == 0) {
        /* Read zips through their central directory: a zip without one (truncated) is an
         * error, not a stream of whatever local entries happen to survive. */
        archive_read_support_format_zip_seekable(a);
    } else {
        /* Only tar (ustar, pax, GNU): "all formats" would take any text file for an mtree
         * spec and report its lines as members. */
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_empty(a);
    }
    if (archive_read_open_filename(a, apath, 1 << 16) != ARCHIVE_OK)
        ar_die(a, apath, "cannot open archive");
    return a;
}


/* Next header, NULL at the end; dies on a corrupt or truncated archive. */
static struct archive_entry *ar_next(struct archive *a, const char *apath) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) return NULL;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) ar_die(a, apath, "corrupt or truncated archive");
    return e;
}

static const char *entry_name(struct archive_entry *e) {
    const char *p = archive_entry_pathname(e);
    return p ? p : archive_entry_pathname_utf8(e);
}

/* Reads the current entry's data (malloc'ed, NUL-terminated). */
static char *ar_read_data(struct archive *a, struct archive_entry *e, const char *apath,
                          const char *member, size_t *len) {
    int64_t hint = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    /* The header's size is untrusted: start at most at 64 MiB and grow. */
    const int64_t first_max = (int64_t)64 << 20;
    size_t cap = hint > 0 && hint < first_max ? (size_t)hint + 1 : (size_t)1 << 16;
    if (hint >= first_max) cap = (size_t)first_max;
    char *buf = xmalloc(cap);
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        la_ssize_t got = archive_read_data(a, buf + n, cap - n - 1);
        if (got < 0) {
            const char *msg = archive_error_string(a);
            die(apath, "%s: %s", member, msg && *msg ? msg : "read error");
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Scans apath for the regular file `want` (normalised) and returns its data. */
static char *ar_read_member(const char *apath, const char *want, const char *shown,
                            size_t *len) {
    struct archive *a = ar_open(apath);
    struct archive_entry *e;
    char *buf = NULL;
    while ((e = ar_next(a, apath))) {
        const char *nm = entry_name(e);
        if (!nm) continue;
        char *n = norm_name(nm);
        int hit = strcmp(n, want) == 0;
        free(n);
        if (!hit) continue;
        if (archive_entry_filetype(e) == AE_IFDIR) die(apath, "'%s' is a directory", shown);
        if (archive_entry_filetype(e) != AE_IFREG) die(apath, "'%s' is not a regular file", shown);
        buf = ar_read_data(a, e, apath, shown, len);
        break;
    }
    archive_read_free(a);
    if (!buf) die(apath, "no member '%s'", shown);
    return buf;
}

char *source_read_file(const char *path, size_t *len) {
    size_t dummy;
    if (!len) len = &dummy;
    if (strcmp(path, "-") == 0 || path_exists(path)) {
        struct stat sb;
        if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            die(path, "is a directory");
        return read_whole_file(path, len);
    }
    char *apath, *member;
    if (!split_archive_path(path, &apath, &member)) return read_whole_file(path, len);
    char *want = norm_name(member);
    if (!*want) die(path, "no archive member named after ':'");
    char *buf = ar_read_member(apath, want, member, len);
    free(want);
    free(apath);
    free(member);
    return buf;
}

/* ---------------------------------------------------------------- directory sources */

typedef struct {
    char *name; /* relative to the directory inside the archive */
    char *data; /* cached contents or NULL */
    size_t len;
} Member;

struct Source {
    char *name;    /* as given by the user */
    int is_archive;
    char *path;    /* real directory or archive file */
    char *prefix;  /* inside the archive: "" or "folder/" */
    Member *m;
    int n;
};

typedef struct {
    char *name;
    int is_dir;
    char *data;
    size_t len;
} Entry;

/* Whole archive: the single top-level folder all entries sit in, or NULL. */
static char *common_top(Entry *es, int n) {
    char *top = NULL;
    for (int i = 0; i < n; i++) {
        const char *nm = es[i].name;
        if (!*nm) continue;
        const char *slash = strchr(nm, '/');
        size_t k = slash ? (size_t)(slash - nm) : strlen(nm);
        if (!slash && !es[i].is_dir) { /* a file at the top level */
            free(top);
            return NULL;
        }
        if (!top) {
            top = xmalloc(k + 1);
            memcpy(top, nm, k);
            top[k] = '\0';
        } else if (strlen(top) != k || strncmp(top, nm, k) != 0) {
            free(top);
            return NULL;
        }
    }
    return top;
}

static void scan_archive(Source *s, const char *dir) {
    struct archive *a = ar_open(s->path);
    Entry *es = NULL;
    int n = 0, cap = 0;
    int64_t cached = 0;
    size_t dlen = strlen(dir);
    struct archive_entry *e;
    while ((e = ar_next(a, s->path))) {
        const char *nm = entry_name(e);
        if (!nm) continue;
        int type = archive_entry_filetype(e);
        if (type != AE_IFREG && type != AE_IFDIR) continue;
        if (n == cap) es = xrealloc(es, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *es);
        Entry *x = &es[n++];
        memset(x, 0, sizeof *x);
        x->name = norm_name(nm);
        x->is_dir = type == AE_IFDIR;
        /* Keep small files that may belong to the directory: they cost no extra scan. */
        int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        int inside = !dlen || (strncmp(x->name, dir, dlen) == 0 && x->name[dlen] == '/');
        if (!x->is_dir && inside && size >= 0 && size <= cache_member_max &&
            cached + size <= cache_total_max) {
            x->data = ar_read_data(a, e, s->path, x->name, &x->len);
            cached += (int64_t)x->len;
        }
    }
    archive_read_free(a);

    if (dlen) {
        int found = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(es[i].name, dir) == 0 && !es[i].is_dir)
                die(s->path, "'%s' is a file, not a directory", dir);
            if (strcmp(es[i].name, dir) == 0 ||
                (strncmp(es[i].name, dir, dlen) == 0 && es[i].name[dlen] == '/'))
                found = 1;
        }
        if (!found) die(s->path, "no directory '%s'", dir);
        s->prefix = xmalloc(dlen + 2);
        snprintf(s->prefix, dlen + 2, "%s/", dir);
    } else {
        char *top = common_top(es, n);
        if (top) {
            size_t k = strlen(top) + 2;
            s->prefix = xmalloc(k);
            snprintf(s->prefix, k, "%s/", top);
            free(top);
        } else {
            s->prefix = xstrdup("");
        }
    }
    size_t plen = strlen(s->prefix);
    s->m = xcalloc(n ? (size_t)n : 1, sizeof *s->m);
    for (int i = 0; i < n; i++) {
        Entry *x = &es[i];
        int keep = !x->is_dir && strncmp(x->name, s->prefix, plen) == 0 && x->name[plen];
        for (int j = 0; keep && j < s->n; j++)
            if (strcmp(s->m[j].name, x->name + plen) == 0) keep = 0; /* first one wins */
        if (keep) {
            s->m[s->n].name = xstrdup(x->name + plen);
            s->m[s->n].data = x->data;
            s->m[s->n].len = x->len;
            s->n++;
        } else {
            free(x->data);
        }
        free(x->name);
    }
    free(es);
}

Source *source_open_dir(const char *path) {
    Source *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(path);
    struct stat sb;
    int stat_errno = stat(path, &sb) == 0 ? 0 : errno;
    if (!stat_errno) {
        if (S_ISDIR(sb.st_mode)) {
            s->path = xstrdup(path);
            return s;
        }
        if (!has_archive_ext(path, strlen(path)))
            die(path, "not a directory or an archive (.zip .tar .tar.gz .tgz .tar.xz .tar.bz2 "
                      ".tar.zst)");
        s->is_archive = 1;
        s->path = xstrdup(path);
        scan_archive(s, "");
        return s;
    }
    char *apath, *member;
    if (!split_archive_path(path, &apath, &member)) die(path, "%s", strerror(stat_errno));
    s->is_archive = 1;
    s->path = apath;
    char *dir = norm_name(member);
    free(member);
    scan_archive(s, dir);
    free(dir);
    return s;
}

static Member *find_member(Source *s, const char *name) {
    char *n = norm_name(name);
    Member *hit = NULL;
    for (int i = 0; i < s->n && !hit; i++)
        if (strcmp(s->m[i].name, n) == 0) hit = &s->m[i];
    free(n);
    return hit;
}

static char *join(const char *a, const char *sep, const char *b) {
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *p = xmalloc(n);
    snprintf(p, n, "%s%s%s", a, sep, b);
    return p;
}

char *source_dir_read(Source *s, const char *name, size_t *len) {
    size_t dummy;
    if (!len) len = &dummy;
    *len = 0;
    if (!s->is_archive) {
        char *full = join(s->path, "/", name);
        struct stat sb;
        if (stat(full, &sb) != 0) {
            if (errno != ENOENT && errno != ENOTDIR) die(full, "%s", strerror(errno));
            free(full);
            return NULL;
        }
        if (S_ISDIR(sb.st_mode)) die(full, "is a directory");
        char *buf = read_whole_file(full, len);
        free(full);
        return buf;
    }
    Member *m = find_member(s, name);
    if (!m) return NULL;
    if (m->data) {
        char *copy = xmalloc(m->len + 1);
        memcpy(copy, m->data, m->len + 1);
        *len = m->len;
        return copy;
    }
    char *want = join(s->prefix, "", m->name);
    char *buf = ar_read_member(s->path, want, want, len);
    free(want);
    return buf;
}

int source_dir_has(Source *s, const char *name) {
    if (s->is_archive) return find_member(s, name) != NULL;
    char *full = join(s->path, "/", name);
    struct stat sb;
    int ok = stat(full, &sb) == 0 && S_ISREG(sb.st_mode);
    free(full);
    return ok;
}

char *source_dir_file_path(const Source *s, const char *name) {
    if (s->is_archive) return NULL;
    char *full = join(s->path, "/", name);
    struct stat sb;
    if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) return full;
    free(full);
    return NULL;
}

char *source_dir_describe(const Source *s, const char *name) {
    if (!s->is_archive) return join(s->path, "/", name);
    char *inner = join(s->prefix, "", name);
    char *d = join(s->path, ":", inner);
    free(inner);
    return d;
}

const char *source_name(const Source *s) { return s->name; }

void source_close(Source *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->m[i].name);
        free(s->m[i].data);
    }
    free(s->m);
    free(s->name);
    free(s->path);
    free(s->prefix);
    free(s);
}
