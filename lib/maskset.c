/* maskset.c — see maskset.h. */
#include "maskset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h" /* json_num */
#include "stats.h"
#include "stream.h"
#include "stream_tensor.h"
#include "util.h"

void maskset_init(MaskSet *s, int include_head) {
    *s = (MaskSet){.include_head = include_head};
}

void maskset_free(MaskSet *s) {
    for (size_t i = 0; i < s->n; i++) {
        Mask *m = &s->m[i];
        for (size_t k = 0; k < m->nt; k++) free(m->t[k].index);
        free(m->t);
        free(m->path);
        free(m->label);
        json_decref(m->meta);
    }
    free(s->m);
    strtab_free(&s->names);
    free(s->numel);
    free(s->ndim);
    free(s->shape);
    free(s->first);
    *s = (MaskSet){0};
}

static int is_head(const char *name) {
    return strncmp(name, "classifier.", 11) == 0 || strncmp(name, "lm_head.", 8) == 0;
}

static int mt_cmp(const void *pa, const void *pb) {
    const MaskTensor *a = pa, *b = pb;
    return (a->name > b->name) - (a->name < b->name);
}

/* "method/task/ratio/sSEED" from the header keys present, else the file name. */
static char *make_label(json_t *meta, const char *path) {
    char buf[512] = "";
    size_t len = 0;
    const char *keys[] = {"method", "task", "ratio", "seed"};
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(meta, keys[i]);
        if (!v) continue;
        char part[128];
        if (json_is_string(v))
            snprintf(part, sizeof part, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(part, sizeof part, "%s%lld", i == 3 ? "s" : "", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(part, sizeof part, "%g", json_real_value(v));
        else
            continue;
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? "/" : "", part);
        if (len >= sizeof buf) break;
    }
    if (!buf[0]) {
        const char *slash = strrchr(path, '/');
        snprintf(buf, sizeof buf, "%s", slash ? slash + 1 : path);
    }
    return xstrdup(buf);
}

/* A new mask of s from the stream r (step >= 0: one selection of a mask log). */
static Mask *begin_mask(MaskSet *s, StReader *r, long step) {
    s->m = xrealloc(s->m, (s->n + 1) * sizeof *s->m);
    Mask *m = &s->m[s->n++];
    *m = (Mask){.path = xstrdup(st_reader_name(r)), .step = step};
    json_t *h = st_reader_header(r);
    m->meta = json_object();
    const char *keys[] = {"method", "task", "ratio", "seed", "scope"};
    for (int i = 0; i < 5; i++) {
        json_t *v = json_object_get(h, keys[i]);
        if (v && !json_is_null(v)) json_object_set(m->meta, keys[i], v);
    }
    m->label = make_label(m->meta, m->path);
    if (step >= 0) {
        json_object_set_new(m->meta, "step", json_integer(step));
        char *l = xmalloc(strlen(m->label) + 32);
        sprintf(l, "%s@%ld", m->label, step);
        free(m->label);
        m->label = l;
    }
    return m;
}

static void end_mask(Mask *m) {
    if (m && m->nt) qsort(m->t, m->nt, sizeof *m->t, mt_cmp);
}

void maskset_read(MaskSet *s, const char *path) {
    StReader *r = st_reader_open(path, "mask");
    int is_log = json_is_true(json_object_get(st_reader_header(r), "mask_log"));
    Mask *m = is_log ? NULL : begin_mask(s, r, -1);
    StRecord rec;
    StSparse sp;
    size_t cap = 0;
    while (st_reader_next(r, &rec)) {
        st_mask_read(r, &rec, &sp);
        if (is_log) { /* one mask per step */
            long step = (long)st_rec_int_req(r, &rec, "step");
            if (!m || step != m->step) {
                if (m && step < m->step) st_reader_die(r, &rec, "step %ld after step %ld", step, m->step);
                end_mask(m);
                m = begin_mask(s, r, step);
                cap = 0;
            }
        }
        if (!s->include_head && is_head(sp.name)) continue;
        size_t before = s->names.n;
        size_t id = strtab_intern(&s->names, sp.name, strlen(sp.name));
        int fresh = s->names.n > before;
        if (fresh) { /* grow the per-name arrays */
            s->numel = xrealloc(s->numel, s->names.n * sizeof *s->numel);
            s->ndim = xrealloc(s->ndim, s->names.n * sizeof *s->ndim);
            s->shape = xrealloc(s->shape, s->names.n * sizeof *s->shape);
            s->first = xrealloc(s->first, s->names.n * sizeof *s->first);
        }
        size_t cur = s->n - 1;
        if (fresh) {
            s->numel[id] = sp.numel;
            s->ndim[id] = sp.ndim;
            memcpy(s->shape[id], sp.shape, sizeof sp.shape);
            s->first[id] = (uint32_t)cur;
        } else if (s->ndim[id] != sp.ndim ||
                   memcmp(s->shape[id], sp.shape, (size_t)sp.ndim * sizeof sp.shape[0]) != 0) {
            st_reader_die(r, &rec, "tensor '%s' has another shape than in %s", sp.name,
                          s->first[id] == cur ? "an earlier record of this stream"
                                              : s->m[s->first[id]].path);
        }
        for (size_t k = 0; k < m->nt; k++)
            if (m->t[k].name == id) st_reader_die(r, &rec, "tensor '%s' appears twice", sp.name);
        if (m->nt == cap) {
            cap = cap ? 2 * cap : 64;
            m->t = xrealloc(m->t, cap * sizeof *m->t);
        }
        MaskTensor *t = &m->t[m->nt++];
        *t = (MaskTensor){.name = (uint32_t)id, .all = sp.all, .k = sp.k};
        if (!sp.all && sp.k) {
            t->index = xmalloc(sp.k * 4);
            memcpy(t->index, sp.index, sp.k * 4);
        }
        m->selected += sp.k;
    }
    if (is_log && !m) st_reader_die(r, NULL, "a mask log without masks");
    end_mask(m);
    st_reader_close(r);
}

int maskset_has_log(const MaskSet *s) {
    for (size_t i = 0; i < s->n; i++)
        if (s->m[i].step >= 0) return 1;
    return 0;
}

double maskset_jaccard(const MaskSet *s, size_t a, size_t b) {
    uint64_t in, un;
    maskset_overlap(s, a, b, &in, &un);
    return stats_jaccard(in, s->m[a].selected, s->m[b].selected);
}

/* The masks of the same file as mask a, in order: previous and final (SIZE_MAX: none). */
static void log_neighbours(const MaskSet *s, size_t a, size_t *prev, size_t *last) {
    *prev = a > 0 && strcmp(s->m[a - 1].path, s->m[a].path) == 0 && s->m[a - 1].step >= 0 ? a - 1 : SIZE_MAX;
    size_t l = a;
    while (l + 1 < s->n && strcmp(s->m[l + 1].path, s->m[a].path) == 0 && s->m[l + 1].step >= 0) l++;
    *last = l;
}

void maskset_overlap(const MaskSet *s, size_t a, size_t b, uint64_t *inter, uint64_t *uni) {
    const Mask *x = &s->m[a], *y = &s->m[b];
    uint64_t in = 0;
    size_t i = 0, j = 0;
    while (i < x->nt && j < y->nt) {
        const MaskTensor *p = &x->t[i], *q = &y->t[j];
        if (p->name < q->name) {
            i++;
        } else if (q->name < p->name) {
            j++;
        } else {
            if (p->all)
                in += q->k;
            else if (q->all)
                in += p->k;
            else
                in += stats_intersect_u32(p->index, p->k, q->index, q->k);
            i++;
            j++;
        }
    }
    *inter = in;
    *uni = x->selected + y->selected - in;
}

/* Strip the "roberta." prefix; the loader accepts bare names too. */
static const char *bare(const char *name) {
    return strncmp(name, "roberta.", 8) == 0 ? name + 8 : name;
}

int maskset_layer_of(const char *name) {
    const char *n = bare(name);
    if (strncmp(n, "embeddings.", 11) == 0) return -1;
    if (strncmp(n, "pooler.", 7) == 0) return -2;
    if (strncmp(n, "encoder.layer.", 14) == 0) {
        char *end;
        long k = strtol(n + 14, &end, 10);
        if (end != n + 14 && *end == '.' && k >= 0 && k < 100000) return (int)k;
    }
    return -3;
}

const char *maskset_type_of(const char *name) {
    const char *n = bare(name);
    if (strstr(n, "LayerNorm")) return "LayerNorm";
    if (strncmp(n, "embeddings.", 11) == 0) return "embeddings";
    if (strncmp(n, "pooler.", 7) == 0) return "pooler";
    if (maskset_layer_of(name) >= 0) {
        if (strstr(n, ".attention.self.query.")) return "query";
        if (strstr(n, ".attention.self.key.")) return "key";
        if (strstr(n, ".attention.self.value.")) return "value";
        if (strstr(n, ".attention.output.dense.")) return "attention.output";
        if (strstr(n, ".intermediate.dense.")) return "intermediate";
        if (strstr(n, ".output.dense.")) return "output";
    }
    return "other";
}

static const char *const TYPES[] = {"embeddings",   "query",  "key",       "value",  "attention.output",
                                    "intermediate", "output", "LayerNorm", "pooler", "other"};
#define NTYPES 10

/* Layer groups: 0 embeddings, 1..L layers, L+1 pooler, L+2 other. */
static int nlayers(const MaskSet *s) {
    int L = 0;
    for (size_t i = 0; i < s->names.n; i++) {
        int k = maskset_layer_of(s->names.s[i]);
        if (k + 1 > L) L = k + 1;
    }
    return L;
}
static size_t layer_group(const char *name, int L) {
    int k = maskset_layer_of(name);
    return k == -1 ? 0 : k >= 0 ? (size_t)k + 1 : k == -2 ? (size_t)L + 1 : (size_t)L + 2;
}
static size_t type_group(const char *name) {
    const char *t = maskset_type_of(name);
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(TYPES[i], t) == 0) return i;
    return NTYPES - 1;
}
static void group_name(size_t g, int L, char *buf, size_t n) {
    if (g == 0)
        snprintf(buf, n, "embeddings");
    else if (g <= (size_t)L)
        snprintf(buf, n, "layer.%zu", g - 1);
    else
        snprintf(buf, n, "%s", g == (size_t)L + 1 ? "pooler" : "other");
}

/* Per-group numel (over every tensor any mask names) and each mask's counts. */
typedef struct Where {
    int L;
    size_t ng[2];         /* groups: layers, types */
    uint64_t *numel[2];   /* ng */
    uint64_t *count[2];   /* n masks × ng */
} Where;
static void where_compute(const MaskSet *s, Where *w) {
    w->L = nlayers(s);
    w->ng[0] = (size_t)w->L + 3;
    w->ng[1] = NTYPES;
    for (int d = 0; d < 2; d++) {
        w->numel[d] = xcalloc(w->ng[d], sizeof(uint64_t));
        w->count[d] = xcalloc(w->ng[d] * (s->n + 1), sizeof(uint64_t));
    }
    for (size_t i = 0; i < s->names.n; i++) {
        w->numel[0][layer_group(s->names.s[i], w->L)] += (uint64_t)s->numel[i];
        w->numel[1][type_group(s->names.s[i])] += (uint64_t)s->numel[i];
    }
    for (size_t m = 0; m < s->n; m++)
        for (size_t k = 0; k < s->m[m].nt; k++) {
            const MaskTensor *t = &s->m[m].t[k];
            const char *name = s->names.s[t->name];
            w->count[0][m * w->ng[0] + layer_group(name, w->L)] += t->k;
            w->count[1][m * w->ng[1] + type_group(name)] += t->k;
        }
}
static void where_free(Where *w) {
    for (int d = 0; d < 2; d++) {
        free(w->numel[d]);
        free(w->count[d]);
    }
}
static void where_name(const Where *w, int d, size_t g, char *buf, size_t n) {
    if (d == 0)
        group_name(g, w->L, buf, n);
    else
        snprintf(buf, n, "%s", TYPES[g]);
}
static double ratio_or_nan(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : NAN; }

json_t *maskset_json(const MaskSet *s) {
    Where w;
    where_compute(s, &w);
    json_t *masks = json_array();
    for (size_t m = 0; m < s->n; m++) {
        const Mask *x = &s->m[m];
        json_t *o = json_pack("{s:s, s:s, s:O, s:I, s:I}", "file", x->path, "label", x->label,
                              "header", x->meta, "selected", (json_int_t)x->selected, "tensors",
                              (json_int_t)x->nt);
        for (int d = 0; d < 2; d++) {
            json_t *groups = json_object();
            for (size_t g = 0; g < w.ng[d]; g++) {
                if (!w.numel[d][g]) continue;
                uint64_t c = w.count[d][m * w.ng[d] + g];
                char name[64];
                where_name(&w, d, g, name, sizeof name);
                json_object_set_new(
                    groups, name,
                    json_pack("{s:I, s:o, s:o}", "count", (json_int_t)c, "fraction",
                              json_num(ratio_or_nan(c, x->selected)), "density",
                              json_num(ratio_or_nan(c, w.numel[d][g]))));
            }
            json_object_set_new(o, d ? "types" : "layers", groups);
        }
        json_array_append_new(masks, o);
    }
    json_t *jac = json_array(), *inter = json_array();
    for (size_t a = 0; a < s->n; a++) {
        json_t *rj = json_array(), *ri = json_array();
        for (size_t b = 0; b < s->n; b++) {
            uint64_t in, un;
            maskset_overlap(s, a, b, &in, &un);
            json_array_append_new(rj, json_real(stats_jaccard(in, s->m[a].selected, s->m[b].selected)));
            json_array_append_new(ri, json_integer((json_int_t)in));
        }
        json_array_append_new(jac, rj);
        json_array_append_new(inter, ri);
    }
    json_t *numel = json_object();
    for (int d = 0; d < 2; d++) {
        json_t *g = json_object();
        for (size_t k = 0; k < w.ng[d]; k++) {
            if (!w.numel[d][k]) continue;
            char name[64];
            where_name(&w, d, k, name, sizeof name);
            json_object_set_new(g, name, json_integer((json_int_t)w.numel[d][k]));
        }
        json_object_set_new(numel, d ? "types" : "layers", g);
    }
    where_free(&w);
    json_t *all = json_pack("{s:o, s:o, s:o, s:o, s:b}", "masks", masks, "jaccard", jac, "intersection",
                            inter, "numel", numel, "include_head", s->include_head);
    if (maskset_has_log(s)) {
        json_t *moves = json_array();
        for (size_t a = 0; a < s->n; a++) {
            if (s->m[a].step < 0) continue;
            size_t prev, last;
            log_neighbours(s, a, &prev, &last);
            json_array_append_new(moves, json_pack("{s:s, s:I, s:o, s:f}", "file", s->m[a].path, "step",
                                                   (json_int_t)s->m[a].step,
                                                   "jaccard_previous", prev == SIZE_MAX ? json_null()
                                                       : json_real(maskset_jaccard(s, prev, a)),
                                                   "jaccard_final", maskset_jaccard(s, a, last)));
        }
        json_object_set_new(all, "mask_log", moves);
    }
    return all;
}

size_t maskset_grids(const MaskSet *s, int digits, Grid ***out) {
    Grid **gs = xcalloc(4, sizeof *gs);
    char buf[64];
    Grid *g = gs[0] = grid_new("Masks", s->n, 5, digits);
    const char *h[] = {"#", "label", "file", "tensors", "selected"};
    for (size_t c = 0; c < 5; c++) grid_header(g, c, h[c]);
    for (size_t m = 0; m < s->n; m++) {
        grid_int(g, m, 0, (long long)m + 1);
        grid_text(g, m, 1, s->m[m].label);
        grid_text(g, m, 2, s->m[m].path);
        grid_int(g, m, 3, (long long)s->m[m].nt);
        grid_int(g, m, 4, (long long)s->m[m].selected);
    }
    g = gs[1] = grid_new("Jaccard overlap |A and B| / |A or B|", s->n, s->n + 1, digits + 1);
    grid_header(g, 0, "#");
    for (size_t b = 0; b < s->n; b++) {
        snprintf(buf, sizeof buf, "%zu", b + 1);
        grid_header(g, b + 1, buf);
    }
    for (size_t a = 0; a < s->n; a++) {
        grid_int(g, a, 0, (long long)a + 1);
        for (size_t b = 0; b < s->n; b++) {
            uint64_t in, un;
            maskset_overlap(s, a, b, &in, &un);
            grid_fixed(g, a, b + 1, stats_jaccard(in, s->m[a].selected, s->m[b].selected));
        }
    }
    Where w;
    where_compute(s, &w);
    for (int d = 0; d < 2; d++) {
        size_t ncol = 1;
        for (size_t k = 0; k < w.ng[d]; k++) ncol += w.numel[d][k] > 0;
        g = gs[2 + d] = grid_new(d ? "Selected entries per matrix type (% of the mask)"
                                   : "Selected entries per layer (% of the mask)",
                                 s->n, ncol, digits);
        grid_header(g, 0, "#");
        size_t col = 1;
        for (size_t k = 0; k < w.ng[d]; k++) {
            if (!w.numel[d][k]) continue;
            where_name(&w, d, k, buf, sizeof buf);
            grid_header(g, col++, buf);
        }
        for (size_t m = 0; m < s->n; m++) {
            grid_int(g, m, 0, (long long)m + 1);
            col = 1;
            for (size_t k = 0; k < w.ng[d]; k++) {
                if (!w.numel[d][k]) continue;
                grid_fixed(g, m, col++,
                           100.0 * ratio_or_nan(w.count[d][m * w.ng[d] + k], s->m[m].selected));
            }
        }
    }
    where_free(&w);
    if (!maskset_has_log(s)) {
        *out = gs;
        return 4;
    }
    size_t rows = 0;
    for (size_t m = 0; m < s->n; m++) rows += s->m[m].step >= 0;
    gs = xrealloc(gs, 5 * sizeof *gs);
    g = gs[4] = grid_new("Mask log: Jaccard with the previous and with the final mask", rows, 5, digits + 1);
    const char *hl[] = {"#", "label", "step", "previous", "final"};
    for (size_t c = 0; c < 5; c++) grid_header(g, c, hl[c]);
    size_t row = 0;
    for (size_t m = 0; m < s->n; m++) {
        if (s->m[m].step < 0) continue;
        size_t prev, last;
        log_neighbours(s, m, &prev, &last);
        grid_int(g, row, 0, (long long)m + 1);
        grid_text(g, row, 1, s->m[m].label);
        grid_int(g, row, 2, s->m[m].step);
        if (prev != SIZE_MAX) grid_fixed(g, row, 3, maskset_jaccard(s, prev, m));
        else grid_text(g, row, 3, "-");
        grid_fixed(g, row, 4, maskset_jaccard(s, m, last));
        row++;
    }
    *out = gs;
    return 5;
}

size_t maskset_long(const MaskSet *s, Grid ***out) {
    Grid **gs = xcalloc(2, sizeof *gs);
    Grid *g = gs[0] = grid_new("jaccard", s->n * s->n, 7, 6);
    const char *h[] = {"a", "b", "label_a", "label_b", "intersection", "union", "jaccard"};
    for (size_t c = 0; c < 7; c++) grid_header(g, c, h[c]);
    size_t k = 0;
    for (size_t a = 0; a < s->n; a++)
        for (size_t b = 0; b < s->n; b++, k++) {
            uint64_t in, un;
            maskset_overlap(s, a, b, &in, &un);
            grid_int(g, k, 0, (long long)a + 1);
            grid_int(g, k, 1, (long long)b + 1);
            grid_text(g, k, 2, s->m[a].label);
            grid_text(g, k, 3, s->m[b].label);
            grid_int(g, k, 4, (long long)in);
            grid_int(g, k, 5, (long long)un);
            grid_fixed(g, k, 6, stats_jaccard(in, s->m[a].selected, s->m[b].selected));
        }
    Where w;
    where_compute(s, &w);
    size_t n = 0;
    for (int d = 0; d < 2; d++)
        for (size_t q = 0; q < w.ng[d]; q++) n += (w.numel[d][q] > 0) * s->n;
    g = gs[1] = grid_new("where", n, 7, 6);
    const char *h2[] = {"mask", "label", "kind", "group", "count", "fraction", "density"};
    for (size_t c = 0; c < 7; c++) grid_header(g, c, h2[c]);
    k = 0;
    for (size_t m = 0; m < s->n; m++)
        for (int d = 0; d < 2; d++)
            for (size_t q = 0; q < w.ng[d]; q++) {
                if (!w.numel[d][q]) continue;
                char name[64];
                where_name(&w, d, q, name, sizeof name);
                uint64_t c = w.count[d][m * w.ng[d] + q];
                grid_int(g, k, 0, (long long)m + 1);
                grid_text(g, k, 1, s->m[m].label);
                grid_text(g, k, 2, d ? "type" : "layer");
                grid_text(g, k, 3, name);
                grid_int(g, k, 4, (long long)c);
                grid_fixed(g, k, 5, ratio_or_nan(c, s->m[m].selected));
                grid_fixed(g, k, 6, ratio_or_nan(c, w.numel[d][q]));
                k++;
            }
    where_free(&w);
    *out = gs;
    return 2;
}
