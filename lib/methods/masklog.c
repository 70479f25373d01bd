/* masklog.c — see masklog.h. */
#include "methods/masklog.h"

#include "stream.h"
#include "util.h"

struct MaskLog {
    OutFile *out;
    StWriter *w;
};

MaskLog *masklog_open(const char *path, json_t *meta) {
    MaskLog *l = xcalloc(1, sizeof *l);
    l->out = out_open(path, 1);
    json_object_set_new(meta, "mask_log", json_true());
    l->w = st_writer_open(l->out->fp, "mask", meta, NULL);
    json_decref(meta);
    return l;
}

void masklog_put(MaskLog *l, long step, const char *name, const int64_t *shape, int ndim,
                 const uint32_t *index, uint64_t k) {
    st_record_begin(l->w, 4);
    st_put_str(l->w, "name", name);
    st_put_shape(l->w, "shape", shape, ndim);
    st_put_bin(l->w, "index", index, 4 * k);
    st_put_int(l->w, "step", step);
}

void masklog_close(MaskLog *l) {
    if (!l) return;
    st_writer_close(l->w);
    out_commit(l->out);
    free(l);
}
