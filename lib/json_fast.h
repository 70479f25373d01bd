/* json_fast.h — a fast path for parsing JSON text that is already known to be valid UTF-8
 * (data rows, vocab.json).  It returns NULL for anything it is not sure about (syntax errors,
 * duplicate keys, numbers it cannot represent exactly as jansson would, deep nesting); the
 * caller then parses with jansson, whose result or error message is authoritative.  The
 * result equals what json_loadb(…, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) returns. */
#ifndef SPARSETUNE_JSON_FAST_H
#define SPARSETUNE_JSON_FAST_H

#include <jansson.h>
#include <stddef.h>

json_t *json_fast_loadb(const char *s, size_t n);

#endif
