/* pretok.h — GPT-2 pre-tokenisation: split text into the pieces BPE merges within.
 *
 * The pattern is GPT-2's
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with the classes pinned to what HuggingFace's tokenizers see through Python's `regex`
 * module (see pretok.c): \s is Unicode White_Space, \p{L} / \p{N} include letters and numbers
 * assigned after PCRE2's Unicode tables.  PCRE2, UTF + UCP, JIT compiled. */
#ifndef SPARSETUNE_PRETOK_H
#define SPARSETUNE_PRETOK_H

#include <stddef.h>

typedef struct Pretok Pretok;

/* NULL (and a message in err) if PCRE2 rejects the pattern. */
Pretok *pretok_new(char *err, size_t errlen);
void pretok_free(Pretok *p);
/* Find the next piece starting at or after off in text[0..len) (valid UTF-8, off on a character
 * boundary).  Returns 1 and sets [*start, *end), or 0 when there is none. */
int pretok_next(Pretok *p, const char *text, size_t len, size_t off, size_t *start, size_t *end);

#endif
