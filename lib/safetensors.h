/* safetensors.h — HuggingFace safetensors reader (mmap or memory) and writer.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name":{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}, "__metadata__":{...}},
 * then the data section.  The reader validates everything before use, as the reference
 * implementation (huggingface/safetensors, tensor.rs) does:
 *   - N <= 100,000,000 and 8 + N <= file size;
 *   - the header is a JSON object (duplicate keys rejected); "__metadata__", when present,
 *     maps strings to strings;
 *   - every entry has a known dtype (F32 F16 BF16 F64 I32 I64 U8 I8 BOOL), a shape of at
 *     most 8 non-negative integers and data_offsets [begin, end] with begin <= end;
 *   - end - begin == numel x dtype size (computed without overflow);
 *   - sorted by offsets, the tensors tile the data section exactly: the first begins at 0,
 *     each begins where the previous ends (no overlap, no gap) and the last ends at the end
 *     of the file.
 * Tensor data may be unaligned (the data section starts at 8 + N and a buffer from an archive
 * member has no alignment guarantee): read it with memcpy or safetensor_to_f32, never by
 * casting `data` to float *. */
#ifndef SPARSETUNE_SAFETENSORS_H
#define SPARSETUNE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER 100000000u /* bytes, the reference implementation's limit */

typedef enum { ST_F32, ST_F16, ST_BF16, ST_I32, ST_I64, ST_F64, ST_U8, ST_I8, ST_BOOL } StDtype;

typedef struct SafeTensor {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* points into the mapped file or buffer; possibly unaligned */
    size_t nbytes;
} SafeTensor;

typedef struct SafeTensors {
    int n;
    SafeTensor *t; /* sorted by data offset (file order) */
    /* private */
    void *map;
    size_t map_len;
    int map_kind;  /* 0: borrowed, 1: malloc'ed (free), 2: mmap'ed (munmap) */
    char *where;   /* name for messages */
    int *by_name;  /* indices of t sorted by name, for safetensors_find */
    void *meta;    /* json_t object of "__metadata__" or NULL */
} SafeTensors;

/* Open a file (mmap).  Dies "tool: path: what" on any invalid content. */
SafeTensors *safetensors_open(const char *path);
/* Parse a buffer already in memory (e.g. an archive member); takes ownership (free()), also
 * on failure.  Dies "tool: where: what". */
SafeTensors *safetensors_from_buffer(void *buf, size_t len, const char *where);
/* Same but returns NULL and writes the reason ("what", without where) into err instead of
 * dying.  owns: 1 = the result frees buf (also on failure), 0 = buf is borrowed and must
 * outlive the result. */
SafeTensors *safetensors_parse(void *buf, size_t len, int owns, const char *where, char *err,
                               size_t errlen);
/* The file `name` (e.g. "model.safetensors") of a directory source (source.h): mmap'ed from a
 * real directory, read into memory from an archive.  NULL when absent; dies on invalid
 * content, naming the file as the user would write it (DIR/name or ARCHIVE:DIR/name). */
struct Source;
SafeTensors *safetensors_load(struct Source *src, const char *name);
/* NULL when absent. */
const SafeTensor *safetensors_find(const SafeTensors *st, const char *name);
/* A "__metadata__" value, NULL when absent. */
const char *safetensors_meta(const SafeTensors *st, const char *key);
/* Convert the tensor to f32 into dst (numel floats): floats by IEEE conversion (F16/BF16
 * exactly, F64 rounded), integers and BOOL by value. */
void safetensor_to_f32(const SafeTensor *t, float *dst);
void safetensors_close(SafeTensors *st);

const char *st_dtype_name(StDtype d); /* "F32", ... */
size_t st_dtype_size(StDtype d);
/* Parse "F32" etc.; returns 0 and sets *d, or -1 when unknown. */
int st_dtype_parse(const char *s, StDtype *d);

/* Writer: tensors are declared (name, dtype, shape, data) in the order they will appear; the
 * header lists them in that order with contiguous data offsets and is padded with spaces to a
 * multiple of 8 bytes (as HF does, so the data section is 8-byte aligned).  The file appears
 * atomically at save (temporary + rename, util.h out_open/out_commit); "-" writes stdout. */
typedef struct SafeTensorsWriter SafeTensorsWriter;
SafeTensorsWriter *safetensors_writer_new(void);
/* data holds numel x dtype size bytes, little-endian; it is not copied.  Dies on a duplicate
 * or reserved name, more than 8 dimensions or a negative size. */
void safetensors_writer_add(SafeTensorsWriter *w, const char *name, StDtype dtype,
                            const int64_t *shape, int ndim, const void *data);
/* Optional string metadata ("__metadata__"), e.g. ("format", "pt") as transformers writes. */
void safetensors_writer_meta(SafeTensorsWriter *w, const char *key, const char *value);
/* Writes the file (atomically) and frees the writer. data pointers must be valid until then. */
void safetensors_writer_save(SafeTensorsWriter *w, const char *path);

/* f16/bf16 conversions (exact widening; narrowing rounds to nearest even, NaN stays NaN). */
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
uint16_t f32_to_f16(float f);

#endif
