/* tokenize — turn task data (JSON lines or GLUE TSV) into an `examples` stream of RoBERTa
 * token ids.  Argument parsing and wiring only: tasks.c builds the sequences, bpe.c encodes,
 * split.c selects rows, examples.c writes records. */
#include <getopt.h>
#include <string.h>

#include "bpe.h"
#include "dataread.h"
#include "examples.h"
#include "provenance.h"
#include "split.h"
#include "stream.h"
#include "tasks.h"
#include "util.h"

static int strcmp_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Builds examples from rows in input order; keep (NULL: all) selects rows by position. */
typedef struct Builder {
    const TaskSpec *task;
    Bpe *bpe;
    const SpecialIds *sp;
    int max_len;
    const uint8_t *keep;
    uint32_t idx; /* position of the next row, across all files */
    Example *ex;
    size_t n, cap;
} Builder;

static void build_row(const json_t *obj, const char *name, long line, void *vb) {
    Builder *b = vb;
    uint32_t idx = b->idx++;
    if (b->keep && !b->keep[idx]) return;
    if (b->n == b->cap) b->ex = xrealloc(b->ex, (b->cap = b->cap ? b->cap * 2 : 1024) * sizeof *b->ex);
    char where[4096];
    snprintf(where, sizeof where, "%s:%ld", name, line);
    task_build_example(b->task, b->bpe, b->sp, b->max_len, obj, where, idx, &b->ex[b->n++]);
}

/* Generic mode without --labels: the classes are the sorted distinct label values. */
static void infer_labels(TaskSpec *task, DataFile **files, int n_files) {
    char **names = NULL;
    int n = 0;
    for (int i = 0; i < n_files; i++)
        for (size_t r = 0; r < files[i]->n; r++) {
            char *s = task_label_string(json_object_get(files[i]->rows[r].obj, task->label_field));
            if (!s) {
                char where[4096];
                snprintf(where, sizeof where, "%s:%ld", files[i]->name, files[i]->rows[r].line);
                die(where, "missing field '%s'", task->label_field);
            }
            int known = 0;
            for (int k = 0; k < n && !known; k++) known = strcmp(names[k], s) == 0;
            if (known) { free(s); continue; }
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = s;
        }
    qsort(names, n, sizeof *names, strcmp_ptr);
    task->labels = names;
    task->num_labels = n;
}

static void usage(void) {
    printf(
        "Usage: tokenize --vocab DIR (--task NAME | --text-fields A[,B] [...]) [OPTIONS] [FILE...]\n"
        "Tokenize data rows (JSON lines or TSV with a header row) into an examples stream.\n"
        "FILE may be '-' (stdin, the default) or ARCHIVE:MEMBER (e.g. glue.zip:RTE/dev.tsv).\n"
        "\n"
        "  -v, --vocab DIR         vocab.json + merges.txt (or GPT-2 encoder.json + vocab.bpe):\n"
        "                          a directory, an archive or ARCHIVE:DIR (a model directory works)\n"
        "  -t, --task NAME         one of the paper's tasks: %s\n"
        "      --text-fields A[,B] generic mode: the text field(s) of a sentence or a pair\n"
        "      --label-field F     generic mode: the label field (omit: unlabeled examples)\n"
        "      --labels X,Y,Z      generic mode: label names in class-index order\n"
        "                          (default: the sorted distinct values found in the data)\n"
        "      --regression        generic mode: the label is a number (MSE, Pearson/Spearman)\n"
        "      --no-labels         with --task: examples without labels\n"
        "      --no-special        bare BPE ids, without <s> </s> (generic mode only)\n"
        "      --name NAME         generic mode: the task's name in the header (default custom)\n"
        "      --max-len N         at most N tokens per sequence, longest-first truncation (256)\n"
        "      --input-format F    jsonl or tsv (default: from the file name, .tsv -> tsv)\n"
        "      --holdout FRAC      hold out a random FRAC of the rows (with --part)\n"
        "      --part train|dev    which side of the hold-out split to write\n"
        "      --drop FRAC         remove a random FRAC of the (remaining) rows\n"
        "  -s, --seed S            seed of --holdout and --drop (default 0)\n"
        "  -o, --output FILE       write FILE atomically instead of stdout\n"
        "  -h, --help              show this help and exit\n"
        "  -V, --version           show the version and exit\n"
        "\nSee tokenize(1) and sparsetune-stream(5).\n",
        task_builtin_names());
}

typedef struct Options {
    const char *vocab, *task, *text_fields, *label_field, *labels, *output, *name;
    int regression, no_labels, no_special, max_len;
    DataFormat format;
    double holdout, drop;
    SplitPart part;
    int part_given;
    uint64_t seed;
} Options;

static void parse_args(int argc, char **argv, Options *o) {
    enum { O_TEXT = 256, O_LABEL_FIELD, O_LABELS, O_REGRESSION, O_NO_LABELS, O_NO_SPECIAL,
           O_MAX_LEN, O_FORMAT, O_HOLDOUT, O_PART, O_DROP, O_NAME };
    static const struct option longopts[] = {
        {"vocab", required_argument, 0, 'v'},      {"task", required_argument, 0, 't'},
        {"text-fields", required_argument, 0, O_TEXT},
        {"label-field", required_argument, 0, O_LABEL_FIELD},
        {"labels", required_argument, 0, O_LABELS}, {"regression", no_argument, 0, O_REGRESSION},
        {"no-labels", no_argument, 0, O_NO_LABELS}, {"no-special", no_argument, 0, O_NO_SPECIAL},
        {"max-len", required_argument, 0, O_MAX_LEN}, {"input-format", required_argument, 0, O_FORMAT},
        {"holdout", required_argument, 0, O_HOLDOUT}, {"part", required_argument, 0, O_PART},
        {"drop", required_argument, 0, O_DROP},    {"seed", required_argument, 0, 's'},
        {"name", required_argument, 0, O_NAME},
        {"output", required_argument, 0, 'o'},     {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},          {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->max_len = 256;
    int c;
    while ((c = getopt_long(argc, argv, "v:t:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'v': o->vocab = optarg; break;
        case 't': o->task = optarg; break;
        case 'o': o->output = optarg; break;
        case O_TEXT: o->text_fields = optarg; break;
        case O_LABEL_FIELD: o->label_field = optarg; break;
        case O_LABELS: o->labels = optarg; break;
        case O_REGRESSION: o->regression = 1; break;
        case O_NO_LABELS: o->no_labels = 1; break;
        case O_NO_SPECIAL: o->no_special = 1; break;
        case O_NAME: o->name = optarg; break;
        case O_MAX_LEN: o->max_len = (int)parse_long("--max-len", optarg, 3, 1 << 20); break;
        case O_FORMAT:
            if (strcmp(optarg, "jsonl") == 0) o->format = DATA_JSONL;
            else if (strcmp(optarg, "tsv") == 0) o->format = DATA_TSV;
            else die_usage("--input-format: expected jsonl or tsv, got '%s'", optarg);
            break;
        case O_HOLDOUT: o->holdout = parse_double("--holdout", optarg, 0, 0.999999); break;
        case O_PART:
            if (strcmp(optarg, "train") == 0) o->part = PART_TRAIN;
            else if (strcmp(optarg, "dev") == 0) o->part = PART_DEV;
            else die_usage("--part: expected train or dev, got '%s'", optarg);
            o->part_given = 1;
            break;
        case O_DROP: o->drop = parse_double("--drop", optarg, 0, 0.999999); break;
        case 's': o->seed = (uint64_t)parse_long("--seed", optarg, 0, (1L << 62)); break;
        case 'h': usage(); exit(0);
        case 'V': printf("tokenize (sparsetune) %s\n", SPARSETUNE_VERSION); exit(0);
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (!o->vocab) die_usage("--vocab DIR is required");
    if (!o->task == !o->text_fields) die_usage("give exactly one of --task NAME or --text-fields");
    if (o->task && (o->label_field || o->labels || o->regression))
        die_usage("--label-field/--labels/--regression are for generic mode (--text-fields)");
    if (o->no_labels && !o->task) die_usage("--no-labels goes with --task (generic mode: omit --label-field)");
    if (o->no_special && o->task) die_usage("--no-special is for generic mode only");
    if (o->name && o->task) die_usage("--name is for generic mode (--task names itself)");
    if ((o->holdout > 0) != o->part_given) die_usage("--holdout FRAC and --part train|dev go together");
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    Options o;
    parse_args(argc, argv, &o);

    TaskSpec *task;
    if (o.task) {
        task = task_builtin(o.task);
        if (!task) die_usage("--task: unknown task '%s' (known: %s)", o.task, task_builtin_names());
        if (o.no_labels) {
            free(task->label_field);
            task->label_field = NULL;
        }
    } else {
        task = task_generic(o.text_fields, o.label_field, o.labels, o.regression);
        if (o.name) snprintf(task->name, sizeof task->name, "%s", o.name);
    }
    /* Open the output first so that a terminal is refused before any work. */
    OutFile *out = out_open(o.output, 1);
    Bpe *bpe = bpe_load(o.vocab);
    SpecialIds sp = {bpe_token_id(bpe, "<s>"), bpe_token_id(bpe, "</s>"),
                     bpe_token_id(bpe, "<pad>"), !o.no_special};
    if (sp.enabled && (sp.bos < 0 || sp.eos < 0))
        die(o.vocab, "the vocabulary has no <s> or </s> token (a GPT-2 vocabulary?); use --no-special");

    int n_files = argc - optind;
    const char *stdin_only[] = {"-"};
    const char **paths = n_files ? (const char **)argv + optind : stdin_only;
    if (!n_files) n_files = 1;
    DataFile **files = xcalloc(n_files, sizeof *files);
    /* Every example is built before anything is written: a bad row fails the run with no
     * output at all. */
    Builder bld = {task, bpe, &sp, o.max_len, NULL, 0, NULL, 0, 0};
    size_t n_rows = 0;
    if (!o.holdout && !o.drop && !task->infer_labels) {
        /* Rows stream straight into examples: no file is ever held as JSON in full. */
        for (int i = 0; i < n_files; i++) {
            files[i] = datafile_read_each(paths[i], o.format, build_row, &bld);
            n_rows += files[i]->n;
        }
    } else {
        /* Splits need the row count, inferred labels every row's label: read all first. */
        for (int i = 0; i < n_files; i++) {
            files[i] = datafile_read(paths[i], o.format);
            n_rows += files[i]->n;
        }
        if (task->infer_labels) infer_labels(task, files, n_files);
        uint8_t *keep = xmalloc(n_rows ? n_rows : 1);
        split_select(n_rows, o.seed, o.holdout, o.part_given ? o.part : PART_ALL, o.drop, keep);
        bld.keep = keep;
        for (int i = 0; i < n_files; i++)
            for (size_t r = 0; r < files[i]->n; r++)
                build_row(files[i]->rows[r].obj, files[i]->name, files[i]->rows[r].line, &bld);
        free(keep);
    }
    json_t *entry = prov_entry(argc, argv);
    for (int i = 0; i < n_files; i++) {
        prov_add_input(entry, files[i]->name, files[i]->sha256);
        datafile_free(files[i]);
    }
    Example *examples = bld.ex;
    size_t n_out = bld.n;

    json_t *meta = task_header_meta(task, o.max_len, bpe_sha256(bpe), &sp);
    json_t *split = json_object();
    json_object_set_new(split, "holdout", json_real(o.holdout));
    json_object_set_new(split, "part",
                        json_string(!o.part_given ? "all" : o.part == PART_DEV ? "dev" : "train"));
    json_object_set_new(split, "drop", json_real(o.drop));
    json_object_set_new(split, "seed", json_integer((json_int_t)o.seed));
    json_object_set_new(split, "input_rows", json_integer((json_int_t)n_rows));
    json_object_set_new(meta, "split", split);
    json_t *prov = prov_chain(NULL, entry);
    StWriter *w = st_writer_open(out->fp, "examples", meta, prov);
    for (size_t i = 0; i < n_out; i++) {
        example_write(w, task->type, &examples[i]);
        example_free(&examples[i]);
    }
    st_writer_close(w);
    out_commit(out);
    json_decref(meta);
    json_decref(prov);
    free(examples);
    free(files);
    bpe_free(bpe);
    task_free(task);
    return 0;
}
