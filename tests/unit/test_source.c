/* Unit tests of lib/source.c: plain files, directories and archive members (libarchive).
 * The archives are built in a temporary directory with tar, zip, gzip, xz, bzip2, zstd. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "die_capture.h"
#include "harness.h"
#include "source.h"
#include "util.h"

static const char CONFIG[] = "{\"hidden_size\": 8}\n";
static const char DEEP[] = "deep file\n";

/* The test tree: model/{config.json, bin.dat (all 256 byte values), empty.txt, sub/deep.txt,
 * big.bin (incompressible, 192 KiB), zz_last.txt} and archives of it. NULL when a tool is
 * missing (the test then skips). */
static char *tree;
static pid_t tree_owner; /* children that die() run exit handlers: only the owner cleans up */

static int sh(const char *fmt, const char *arg) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, arg, arg, arg, arg);
    return system(cmd);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static const char *build_tree(void) {
    if (tree) return tree;
    if (system("for t in tar zip gzip xz bzip2 zstd; do command -v $t >/dev/null || exit 1; done") != 0)
        return NULL;
    char *d = make_tmpdir();
    char p[600];
    snprintf(p, sizeof p, "%s/model/sub", d);
    if (sh("mkdir -p '%s/model/sub'", d) != 0) return NULL;
    snprintf(p, sizeof p, "%s/model/config.json", d);
    write_file(p, CONFIG, strlen(CONFIG));
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    snprintf(p, sizeof p, "%s/model/bin.dat", d);
    write_file(p, all, 256);
    snprintf(p, sizeof p, "%s/model/empty.txt", d);
    write_file(p, "", 0);
    snprintf(p, sizeof p, "%s/model/sub/deep.txt", d);
    write_file(p, DEEP, strlen(DEEP));
    /* Incompressible bytes (xorshift), so that half of any archive ends inside them. */
    size_t nb = 192 << 10;
    unsigned char *big = malloc(nb);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < nb; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = (unsigned char)(x >> 32);
    }
    snprintf(p, sizeof p, "%s/model/big.bin", d);
    write_file(p, big, nb);
    free(big);
    snprintf(p, sizeof p, "%s/model/zz_last.txt", d);
    write_file(p, "last\n", 5);
    /* Archives: sorted member order so "zz_last.txt" follows big.bin. */
    const char *cmds[] = {
        "cd '%s' && tar --sort=name -cf m.tar model",
        "cd '%s' && tar --sort=name -czf m.tar.gz model && cp m.tar.gz m.tgz",
        "cd '%s' && tar --sort=name -cJf m.tar.xz model",
        "cd '%s' && tar --sort=name -cjf m.tar.bz2 model",
        "cd '%s' && tar --sort=name --zstd -cf m.tar.zst model",
        "cd '%s' && zip -qr m.zip model",
        "cd '%s/model' && zip -qr ../flat.zip .",               /* no top-level folder */
        "cd '%s' && tar --sort=name -C model -cf dot.tar .",    /* ./config.json ... */
        "cd '%s' && tar -cf two.tar model/config.json model/sub/deep.txt -C model bin.dat",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (sh(cmds[i], d) != 0) {
            harness_fail(__FILE__, __LINE__, "cannot build archives: %s", cmds[i]);
            return NULL;
        }
    tree = d;
    tree_owner = getpid();
    return tree;
}

__attribute__((destructor)) static void remove_tree(void) {
    if (tree && getpid() == tree_owner) rm_tree(tree);
    tree = NULL;
}

#define NEED_TREE()                                                    \
    const char *T = build_tree();                                      \
    if (!T) {                                                          \
        harness_skip("tar/zip/gzip/xz/bzip2/zstd not all installed"); \
        return;                                                        \
    }

/* ---------------------------------------------------------------- helpers for dying paths */

static void read_arg(void *p) {
    size_t len;
    free(source_read_file(p, &len));
}

static void open_dir_arg(void *p) { source_close(source_open_dir(p)); }

typedef struct {
    const char *dir, *name;
} DirRead;

static void dir_read_arg(void *p) {
    DirRead *r = p;
    Source *s = source_open_dir(r->dir);
    size_t len;
    free(source_dir_read(s, r->name, &len));
    source_close(s);
}

static void expect_death(void (*fn)(void *), void *arg, const char *want, int line) {
    char msg[2048];
    int rc = die_capture(fn, arg, msg, sizeof msg);
    if (rc != 1) harness_fail(__FILE__, line, "exit status %d (want 1); stderr: %s", rc, msg);
    else if (!strstr(msg, want)) harness_fail(__FILE__, line, "message '%s' lacks '%s'", msg, want);
}

/* ---------------------------------------------------------------- tests */

static int same_file(const char *buf, size_t len, const char *path) {
    size_t n;
    char *want = read_whole_file(path, &n);
    int ok = n == len && memcmp(buf, want, n) == 0 && buf[len] == '\0';
    free(want);
    return ok;
}

TEST(source_archive_extensions) {
    CHECK(source_is_archive_path("m.zip"));
    CHECK(source_is_archive_path("dir/M.TAR.GZ"));
    CHECK(source_is_archive_path("m.tgz:model/config.json"));
    CHECK(source_is_archive_path("glue.zip:RTE/train.tsv"));
    CHECK(source_is_archive_path("x.tar.zst"));
    CHECK(!source_is_archive_path("train.jsonl"));
    CHECK(!source_is_archive_path("a:b"));
    CHECK(!source_is_archive_path(".zip"));
    CHECK(!source_is_archive_path("model.safetensors"));
}

TEST(source_reads_members_byte_exact) {
    NEED_TREE();
    const char *archives[] = {"m.tar", "m.tar.gz", "m.tgz", "m.tar.xz", "m.tar.bz2", "m.tar.zst",
                              "m.zip"};
    char p[1024], orig[1024];
    for (size_t i = 0; i < sizeof archives / sizeof archives[0]; i++) {
        const char *members[] = {"config.json", "bin.dat", "empty.txt", "sub/deep.txt",
                                 "big.bin", "zz_last.txt"};
        for (size_t j = 0; j < sizeof members / sizeof members[0]; j++) {
            snprintf(p, sizeof p, "%s/%s:model/%s", T, archives[i], members[j]);
            snprintf(orig, sizeof orig, "%s/model/%s", T, members[j]);
            size_t len = 12345;
            char *buf = source_read_file(p, &len);
            CHECK_MSG(same_file(buf, len, orig), "%s differs", p);
            free(buf);
        }
    }
    /* "./" prefixes in the archive and in the request are ignored. */
    snprintf(p, sizeof p, "%s/dot.tar:config.json", T);
    size_t len;
    char *buf = source_read_file(p, &len);
    CHECK(len == strlen(CONFIG) && memcmp(buf, CONFIG, len) == 0);
    free(buf);
    snprintf(p, sizeof p, "%s/m.zip:./model/sub/deep.txt", T);
    buf = source_read_file(p, &len);
    CHECK(len == strlen(DEEP) && memcmp(buf, DEEP, len) == 0);
    free(buf);
}

TEST(source_reads_plain_files_literally) {
    NEED_TREE();
    char p[1024];
    /* An existing path is taken literally, even with ".zip:" in its name. */
    snprintf(p, sizeof p, "%s/odd.zip:name", T);
    write_file(p, "literal", 7);
    size_t len;
    char *buf = source_read_file(p, &len);
    CHECK(len == 7 && strcmp(buf, "literal") == 0);
    free(buf);
    /* An archive named without a member is read as bytes. */
    snprintf(p, sizeof p, "%s/m.tar", T);
    buf = source_read_file(p, &len);
    CHECK(same_file(buf, len, p));
    free(buf);
}

static void check_model_dir(const char *dirpath) {
    Source *s = source_open_dir(dirpath);
    CHECK_STR(source_name(s), dirpath);
    size_t len = 99;
    char *buf = source_dir_read(s, "config.json", &len);
    CHECK_MSG(buf && len == strlen(CONFIG) && memcmp(buf, CONFIG, len) == 0, "%s config.json",
              dirpath);
    free(buf);
    buf = source_dir_read(s, "sub/deep.txt", &len);
    CHECK_MSG(buf && len == strlen(DEEP) && memcmp(buf, DEEP, len) == 0, "%s sub/deep.txt",
              dirpath);
    free(buf);
    buf = source_dir_read(s, "big.bin", &len);
    CHECK_MSG(buf && len == 192 << 10, "%s big.bin", dirpath);
    free(buf);
    buf = source_dir_read(s, "empty.txt", &len);
    CHECK_MSG(buf && len == 0 && buf[0] == '\0', "%s empty.txt", dirpath);
    free(buf);
    len = 99;
    CHECK(source_dir_read(s, "vocab.json", &len) == NULL && len == 0);
    CHECK(source_dir_has(s, "config.json"));
    CHECK(!source_dir_has(s, "encoder.json"));
    char *d = source_dir_describe(s, "config.json");
    CHECK_MSG(strstr(d, "config.json") != NULL, "%s", d);
    free(d);
    source_close(s);
}

TEST(source_directory_sources) {
    NEED_TREE();
    char p[1024];
    const char *archives[] = {"m.tar", "m.tar.gz", "m.tgz", "m.tar.xz", "m.tar.bz2", "m.tar.zst",
                              "m.zip", "flat.zip", "dot.tar"};
    snprintf(p, sizeof p, "%s/model", T);
    check_model_dir(p); /* a real directory */
    Source *s = source_open_dir(p);
    char *fp = source_dir_file_path(s, "config.json");
    CHECK(fp && strstr(fp, "/model/config.json"));
    free(fp);
    CHECK(source_dir_file_path(s, "nope.json") == NULL);
    source_close(s);
    for (size_t i = 0; i < sizeof archives / sizeof archives[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", T, archives[i]); /* whole archive */
        check_model_dir(p);
        if (i < 7) {
            snprintf(p, sizeof p, "%s/%s:model", T, archives[i]); /* ARCHIVE:DIR */
            check_model_dir(p);
        }
    }
    /* ARCHIVE:DIR deeper down; an archive is no real directory. */
    snprintf(p, sizeof p, "%s/m.tar.gz:model/sub/", T);
    s = source_open_dir(p);
    size_t len;
    char *buf = source_dir_read(s, "deep.txt", &len);
    CHECK(buf && strcmp(buf, DEEP) == 0);
    free(buf);
    CHECK(source_dir_read(s, "config.json", &len) == NULL);
    CHECK(source_dir_file_path(s, "deep.txt") == NULL);
    char *d = source_dir_describe(s, "deep.txt");
    CHECK(strstr(d, "m.tar.gz:model/sub/deep.txt") != NULL);
    free(d);
    source_close(s);
    /* Members at different top levels: the archive root is the directory. */
    snprintf(p, sizeof p, "%s/two.tar", T);
    s = source_open_dir(p);
    buf = source_dir_read(s, "model/config.json", &len);
    CHECK(buf && strcmp(buf, CONFIG) == 0);
    free(buf);
    CHECK(source_dir_has(s, "bin.dat"));
    CHECK(!source_dir_has(s, "config.json"));
    source_close(s);
}

TEST(source_uncached_members) {
    NEED_TREE();
    /* With caching off every read rescans the (compressed) archive. */
    source_set_cache_limits(0, 0);
    char p[1024];
    snprintf(p, sizeof p, "%s/m.tar.xz", T);
    check_model_dir(p);
    snprintf(p, sizeof p, "%s/m.zip:model", T);
    check_model_dir(p);
    /* Only part of the archive fits in the cache. */
    source_set_cache_limits(1024, 1024);
    snprintf(p, sizeof p, "%s/m.tar.gz", T);
    check_model_dir(p);
    source_set_cache_limits((size_t)64 << 20, (size_t)256 << 20);
}

TEST(source_error_messages) {
    NEED_TREE();
    char p[1024], want[1200];
    snprintf(p, sizeof p, "%s/m.tar.gz:model/nope.json", T);
    snprintf(want, sizeof want, "unit-tests: %s/m.tar.gz: no member 'model/nope.json'", T);
    expect_death(read_arg, p, want, __LINE__);
    snprintf(p, sizeof p, "%s/m.zip:model/nope.json", T);
    expect_death(read_arg, p, "m.zip: no member 'model/nope.json'", __LINE__);
    snprintf(p, sizeof p, "%s/m.tar:model/sub", T);
    expect_death(read_arg, p, "m.tar: 'model/sub' is a directory", __LINE__);
    snprintf(p, sizeof p, "%s/m.tar:", T);
    expect_death(read_arg, p, "no archive member named after ':'", __LINE__);
    snprintf(p, sizeof p, "%s/missing.zip:a.txt", T);
    expect_death(read_arg, p, "missing.zip: No such file or directory", __LINE__);
    snprintf(p, sizeof p, "%s/plain-missing.txt", T);
    expect_death(read_arg, p, "plain-missing.txt: No such file or directory", __LINE__);
    snprintf(p, sizeof p, "%s/model", T);
    expect_death(read_arg, p, "model: is a directory", __LINE__);
    /* Directory sources. */
    snprintf(p, sizeof p, "%s/m.tar.gz:nodir", T);
    expect_death(open_dir_arg, p, "m.tar.gz: no directory 'nodir'", __LINE__);
    snprintf(p, sizeof p, "%s/m.tar.gz:model/config.json", T);
    expect_death(open_dir_arg, p, "m.tar.gz: 'model/config.json' is a file, not a directory",
                 __LINE__);
    snprintf(p, sizeof p, "%s/model/config.json", T);
    expect_death(open_dir_arg, p, "config.json: not a directory or an archive", __LINE__);
    snprintf(p, sizeof p, "%s/nothere", T);
    expect_death(open_dir_arg, p, "nothere: No such file or directory", __LINE__);
    /* Not an archive at all, with an archive's name. */
    snprintf(p, sizeof p, "%s/garbage.zip", T);
    write_file(p, "this is not a zip file, just text that is long enough to look at\n", 66);
    expect_death(open_dir_arg, p, "garbage.zip: ", __LINE__);
    snprintf(p, sizeof p, "%s/garbage.zip:x", T);
    expect_death(read_arg, p, "garbage.zip: ", __LINE__);
}

/* The first half of each archive: every read past the cut fails naming the archive. */
TEST(source_truncated_archives) {
    NEED_TREE();
    const char *archives[] = {"m.tar", "m.tar.gz", "m.tar.xz", "m.tar.bz2", "m.tar.zst", "m.zip"};
    char p[1024], cut[1024];
    for (size_t i = 0; i < sizeof archives / sizeof archives[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", T, archives[i]);
        snprintf(cut, sizeof cut, "%s/cut-%s", T, archives[i]);
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        char cmd[2200];
        snprintf(cmd, sizeof cmd, "head -c %lld '%s' > '%s'", (long long)sb.st_size / 2, p, cut);
        CHECK(system(cmd) == 0);
        char want[1100];
        snprintf(want, sizeof want, "unit-tests: %s: ", cut);
        char member[1100];
        snprintf(member, sizeof member, "%s:model/zz_last.txt", cut);
        expect_death(read_arg, member, want, __LINE__);
        snprintf(member, sizeof member, "%s:model/big.bin", cut);
        expect_death(read_arg, member, want, __LINE__);
        expect_death(open_dir_arg, cut, want, __LINE__);
        /* The message is libarchive's, not a bogus "no member". */
        char msg[2048];
        snprintf(member, sizeof member, "%s:model/zz_last.txt", cut);
        die_capture(read_arg, member, msg, sizeof msg);
        CHECK_MSG(!strstr(msg, "no member"), "%s: %s", archives[i], msg);
    }
}

TEST(source_dir_read_errors) {
    NEED_TREE();
    char p[1024];
    snprintf(p, sizeof p, "%s/model", T);
    DirRead r = {p, "sub"};
    expect_death(dir_read_arg, &r, "sub: is a directory", __LINE__);
}
