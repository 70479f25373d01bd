/* pretok.c — the GPT-2 pre-tokenisation regex through PCRE2 (JIT, reused match data).
 *
 * Why the classes are spelled out rather than written \s, \p{L}, \p{N}:
 * - \s: HuggingFace's slow tokenizers run the pattern through Python's `regex` module, whose \s
 *   is the Unicode White_Space property.  PCRE2's \s under UCP differs: 10.42 also matches
 *   U+180E (MONGOLIAN VOWEL SEPARATOR, no longer White_Space since Unicode 6.3).  So \s is the
 *   explicit White_Space list below (a stable property: only U+180E ever left it).
 * - \p{L}, \p{N}: PCRE2 knows the Unicode version it was built with (14.0 for Debian 12's
 *   10.42); `regex` (and Node's ICU) know newer letters and digits.  pretok_extra.h adds the
 *   code points assigned since 14.0; a newer PCRE2 already has them, so adding is harmless. */
#include "pretok.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "pretok_extra.h"
#include "util.h"

/* Unicode White_Space (PropList.txt), as PCRE2 class items. */
#define WS "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define LETTER "\\p{L}" PRETOK_EXTRA_L
#define NUMBER "\\p{N}" PRETOK_EXTRA_N

static const char PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d"
    "| ?[" LETTER "]+"
    "| ?[" NUMBER "]+"
    "| ?[^" WS LETTER NUMBER "]+"
    "|[" WS "]+(?![^" WS "])"
    "|[" WS "]+";

struct Pretok {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
    int jit; /* 1 when JIT compilation succeeded */
};

Pretok *pretok_new(char *err, size_t errlen) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)PATTERN, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errlen, "PCRE2 rejects the GPT-2 pattern at offset %zu: %s", (size_t)eo,
                 (const char *)msg);
        return NULL;
    }
    Pretok *p = xcalloc(1, sizeof *p);
    p->code = code;
    p->md = pcre2_match_data_create_from_pattern(code, NULL);
    p->mctx = pcre2_match_context_create(NULL);
    if (!p->md || !p->mctx) die(NULL, "out of memory creating PCRE2 match data");
    /* JIT is optional (not every platform has it); the interpreter gives the same matches.
     * \s+(?!\S) backtracks over long whitespace runs, so give the JIT a stack that grows. */
    if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0) {
        p->stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
        if (!p->stack) die(NULL, "out of memory creating the PCRE2 JIT stack");
        pcre2_jit_stack_assign(p->mctx, NULL, p->stack);
        p->jit = 1;
    }
    return p;
}

void pretok_free(Pretok *p) {
    if (!p) return;
    pcre2_match_data_free(p->md);
    pcre2_match_context_free(p->mctx);
    if (p->stack) pcre2_jit_stack_free(p->stack);
    pcre2_code_free(p->code);
    free(p);
}

int pretok_next(Pretok *p, const char *text, size_t len, size_t off, size_t *start,
                size_t *end) {
    if (off >= len) return 0;
    /* The caller has validated the UTF-8, so skip PCRE2's own check (O(len) per call). */
    int rc = p->jit ? pcre2_jit_match(p->code, (PCRE2_SPTR)text, len, off, PCRE2_NO_UTF_CHECK,
                                      p->md, p->mctx)
                    : pcre2_match(p->code, (PCRE2_SPTR)text, len, off, PCRE2_NO_UTF_CHECK,
                                  p->md, p->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        die(NULL, "pre-tokenisation failed at byte %zu: %s", off, (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
    *start = ov[0];
    *end = ov[1];
    return 1;
}
