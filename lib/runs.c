/* runs.c — see runs.h. */
#include "runs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "util.h"

size_t strtab_push(StrTab *t, const char *s) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->s = xrealloc(t->s, t->cap * sizeof *t->s);
    }
    t->s[t->n] = xstrdup(s);
    return t->n++;
}

size_t strtab_intern(StrTab *t, const char *s, size_t len) {
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->s[i]) == len && memcmp(t->s[i], s, len) == 0) return i;
    char *c = xmalloc(len + 1);
    memcpy(c, s, len);
    c[len] = 0;
    size_t id = strtab_push(t, c);
    free(c);
    return id;
}

long strtab_find(const StrTab *t, const char *s) {
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->s[i], s) == 0) return (long)i;
    return -1;
}

void strtab_free(StrTab *t) {
    for (size_t i = 0; i < t->n; i++) free(t->s[i]);
    free(t->s);
    *t = (StrTab){0};
}

void runset_init(RunSet *rs) {
    *rs = (RunSet){0};
    strtab_intern(&rs->tags, "", 0); /* id 0: untagged */
}

void runset_free(RunSet *rs) {
    strtab_free(&rs->tasks);
    strtab_free(&rs->methods);
    strtab_free(&rs->splits);
    strtab_free(&rs->tags);
    strtab_free(&rs->files);
    for (size_t i = 0; i < rs->n_task_metric; i++) free(rs->task_metric[i]);
    free(rs->task_metric);
    free(rs->run);
    *rs = (RunSet){0};
}

int ratio_eq(double a, double b) { return fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b)); }

/* A string field as an interned id; empty strings are refused (they would make blank
 * labels). */
static uint32_t str_field(StReader *r, const StRecord *rec, const char *key, StrTab *t) {
    size_t len;
    const char *s = st_rec_str_req(r, rec, key, &len);
    if (len == 0) st_reader_die(r, rec, "field '%s' is empty", key);
    if (memchr(s, 0, len) || memchr(s, '\t', len) || memchr(s, '\n', len))
        st_reader_die(r, rec, "field '%s': control characters in the name", key);
    return (uint32_t)strtab_intern(t, s, len);
}

static double finite_field(StReader *r, const StRecord *rec, const char *key) {
    double v = st_rec_num_req(r, rec, key);
    if (!isfinite(v)) st_reader_die(r, rec, "field '%s' is not finite", key);
    return v;
}

/* components[name] as a number; dies when missing or not a number. */
static double component(StReader *r, const StRecord *rec, const char *name) {
    const msgpack_object *c = st_rec_get(rec, "components");
    if (!c) st_reader_die(r, rec, "missing field 'components' (needed for --metric %s)", name);
    if (c->type != MSGPACK_OBJECT_MAP)
        st_reader_die(r, rec, "field 'components': expected a map, got %s",
                      st_msgpack_type_name(c));
    size_t len = strlen(name);
    for (uint32_t i = 0; i < c->via.map.size; i++) {
        const msgpack_object *k = &c->via.map.ptr[i].key, *v = &c->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != len ||
            memcmp(k->via.str.ptr, name, len) != 0)
            continue;
        double x;
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER: x = (double)v->via.u64; break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: x = (double)v->via.i64; break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: x = v->via.f64; break;
        default:
            st_reader_die(r, rec, "components['%s']: expected a number, got %s", name,
                          st_msgpack_type_name(v));
        }
        if (!isfinite(x)) st_reader_die(r, rec, "components['%s'] is not finite", name);
        return x;
    }
    st_reader_die(r, rec, "components has no '%s'", name);
}

static void check_split(StReader *r, const StRecord *rec, const char *s) {
    if (strcmp(s, "test") && strcmp(s, "dev") && strcmp(s, "train"))
        st_reader_die(r, rec, "field 'split': expected \"test\", \"dev\" or \"train\", got \"%s\"",
                      s);
}

void runset_read(RunSet *rs, const char *path, const char *comp) {
    StReader *r = st_reader_open(path, "metrics");
    uint32_t file = (uint32_t)strtab_push(&rs->files, st_reader_name(r));
    json_t *h = st_reader_header(r);
    const char *htask = json_string_value(json_object_get(h, "task"));
    const char *hmetric = json_string_value(json_object_get(h, "metric"));
    StRecord rec;
    while (st_reader_next(r, &rec)) {
        Run run = {.file = file, .rec = rec.index};
        run.task = str_field(r, &rec, "task", &rs->tasks);
        run.method = str_field(r, &rec, "method", &rs->methods);
        run.split = str_field(r, &rec, "split", &rs->splits);
        check_split(r, &rec, rs->splits.s[run.split]);
        run.tag = st_rec_has(&rec, "tag") ? str_field(r, &rec, "tag", &rs->tags) : 0;
        run.seed = st_rec_int_req(r, &rec, "seed");
        run.n = st_rec_int_req(r, &rec, "n");
        if (run.n < 0) st_reader_die(r, &rec, "field 'n' is negative");
        run.ratio = finite_field(r, &rec, "ratio");
        if (run.ratio < 0) st_reader_die(r, &rec, "field 'ratio' is negative");
        run.value = comp ? component(r, &rec, comp) : finite_field(r, &rec, "metric");
        if (htask && strcmp(htask, rs->tasks.s[run.task]) != 0)
            st_reader_die(r, &rec, "task \"%s\" in a stream whose header says task \"%s\"",
                          rs->tasks.s[run.task], htask);
        /* Remember the headline metric's name per task for the table's notes. */
        if (rs->n_task_metric < rs->tasks.n) {
            rs->task_metric = xrealloc(rs->task_metric, rs->tasks.n * sizeof *rs->task_metric);
            while (rs->n_task_metric < rs->tasks.n) rs->task_metric[rs->n_task_metric++] = NULL;
        }
        if ((comp || hmetric) && !rs->task_metric[run.task])
            rs->task_metric[run.task] = xstrdup(comp ? comp : hmetric);
        if (rs->n == rs->cap) {
            rs->cap = rs->cap ? 2 * rs->cap : 256;
            rs->run = xrealloc(rs->run, rs->cap * sizeof *rs->run);
        }
        rs->run[rs->n++] = run;
    }
    st_reader_close(r);
}

/* ---- duplicates ---- */

static const RunSet *g_sort_rs; /* qsort has no context argument in C11 */
static int run_key_cmp(const void *pa, const void *pb) {
    const Run *a = &g_sort_rs->run[*(const size_t *)pa], *b = &g_sort_rs->run[*(const size_t *)pb];
#define KEY(f)                                                                                    \
    if (a->f != b->f) return a->f < b->f ? -1 : 1
    KEY(task);
    KEY(method);
    KEY(split);
    KEY(tag);
    KEY(seed);
#undef KEY
    if (!ratio_eq(a->ratio, b->ratio)) return a->ratio < b->ratio ? -1 : 1;
    return 0;
}

void runset_check_duplicates(const RunSet *rs) {
    size_t *ix = xmalloc((rs->n ? rs->n : 1) * sizeof *ix);
    for (size_t i = 0; i < rs->n; i++) ix[i] = i;
    g_sort_rs = rs;
    qsort(ix, rs->n, sizeof *ix, run_key_cmp);
    for (size_t i = 1; i < rs->n; i++) {
        if (run_key_cmp(&ix[i - 1], &ix[i]) != 0) continue;
        const Run *a = &rs->run[ix[i - 1]], *b = &rs->run[ix[i]];
        if (a->file > b->file || (a->file == b->file && a->rec > b->rec)) {
            const Run *t = a;
            a = b;
            b = t;
        }
        char where[64];
        snprintf(where, sizeof where, "record %llu", (unsigned long long)b->rec);
        die(rs->files.s[b->file],
            "%s: the same run as %s record %llu (task %s, method %s, ratio %g, seed %lld, "
            "split %s%s%s)",
            where, rs->files.s[a->file], (unsigned long long)a->rec, rs->tasks.s[a->task],
            rs->methods.s[a->method], a->ratio, (long long)a->seed, rs->splits.s[a->split],
            a->tag ? ", tag " : "", rs->tags.s[a->tag]);
    }
    free(ix);
}

/* ---- selection and grouping ---- */

static int in_list(char **list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

int run_selected(const RunSet *rs, const Run *r, const RunFilter *f) {
    if (f->split && strcmp(rs->splits.s[r->split], f->split) != 0) return 0;
    if (f->has_ratio && !ratio_eq(r->ratio, f->ratio)) return 0;
    if (f->tag && strcmp(rs->tags.s[r->tag], f->tag) != 0) return 0;
    if (f->ntasks && !in_list(f->tasks, f->ntasks, rs->tasks.s[r->task])) return 0;
    if (f->nmethods && !in_list(f->methods, f->nmethods, rs->methods.s[r->method])) return 0;
    return 1;
}

static const char *const PAPER_METHODS[] = {"full",      "fulltuning", "random",      "mixout",
                                            "bitfit",    "magnitude",  "magpruning",  "adapter",
                                            "lora",      "diffpruning", "childpruning", "sam",
                                            NULL};
static const char *const PAPER_TASKS[] = {"cola", "stsb", "mrpc", "rte", "cb", "copa", "wsc", NULL};

long runs_paper_method(const char *name) {
    for (long i = 0; PAPER_METHODS[i]; i++)
        if (strcasecmp(PAPER_METHODS[i], name) == 0) return i;
    return -1;
}

/* Sort position of a name: its place in the user's list, else in the paper's list, else
 * after all of those in order of first appearance (its id). */
static long order_of(const char *name, uint32_t id, char **user, size_t nuser,
                     const char *const *paper) {
    if (nuser) {
        for (size_t i = 0; i < nuser; i++)
            if (strcmp(user[i], name) == 0) return (long)i;
        return 1000000 + (long)id;
    }
    for (long i = 0; paper[i]; i++)
        if (strcasecmp(paper[i], name) == 0) return i;
    return 1000000 + (long)id;
}

typedef struct {
    long order;
    uint32_t method, tag;
    double ratio;
} RowKey;
static int rowkey_cmp(const void *pa, const void *pb) {
    const RowKey *a = pa, *b = pb;
    if (a->order != b->order) return a->order < b->order ? -1 : 1;
    if (a->method != b->method) return a->method < b->method ? -1 : 1;
    if (!ratio_eq(a->ratio, b->ratio)) return a->ratio < b->ratio ? -1 : 1;
    if (a->tag != b->tag) return a->tag < b->tag ? -1 : 1;
    return 0;
}
typedef struct {
    long order;
    uint32_t task;
} ColKey;
static int colkey_cmp(const void *pa, const void *pb) {
    const ColKey *a = pa, *b = pb;
    if (a->order != b->order) return a->order < b->order ? -1 : 1;
    return (a->task > b->task) - (a->task < b->task);
}

typedef struct {
    int64_t seed;
    double v;
} SeedVal;
static int seedval_cmp(const void *pa, const void *pb) {
    const SeedVal *a = pa, *b = pb;
    return (a->seed > b->seed) - (a->seed < b->seed);
}

Table *table_build(const RunSet *rs, const RunFilter *f, double scale) {
    Table *t = xcalloc(1, sizeof *t);
    RowKey *rows = NULL;
    ColKey *cols = NULL;
    size_t nr = 0, nc = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const Run *r = &rs->run[i];
        if (!run_selected(rs, r, f)) continue;
        RowKey rk = {order_of(rs->methods.s[r->method], r->method, f->methods, f->nmethods,
                              PAPER_METHODS),
                     r->method, r->tag, r->ratio};
        size_t k;
        for (k = 0; k < nr && rowkey_cmp(&rows[k], &rk) != 0; k++) {}
        if (k == nr) {
            rows = xrealloc(rows, (nr + 1) * sizeof *rows);
            rows[nr++] = rk;
        }
        for (k = 0; k < nc && cols[k].task != r->task; k++) {}
        if (k == nc) {
            cols = xrealloc(cols, (nc + 1) * sizeof *cols);
            cols[nc++] = (ColKey){order_of(rs->tasks.s[r->task], r->task, f->tasks, f->ntasks,
                                           PAPER_TASKS),
                                  r->task};
        }
    }
    if (nr) qsort(rows, nr, sizeof *rows, rowkey_cmp);
    if (nc) qsort(cols, nc, sizeof *cols, colkey_cmp);
    t->nrows = nr;
    t->ncols = nc;
    t->row_label = xcalloc(nr + 1, sizeof *t->row_label);
    t->row_method = xcalloc(nr + 1, sizeof *t->row_method);
    t->row_tag = xcalloc(nr + 1, sizeof *t->row_tag);
    t->row_ratio = xcalloc(nr + 1, sizeof *t->row_ratio);
    t->col_label = xcalloc(nc + 1, sizeof *t->col_label);
    t->col_task = xcalloc(nc + 1, sizeof *t->col_task);
    t->cell = xcalloc(nr * nc + 1, sizeof *t->cell);
    for (size_t c = 0; c < nc; c++) {
        t->col_task[c] = cols[c].task;
        t->col_label[c] = xstrdup(rs->tasks.s[cols[c].task]);
    }
    for (size_t r = 0; r < nr; r++) {
        /* Qualify the label only by what distinguishes rows of the same method. */
        int many_ratios = 0, many_tags = 0;
        for (size_t q = 0; q < nr; q++) {
            if (rows[q].method != rows[r].method) continue;
            if (!ratio_eq(rows[q].ratio, rows[r].ratio)) many_ratios = 1;
            if (rows[q].tag != rows[r].tag) many_tags = 1;
        }
        char buf[512];
        int len = snprintf(buf, sizeof buf, "%s", rs->methods.s[rows[r].method]);
        if (many_ratios && len < (int)sizeof buf)
            len += snprintf(buf + len, sizeof buf - (size_t)len, "@%g", rows[r].ratio);
        if (many_tags && len < (int)sizeof buf)
            snprintf(buf + len, sizeof buf - (size_t)len, ":%s",
                     rows[r].tag ? rs->tags.s[rows[r].tag] : "untagged");
        t->row_label[r] = xstrdup(buf);
        t->row_method[r] = rows[r].method;
        t->row_tag[r] = rows[r].tag;
        t->row_ratio[r] = rows[r].ratio;
    }
    /* Fill the cells: collect (seed, value) per cell, then order by seed. */
    SeedVal **sv = xcalloc(nr * nc + 1, sizeof *sv);
    for (size_t i = 0; i < rs->n; i++) {
        const Run *run = &rs->run[i];
        if (!run_selected(rs, run, f)) continue;
        size_t r = 0, c = 0;
        while (r < nr && !(rows[r].method == run->method && rows[r].tag == run->tag &&
                           ratio_eq(rows[r].ratio, run->ratio)))
            r++;
        while (c < nc && cols[c].task != run->task) c++;
        Cell *cell = table_cell(t, r, c);
        sv[r * nc + c] = xrealloc(sv[r * nc + c], (cell->n + 1) * sizeof **sv);
        sv[r * nc + c][cell->n++] = (SeedVal){run->seed, scale * run->value};
    }
    for (size_t k = 0; k < nr * nc; k++) {
        Cell *cell = &t->cell[k];
        if (!cell->n) continue;
        qsort(sv[k], cell->n, sizeof *sv[k], seedval_cmp);
        cell->v = xmalloc(cell->n * sizeof *cell->v);
        cell->seed = xmalloc(cell->n * sizeof *cell->seed);
        for (size_t i = 0; i < cell->n; i++) {
            cell->v[i] = sv[k][i].v;
            cell->seed[i] = sv[k][i].seed;
        }
        free(sv[k]);
    }
    free(sv);
    free(rows);
    free(cols);
    return t;
}

void table_free(Table *t) {
    if (!t) return;
    for (size_t r = 0; r < t->nrows; r++) free(t->row_label[r]);
    for (size_t c = 0; c < t->ncols; c++) free(t->col_label[c]);
    for (size_t k = 0; k < t->nrows * t->ncols; k++) {
        free(t->cell[k].v);
        free(t->cell[k].seed);
    }
    free(t->row_label);
    free(t->row_method);
    free(t->row_tag);
    free(t->row_ratio);
    free(t->col_label);
    free(t->col_task);
    free(t->cell);
    free(t);
}

static int dbl_cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

size_t runset_ratios(const RunSet *rs, const RunFilter *f, double **out) {
    RunFilter g = *f;
    g.has_ratio = 0;
    double *v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (!run_selected(rs, &rs->run[i], &g)) continue;
        size_t k;
        for (k = 0; k < n && !ratio_eq(v[k], rs->run[i].ratio); k++) {}
        if (k == n) {
            v = xrealloc(v, (n + 1) * sizeof *v);
            v[n++] = rs->run[i].ratio;
        }
    }
    if (n) qsort(v, n, sizeof *v, dbl_cmp);
    *out = v;
    return n;
}
