#include "provenance.h"

#include "util.h"

json_t *prov_entry(int argc, char **argv) {
    json_t *e = json_object();
    json_object_set_new(e, "tool", json_string(st_progname));
    json_object_set_new(e, "version", json_string(SPARSETUNE_VERSION));
    json_t *args = json_array();
    for (int i = 0; i < argc; i++) json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(e, "argv", args);
    char t[32];
    utc_now_iso(t, sizeof t);
    json_object_set_new(e, "time", json_string(t));
    json_object_set_new(e, "inputs", json_array());
    return e;
}

void prov_add_input(json_t *entry, const char *path, const char *sha256_hex) {
    json_t *in = json_object();
    json_object_set_new(in, "path", json_string(path ? path : "-"));
    json_object_set_new(in, "sha256", json_string(sha256_hex));
    json_array_append_new(json_object_get(entry, "inputs"), in);
}

json_t *prov_chain(json_t *upstream, json_t *entry) {
    json_t *chain = json_is_array(upstream) ? json_deep_copy(upstream) : json_array();
    json_array_append_new(chain, entry);
    return chain;
}
