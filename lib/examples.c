#include "examples.h"

#include <string.h>

#include "util.h"

static const char *TYPE_NAMES[] = {"classification", "regression", "multiple_choice",
                                   "span_classification"};

const char *task_type_name(TaskType t) { return TYPE_NAMES[t]; }

int task_type_from_name(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcmp(TYPE_NAMES[i], s) == 0) return i;
    return -1;
}

void example_free(Example *ex) {
    for (int i = 0; i < ex->n_seq; i++) free(ex->seq[i]);
    free(ex->seq);
    free(ex->len);
    memset(ex, 0, sizeof *ex);
}

void example_write(StWriter *w, TaskType type, const Example *ex) {
    uint32_t n = 2 + (ex->has_label ? 1 : 0) + (type == TASK_SPAN_CLASSIFICATION ? 1 : 0);
    st_record_begin(w, n);
    st_put_uint(w, "idx", ex->idx);
    msgpack_packer *pk = st_writer_packer(w);
    if (type == TASK_MULTIPLE_CHOICE) {
        st_put_key(w, "choices");
        msgpack_pack_array(pk, (size_t)ex->n_seq);
        for (int c = 0; c < ex->n_seq; c++) {
            msgpack_pack_bin(pk, (size_t)ex->len[c] * 4);
            msgpack_pack_bin_body(pk, ex->seq[c], (size_t)ex->len[c] * 4);
        }
    } else {
        st_put_bin(w, "ids", ex->seq[0], (size_t)ex->len[0] * 4);
    }
    if (type == TASK_SPAN_CLASSIFICATION) {
        st_put_key(w, "spans");
        msgpack_pack_array(pk, (size_t)ex->n_spans);
        for (int s = 0; s < ex->n_spans; s++) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_int32(pk, ex->spans[s][0]);
            msgpack_pack_int32(pk, ex->spans[s][1]);
        }
    }
    if (ex->has_label) {
        if (type == TASK_REGRESSION) st_put_double(w, "label", ex->target);
        else st_put_int(w, "label", ex->label);
    }
}

/* Copy an int32 bin into a fresh array (unaligned-safe). */
static void read_ids(StReader *r, const StRecord *rec, const msgpack_object *o, int32_t **seq,
                     int32_t *len) {
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size % 4)
        st_reader_die(r, rec, "token ids must be an int32 bin");
    *len = (int32_t)(o->via.bin.size / 4);
    *seq = xmalloc((size_t)*len * 4 + 4);
    memcpy(*seq, o->via.bin.ptr, o->via.bin.size);
}

static void parse_record(StReader *r, const StRecord *rec, ExampleSet *s, Example *ex) {
    memset(ex, 0, sizeof *ex);
    ex->idx = (uint32_t)st_rec_int_req(r, rec, "idx");
    if (s->type == TASK_MULTIPLE_CHOICE) {
        const msgpack_object *c = st_rec_get(rec, "choices");
        if (!c || c->type != MSGPACK_OBJECT_ARRAY || c->via.array.size == 0)
            st_reader_die(r, rec, "missing field 'choices' (array of int32 bins)");
        ex->n_seq = (int)c->via.array.size;
        ex->seq = xcalloc(ex->n_seq, sizeof *ex->seq);
        ex->len = xcalloc(ex->n_seq, sizeof *ex->len);
        for (int i = 0; i < ex->n_seq; i++) read_ids(r, rec, &c->via.array.ptr[i], &ex->seq[i], &ex->len[i]);
    } else {
        const msgpack_object *o = st_rec_get(rec, "ids");
        if (!o) st_reader_die(r, rec, "missing field 'ids'");
        ex->n_seq = 1;
        ex->seq = xcalloc(1, sizeof *ex->seq);
        ex->len = xcalloc(1, sizeof *ex->len);
        read_ids(r, rec, o, &ex->seq[0], &ex->len[0]);
    }
    for (int i = 0; i < ex->n_seq; i++)
        if (ex->len[i] == 0) st_reader_die(r, rec, "empty token sequence");
    if (s->type == TASK_SPAN_CLASSIFICATION) {
        const msgpack_object *sp = st_rec_get(rec, "spans");
        if (!sp || sp->type != MSGPACK_OBJECT_ARRAY || sp->via.array.size != EXAMPLE_MAX_SPANS)
            st_reader_die(r, rec, "missing field 'spans' (two [start, end] pairs)");
        ex->n_spans = EXAMPLE_MAX_SPANS;
        for (int k = 0; k < EXAMPLE_MAX_SPANS; k++) {
            const msgpack_object *pair = &sp->via.array.ptr[k];
            if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2)
                st_reader_die(r, rec, "span %d is not a [start, end] pair", k + 1);
            for (int e = 0; e < 2; e++) {
                const msgpack_object *v = &pair->via.array.ptr[e];
                if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                    st_reader_die(r, rec, "span %d: positions must be non-negative integers", k + 1);
                ex->spans[k][e] = (int32_t)v->via.u64;
            }
            if (ex->spans[k][0] > ex->spans[k][1] || ex->spans[k][1] >= ex->len[0])
                st_reader_die(r, rec, "span %d [%d, %d] is outside the %d tokens", k + 1,
                              ex->spans[k][0], ex->spans[k][1], ex->len[0]);
        }
    }
    const msgpack_object *l = st_rec_get(rec, "label");
    if (l) {
        ex->has_label = 1;
        if (s->type == TASK_REGRESSION) {
            ex->target = (float)st_rec_num_req(r, rec, "label");
        } else {
            int64_t k = st_rec_int_req(r, rec, "label");
            if (k < 0 || k >= s->num_labels)
                st_reader_die(r, rec, "label %lld out of range [0, %d)", (long long)k, s->num_labels);
            ex->label = (int)k;
        }
    }
}

ExampleSet *exampleset_read(const char *path) {
    StReader *r = st_reader_open(path, "examples");
    ExampleSet *s = xcalloc(1, sizeof *s);
    s->header = json_deep_copy(st_reader_header(r));
    const char *tt = json_string_value(json_object_get(s->header, "task_type"));
    int type = tt ? task_type_from_name(tt) : -1;
    if (type < 0) die(st_reader_name(r), "header: missing or unknown task_type");
    s->type = (TaskType)type;
    json_t *nl = json_object_get(s->header, "num_labels");
    /* 0: unlabeled examples that name no classes (evaluate takes the delta's) */
    int unlabeled = json_is_false(json_object_get(s->header, "labeled"));
    if (!json_is_integer(nl) || json_integer_value(nl) < (unlabeled ? 0 : 1))
        die(st_reader_name(r), "header: missing or invalid num_labels");
    s->num_labels = (int)json_integer_value(nl);
    json_t *pad = json_object_get(s->header, "pad_id");
    s->pad_id = json_is_integer(pad) ? (int32_t)json_integer_value(pad) : 1;
    size_t cap = 0;
    StRecord rec;
    while (st_reader_next(r, &rec)) {
        if (s->n == cap) s->ex = xrealloc(s->ex, (cap = cap ? cap * 2 : 256) * sizeof *s->ex);
        parse_record(r, &rec, s, &s->ex[s->n++]);
    }
    st_reader_sha256(r, s->sha256);
    st_reader_close(r);
    return s;
}

void exampleset_free(ExampleSet *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) example_free(&s->ex[i]);
    free(s->ex);
    json_decref(s->header);
    free(s);
}
