/* provenance.h — the provenance chain carried in every stream header.
 *
 * Each tool copies its primary input's provenance array and appends one entry:
 *   {"tool":..., "version":..., "argv":[...], "time":"UTC ISO 8601",
 *    "inputs":[{"path":..., "sha256":...}, ...]}
 * so any file tells how it was made. */
#ifndef SPARSETUNE_PROVENANCE_H
#define SPARSETUNE_PROVENANCE_H

#include <jansson.h>

/* New entry for this tool invocation (tool name from st_progname). */
json_t *prov_entry(int argc, char **argv);
/* Record an input the tool read, with its SHA-256 hex digest. */
void prov_add_input(json_t *entry, const char *path, const char *sha256_hex);
/* New array: copy of upstream (a header's "provenance", may be NULL) + entry (stolen). */
json_t *prov_chain(json_t *upstream, json_t *entry);

#endif
