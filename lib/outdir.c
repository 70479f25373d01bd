/* outdir.c — atomically written output directories (outdir.h). */
#include "outdir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define OUTDIR_FILES 16
static char tmpdir[4000], final[4000];
static char files[OUTDIR_FILES][256];
static int n_files;

static void cleanup(void) {
    if (!tmpdir[0]) return;
    char path[8200]; /* gcc bounds files[i] by the whole array */
    for (int i = 0; i < n_files; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

void outdir_open(const char *outdir) {
    struct stat sb;
    if (stat(outdir, &sb) == 0) die(outdir, "already exists");
    snprintf(final, sizeof final, "%s", outdir);
    snprintf(tmpdir, sizeof tmpdir, "%s.tmp.%ld", outdir, (long)getpid());
    if (mkdir(tmpdir, 0777) != 0) die(tmpdir, "cannot create: %s", strerror(errno));
    n_files = 0;
    st_atexit_cleanup(cleanup);
}

const char *outdir_path(const char *name) {
    static char path[4400];
    if (n_files == OUTDIR_FILES || strchr(name, '/')) die(final, "cannot add file %s", name);
    snprintf(files[n_files++], sizeof files[0], "%s", name);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

void outdir_write(const char *name, const void *data, size_t len) {
    const char *path = outdir_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path, "cannot create: %s", strerror(errno));
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0) die(path, "write error: %s", strerror(errno));
}

void outdir_commit(void) {
    if (rename(tmpdir, final) != 0) die(final, "cannot rename into place: %s", strerror(errno));
    tmpdir[0] = '\0';
}
