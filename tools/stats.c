/* stats — aggregate metrics streams into the paper's tables (Table 1, t-tests, stability,
 * sparsity sweep), compare mask streams, or count the tunable parameters of deltas (Table 4).
 * See man 1 stats; the logic is in lib/report.c. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "curves.h"
#include "maskset.h"
#include "paramset.h"
#include "report.h"
#include "runs.h"
#include "util.h"

static void usage(void) {
    printf("Usage: %s [OPTIONS] [METRICS...]\n"
           "       %s --masks [--include-head] [OPTIONS] MASK...\n"
           "       %s --curves [--mask-log MLOG] [-o FILE] LOG...\n"
           "       %s --params [--include-head] [OPTIONS] DELTA...\n"
           "Aggregate metrics streams (from evaluate) into the paper's tables: per method and\n"
           "task the mean \u00b1 std over seeds of 100 \u00d7 the headline metric, [1][2][3] marks, AVG.\n"
           "With no file, or when a file is -, read standard input.\n"
           "\n"
           "Analyses (default: --table):\n"
           "      --table            methods \u00d7 tasks + AVG, mean \u00b1 std (Table 1)\n"
           "      --ttest            t-test of --ref against every other method, per task\n"
           "      --ref METHOD       reference method of --ttest (default sam)\n"
           "      --equal-var        Student's pooled-variance t-test instead of Welch's\n"
           "      --stability        Spearman rho of the ranks by std and by mean (Figure 4)\n"
           "      --sweep            mean \u00b1 std per ratio, test and train (Figure 5)\n"
           "      --masks            operands are mask streams: Jaccard overlaps and where the\n"
           "                         selected entries sit (layers, matrix types)\n"
           "      --params           operands are delta streams: tunable parameters per method\n"
           "                         as %% of the base model (Table 4)\n"
           "      --include-head     --masks: keep classifier.* / lm_head.* tensors;\n"
           "                         --params: count the head as tunable\n"
           "      --curves           operands are masktrain --log files: a TSV of step, loss,\n"
           "                         dev metric and the re-projection steps (Figure 3)\n"
           "      --mask-log MLOG    --curves: the run's masktrain --mask-log; each projection\n"
           "                         gets the Jaccard overlap with the previous and final mask\n"
           "Selection:\n"
           "      --split SPLIT      test (default), dev or train\n"
           "      --ratio P          only runs with sparsity ratio P\n"
           "      --tag TAG          only runs tagged TAG (default: untagged runs only)\n"
           "      --any-tag          runs with any tag or none (rows split by tag)\n"
           "      --tasks A,B,...    these tasks, in this column order\n"
           "      --methods A,B,...  these methods, in this row order\n"
           "      --metric NAME      a component (e.g. accuracy) instead of the headline metric\n"
           "Output:\n"
           "  -f, --format FMT       text (default), markdown, tsv, latex, json\n"
           "      --scale X          multiply metric values by X (default 100)\n"
           "      --digits N         decimals in text/markdown/latex (default 2)\n"
           "      --no-marks         no [k] rank marks in the table\n"
           "  -o, --output FILE      write FILE (atomically) instead of standard output\n"
           "  -h, --help             show this help and exit\n"
           "  -V, --version          show the version and exit\n"
           "\n"
           "Exit status: 0 on success, 1 on bad input (not a metrics/mask/delta stream, truncated,\n"
           "a malformed or duplicate run, no runs selected), 2 on usage errors.  See man 1 stats.\n",
           st_progname, st_progname, st_progname, st_progname);
}

/* "a,b,c" → array of strings (the copy is kept for the whole run). */
static char **split_list(const char *opt, const char *s, size_t *n) {
    char *copy = xstrdup(s), *save = NULL;
    char **v = NULL;
    *n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        v = xrealloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = tok;
    }
    if (!*n) die_usage("%s: empty list", opt);
    return v;
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    ReportOpts o = {.format = FMT_TEXT, .scale = 100, .digits = 2, .marks = 1, .ref = "sam"};
    o.filter.split = "test";
    o.filter.tag = ""; /* untagged runs: the main experiment, not the perturbation runs */
    const char *output = NULL;
    int masks = 0, params = 0, include_head = 0, curves = 0;
    const char *mask_log = NULL;
    enum {
        O_TABLE = 256, O_TTEST, O_REF, O_EQVAR, O_STAB, O_SWEEP, O_MASKS, O_HEAD, O_SPLIT,
        O_RATIO, O_TAG, O_TASKS, O_METHODS, O_METRIC, O_SCALE, O_NOMARKS, O_ANYTAG, O_PARAMS,
        O_CURVES, O_MLOG
    };
    static const struct option longopts[] = {
        {"table", no_argument, NULL, O_TABLE},       {"ttest", no_argument, NULL, O_TTEST},
        {"ref", required_argument, NULL, O_REF},     {"equal-var", no_argument, NULL, O_EQVAR},
        {"stability", no_argument, NULL, O_STAB},    {"sweep", no_argument, NULL, O_SWEEP},
        {"masks", no_argument, NULL, O_MASKS},       {"include-head", no_argument, NULL, O_HEAD},
        {"curves", no_argument, NULL, O_CURVES},     {"mask-log", required_argument, NULL, O_MLOG},
        {"params", no_argument, NULL, O_PARAMS},
        {"split", required_argument, NULL, O_SPLIT}, {"ratio", required_argument, NULL, O_RATIO},
        {"tag", required_argument, NULL, O_TAG},     {"any-tag", no_argument, NULL, O_ANYTAG},     {"tasks", required_argument, NULL, O_TASKS},
        {"methods", required_argument, NULL, O_METHODS},
        {"metric", required_argument, NULL, O_METRIC},
        {"format", required_argument, NULL, 'f'},    {"scale", required_argument, NULL, O_SCALE},
        {"digits", required_argument, NULL, 'd'},    {"no-marks", no_argument, NULL, O_NOMARKS},
        {"output", required_argument, NULL, 'o'},    {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "f:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case O_TABLE: o.table = 1; break;
        case O_TTEST: o.ttest = 1; break;
        case O_REF: o.ref = optarg; break;
        case O_EQVAR: o.equal_var = 1; break;
        case O_STAB: o.stability = 1; break;
        case O_SWEEP: o.sweep = 1; break;
        case O_MASKS: masks = 1; break;
        case O_PARAMS: params = 1; break;
        case O_HEAD: include_head = 1; break;
        case O_CURVES: curves = 1; break;
        case O_MLOG: mask_log = optarg; break;
        case O_SPLIT:
            /* No "any": a cell mixing test and train values would mean nothing. */
            if (!strcmp(optarg, "test") || !strcmp(optarg, "dev") || !strcmp(optarg, "train"))
                o.filter.split = o.sweep_split = optarg;
            else
                die_usage("--split: expected test, dev or train, got '%s'", optarg);
            break;
        case O_RATIO:
            o.filter.has_ratio = 1;
            o.filter.ratio = parse_double("--ratio", optarg, 0, 1e300);
            break;
        case O_TAG: o.filter.tag = optarg; break;
        case O_ANYTAG: o.filter.tag = NULL; break;
        case O_TASKS: o.filter.tasks = split_list("--tasks", optarg, &o.filter.ntasks); break;
        case O_METHODS:
            o.filter.methods = split_list("--methods", optarg, &o.filter.nmethods);
            break;
        case O_METRIC: o.metric = optarg; break;
        case 'f': {
            int f = out_format_parse(optarg);
            if (f < 0) die_usage("--format: expected text, markdown, tsv, latex or json, got '%s'",
                                 optarg);
            o.format = (OutFormat)f;
            break;
        }
        case O_SCALE: o.scale = parse_double("--scale", optarg, 1e-300, 1e300); break;
        case 'd': o.digits = (int)parse_long("--digits", optarg, 0, 12); break;
        case O_NOMARKS: o.marks = 0; break;
        case 'o': output = optarg; break;
        case 'h': usage(); return 0;
        case 'V': printf("stats (sparsetune) %s\n", SPARSETUNE_VERSION); return 0;
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (masks && (o.table || o.ttest || o.stability || o.sweep))
        die_usage("--masks compares mask streams; it cannot be combined with --table, --ttest, "
                  "--stability or --sweep");
    if (params && (masks || o.table || o.ttest || o.stability || o.sweep))
        die_usage("--params counts the parameters of delta streams; it cannot be combined with "
                  "--masks, --table, --ttest, --stability or --sweep");
    if (include_head && !masks && !params)
        die_usage("--include-head only applies to --masks and --params");
    if (curves && (masks || params || o.table || o.ttest || o.stability || o.sweep))
        die_usage("--curves reads training logs; it cannot be combined with another analysis");
    if (mask_log && !curves) die_usage("--mask-log only applies to --curves");

    int nfiles = argc - optind;
    char *stdin_only[] = {"-"};
    char **files = nfiles ? argv + optind : stdin_only;
    if (!nfiles) nfiles = 1;
    int dash = 0;
    for (int i = 0; i < nfiles; i++) dash += strcmp(files[i], "-") == 0;
    if (dash > 1) die_usage("standard input (-) given %d times", dash);

    /* Read everything before opening the output: bad input leaves no file behind. */
    if (curves) {
        if (dash) die_usage("--curves reads log files, not standard input");
        MaskSet s;
        maskset_init(&s, 0);
        if (mask_log) maskset_read(&s, mask_log);
        OutFile *out = out_open(output, 0);
        for (int i = 0; i < nfiles; i++) curves_write(out->fp, files[i], mask_log ? &s : NULL, i == 0);
        out_commit(out);
        maskset_free(&s);
    } else if (params) {
        ParamSet s;
        paramset_init(&s, include_head);
        for (int i = 0; i < nfiles; i++) paramset_read(&s, files[i]);
        paramset_rows(&s);
        OutFile *out = out_open(output, 0);
        report_params(out->fp, &s, &o);
        out_commit(out);
        paramset_free(&s);
    } else if (masks) {
        MaskSet s;
        maskset_init(&s, include_head);
        for (int i = 0; i < nfiles; i++) maskset_read(&s, files[i]);
        OutFile *out = out_open(output, 0);
        report_masks(out->fp, &s, &o);
        out_commit(out);
        maskset_free(&s);
    } else {
        RunSet rs;
        runset_init(&rs);
        for (int i = 0; i < nfiles; i++) runset_read(&rs, files[i], o.metric);
        runset_check_duplicates(&rs);
        OutFile *out = out_open(output, 0);
        report_metrics(out->fp, &rs, &o);
        out_commit(out);
        runset_free(&rs);
    }
    free(o.filter.tasks ? o.filter.tasks[0] : NULL);
    free(o.filter.tasks);
    free(o.filter.methods ? o.filter.methods[0] : NULL);
    free(o.filter.methods);
    return 0;
}
