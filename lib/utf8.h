/* utf8.h — strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF). */
#ifndef SPARSETUNE_UTF8_H
#define SPARSETUNE_UTF8_H

#include <stddef.h>

/* 1 if s[0..len) is valid UTF-8; else 0 and *bad_offset (if non-NULL) is the offset of the
 * first byte of the first invalid sequence. */
int utf8_valid(const char *s, size_t len, size_t *bad_offset);

#endif
