/* bpe.c — byte-level BPE (GPT-2 / RoBERTa): vocabulary, merges, encode with a piece cache,
 * decode.  Loading from files is in bpe_load.c, pre-tokenisation in pretok.c. */
#include "bpe.h"
#include "json_fast.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pretok.h"
#include "util.h"

#define MAX_VOCAB (1 << 24)
#define CACHE_MAX_KEY 64          /* longer pieces are rare: not worth caching */
#define CACHE_MAX_ENTRIES (1u << 20) /* then the cache is emptied and refilled */

/* One 32-byte slot per piece: short pieces (most of them) keep their bytes and ids inline,
 * so a cache hit touches a single cache line; longer ones point into the arenas. */
#define INLINE_KEY 16
#define INLINE_IDS 2
typedef struct {
    uint32_t h;
    uint8_t klen, nids; /* klen 0: empty slot */
    uint16_t pad;
    union {
        struct {
            char key[INLINE_KEY];
            int32_t ids[INLINE_IDS];
        } in;
        struct {
            uint32_t koff, ioff;
        } ext;
    } u;
} CacheEnt;
_Static_assert(sizeof(CacheEnt) == 32, "two cache slots per cache line");

struct Bpe {
    int32_t vocab_size;  /* max id + 1 */
    char **tok;          /* id -> token string, NULL for holes */
    char *tok_arena;
    uint32_t *smap;      /* token string -> id + 1 (0: empty), open addressing */
    size_t smap_mask;
    uint64_t *pkey;      /* (left id << 32 | right id) -> rank, open addressing */
    int32_t *prank;
    int pbits;
    int32_t *merged;     /* rank -> id of the merged token */
    int32_t n_merges;
    int32_t byte_id[256];
    uint32_t *dec_off;   /* id -> decoded bytes in dec_arena */
    char *dec_arena;
    char sha[65];
    Pretok *pre;
    /* piece cache */
    CacheEnt *ctab;
    size_t cmask, ccount;
    char *ckeys;
    size_t ckeys_len, ckeys_cap;
    int32_t *cids;
    size_t cids_len, cids_cap;
    /* scratch for merging one piece */
    int32_t *sid, *snext, *sprev;
    size_t scap;
    uint64_t *heap, *defer;
    size_t hcap;
};

/* ---- hashing ---- */

/* Short keys (pieces average ~5 bytes): 8 bytes per multiply, a final avalanche. */
static inline uint64_t hash_bytes(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, n);
    h = (h ^ v) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

static int32_t smap_find(const Bpe *b, const char *s, size_t len) {
    size_t i = hash_bytes(s, len) & b->smap_mask;
    for (;; i = (i + 1) & b->smap_mask) {
        uint32_t v = b->smap[i];
        if (!v) return -1;
        const char *t = b->tok[v - 1];
        if (strncmp(t, s, len) == 0 && t[len] == 0) return (int32_t)(v - 1);
    }
}

static inline size_t pair_slot(int bits, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static inline int32_t pair_rank(const Bpe *b, int32_t l, int32_t r) {
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    size_t mask = ((size_t)1 << b->pbits) - 1;
    for (size_t i = pair_slot(b->pbits, key);; i = (i + 1) & mask) {
        if (b->pkey[i] == key) return b->prank[i];
        if (b->pkey[i] == UINT64_MAX) return -1;
    }
}

/* ---- bytes <-> unicode (GPT-2's bytes_to_unicode) ---- */

/* Printable Latin-1 bytes map to themselves; the other 68 bytes to U+0100.. in byte order, so
 * that every byte is a visible, non-space character in the vocabulary. */
static unsigned byte_to_cp(unsigned byte) {
    static unsigned table[256];
    static int ready;
    if (!ready) {
        unsigned n = 0;
        for (unsigned c = 0; c < 256; c++) {
            int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
            table[c] = printable ? c : 256 + n++;
        }
        ready = 1;
    }
    return table[byte];
}

static size_t utf8_put(unsigned cp, char *out) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 63));
        return 2;
    }
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 63));
    out[2] = (char)(0x80 | (cp & 63));
    return 3;
}

/* ---- loading ---- */

static Bpe *fail(Bpe *b, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static Bpe *fail(Bpe *b, char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    bpe_free(b);
    return NULL;
}

static void pair_insert(Bpe *b, int32_t l, int32_t r, int32_t rank) {
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    size_t mask = ((size_t)1 << b->pbits) - 1;
    size_t i = pair_slot(b->pbits, key);
    while (b->pkey[i] != UINT64_MAX && b->pkey[i] != key) i = (i + 1) & mask;
    b->pkey[i] = key; /* a repeated pair takes the later rank, as in GPT-2's dict(zip(...)) */
    b->prank[i] = rank;
}

static const char *parse_vocab(Bpe *b, const char *json, size_t len, char *msg, size_t msglen) {
    json_error_t je;
    /* vocab.json is 1 MB of one flat map: the fast parser (valid UTF-8 only) saves most of
     * jansson's time; jansson decides whenever the fast path declines. */
    json_t *root = utf8_valid(json, len, NULL) ? json_fast_loadb(json, len) : NULL;
    if (!root) root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(msg, msglen, "vocabulary: invalid JSON at line %d column %d: %s", je.line,
                 je.column, je.text);
        return msg;
    }
    if (!json_is_object(root) || json_object_size(root) == 0) {
        json_decref(root);
        return "vocabulary: expected a non-empty JSON object of token -> id";
    }
    const char *key;
    json_t *val;
    size_t total = 0;
    int64_t max_id = -1;
    json_object_foreach(root, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) >= MAX_VOCAB) {
            snprintf(msg, msglen, "vocabulary: token \"%.40s\": id must be an integer in [0, %d)",
                     key, MAX_VOCAB);
            json_decref(root);
            return msg;
        }
        if (json_integer_value(val) > max_id) max_id = json_integer_value(val);
        total += strlen(key) + 1;
    }
    b->vocab_size = (int32_t)(max_id + 1);
    b->tok = xcalloc((size_t)b->vocab_size, sizeof *b->tok);
    b->tok_arena = xmalloc(total);
    size_t n = json_object_size(root);
    b->smap_mask = pow2_at_least(2 * n) - 1;
    b->smap = xcalloc(b->smap_mask + 1, sizeof *b->smap);
    size_t off = 0;
    json_object_foreach(root, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        if (b->tok[id]) {
            snprintf(msg, msglen, "vocabulary: id %d is given to both \"%.40s\" and \"%.40s\"",
                     id, b->tok[id], key);
            json_decref(root);
            return msg;
        }
        size_t kl = strlen(key);
        memcpy(b->tok_arena + off, key, kl + 1);
        b->tok[id] = b->tok_arena + off;
        off += kl + 1;
        size_t i = hash_bytes(key, kl) & b->smap_mask;
        while (b->smap[i]) i = (i + 1) & b->smap_mask;
        b->smap[i] = (uint32_t)id + 1;
    }
    json_decref(root);
    return NULL;
}

/* merges: one "left right" pair per line, best (lowest rank) first, after a "#version" line. */
static const char *parse_merges(Bpe *b, const char *txt, size_t len, char *msg, size_t msglen) {
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += txt[i] == '\n';
    b->pbits = 4;
    while (((size_t)1 << b->pbits) < 2 * lines) b->pbits++;
    b->pkey = xmalloc(sizeof *b->pkey << b->pbits);
    memset(b->pkey, 0xff, sizeof *b->pkey << b->pbits);
    b->prank = xmalloc(sizeof *b->prank << b->pbits);
    b->merged = xmalloc(lines * sizeof *b->merged);
    char *cat = NULL;
    size_t catcap = 0;
    size_t lineno = 0;
    const char *p = txt, *end = txt + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        lineno++;
        const char *q = p;
        p = eol + 1;
        if (lineno == 1 && eol - q >= 8 && memcmp(q, "#version", 8) == 0) continue;
        /* split on ASCII whitespace (byte-level tokens never contain any) */
        const char *f[3];
        size_t fl[3];
        int nf = 0;
        while (q < eol) {
            while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
            if (q >= eol) break;
            const char *s = q;
            while (q < eol && !(*q == ' ' || *q == '\t' || *q == '\r')) q++;
            if (nf < 3) f[nf] = s, fl[nf] = (size_t)(q - s);
            nf++;
        }
        if (nf == 0) continue;
        if (nf != 2) {
            free(cat);
            snprintf(msg, msglen, "merges line %zu: expected two tokens, found %d", lineno, nf);
            return msg;
        }
        int32_t l = smap_find(b, f[0], fl[0]), r = smap_find(b, f[1], fl[1]);
        if (catcap < fl[0] + fl[1] + 1) cat = xrealloc(cat, catcap = 2 * (fl[0] + fl[1] + 1));
        memcpy(cat, f[0], fl[0]);
        memcpy(cat + fl[0], f[1], fl[1]);
        int32_t m = smap_find(b, cat, fl[0] + fl[1]);
        if (l < 0 || r < 0 || m < 0) {
            const char *which = l < 0 ? "left token" : r < 0 ? "right token" : "merged token";
            int wl = (int)(l < 0 ? fl[0] : r < 0 ? fl[1] : fl[0] + fl[1]);
            const char *ws = l < 0 ? f[0] : r < 0 ? f[1] : cat;
            snprintf(msg, msglen, "merges line %zu: %s \"%.*s\" is not in the vocabulary", lineno,
                     which, wl > 60 ? 60 : wl, ws);
            free(cat);
            return msg;
        }
        b->merged[b->n_merges] = m;
        pair_insert(b, l, r, b->n_merges);
        b->n_merges++;
    }
    free(cat);
    return NULL;
}

static const char *build_bytes(Bpe *b, char *msg, size_t msglen) {
    for (unsigned c = 0; c < 256; c++) {
        char u[4];
        size_t n = utf8_put(byte_to_cp(c), u);
        b->byte_id[c] = smap_find(b, u, n);
        if (b->byte_id[c] < 0) {
            snprintf(msg, msglen, "vocabulary lacks the byte-level token \"%.*s\" for byte 0x%02x",
                     (int)n, u, c);
            return msg;
        }
    }
    /* Decoded bytes of every token: byte-level characters back to bytes, anything else (added
     * tokens written in plain text) kept as its UTF-8. */
    int cp_byte[0x144];
    for (int i = 0; i < 0x144; i++) cp_byte[i] = -1;
    for (unsigned c = 0; c < 256; c++) cp_byte[byte_to_cp(c)] = (int)c;
    size_t total = 0;
    for (int32_t id = 0; id < b->vocab_size; id++)
        if (b->tok[id]) total += strlen(b->tok[id]);
    b->dec_arena = xmalloc(total + 1);
    b->dec_off = xmalloc(((size_t)b->vocab_size + 1) * sizeof *b->dec_off);
    size_t off = 0;
    for (int32_t id = 0; id < b->vocab_size; id++) {
        b->dec_off[id] = (uint32_t)off;
        const unsigned char *s = (const unsigned char *)(b->tok[id] ? b->tok[id] : "");
        while (*s) {
            /* JSON strings are valid UTF-8: only 2-byte characters can be byte-level ones */
            unsigned cp = s[0];
            size_t n = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
            if (n == 2) cp = (s[0] & 31u) << 6 | (s[1] & 63u);
            else if (n > 2) cp = 0x10000; /* never byte-level */
            if (cp < 0x144 && cp_byte[cp] >= 0) {
                b->dec_arena[off++] = (char)cp_byte[cp];
            } else {
                memcpy(b->dec_arena + off, s, n);
                off += n;
            }
            s += n;
        }
    }
    b->dec_off[b->vocab_size] = (uint32_t)off;
    return NULL;
}

Bpe *bpe_load_mem_err(const char *vocab_json, size_t vocab_len, const char *merges,
                      size_t merges_len, char *err, size_t errlen) {
    char msg[512];
    Bpe *b = xcalloc(1, sizeof *b);
    const char *e;
    if ((e = parse_vocab(b, vocab_json, vocab_len, msg, sizeof msg)) ||
        (e = parse_merges(b, merges, merges_len, msg, sizeof msg)) ||
        (e = build_bytes(b, msg, sizeof msg)))
        return fail(b, err, errlen, "%s", e);
    if (!(b->pre = pretok_new(msg, sizeof msg))) return fail(b, err, errlen, "%s", msg);
    Sha256 *h = sha256_new();
    sha256_update(h, vocab_json, vocab_len);
    sha256_update(h, merges, merges_len);
    sha256_final_hex(h, b->sha);
    b->cmask = 4096 - 1;
    b->ctab = xcalloc(b->cmask + 1, sizeof *b->ctab);
    return b;
}

Bpe *bpe_load_mem(const char *vocab_json, size_t vocab_len, const char *merges, size_t merges_len,
                  const char *where) {
    char err[600];
    Bpe *b = bpe_load_mem_err(vocab_json, vocab_len, merges, merges_len, err, sizeof err);
    if (!b) die(where, "%s", err);
    return b;
}

void bpe_free(Bpe *b) {
    if (!b) return;
    free(b->tok);
    free(b->tok_arena);
    free(b->smap);
    free(b->pkey);
    free(b->prank);
    free(b->merged);
    free(b->dec_off);
    free(b->dec_arena);
    pretok_free(b->pre);
    free(b->ctab);
    free(b->ckeys);
    free(b->cids);
    free(b->sid);
    free(b->snext);
    free(b->sprev);
    free(b->heap);
    free(b->defer);
    free(b);
}

const char *bpe_sha256(const Bpe *b) { return b->sha; }
int32_t bpe_vocab_size(const Bpe *b) { return b->vocab_size; }
int32_t bpe_merge_count(const Bpe *b) { return b->n_merges; }

int32_t bpe_token_id(const Bpe *b, const char *token) {
    return smap_find(b, token, strlen(token));
}

const char *bpe_id_token(const Bpe *b, int32_t id) {
    return id >= 0 && id < b->vocab_size ? b->tok[id] : NULL;
}

/* ---- merging one piece ---- */

static inline void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (h[up] <= v) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = v;
}

static inline uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = v;
    return top;
}

/* GPT-2's bpe(): repeatedly merge every occurrence (left to right) of the adjacent pair with
 * the lowest rank.  Done with a heap of (rank, position) instead of rescanning the word, so
 * long words stay O(n log n); entries made stale by earlier merges are skipped when popped.
 * A merge never recreates its own pair, and pairs it creates with a lower rank than the one
 * being applied (possible only in hand-made merge lists) wait until every occurrence of the
 * current rank is merged, exactly as GPT-2's loop orders them.  Returns the symbol count;
 * the symbols are b->sid[] along b->snext[] from 0. */
static size_t merge_piece(Bpe *b, const unsigned char *s, size_t n) {
    if (n > b->scap) {
        b->scap = n * 2;
        b->sid = xrealloc(b->sid, b->scap * sizeof *b->sid);
        b->snext = xrealloc(b->snext, b->scap * sizeof *b->snext);
        b->sprev = xrealloc(b->sprev, b->scap * sizeof *b->sprev);
        b->heap = xrealloc(b->heap, 2 * b->scap * sizeof *b->heap);
        b->defer = xrealloc(b->defer, 2 * b->scap * sizeof *b->defer);
        b->hcap = 2 * b->scap;
    }
    int32_t *id = b->sid, *next = b->snext, *prev = b->sprev;
    uint64_t *heap = b->heap, *defer = b->defer;
    size_t nh = 0, nd = 0, count = n;
    for (size_t i = 0; i < n; i++) {
        id[i] = b->byte_id[s[i]];
        next[i] = (int32_t)i + 1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t r = pair_rank(b, id[i], id[i + 1]);
        if (r >= 0) heap_push(heap, &nh, (uint64_t)r << 32 | i);
    }
    int64_t cur = -1;
    while (nh || nd) {
        if (nd && (!nh || (int64_t)(heap[0] >> 32) != cur)) {
            for (size_t k = 0; k < nd; k++) heap_push(heap, &nh, defer[k]);
            nd = 0;
        }
        uint64_t e = heap_pop(heap, &nh);
        int32_t rank = (int32_t)(e >> 32), i = (int32_t)(uint32_t)e;
        int32_t j = next[i];
        /* stale: i was absorbed (id -1), or its right neighbour changed */
        if (id[i] < 0 || j >= (int32_t)n || pair_rank(b, id[i], id[j]) != rank) continue;
        cur = rank;
        id[i] = b->merged[rank];
        id[j] = -1;
        next[i] = next[j];
        if (next[j] < (int32_t)n) prev[next[j]] = i;
        count--;
        if (prev[i] >= 0) {
            int32_t r = pair_rank(b, id[prev[i]], id[i]);
            if (r >= 0) {
                uint64_t v = (uint64_t)r << 32 | (uint32_t)prev[i];
                if (r < rank) defer[nd++] = v;
                else heap_push(heap, &nh, v);
            }
        }
        if (next[i] < (int32_t)n) {
            int32_t r = pair_rank(b, id[i], id[next[i]]);
            if (r >= 0) {
                uint64_t v = (uint64_t)r << 32 | (uint32_t)i;
                if (r < rank) defer[nd++] = v;
                else heap_push(heap, &nh, v);
            }
        }
    }
    return count;
}

/* ---- the piece cache ---- */

static inline int ent_inline(size_t klen, size_t nids) {
    return klen <= INLINE_KEY && nids <= INLINE_IDS;
}

static void cache_clear(Bpe *b) {
    memset(b->ctab, 0, (b->cmask + 1) * sizeof *b->ctab);
    b->ccount = 0;
    b->ckeys_len = 0;
    b->cids_len = 0;
}

static void cache_grow(Bpe *b) {
    size_t ncap = (b->cmask + 1) * 2;
    CacheEnt *t = xcalloc(ncap, sizeof *t);
    for (size_t i = 0; i <= b->cmask; i++) {
        if (!b->ctab[i].klen) continue;
        size_t k = hash_bytes(b->ctab[i].klen && ent_inline(b->ctab[i].klen, b->ctab[i].nids)
                                  ? b->ctab[i].u.in.key
                                  : b->ckeys + b->ctab[i].u.ext.koff,
                              b->ctab[i].klen) &
                   (ncap - 1);
        while (t[k].klen) k = (k + 1) & (ncap - 1);
        t[k] = b->ctab[i];
    }
    free(b->ctab);
    b->ctab = t;
    b->cmask = ncap - 1;
}

static void cache_put(Bpe *b, uint64_t h, const char *key, size_t klen, const int32_t *ids,
                      size_t nids) {
    if (b->ccount >= CACHE_MAX_ENTRIES) cache_clear(b);
    if (2 * (b->ccount + 1) > b->cmask + 1) cache_grow(b);
    size_t i = h & b->cmask;
    while (b->ctab[i].klen) i = (i + 1) & b->cmask;
    CacheEnt *c = &b->ctab[i];
    c->h = (uint32_t)(h >> 32);
    c->klen = (uint8_t)klen;
    c->nids = (uint8_t)nids;
    if (ent_inline(klen, nids)) {
        memcpy(c->u.in.key, key, klen);
        memcpy(c->u.in.ids, ids, nids * sizeof *ids);
    } else {
        if (b->ckeys_len + klen > b->ckeys_cap) {
            b->ckeys_cap = (b->ckeys_len + klen) * 2 + 4096;
            b->ckeys = xrealloc(b->ckeys, b->ckeys_cap);
        }
        if (b->cids_len + nids > b->cids_cap) {
            b->cids_cap = (b->cids_len + nids) * 2 + 1024;
            b->cids = xrealloc(b->cids, b->cids_cap * sizeof *b->cids);
        }
        c->u.ext.koff = (uint32_t)b->ckeys_len;
        c->u.ext.ioff = (uint32_t)b->cids_len;
        memcpy(b->ckeys + b->ckeys_len, key, klen);
        b->ckeys_len += klen;
        memcpy(b->cids + b->cids_len, ids, nids * sizeof *ids);
        b->cids_len += nids;
    }
    b->ccount++;
}

static inline void reserve(int32_t **ids, size_t *n, size_t *cap, size_t more) {
    if (*n + more > *cap) {
        *cap = (*n + more) * 2 + 64;
        *ids = xrealloc(*ids, *cap * sizeof **ids);
    }
}

static void encode_piece(Bpe *b, const char *s, size_t len, int32_t **ids, size_t *n,
                         size_t *cap) {
    uint64_t h = 0;
    if (len <= CACHE_MAX_KEY) {
        h = hash_bytes(s, len);
        uint32_t h32 = (uint32_t)(h >> 32);
        for (size_t i = h & b->cmask;; i = (i + 1) & b->cmask) {
            const CacheEnt *c = &b->ctab[i];
            if (!c->klen) break;
            if (c->h != h32 || c->klen != len) continue;
            int in = ent_inline(len, c->nids);
            if (memcmp(in ? c->u.in.key : b->ckeys + c->u.ext.koff, s, len) != 0) continue;
            reserve(ids, n, cap, c->nids);
            memcpy(*ids + *n, in ? c->u.in.ids : b->cids + c->u.ext.ioff, c->nids * sizeof **ids);
            *n += c->nids;
            return;
        }
    }
    size_t m = merge_piece(b, (const unsigned char *)s, len);
    reserve(ids, n, cap, m);
    int32_t *out = *ids + *n;
    for (int32_t i = 0, k = 0; i < (int32_t)len; i = b->snext[i]) out[k++] = b->sid[i];
    if (len <= CACHE_MAX_KEY) cache_put(b, h, s, len, out, m);
    *n += m;
}

size_t bpe_encode(Bpe *b, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap) {
    if (!utf8_valid(text, len, NULL)) return BPE_INVALID_UTF8;
    size_t n0 = *n, off = 0, s, e;
    while (pretok_next(b->pre, text, len, off, &s, &e) && e > s) {
        encode_piece(b, text + s, e - s, ids, n, cap);
        off = e;
    }
    return *n - n0;
}

char *bpe_decode(const Bpe *b, const int32_t *ids, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->vocab_size || !b->tok[ids[i]]) return NULL;
        total += b->dec_off[ids[i] + 1] - b->dec_off[ids[i]];
    }
    char *out = xmalloc(total + 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        size_t l = b->dec_off[ids[i] + 1] - b->dec_off[ids[i]];
        memcpy(p, b->dec_arena + b->dec_off[ids[i]], l);
        p += l;
    }
    *p = 0;
    return out;
}
