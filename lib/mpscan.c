/* mpscan.c — see mpscan.h.  Token layout from the msgpack specification. */
#include "mpscan.h"

/* Size of the header (type byte + length/value bytes) of the token starting with b. */
static int header_size(uint8_t b) {
    if (b <= 0xbf || b >= 0xe0) return 1; /* fixint, fixmap, fixarray, fixstr, negative fixint */
    switch (b) {
    case 0xc4: case 0xd9: case 0xcc: case 0xd0: return 2;        /* bin8 str8 uint8 int8 */
    case 0xc5: case 0xda: case 0xdc: case 0xde: case 0xcd: case 0xd1: return 3;
    case 0xc6: case 0xdb: case 0xdd: case 0xdf: case 0xca: case 0xce: case 0xd2: return 5;
    case 0xcb: case 0xcf: case 0xd3: return 9;
    case 0xc7: return 3; /* ext8: len, type */
    case 0xc8: return 4; /* ext16 */
    case 0xc9: return 6; /* ext32 */
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return 2; /* fixext: type */
    default: return 1; /* nil, bool, 0xc1 (invalid: msgpack-c reports it) */
    }
}

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* A complete header: set the body to skip, or check a container's count. */
static int finish(MpScan *s, uint64_t start) {
    const uint8_t *h = s->hdr;
    uint8_t b = h[0];
    uint64_t count = 0;
    int container = 0;
    if (b >= 0x80 && b <= 0x8f) container = 1, count = b & 15;
    else if (b >= 0x90 && b <= 0x9f) container = 1, count = b & 15;
    else if (b >= 0xa0 && b <= 0xbf) s->skip = b & 31;
    else switch (b) {
        case 0xc4: case 0xd9: s->skip = h[1]; break;
        case 0xc5: case 0xda: s->skip = be(h + 1, 2); break;
        case 0xc6: case 0xdb: s->skip = be(h + 1, 4); break;
        case 0xc7: s->skip = h[1]; break;
        case 0xc8: s->skip = be(h + 1, 2); break;
        case 0xc9: s->skip = be(h + 1, 4); break;
        case 0xd4: s->skip = 1; break;
        case 0xd5: s->skip = 2; break;
        case 0xd6: s->skip = 4; break;
        case 0xd7: s->skip = 8; break;
        case 0xd8: s->skip = 16; break;
        case 0xdc: case 0xde: container = 1, count = be(h + 1, 2); break;
        case 0xdd: case 0xdf: container = 1, count = be(h + 1, 4); break;
        default: break;
        }
    s->have = s->need = 0;
    if (container && count > MPSCAN_MAX_ELEMS) {
        s->bad_offset = start;
        s->bad_count = count;
        return -1;
    }
    return 0;
}

int mpscan_feed(MpScan *s, const void *data, size_t n) {
    const uint8_t *p = data, *end = p + n;
    while (p < end) {
        if (s->skip) {
            uint64_t k = (uint64_t)(end - p) < s->skip ? (uint64_t)(end - p) : s->skip;
            p += k, s->offset += k, s->skip -= k;
            continue;
        }
        if (!s->need) s->need = header_size(*p);
        s->hdr[s->have++] = *p++;
        s->offset++;
        if (s->have == s->need && finish(s, s->offset - (uint64_t)s->need) < 0) return -1;
    }
    return 0;
}
