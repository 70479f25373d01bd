/* stream_export.h — `inspect --to`: export the arrays of a tensors, mask or delta stream to
 * NumPy (.npy, or a directory of .npy files) or to one .safetensors file.
 *
 *   tensor record (and dense delta)  NAME         dtype kept; bf16 becomes f32 in .npy
 *   mask record                      NAME         flat indices: uint32 in .npy, I64 in
 *                                                 .safetensors; all:true gives 0..numel-1
 *   sparse delta record              NAME.index   as a mask
 *                                    NAME.value   f32
 * Nothing appears before the whole stream has been read and verified (end marker): a single
 * file is written through out_open/out_commit, a directory is filled through a hidden
 * staging directory whose files are renamed into place at the end. */
#ifndef SPARSETUNE_STREAM_EXPORT_H
#define SPARSETUNE_STREAM_EXPORT_H

#include "stream.h"

typedef struct Exporter Exporter;

/* to: "FILE.npy", "FILE.safetensors", "DIR/" or an existing directory; anything else is a
 * usage error (exit 2); a stream kind without arrays (examples, ...) dies. */
Exporter *export_open(const char *to, StReader *r);
/* Exports one record (call only for records selected by --name). */
void export_record(Exporter *e, StReader *r, const StRecord *rec);
/* After st_reader_next() returned 0: writes/commits the output; dies if nothing was exported. */
void export_finish(Exporter *e, StReader *r);

#endif
