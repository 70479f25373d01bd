/* masklog.h — masktrain --mask-log: every mask a run selects, with its step, as one `mask`
 * stream whose records carry an extra "step" (man 5 sparsetune-stream, MASK LOGS).  The
 * records of one selection share a step and come in tensor order; stats --masks reads such a
 * stream as one mask per step and reports the Jaccard overlap of consecutive masks and of
 * each with the final one. */
#ifndef SPARSETUNE_METHODS_MASKLOG_H
#define SPARSETUNE_METHODS_MASKLOG_H

#include <jansson.h>
#include <stdint.h>

typedef struct MaskLog MaskLog;

/* meta: header fields (method, ratio, scope), stolen.  The file is written atomically at
 * masklog_close. */
MaskLog *masklog_open(const char *path, json_t *meta);
void masklog_put(MaskLog *l, long step, const char *name, const int64_t *shape, int ndim,
                 const uint32_t *index, uint64_t k);
void masklog_close(MaskLog *l);

#endif
