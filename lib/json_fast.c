#include "json_fast.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A recursive-descent parser over a bounded buffer.  Any doubt returns NULL: the caller then
 * asks jansson, whose result (or error message) is authoritative. */
typedef struct P {
    const char *s, *end;
    char *buf; /* scratch for unescaped strings */
    size_t cap;
    int depth;
} P;

static void skip_ws(P *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp) {
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) { d[0] = (char)(0xC0 | cp >> 6); d[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | cp >> 12); d[1] = (char)(0x80 | ((cp >> 6) & 63));
        d[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    d[0] = (char)(0xF0 | cp >> 18); d[1] = (char)(0x80 | ((cp >> 12) & 63));
    d[2] = (char)(0x80 | ((cp >> 6) & 63)); d[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Parse a string at p->s (on the opening quote) into p->buf; returns its length or -1.
 * The input was validated as UTF-8 before, so raw bytes are copied as they are. */
static long parse_string(P *p) {
    const char *s = p->s + 1;
    /* the unescaped string is never longer than the escaped one */
    const char *q = s;
    while (q < p->end && *q != '"') q += (*q == '\\' && q + 1 < p->end) ? 2 : 1;
    if (q >= p->end) return -1;
    size_t need = (size_t)(q - s) + 1;
    if (need > p->cap) {
        char *nb = realloc(p->buf, need * 2);
        if (!nb) return -1;
        p->buf = nb;
        p->cap = need * 2;
    }
    size_t n = 0;
    while (s < q) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20) return -1; /* control characters must be escaped */
        if (c != '\\') { p->buf[n++] = (char)c; s++; continue; }
        char e = s[1];
        s += 2;
        switch (e) {
        case '"': p->buf[n++] = '"'; break;
        case '\\': p->buf[n++] = '\\'; break;
        case '/': p->buf[n++] = '/'; break;
        case 'b': p->buf[n++] = '\b'; break;
        case 'f': p->buf[n++] = '\f'; break;
        case 'n': p->buf[n++] = '\n'; break;
        case 'r': p->buf[n++] = '\r'; break;
        case 't': p->buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - s < 4 || hex4(s, &cp)) return -1;
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
                if (q - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return -1;
            }
            n += put_utf8(p->buf + n, cp);
            break;
        }
        default: return -1;
        }
    }
    p->s = q + 1;
    return (long)n;
}

static json_t *parse_value(P *p);

static json_t *parse_number(P *p) {
    const char *s = p->s;
    int is_real = 0;
    const char *q = s;
    if (q < p->end && *q == '-') q++;
    if (q >= p->end || *q < '0' || *q > '9') return NULL;
    if (*q == '0' && q + 1 < p->end && q[1] >= '0' && q[1] <= '9') return NULL; /* leading 0 */
    while (q < p->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' ||
                          *q == '+' || *q == '-')) {
        if (*q == '.' || *q == 'e' || *q == 'E') is_real = 1;
        q++;
    }
    char tmp[64];
    size_t len = (size_t)(q - s);
    if (len >= sizeof tmp) return NULL; /* unusual: let jansson decide */
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    json_t *v;
    if (is_real) {
        double d = strtod(tmp, &end);
        if (*end || errno) return NULL;
        v = json_real(d);
    } else {
        long long i = strtoll(tmp, &end, 10);
        if (*end || errno) return NULL;
        v = json_integer((json_int_t)i);
    }
    p->s = q;
    return v;
}

static json_t *parse_object(P *p) {
    if (++p->depth > 64) return NULL;
    p->s++;
    json_t *obj = json_object();
    skip_ws(p);
    if (p->s < p->end && *p->s == '}') { p->s++; p->depth--; return obj; }
    for (;;) {
        skip_ws(p);
        if (p->s >= p->end || *p->s != '"') goto fail;
        long kl = parse_string(p);
        if (kl < 0 || memchr(p->buf, '\0', (size_t)kl)) goto fail; /* keys with NUL: jansson */
        char key[256];
        if ((size_t)kl >= sizeof key) goto fail;
        memcpy(key, p->buf, (size_t)kl);
        key[kl] = '\0';
        skip_ws(p);
        if (p->s >= p->end || *p->s != ':') goto fail;
        p->s++;
        skip_ws(p);
        json_t *v = parse_value(p);
        if (!v) goto fail;
        if (json_object_get(obj, key)) { json_decref(v); goto fail; } /* duplicate: jansson */
        json_object_set_new_nocheck(obj, key, v);
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') { p->s++; continue; }
        if (p->s < p->end && *p->s == '}') { p->s++; break; }
        goto fail;
    }
    p->depth--;
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(P *p) {
    if (++p->depth > 64) return NULL;
    p->s++;
    json_t *arr = json_array();
    skip_ws(p);
    if (p->s < p->end && *p->s == ']') { p->s++; p->depth--; return arr; }
    for (;;) {
        skip_ws(p);
        json_t *v = parse_value(p);
        if (!v) goto fail;
        json_array_append_new(arr, v);
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') { p->s++; continue; }
        if (p->s < p->end && *p->s == ']') { p->s++; break; }
        goto fail;
    }
    p->depth--;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static int literal(P *p, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) return 0;
    p->s += n;
    return 1;
}

static json_t *parse_value(P *p) {
    if (p->s >= p->end) return NULL;
    switch (*p->s) {
    case '{': return parse_object(p);
    case '[': return parse_array(p);
    case '"': {
        long n = parse_string(p);
        return n < 0 ? NULL : json_stringn_nocheck(p->buf, (size_t)n);
    }
    case 't': return literal(p, "true") ? json_true() : NULL;
    case 'f': return literal(p, "false") ? json_false() : NULL;
    case 'n': return literal(p, "null") ? json_null() : NULL;
    default: return parse_number(p);
    }
}

json_t *json_fast_loadb(const char *s, size_t n) {
    P p = {s, s + n, NULL, 0, 0};
    skip_ws(&p);
    json_t *v = parse_value(&p);
    skip_ws(&p);
    if (v && p.s != p.end) {
        json_decref(v);
        v = NULL;
    }
    free(p.buf);
    return v;
}
