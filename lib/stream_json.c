/* stream_json.c — msgpack <-> jansson conversion for stream headers and `inspect --json`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stream.h"

const char *st_msgpack_type_name(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "binary data";
    case MSGPACK_OBJECT_EXT: return "an ext value";
    }
    return "an unknown msgpack type";
}

typedef struct {
    int strict;
    char *err;
    size_t errlen;
} Conv;

static json_t *fail(Conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *fail(Conv *c, const char *fmt, ...) {
    if (c->err && c->errlen && !c->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static json_t *bin_placeholder(size_t n) {
    json_t *o = json_object();
    json_object_set_new(o, "bin", json_integer((json_int_t)n));
    return o;
}

static json_t *conv(Conv *c, const msgpack_object *o, int depth) {
    if (depth > 64) return fail(c, "nesting too deep");
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            if (c->strict) return fail(c, "integer %llu out of range", (unsigned long long)o->via.u64);
            return json_real((double)o->via.u64);
        }
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64)) return c->strict ? fail(c, "non-finite number") : json_null();
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR: {
        json_t *s = json_stringn(o->via.str.ptr, o->via.str.size);
        if (!s) {
            if (c->strict) return fail(c, "invalid UTF-8 in a string");
            return bin_placeholder(o->via.str.size);
        }
        return s;
    }
    case MSGPACK_OBJECT_BIN:
        if (c->strict) return fail(c, "unexpected binary data");
        return bin_placeholder(o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        if (c->strict) return fail(c, "unexpected msgpack ext value");
        return json_null();
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            json_t *v = conv(c, &o->via.array.ptr[i], depth + 1);
            if (!v) { json_decref(a); return NULL; }
            json_array_append_new(a, v);
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            json_t *v = conv(c, &kv->val, depth + 1);
            if (!v) { json_decref(m); return NULL; }
            if (kv->key.type == MSGPACK_OBJECT_STR) {
                json_t *ks = json_stringn(kv->key.via.str.ptr, kv->key.via.str.size);
                if (ks) { /* valid UTF-8 (NUL allowed: setn) */
                    json_object_setn_new(m, json_string_value(ks), json_string_length(ks), v);
                    json_decref(ks);
                    continue;
                }
                if (c->strict) {
                    json_decref(v);
                    json_decref(m);
                    return fail(c, "invalid UTF-8 in a map key");
                }
            }
            if (c->strict) {
                json_decref(v);
                json_decref(m);
                return fail(c, "map key is %s, not a string", st_msgpack_type_name(&kv->key));
            }
            char key[64];
            if (kv->key.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                snprintf(key, sizeof key, "%llu", (unsigned long long)kv->key.via.u64);
            else if (kv->key.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                snprintf(key, sizeof key, "%lld", (long long)kv->key.via.i64);
            else if (kv->key.type == MSGPACK_OBJECT_STR) snprintf(key, sizeof key, "<invalid UTF-8 key>");
            else snprintf(key, sizeof key, "<%s key>", st_msgpack_type_name(&kv->key));
            json_object_set_new(m, key, v);
        }
        return m;
    }
    }
    return fail(c, "unknown msgpack type");
}

json_t *st_msgpack_to_json(const msgpack_object *o) {
    Conv c = {0, NULL, 0};
    json_t *j = conv(&c, o, 0);
    return j ? j : json_null();
}

json_t *st_msgpack_to_json_strict(const msgpack_object *o, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    Conv c = {1, err, errlen};
    return conv(&c, o, 0);
}

void st_pack_json(msgpack_packer *pk, json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        msgpack_pack_map(pk, json_object_size(v));
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            size_t n = strlen(k);
            msgpack_pack_str(pk, n);
            msgpack_pack_str_body(pk, k, n);
            st_pack_json(pk, x);
        }
        break;
    }
    case JSON_ARRAY: {
        msgpack_pack_array(pk, json_array_size(v));
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) st_pack_json(pk, x);
        break;
    }
    case JSON_STRING: {
        size_t n = json_string_length(v);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, json_string_value(v), n);
        break;
    }
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); break;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); break;
    case JSON_TRUE: msgpack_pack_true(pk); break;
    case JSON_FALSE: msgpack_pack_false(pk); break;
    case JSON_NULL: msgpack_pack_nil(pk); break;
    }
}
