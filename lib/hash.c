#include "hash.h"

#include <openssl/evp.h>

#include "util.h"

struct Sha256 {
    EVP_MD_CTX *ctx;
};

Sha256 *sha256_new(void) {
    Sha256 *h = xmalloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        die(NULL, "cannot initialise SHA-256");
    return h;
}

void sha256_update(Sha256 *h, const void *data, size_t len) {
    if (len && EVP_DigestUpdate(h->ctx, data, len) != 1) die(NULL, "SHA-256 update failed");
}

void sha256_final_hex(Sha256 *h, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32) die(NULL, "SHA-256 final failed");
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void sha256_hex(const void *data, size_t len, char hex[65]) {
    Sha256 *h = sha256_new();
    sha256_update(h, data, len);
    sha256_final_hex(h, hex);
}
