/* npy.h — write NumPy .npy files (format version 1.0), for `inspect --to`.
 *
 * Layout: "\x93NUMPY", 1, 0, little-endian uint16 header length, then the header
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (768, 3072), }
 * padded with spaces and a final '\n' so that the data starts at a multiple of 64 bytes,
 * then the raw little-endian data in C order. */
#ifndef SPARSETUNE_NPY_H
#define SPARSETUNE_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Builds the preamble + header into buf; returns its length (a multiple of 64), or 0 when it
 * does not fit in cap bytes or the header would exceed v1.0's 65535 bytes.  descr is a numpy
 * type string such as "<f4", "<f2", "<i4", "<u4", "<u2". */
size_t npy_header(char *buf, size_t cap, const char *descr, const int64_t *shape, int ndim);
/* Writes header and data (nbytes) to fp; 0 ok, -1 on a write error (errno set). */
int npy_write(FILE *fp, const char *descr, const int64_t *shape, int ndim, const void *data,
              size_t nbytes);
/* Writes only the header; the caller then writes the data itself (e.g. converted on the fly). */
int npy_write_header(FILE *fp, const char *descr, const int64_t *shape, int ndim);

#endif
