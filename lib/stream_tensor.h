/* stream_tensor.h — typed views of the tensor, mask and delta records of a stream
 * (man 5 sparsetune-stream), validated before use.
 *
 *   tensor record:       name, dtype ("f32","bf16","f16","i32"), shape, data (bin)
 *   mask record:         name, shape, index (uint32 bin, sorted unique flat positions) | all:true
 *   sparse delta record: name, shape, index (as a mask), value (f32 bin, one per index)
 *   dense delta record:  a tensor record
 *
 * Data pointers point into the reader's buffer (valid until the next st_reader_next()),
 * little-endian and NOT aligned: use the st_load_* helpers or memcpy. */
#ifndef SPARSETUNE_STREAM_TENSOR_H
#define SPARSETUNE_STREAM_TENSOR_H

#include <stdint.h>
#include <string.h>

#include "safetensors.h" /* StDtype */
#include "stream.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sparsetune streams are little-endian; big-endian hosts are not supported"
#endif

#define ST_NAME_MAX 256

/* "f32" "bf16" "f16" "i32" <-> ST_F32 ST_BF16 ST_F16 ST_I32.  parse: 0 ok, -1 unknown. */
int stream_dtype_parse(const char *s, size_t len, StDtype *out);
const char *stream_dtype_name(StDtype d);
size_t stream_dtype_size(StDtype d);

typedef struct StTensor {
    char name[ST_NAME_MAX];
    StDtype dtype;
    int ndim;
    int64_t shape[8];
    int64_t numel;
    const void *data; /* numel elements of dtype */
    size_t nbytes;
} StTensor;

typedef struct StSparse {
    char name[ST_NAME_MAX];
    int ndim;
    int64_t shape[8];
    int64_t numel;
    int all;           /* mask record with all:true (index is NULL, k == numel) */
    uint64_t k;        /* number of selected positions */
    const void *index; /* k uint32, strictly increasing, < numel */
    const void *value; /* k f32 (sparse delta), NULL for masks */
} StSparse;

/* Non-dying parsers: 0 ok, -1 with "what" in err (field names quoted). */
int st_tensor_parse(const StRecord *rec, StTensor *t, char *err, size_t errlen);
/* with_value: 1 sparse delta (value required, all:true refused), 0 mask. */
int st_sparse_parse(const StRecord *rec, int with_value, StSparse *s, char *err, size_t errlen);

/* Dying forms: "tool: FILE: record N: what". */
void st_tensor_read(StReader *r, const StRecord *rec, StTensor *t);
void st_mask_read(StReader *r, const StRecord *rec, StSparse *s);
/* Delta record: returns 1 and fills *t for a dense record (it has "data"), else 0 and *s. */
int st_delta_read(StReader *r, const StRecord *rec, StTensor *t, StSparse *s);

/* Writers of the same records (st_record_begin included). */
void st_put_tensor(StWriter *w, const char *name, StDtype dtype, const int64_t *shape, int ndim,
                   const void *data);
void st_put_mask(StWriter *w, const char *name, const int64_t *shape, int ndim,
                 const uint32_t *index, uint64_t k); /* index NULL: all:true */
void st_put_sparse_delta(StWriter *w, const char *name, const int64_t *shape, int ndim,
                         const uint32_t *index, const float *value, uint64_t k);


static inline uint32_t st_load_u32(const void *p, size_t i) {
    uint32_t v;
    memcpy(&v, (const char *)p + 4 * i, 4);
    return v;
}
static inline float st_load_f32(const void *p, size_t i) {
    float v;
    memcpy(&v, (const char *)p + 4 * i, 4);
    return v;
}
/* Element i of any tensor dtype as float (i32 converted). */
float st_tensor_at(const StTensor *t, int64_t i);
/* All elements as float into dst (numel floats). */
void st_tensor_to_f32(const StTensor *t, float *dst);
/* Product of dims; -1 on overflow beyond 2^62. */
int64_t st_shape_numel(const int64_t *shape, int ndim);

#endif
