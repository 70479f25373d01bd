/* utf8.c — strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF). */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

int utf8_valid(const char *str, size_t len, size_t *bad_offset) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time: text is mostly ASCII. */
        while (i + 8 <= len) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (v & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c == 0xE0) n = 3, lo = 0xA0;                 /* no overlongs */
        else if (c == 0xED) n = 3, hi = 0x9F;                 /* no surrogates */
        else if (c >= 0xE1 && c <= 0xEF) n = 3;
        else if (c == 0xF0) n = 4, lo = 0x90;                 /* no overlongs */
        else if (c >= 0xF1 && c <= 0xF3) n = 4;
        else if (c == 0xF4) n = 4, hi = 0x8F;                 /* ≤ U+10FFFF */
        else goto bad;                                        /* 80-C1, F5-FF */
        if (i + n > len) goto bad;                            /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi) goto bad;
        for (size_t k = 2; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) goto bad;
        i += n;
        continue;
    bad:
        if (bad_offset) *bad_offset = i;
        return 0;
    }
    return 1;
}
