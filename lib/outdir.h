/* outdir.h — an output directory written atomically (the PEFT and AdapterHub exports): built
 * as OUTDIR.tmp.PID, renamed into place by outdir_commit, removed with its files if the tool
 * dies first.  One at a time per process. */
#ifndef SPARSETUNE_OUTDIR_H
#define SPARSETUNE_OUTDIR_H

#include <stddef.h>

/* Dies when outdir exists or the temporary directory cannot be made. */
void outdir_open(const char *outdir);
/* Write the file name (no '/') into the directory; outdir_path gives its path for writers
 * that take one (the file is then registered for the clean-up). */
void outdir_write(const char *name, const void *data, size_t len);
const char *outdir_path(const char *name);
void outdir_commit(void);

#endif
