/* mpscan.h — a streaming pre-scan of msgpack bytes that rejects absurd container sizes.
 *
 * msgpack-c allocates an array's or map's element storage as soon as it reads the header,
 * before the elements arrive: a corrupted byte declaring 4 billion elements makes it ask for
 * ~100 GB (under ASan: an abort).  The stream reader feeds every byte it reads through this
 * scanner first, which walks the token headers (skipping str/bin/ext bodies, so it costs
 * nothing for tensor data) and refuses containers above MPSCAN_MAX_ELEMS. */
#ifndef SPARSETUNE_MPSCAN_H
#define SPARSETUNE_MPSCAN_H

#include <stddef.h>
#include <stdint.h>

#define MPSCAN_MAX_ELEMS (1u << 24)

typedef struct MpScan {
    uint64_t offset; /* bytes scanned so far */
    uint64_t skip;   /* body bytes of the current str/bin/ext still to skip */
    uint8_t hdr[9];  /* the current token's header bytes */
    int have, need;  /* header bytes collected / needed (0: at a token start) */
    uint64_t bad_offset, bad_count; /* where and what the rejected container was */
} MpScan;

/* 0: fine so far; -1: a container declares more than MPSCAN_MAX_ELEMS elements (see
 * bad_offset, bad_count).  Bytes that are not valid msgpack are left to msgpack-c. */
int mpscan_feed(MpScan *s, const void *data, size_t n);

#endif
