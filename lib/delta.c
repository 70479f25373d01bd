#include "delta.h"

#include <string.h>

#include "stream.h"
#include "stream_tensor.h"
#include "util.h"

static int find_checked(StReader *r, const StRecord *rec, Model *m, const char *name,
                        const int64_t *shape, int ndim) {
    int idx = model_find(m, name);
    if (idx < 0) st_reader_die(r, rec, "the model has no tensor '%s'", name);
    const ParamInfo *p = &m->info[idx];
    int same = ndim == p->ndim;
    for (int d = 0; same && d < ndim; d++) same = shape[d] == p->shape[d];
    if (!same) st_reader_die(r, rec, "'%s': shape differs from the model's", name);
    return idx;
}

void delta_apply(Model *m, const char *path, const char *base_sha256, int force, DeltaInfo *info) {
    memset(info, 0, sizeof *info);
    StReader *r = st_reader_open(path, "delta");
    info->header = json_deep_copy(st_reader_header(r));
    const char *base = json_string_value(json_object_get(info->header, "base_model_sha256"));
    if (base_sha256 && !force && (!base || strcmp(base, base_sha256) != 0))
        die(st_reader_name(r), "this delta was made for another base model (base_model_sha256 %.12s…, "
            "the model's is %.12s…); --force applies it anyway", base ? base : "missing", base_sha256);
    StRecord rec;
    while (st_reader_next(r, &rec)) {
        StTensor t;
        StSparse s;
        if (st_delta_read(r, &rec, &t, &s)) {
            int idx = find_checked(r, &rec, m, t.name, t.shape, t.ndim);
            float *host = xmalloc(m->info[idx].numel * sizeof *host);
            st_tensor_to_f32(&t, host);
            model_set_tensor(m, idx, host); /* backend memory */
            free(host);
            info->n_dense++;
            info->entries_changed += (size_t)t.numel;
        } else {
            int idx = find_checked(r, &rec, m, s.name, s.shape, s.ndim);
            float *p = xmalloc(m->info[idx].numel * sizeof *p);
            model_get_tensor(m, idx, p);
            for (uint64_t j = 0; j < s.k; j++) p[st_load_u32(s.index, j)] += st_load_f32(s.value, j);
            model_set_tensor(m, idx, p);
            free(p);
            info->n_sparse++;
            info->entries_changed += s.k;
        }
    }
    st_reader_sha256(r, info->sha256);
    st_reader_close(r);
}

void deltainfo_free(DeltaInfo *info) {
    json_decref(info->header);
    info->header = NULL;
}
