/* npy.c — NumPy .npy v1.0 writer (see npy.h). */
#include "npy.h"

#include <string.h>

size_t npy_header(char *buf, size_t cap, const char *descr, const int64_t *shape, int ndim) {
    char dict[1024];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim && n < (int)sizeof dict; i++)
        n += snprintf(dict + n, sizeof dict - n, "%lld,%s", (long long)shape[i],
                      i + 1 < ndim ? " " : "");
    /* numpy writes (3,) for one dimension and (3, 4) for two: drop the trailing comma then */
    if (ndim > 1 && n < (int)sizeof dict) n--;
    if (n < (int)sizeof dict) n += snprintf(dict + n, sizeof dict - n, "), }");
    if (n >= (int)sizeof dict) return 0;
    size_t total = 10 + (size_t)n + 1; /* preamble, dict, '\n' */
    total = (total + 63) / 64 * 64;
    if (total > cap || total - 10 > 65535) return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(total - 10);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', total - 10 - (size_t)n - 1);
    buf[total - 1] = '\n';
    return total;
}

int npy_write_header(FILE *fp, const char *descr, const int64_t *shape, int ndim) {
    char buf[1152];
    size_t n = npy_header(buf, sizeof buf, descr, shape, ndim);
    if (!n) return -1;
    return fwrite(buf, 1, n, fp) == n ? 0 : -1;
}

int npy_write(FILE *fp, const char *descr, const int64_t *shape, int ndim, const void *data,
              size_t nbytes) {
    if (npy_write_header(fp, descr, shape, ndim) < 0) return -1;
    return fwrite(data, 1, nbytes, fp) == nbytes ? 0 : -1;
}
