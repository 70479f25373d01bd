/* bpe.h — byte-level BPE identical to HuggingFace's RobertaTokenizer / GPT-2's encoder.
 *
 * Pre-tokenisation with the GPT-2 regex through PCRE2 (Unicode properties, JIT):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * then each piece's UTF-8 bytes are mapped through the bytes↔unicode table and merged by rank;
 * results are cached per piece. */
#ifndef SPARSETUNE_BPE_H
#define SPARSETUNE_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct Bpe Bpe;

/* Load from a directory or archive (see source.h) holding vocab.json + merges.txt (RoBERTa,
 * HF) or encoder.json + vocab.bpe (GPT-2).  Dies with a clear message when neither is there. */
Bpe *bpe_load(const char *dir);
/* Load from in-memory vocab JSON and merges text (names are for messages). */
Bpe *bpe_load_mem(const char *vocab_json, size_t vocab_len, const char *merges, size_t merges_len,
                  const char *where);
void bpe_free(Bpe *b);

/* SHA-256 over vocab and merges bytes: the tokenizer fingerprint put in stream headers. */
const char *bpe_sha256(const Bpe *b);
int32_t bpe_vocab_size(const Bpe *b);
/* Id of a token string such as "<s>", or -1 if the vocabulary lacks it. */
int32_t bpe_token_id(const Bpe *b, const char *token);
/* Token string for an id (byte-level unicode form, e.g. "Ġhello"), NULL if out of range. */
const char *bpe_id_token(const Bpe *b, int32_t id);

/* Encode UTF-8 text (must be valid UTF-8: check with utf8_valid first) into ids, appended to
 * *ids (growing *cap as needed); returns the number of ids appended.  No special tokens. */
size_t bpe_encode(Bpe *b, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap);
/* Decode ids back to UTF-8 bytes (malloc'ed, NUL-terminated). */
char *bpe_decode(const Bpe *b, const int32_t *ids, size_t n);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF); else 0 and
 * *bad_offset is the offset of the first invalid byte. */
int utf8_valid(const char *s, size_t len, size_t *bad_offset);

#endif
