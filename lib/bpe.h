/* bpe.h — byte-level BPE identical to HuggingFace's RobertaTokenizer / GPT-2's encoder.
 *
 * Pre-tokenisation with the GPT-2 regex through PCRE2 (Unicode properties, JIT; pretok.h):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with \s, \p{L}, \p{N} as HuggingFace's Python `regex` module sees them (\s = Unicode
 * White_Space, so U+0085 is a space and U+FEFF, U+180E, U+200B are not); then each piece's
 * UTF-8 bytes are mapped through the bytes↔unicode table and merged by rank; results are
 * cached per piece.  A Bpe is not thread-safe (the cache and scratch live in it): use one per
 * thread. */
#ifndef SPARSETUNE_BPE_H
#define SPARSETUNE_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h" /* utf8_valid() */

typedef struct Bpe Bpe;

/* Load from a directory or archive (see source.h) holding vocab.json + merges.txt (RoBERTa,
 * HF) or encoder.json + vocab.bpe (GPT-2).  Dies with a clear message when neither is there
 * or the files are malformed. */
Bpe *bpe_load(const char *dir);
/* Load from in-memory vocab JSON and merges text; dies "tool: where: what" on bad input. */
Bpe *bpe_load_mem(const char *vocab_json, size_t vocab_len, const char *merges, size_t merges_len,
                  const char *where);
/* The same without dying: NULL and a message in err[errlen]. */
Bpe *bpe_load_mem_err(const char *vocab_json, size_t vocab_len, const char *merges,
                      size_t merges_len, char *err, size_t errlen);
void bpe_free(Bpe *b);

/* Merges files: one "left right" pair per line, lowest rank first.  A first line starting with
 * "#version" is skipped, as are blank lines (unlike GPT-2's reader the last line is kept even
 * without a trailing newline); every left, right and merged token must be in the vocabulary. */

/* SHA-256 over vocab and merges bytes: the tokenizer fingerprint put in stream headers. */
const char *bpe_sha256(const Bpe *b);
int32_t bpe_vocab_size(const Bpe *b); /* largest id + 1 */
int32_t bpe_merge_count(const Bpe *b);
/* Id of a token string such as "<s>", or -1 if the vocabulary lacks it. */
int32_t bpe_token_id(const Bpe *b, const char *token);
/* Token string for an id (byte-level unicode form, e.g. "Ġhello"), NULL if out of range. */
const char *bpe_id_token(const Bpe *b, int32_t id);

#define BPE_INVALID_UTF8 ((size_t)-1)
/* Encode UTF-8 text into ids, appended to *ids at *n (growing *ids / *cap as needed; *ids may
 * start NULL with *n = *cap = 0); returns the number of ids appended.  No special tokens.
 * Invalid UTF-8 returns BPE_INVALID_UTF8 and appends nothing (check with utf8_valid first to
 * report where). */
size_t bpe_encode(Bpe *b, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap);
/* Decode ids back to UTF-8 bytes (malloc'ed, NUL-terminated; may contain invalid UTF-8 when
 * the ids split a character).  NULL if an id is not in the vocabulary. */
char *bpe_decode(const Bpe *b, const int32_t *ids, size_t n);

#endif
