#include "tasks.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

typedef struct Builtin {
    const char *name;
    TaskType type;
    const char *metric;
    const char *text_a, *text_b;
    const char *labels; /* comma-separated, jiant's order */
    int num_labels;
} Builtin;

static const Builtin BUILTINS[] = {
    {"cb", TASK_CLASSIFICATION, "acc_macro_f1", "premise", "hypothesis",
     "contradiction,entailment,neutral", 3},
    {"cola", TASK_CLASSIFICATION, "mcc", "text", NULL, "0,1", 2},
    {"copa", TASK_MULTIPLE_CHOICE, "accuracy", "premise", NULL, "0,1", 2},
    {"mrpc", TASK_CLASSIFICATION, "acc_f1", "text_a", "text_b", "0,1", 2},
    {"rte", TASK_CLASSIFICATION, "accuracy", "premise", "hypothesis", "entailment,not_entailment",
     2},
    {"stsb", TASK_REGRESSION, "pearson_spearman", "text_a", "text_b", NULL, 1},
    {"wsc", TASK_SPAN_CLASSIFICATION, "accuracy", "text", NULL, "False,True", 2},
};
#define N_BUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

/* COPA's question words become these prompts (jiant's RoBERTa formatting, PAPER.md). */
static const char *COPA_CAUSE = "What was the cause of this?";
static const char *COPA_EFFECT = "What happened as a result?";

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* Split "a,b,c" into a NULL-free array; returns the count. Empty items are an error. */
static int split_commas(const char *s, char ***out, const char *opt) {
    int n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    char **items = xmalloc(n * sizeof *items);
    const char *start = s;
    for (int i = 0; i < n; i++) {
        const char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (len == 0) die_usage("%s: empty item in '%s'", opt, s);
        items[i] = xmalloc(len + 1);
        memcpy(items[i], start, len);
        items[i][len] = '\0';
        start = end ? end + 1 : start + len;
    }
    *out = items;
    return n;
}

TaskSpec *task_builtin(const char *name) {
    for (size_t i = 0; i < N_BUILTINS; i++) {
        const Builtin *b = &BUILTINS[i];
        if (strcmp(b->name, name) != 0) continue;
        TaskSpec *t = xcalloc(1, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", b->name);
        t->type = b->type;
        t->metric = b->metric;
        t->text_a = dup_or_null(b->text_a);
        t->text_b = dup_or_null(b->text_b);
        t->label_field = xstrdup("label");
        if (b->labels) t->num_labels = split_commas(b->labels, &t->labels, "--task");
        else t->num_labels = b->num_labels;
        return t;
    }
    return NULL;
}

const char *task_builtin_names(void) { return "cb, cola, copa, mrpc, rte, stsb, wsc"; }

TaskSpec *task_generic(const char *text_fields, const char *label_field, const char *labels,
                       int regression) {
    TaskSpec *t = xcalloc(1, sizeof *t);
    snprintf(t->name, sizeof t->name, "custom");
    char **fields;
    int nf = split_commas(text_fields, &fields, "--text-fields");
    if (nf > 2) die_usage("--text-fields: at most two fields (a sentence pair), got %d", nf);
    t->text_a = fields[0];
    t->text_b = nf == 2 ? fields[1] : NULL;
    free(fields);
    if (regression && labels) die_usage("--labels and --regression exclude each other");
    /* without --label-field the examples are unlabeled; --labels/--regression still say what
     * they will be predicted as (names for the predictions) */
    t->label_field = dup_or_null(label_field);
    if (regression) {
        t->type = TASK_REGRESSION;
        t->metric = "pearson_spearman";
        t->num_labels = 1;
    } else {
        t->type = TASK_CLASSIFICATION;
        t->metric = "accuracy";
        if (labels) {
            t->num_labels = split_commas(labels, &t->labels, "--labels");
            for (int i = 0; i < t->num_labels; i++)
                for (int j = 0; j < i; j++)
                    if (strcmp(t->labels[i], t->labels[j]) == 0)
                        die_usage("--labels: '%s' appears twice", t->labels[i]);
        } else if (label_field) {
            t->infer_labels = 1;
        }
    }
    return t;
}

void task_free(TaskSpec *t) {
    if (!t) return;
    free(t->text_a);
    free(t->text_b);
    free(t->label_field);
    for (int i = 0; t->labels && i < t->num_labels; i++) free(t->labels[i]);
    free(t->labels);
    free(t);
}

char *task_label_string(const json_t *v) {
    char buf[64];
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return xstrdup(json_string_value(v));
    if (json_is_true(v)) return xstrdup("True");
    if (json_is_false(v)) return xstrdup("False");
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return xstrdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
        return xstrdup(buf);
    }
    return NULL;
}

int task_label_index(const TaskSpec *t, const char *name) {
    for (int i = 0; i < t->num_labels; i++)
        if (strcmp(t->labels[i], name) == 0) return i;
    return -1;
}

void truncate_longest_first(size_t *len_a, size_t *len_b, size_t budget) {
    while (*len_a + *len_b > budget) {
        if (*len_a > *len_b) (*len_a)--;
        else (*len_b)--;
    }
}

/* ---- building token sequences ---- */

typedef struct IdBuf {
    int32_t *ids;
    size_t n, cap;
} IdBuf;

static void idbuf_push(IdBuf *b, int32_t id) {
    if (b->n == b->cap) b->ids = xrealloc(b->ids, (b->cap = b->cap ? b->cap * 2 : 64) * sizeof *b->ids);
    b->ids[b->n++] = id;
}

/* Text fields may hold U+0000 (JSON "\u0000"), so lengths come from jansson, not strlen. */
static const char *text_field(const json_t *row, const char *field, const char *where,
                              size_t *len) {
    const json_t *v = json_object_get(row, field);
    if (!v) die(where, "missing field '%s'", field);
    if (!json_is_string(v)) die(where, "field '%s' is not a string", field);
    *len = json_string_length(v);
    return json_string_value(v);
}

static void encode_text(Bpe *bpe, const char *text, size_t len, IdBuf *out) {
    bpe_encode(bpe, text, len, &out->ids, &out->n, &out->cap);
}

/* Frame <s> A </s> or <s> A </s></s> B </s> (or bare A B without special tokens), after
 * longest-first truncation to max_len. */
static void frame_sequence(const SpecialIds *sp, int max_len, const IdBuf *a, const IdBuf *b,
                           int32_t **seq, int32_t *len, const char *where) {
    size_t la = a->n, lb = b ? b->n : 0;
    size_t overhead = sp->enabled ? (b ? 4 : 2) : 0;
    if ((size_t)max_len <= overhead) die(where, "--max-len %d leaves no room for text", max_len);
    truncate_longest_first(&la, &lb, (size_t)max_len - overhead);
    IdBuf s = {0};
    if (sp->enabled) idbuf_push(&s, sp->bos);
    for (size_t i = 0; i < la; i++) idbuf_push(&s, a->ids[i]);
    if (sp->enabled) idbuf_push(&s, sp->eos);
    if (b) {
        if (sp->enabled) idbuf_push(&s, sp->eos);
        for (size_t i = 0; i < lb; i++) idbuf_push(&s, b->ids[i]);
        if (sp->enabled) idbuf_push(&s, sp->eos);
    }
    if (s.n == 0) idbuf_push(&s, 0), s.n = 0; /* keep a valid pointer for empty sequences */
    *seq = s.ids;
    *len = (int32_t)s.n;
}

static void alloc_seqs(Example *ex, int n) {
    ex->n_seq = n;
    ex->seq = xcalloc(n, sizeof *ex->seq);
    ex->len = xcalloc(n, sizeof *ex->len);
}

static void set_label(const TaskSpec *t, const json_t *row, const char *where, Example *ex) {
    if (!t->label_field) return;
    const json_t *v = json_object_get(row, t->label_field);
    if (!v || json_is_null(v)) die(where, "missing field '%s'", t->label_field);
    ex->has_label = 1;
    if (t->type == TASK_REGRESSION) {
        double x;
        if (json_is_number(v)) x = json_number_value(v);
        else if (json_is_string(v)) {
            const char *s = json_string_value(v);
            char *end;
            x = strtod(s, &end);
            if (end == s || *end) die(where, "label '%s' is not a number", s);
        } else die(where, "field '%s' is not a number", t->label_field);
        if (!isfinite(x)) die(where, "label is not finite");
        ex->target = (float)x;
        return;
    }
    if (t->type == TASK_MULTIPLE_CHOICE) {
        if (!json_is_integer(v)) die(where, "field '%s' must be a choice index", t->label_field);
        long long k = json_integer_value(v);
        if (k < 0 || k >= t->num_labels)
            die(where, "choice index %lld out of range [0, %d)", k, t->num_labels);
        ex->label = (int)k;
        return;
    }
    char *s = task_label_string(v);
    if (!s) die(where, "field '%s' has an unsupported type", t->label_field);
    int k = task_label_index(t, s);
    if (k < 0) {
        char expected[1024] = "";
        for (int i = 0; i < t->num_labels; i++) {
            if (i) strncat(expected, ", ", sizeof expected - strlen(expected) - 1);
            strncat(expected, t->labels[i], sizeof expected - strlen(expected) - 1);
        }
        die(where, "unknown label '%s' (expected one of: %s)", s, expected);
    }
    free(s);
    ex->label = k;
}

static void build_copa(const TaskSpec *t, Bpe *bpe, const SpecialIds *sp, int max_len,
                       const json_t *row, const char *where, Example *ex) {
    size_t premise_len, question_len;
    const char *premise = text_field(row, "premise", where, &premise_len);
    const char *question = text_field(row, "question", where, &question_len);
    const char *q;
    if (strcmp(question, "cause") == 0) q = COPA_CAUSE;
    else if (strcmp(question, "effect") == 0) q = COPA_EFFECT;
    else die(where, "question must be \"cause\" or \"effect\", got \"%s\"", question);
    size_t q_len = strlen(q), n = premise_len + 1 + q_len;
    char *prompt = xmalloc(n + 1);
    memcpy(prompt, premise, premise_len);
    prompt[premise_len] = ' ';
    memcpy(prompt + premise_len + 1, q, q_len + 1);
    IdBuf a = {0};
    encode_text(bpe, prompt, n, &a);
    free(prompt);
    alloc_seqs(ex, t->num_labels);
    for (int c = 0; c < t->num_labels; c++) {
        char field[24];
        snprintf(field, sizeof field, "choice%d", c + 1);
        IdBuf b = {0};
        size_t len;
        const char *choice = text_field(row, field, where, &len);
        encode_text(bpe, choice, len, &b);
        frame_sequence(sp, max_len, &a, &b, &ex->seq[c], &ex->len[c], where);
        free(b.ids);
    }
    free(a.ids);
}

/* WSC: the text is split on whitespace into words (jiant's span indices count those words)
 * and re-joined with single spaces; each word is encoded with its leading space, which is
 * exactly how byte-level BPE splits the joined text, so word i maps to a known token range. */
static void wsc_span(const json_t *target, int which, int n_words, const int32_t *word_first,
                     const int32_t *word_last, const char *where, int32_t span[2]) {
    char key_i[32], key_t[32];
    snprintf(key_i, sizeof key_i, "span%d_index", which);
    snprintf(key_t, sizeof key_t, "span%d_text", which);
    const json_t *vi = json_object_get(target, key_i), *vt = json_object_get(target, key_t);
    if (!json_is_integer(vi)) die(where, "target.%s missing or not an integer", key_i);
    if (!json_is_string(vt)) die(where, "target.%s missing or not a string", key_t);
    long long first = json_integer_value(vi);
    int span_words = 0, in_word = 0;
    for (const char *p = json_string_value(vt); *p; p++) {
        int space = isspace((unsigned char)*p);
        if (!space && !in_word) span_words++;
        in_word = !space;
    }
    if (span_words == 0) span_words = 1;
    long long last = first + span_words - 1;
    if (first < 0 || last >= n_words)
        die(where, "target.%s %lld (+%d words) is outside the %d words of the text", key_i, first,
            span_words, n_words);
    span[0] = word_first[first];
    span[1] = word_last[last];
}

static void build_wsc(const TaskSpec *t, Bpe *bpe, const SpecialIds *sp, int max_len,
                      const json_t *row, const char *where, Example *ex) {
    size_t tl;
    const char *text = text_field(row, t->text_a, where, &tl);
    const json_t *target = json_object_get(row, "target");
    if (!json_is_object(target)) die(where, "missing field 'target'");
    int32_t *word_first = xmalloc((tl + 1) * sizeof *word_first);
    int32_t *word_last = xmalloc((tl + 1) * sizeof *word_last);
    char *piece = xmalloc(tl + 2);
    IdBuf ids = {0};
    if (sp->enabled) idbuf_push(&ids, sp->bos); /* <s> comes first */
    int n_words = 0;
    const char *p = text, *text_end = text + tl;
    while (p < text_end) {
        while (p < text_end && isspace((unsigned char)*p)) p++;
        if (p == text_end) break;
        const char *s = p;
        while (p < text_end && !isspace((unsigned char)*p)) p++;
        size_t k = 0;
        if (n_words > 0) piece[k++] = ' ';
        memcpy(piece + k, s, (size_t)(p - s));
        k += (size_t)(p - s);
        word_first[n_words] = (int32_t)ids.n;
        bpe_encode(bpe, piece, k, &ids.ids, &ids.n, &ids.cap);
        word_last[n_words] = (int32_t)ids.n - 1;
        n_words++;
    }
    free(piece);
    if (n_words == 0) die(where, "field '%s' is empty", t->text_a);
    size_t limit = (size_t)max_len - (sp->enabled ? 1 : 0);
    if ((size_t)max_len <= (size_t)(sp->enabled ? 2 : 0)) die(where, "--max-len too small");
    if (ids.n > limit) ids.n = limit;
    if (sp->enabled) idbuf_push(&ids, sp->eos);
    ex->n_spans = 2;
    for (int s = 0; s < 2; s++) {
        wsc_span(target, s + 1, n_words, word_first, word_last, where, ex->spans[s]);
        if ((size_t)ex->spans[s][1] >= ids.n - (sp->enabled ? 1 : 0))
            die(where, "span %d falls beyond --max-len %d after truncation", s + 1, max_len);
    }
    free(word_first);
    free(word_last);
    alloc_seqs(ex, 1);
    ex->seq[0] = ids.ids;
    ex->len[0] = (int32_t)ids.n;
}

void task_build_example(const TaskSpec *t, Bpe *bpe, const SpecialIds *sp, int max_len,
                        const json_t *row, const char *where, uint32_t idx, Example *ex) {
    memset(ex, 0, sizeof *ex);
    /* the data's own "idx" (SuperGLUE/GLUE rows carry one) when it is an integer, so that
     * predictions can be matched with the source rows; else the row's position */
    const json_t *own = json_object_get(row, "idx");
    json_int_t v = json_is_integer(own) ? json_integer_value(own) : -1;
    ex->idx = v >= 0 && v <= (json_int_t)UINT32_MAX ? (uint32_t)v : idx;
    if (t->type == TASK_MULTIPLE_CHOICE) {
        build_copa(t, bpe, sp, max_len, row, where, ex);
    } else if (t->type == TASK_SPAN_CLASSIFICATION) {
        build_wsc(t, bpe, sp, max_len, row, where, ex);
    } else {
        IdBuf a = {0}, b = {0};
        size_t len;
        const char *text = text_field(row, t->text_a, where, &len);
        encode_text(bpe, text, len, &a);
        if (t->text_b) {
            text = text_field(row, t->text_b, where, &len);
            encode_text(bpe, text, len, &b);
        }
        alloc_seqs(ex, 1);
        frame_sequence(sp, max_len, &a, t->text_b ? &b : NULL, &ex->seq[0], &ex->len[0], where);
        free(a.ids);
        free(b.ids);
    }
    set_label(t, row, where, ex);
}

json_t *task_header_meta(const TaskSpec *t, int max_len, const char *tokenizer_sha256,
                         const SpecialIds *sp) {
    json_t *m = json_object();
    json_object_set_new(m, "task", json_string(t->name));
    json_object_set_new(m, "task_type", json_string(task_type_name(t->type)));
    json_object_set_new(m, "num_labels", json_integer(t->num_labels));
    json_t *labels = json_array();
    for (int i = 0; t->labels && i < t->num_labels; i++)
        json_array_append_new(labels, json_string(t->labels[i]));
    json_object_set_new(m, "labels", labels);
    json_object_set_new(m, "labeled", json_boolean(t->label_field != NULL));
    json_object_set_new(m, "metric", json_string(t->metric));
    json_object_set_new(m, "max_len", json_integer(max_len));
    json_object_set_new(m, "tokenizer_sha256", json_string(tokenizer_sha256));
    json_object_set_new(m, "special_tokens", json_boolean(sp->enabled));
    json_object_set_new(m, "bos_id", json_integer(sp->bos));
    json_object_set_new(m, "eos_id", json_integer(sp->eos));
    json_object_set_new(m, "pad_id", json_integer(sp->pad));
    json_t *fields = json_array();
    json_array_append_new(fields, json_string(t->text_a));
    if (t->text_b) json_array_append_new(fields, json_string(t->text_b));
    json_object_set_new(m, "text_fields", fields);
    return m;
}
