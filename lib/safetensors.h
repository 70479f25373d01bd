/* safetensors.h — HuggingFace safetensors reader (mmap or memory) and writer.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name":{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}, "__metadata__":{...}},
 * then the data section.  The reader validates everything before use: header length within the
 * file, valid JSON, known dtypes, shape × dtype size == byte length, offsets in range and
 * non-overlapping. */
#ifndef SPARSETUNE_SAFETENSORS_H
#define SPARSETUNE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_F16, ST_BF16, ST_I32, ST_I64, ST_F64, ST_U8, ST_I8, ST_BOOL } StDtype;

typedef struct SafeTensor {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[8];
    int64_t numel;
    const void *data; /* points into the mapped file */
    size_t nbytes;
} SafeTensor;

typedef struct SafeTensors {
    int n;
    SafeTensor *t; /* in file order of data offsets */
    /* private */
    void *map;
    size_t map_len;
    int owns_buffer; /* 1: free(map), 0: munmap(map) */
    char *where;     /* name for messages */
} SafeTensors;

/* Open a file (mmap).  Dies "tool: path: what" on any invalid content. */
SafeTensors *safetensors_open(const char *path);
/* Parse a buffer already in memory (e.g. an archive member); takes ownership (free()). */
SafeTensors *safetensors_from_buffer(void *buf, size_t len, const char *where);
/* Same but returns NULL and writes a message into err instead of dying (for tests). */
SafeTensors *safetensors_parse(void *buf, size_t len, int owns, const char *where, char *err,
                               size_t errlen);
const SafeTensor *safetensors_find(const SafeTensors *st, const char *name);
/* Convert any float dtype (F32/F16/BF16/F64) to f32 into dst (numel floats). */
void safetensor_to_f32(const SafeTensor *t, float *dst);
void safetensors_close(SafeTensors *st);

const char *st_dtype_name(StDtype d); /* "F32", ... */
size_t st_dtype_size(StDtype d);

/* Writer: tensors are declared first (name, dtype, shape), then their data is written in the
 * same order; the file appears atomically at close (temporary + rename). */
typedef struct SafeTensorsWriter SafeTensorsWriter;
SafeTensorsWriter *safetensors_writer_new(void);
void safetensors_writer_add(SafeTensorsWriter *w, const char *name, StDtype dtype,
                            const int64_t *shape, int ndim, const void *data);
/* Optional string metadata ("__metadata__"). */
void safetensors_writer_meta(SafeTensorsWriter *w, const char *key, const char *value);
/* Writes the file (atomically) and frees the writer. data pointers must be valid until then. */
void safetensors_writer_save(SafeTensorsWriter *w, const char *path);

/* f16/bf16 conversions */
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f); /* round to nearest even */
uint16_t f32_to_f16(float f);

#endif
