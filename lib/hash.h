/* hash.h — SHA-256 (OpenSSL libcrypto) for provenance and tokenizer/model fingerprints. */
#ifndef SPARSETUNE_HASH_H
#define SPARSETUNE_HASH_H

#include <stddef.h>

typedef struct Sha256 Sha256;
Sha256 *sha256_new(void);
void sha256_update(Sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL, frees h. */
void sha256_final_hex(Sha256 *h, char hex[65]);
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
