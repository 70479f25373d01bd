/* evaluate — apply a delta to its base model, run the examples without dropout, and write a
 * metrics record (the task's headline metric on a 0–1 scale, with its components); optionally
 * the per-example predictions and the fine-tuned model as a HuggingFace directory. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "delta.h"
#include "examples.h"
#include "export.h"
#include "hfconfig.h"
#include "methods/adapter.h"
#include "methods/lora.h"
#include "methods/methods.h"
#include "modelio.h"
#include "predict.h"
#include "provenance.h"
#include "stream.h"
#include "ops_backend.h"
#include "util.h"

static void usage(void) {
    printf(
        "Usage: evaluate --model DIR [--delta FILE] [OPTIONS] [EXAMPLES|-] > METRICS\n"
        "Evaluate a (fine-tuned) model on an examples stream and write a metrics stream.\n"
        "\n"
        "  -m, --model DIR         the base model (HF directory or archive)\n"
        "  -d, --delta FILE        the delta from masktrain (omit: the base model as is)\n"
        "      --predictions FILE  also write a predictions stream (one record per example)\n"
        "      --export DIR        also write the fine-tuned model as a model directory: HF's class\n"
        "                          where one computes the head, else ours (evaluate(1) EXPORTS);\n"
        "                          LoRA merged into the weights\n"
        "      --export-peft DIR   also write a LoRA delta as a PEFT adapter (--head hf runs)\n"
        "      --export-adapter DIR  also write an adapter delta in AdapterHub's layout\n"
        "      --head A            head architecture, jiant or hf (default: the delta's; without\n"
        "                          a delta the one an exported model records, else jiant)\n"
        "  -b, --batch B           examples per forward pass (default 32)\n"
        "  -s, --seed S            head initialisation when neither the model nor the delta\n"
        "                          has a head (default: the delta's seed, else 0)\n"
        "      --split NAME        the split the metrics record names: test, dev or train\n"
        "                          (default: the examples' holdout part if train or dev, else test)\n"
        "      --method NAME --ratio P --tag T\n"
        "                          labels of the metrics record (default: from the delta)\n"
        "      --force             apply a delta made for another base model\n"
        "      --device D         cpu, cuda or auto (default: cuda when this build has a usable\n"
        "                         GPU, else cpu); buffers, weights and optimiser state stay there\n"
        "      --precision P      matrix products in fp32 (default), tf32 or bf16 (bf16 operands,\n"
        "                         fp32 accumulation and master weights; cuda only)\n"
        "      --threads T         CPU threads\n"
        "  -q, --quiet             no messages on stderr but errors\n"
        "  -o, --output FILE       write FILE atomically instead of stdout\n"
        "  -h, --help, -V, --version\n"
        "\nMetrics (0-1 scale, jiant's definitions): cola mcc; stsb mean of Pearson and\n"
        "Spearman; mrpc mean of accuracy and F1; rte, copa, wsc accuracy; cb mean of accuracy\n"
        "and macro-F1.  See evaluate(1).\n");
}

typedef struct Options {
    const char *model, *delta, *predictions, *export_dir, *export_peft, *export_adapter, *output, *input;
    const char *method, *tag, *device, *precision, *split;
    double ratio;
    int ratio_given, seed_given, batch, force, arch_given, quiet;
    HeadArch arch;
    uint64_t seed;
} Options;

static void parse_args(int argc, char **argv, Options *o) {
    enum { O_PRED = 256, O_EXPORT, O_PEFT, O_HUB, O_METHOD, O_RATIO, O_TAG, O_FORCE, O_DEVICE, O_PREC, O_THREADS,
           O_HEAD, O_SPLIT };
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},     {"delta", required_argument, 0, 'd'},
        {"predictions", required_argument, 0, O_PRED}, {"export", required_argument, 0, O_EXPORT},
        {"export-peft", required_argument, 0, O_PEFT}, {"export-adapter", required_argument, 0, O_HUB},
        {"batch", required_argument, 0, 'b'},     {"seed", required_argument, 0, 's'},
        {"method", required_argument, 0, O_METHOD}, {"ratio", required_argument, 0, O_RATIO},
        {"tag", required_argument, 0, O_TAG},     {"force", no_argument, 0, O_FORCE},
        {"device", required_argument, 0, O_DEVICE}, {"precision", required_argument, 0, O_PREC}, {"threads", required_argument, 0, O_THREADS},
        {"head", required_argument, 0, O_HEAD},     {"split", required_argument, 0, O_SPLIT},
        {"quiet", no_argument, 0, 'q'},
        {"output", required_argument, 0, 'o'},    {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->batch = 32;
    int c;
    while ((c = getopt_long(argc, argv, "m:d:b:s:qo:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'd': o->delta = optarg; break;
        case O_PRED: o->predictions = optarg; break;
        case O_EXPORT: o->export_dir = optarg; break;
        case O_PEFT: o->export_peft = optarg; break;
        case O_HUB: o->export_adapter = optarg; break;
        case 'b': o->batch = (int)parse_long("--batch", optarg, 1, 1 << 16); break;
        case 's': o->seed = (uint64_t)parse_long("--seed", optarg, 0, 1L << 62), o->seed_given = 1; break;
        case O_METHOD: o->method = optarg; break;
        case O_RATIO: o->ratio = parse_double("--ratio", optarg, 0, 1), o->ratio_given = 1; break;
        case O_TAG: o->tag = optarg; break;
        case O_FORCE: o->force = 1; break;
        case O_SPLIT:
            if (strcmp(optarg, "test") && strcmp(optarg, "dev") && strcmp(optarg, "train"))
                die_usage("--split: expected test, dev or train, got '%s'", optarg);
            o->split = optarg;
            break;
        case O_HEAD:
            if (head_arch_parse(optarg, &o->arch) != 0) die_usage("--head: expected jiant or hf, got '%s'", optarg);
            o->arch_given = 1;
            break;
        case O_DEVICE: o->device = optarg; break;
        case O_PREC: o->precision = optarg; break;
        case O_THREADS: omp_set_num_threads((int)parse_long("--threads", optarg, 1, 4096)); break;
        case 'q': o->quiet = 1; break;
        case 'o': o->output = optarg; break;
        case 'h': usage(); exit(0);
        case 'V': printf("evaluate (sparsetune) %s\n", SPARSETUNE_VERSION); exit(0);
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (!o->model) die_usage("--model DIR is required");
    if ((o->export_peft || o->export_adapter) && !o->delta) die_usage("--export-peft and --export-adapter need --delta");
    if (argc - optind > 1) die_usage("one examples stream at most");
    o->input = optind < argc ? argv[optind] : "-";
}

/* The base model's directory name (PEFT's base_model_name_or_path, AdapterHub's model_name). */
static const char *base_name(const char *dir) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--) buf[n - 1] = '\0';
    const char *slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

/* The method's configuration in the delta header's structure, or die naming the option. */
static json_t *structure_of(const Options *o, json_t *dhead, const char *method, const char *option) {
    json_t *s = json_object_get(json_object_get(dhead, "structure"), method);
    if (!s) die(o->delta, "%s needs a delta of sam-select --method %s", option, method);
    return s;
}

/* PEFT's classes are HF's: only runs whose head HF computes can be a PEFT adapter. */
static void export_peft(const Options *o, const Model *m, const ModelInfo *mi, json_t *dhead) {
    LoraConfig c;
    char err[256];
    if (lora_config_parse(structure_of(o, dhead, "lora", "--export-peft"), &c, err, sizeof err) != 0)
        die(o->delta, "%s", err);
    if (m->arch == ARCH_JIANT)
        die(o->delta, "--export-peft: PEFT's base classes are HF's, whose RobertaForSequenceClassification has "
            "no pooler, but this run's head (--head jiant) reads tanh(pooler(<s>)); train with --head hf, or "
            "use --export (the merged model)");
    if (m->head == HEAD_SPAN) die(o->delta, "--export-peft: HF has no class for the span comparison (WSC) head");
    if (m->pooler >= 0 && !mi->pooler_from_checkpoint)
        die(o->delta, "--export-peft: the pooler was initialised from the seed, so it is not the base model's");
    lora_export_peft(m, &c, base_name(o->model), m->head == HEAD_MULTIPLE_CHOICE ? NULL : "SEQ_CLS", o->export_peft);
}

static void export_adapter(const Options *o, const Model *m, json_t *dhead, const ExampleSet *set) {
    AdapterConfig c;
    char err[256];
    if (adapter_config_parse(structure_of(o, dhead, "adapter", "--export-adapter"), &c, err, sizeof err) != 0)
        die(o->delta, "%s", err);
    adapter_export_hub(m, &c, base_name(o->model), json_object_get(set->header, "labels"), o->export_adapter);
}

/* The delta's classes must be the examples' (same names, same order): a label map of another
 * split or task would be applied silently otherwise.  Streams without names are not checked. */
static void check_labels(const ExampleSet *set, json_t *dhead, const char *input, const char *delta) {
    json_t *nl = json_object_get(dhead, "num_labels");
    if (json_is_integer(nl) && json_integer_value(nl) != set->num_labels)
        die(input, "the delta was trained for %lld labels, these examples have %d (%s)",
            (long long)json_integer_value(nl), set->num_labels, delta);
    json_t *want = json_object_get(dhead, "labels"), *have = json_object_get(set->header, "labels");
    if (!json_array_size(want) || !json_array_size(have) || json_equal(want, have)) return;
    char *w = json_dumps(want, JSON_COMPACT), *h = json_dumps(have, JSON_COMPACT);
    die(input, "the delta was trained for the labels %s (in this order), these examples have %s; "
        "tokenize them with --labels in the training order (%s)", w, h, delta);
}

/* Unlabeled classification examples that name no classes (tokenize without --labels) are
 * predicted as the delta's classes. */
static void adopt_labels(ExampleSet *set, json_t *dhead, const char *input, const char *delta) {
    json_t *nl = json_object_get(dhead, "num_labels"), *names = json_object_get(dhead, "labels");
    if (set->type != TASK_CLASSIFICATION || set->num_labels != 0) return;
    if (!json_is_integer(nl))
        die(input, "the examples name no classes and the delta %s does not say how many: tokenize "
            "them with --labels", delta);
    set->num_labels = (int)json_integer_value(nl);
    if (json_is_array(names)) json_object_set(set->header, "labels", names);
}

/* A number or string of the delta header, for the labels of the metrics record. */
static json_t *delta_field(const DeltaInfo *d, const char *key) {
    return d->header ? json_object_get(d->header, key) : NULL;
}

static void write_predictions(const Options *o, const ExampleSet *set, const Predictions *p,
                              json_t *prov) {
    OutFile *out = out_open(o->predictions, 1);
    json_t *meta = json_object();
    json_object_set_new(meta, "task", json_deep_copy(json_object_get(set->header, "task")));
    json_object_set_new(meta, "task_type", json_string(task_type_name(set->type)));
    json_object_set_new(meta, "labels", json_deep_copy(json_object_get(set->header, "labels")));
    StWriter *w = st_writer_open(out->fp, "predictions", meta, prov);
    json_t *names = json_object_get(set->header, "labels");
    for (size_t i = 0; i < set->n; i++) {
        const Example *e = &set->ex[i];
        /* the predicted class's name, where the examples name their classes */
        const char *name = set->type == TASK_REGRESSION ? NULL
                           : json_string_value(json_array_get(names, (size_t)p->pred[i]));
        st_record_begin(w, 3 + (e->has_label ? 1 : 0) + (name ? 1 : 0));
        st_put_uint(w, "idx", e->idx);
        if (set->type == TASK_REGRESSION) {
            if (e->has_label) st_put_double(w, "label", e->target);
            st_put_double(w, "pred", p->value[i]);
        } else {
            if (e->has_label) st_put_int(w, "label", e->label);
            st_put_int(w, "pred", p->pred[i]);
            if (name) st_put_str(w, "pred_label", name);
        }
        st_put_bin(w, "scores", p->scores + i * (size_t)p->n_scores, (size_t)p->n_scores * sizeof(float));
    }
    st_writer_close(w);
    out_commit(out);
    json_decref(meta);
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    Options o;
    parse_args(argc, argv, &o);
    ops_select(o.device ? o.device : "auto", o.precision, o.quiet || !o.device);

    ExampleSet *set = exampleset_read(o.input);
    if (set->n == 0) die(o.input, "no examples");
    size_t n_labeled = 0;
    for (size_t i = 0; i < set->n; i++) n_labeled += set->ex[i].has_label;
    /* Unlabeled examples (tokenize --no-labels): predictions only, no metrics stream. */
    if (!n_labeled && !o.predictions)
        die(o.input, "no labeled examples to score; to predict, write --predictions FILE");
    OutFile *out = n_labeled ? out_open(o.output, 1) : NULL;
    DeltaInfo d = {0};
    json_t *dhead = NULL; /* the delta's header: its structure (LoRA, adapters) */
    if (o.delta) {
        /* The model is built as the delta's run built it: its head architecture, and the head
         * initialised from the training seed (the delta usually carries the trained head). */
        StReader *r = st_reader_open(o.delta, "delta");
        json_t *s = json_object_get(st_reader_header(r), "seed");
        if (json_is_integer(s) && !o.seed_given) o.seed = (uint64_t)json_integer_value(s);
        HeadArch trained = head_arch_of_header(st_reader_header(r), o.delta);
        if (o.arch_given && o.arch != trained)
            die(o.delta, "the delta was trained with --head %s, not --head %s", head_arch_name(trained),
                head_arch_name(o.arch));
        o.arch = trained;
        dhead = json_deep_copy(st_reader_header(r));
        st_reader_close(r);
        adopt_labels(set, dhead, o.input, o.delta);
        check_labels(set, dhead, o.input, o.delta);
    }
    /* An exported model evaluated on its own: the architecture it was exported with. */
    if (!o.delta && !o.arch_given) o.arch = export_arch_of_dir(o.model, o.arch);
    ModelInfo mi;
    Model *m = model_open(o.model, set->type, set->num_labels, o.arch, o.seed, -1, &mi);
    if (o.delta) {
        methods_attach(m, dhead, o.seed, o.delta);
        if (o.export_dir && m->adapter)
            die(o.delta, "--export writes a plain HF directory, which has no place for adapters; "
                "--export-adapter DIR writes AdapterHub's layout");
        delta_apply(m, o.delta, mi.sha256, o.force, &d);
        lora_merge(m); /* the equivalent model: W + (alpha/r) B A */
    }

    Predictions p;
    predict_set(m, set, o.batch, &p);
    MetricResult res = {0};
    char err[512];
    if (n_labeled && predictions_score(set, &p, &res, err, sizeof err) != 0) die(o.input, "%s", err);

    json_t *upstream = json_object_get(set->header, "provenance");
    json_t *entry = prov_entry(argc, argv);
    prov_add_input(entry, o.input, set->sha256);
    prov_add_input(entry, o.model, mi.sha256);
    if (o.delta) prov_add_input(entry, o.delta, d.sha256);
    json_t *prov = prov_chain(upstream, entry);

    const char *task = json_string_value(json_object_get(set->header, "task"));
    json_t *meta = json_object();
    json_object_set_new(meta, "task", json_string(task ? task : "custom"));
    json_object_set_new(meta, "metric", json_string(res.metric ? res.metric : "none"));
    json_object_set_new(meta, "model_sha256", json_string(mi.sha256));
    json_object_set_new(meta, "head", json_string(head_arch_name(o.arch)));
    json_object_set_new(meta, "device", json_string(ops_device_label()));
    if (o.delta) json_object_set_new(meta, "delta_sha256", json_string(d.sha256));

    json_t *rec = json_object();
    json_object_set_new(rec, "task", json_string(task ? task : "custom"));
    json_t *method = delta_field(&d, "method");
    json_object_set_new(rec, "method", o.method ? json_string(o.method)
                                       : json_is_string(method) ? json_deep_copy(method)
                                       : json_string(o.delta ? "unknown" : "base"));
    json_t *seed = delta_field(&d, "seed");
    json_object_set_new(rec, "seed", o.seed_given || !json_is_integer(seed) ? json_integer((json_int_t)o.seed)
                                                                            : json_deep_copy(seed));
    json_t *ratio = delta_field(&d, "ratio");
    json_object_set_new(rec, "ratio", o.ratio_given ? json_real(o.ratio)
                                      : json_is_number(ratio) ? json_real(json_number_value(ratio))
                                      : json_real(o.delta ? NAN : 1.0));
    json_object_set_new(rec, "metric", json_real(res.value));
    json_t *comp = json_object();
    for (int i = 0; i < res.n_components; i++) json_object_set_new(comp, res.name[i], json_real(res.comp[i]));
    json_object_set_new(rec, "components", comp);
    json_object_set_new(rec, "metric_name", json_string(res.metric ? res.metric : "none"));
    json_object_set_new(rec, "n", json_integer((json_int_t)n_labeled));
    json_object_set_new(rec, "loss", json_real(p.loss));
    json_t *split = json_object_get(set->header, "split");
    const char *part = json_string_value(json_object_get(split, "part"));
    /* stats tells runs apart by split: a training-set evaluation must not read as "test" */
    const char *held = part && (!strcmp(part, "train") || !strcmp(part, "dev")) ? part : "test";
    json_object_set_new(rec, "split", json_string(o.split ? o.split : held));
    if (o.tag) json_object_set_new(rec, "tag", json_string(o.tag));
    else if (json_is_string(delta_field(&d, "tag"))) json_object_set_new(rec, "tag", json_deep_copy(delta_field(&d, "tag")));

    if (o.predictions) write_predictions(&o, set, &p, prov);
    if (o.export_dir) export_model_dir(m, set, o.model, o.export_dir);

    if (o.export_peft) export_peft(&o, m, &mi, dhead);
    if (o.export_adapter) export_adapter(&o, m, dhead, set);

    if (out) {
        StWriter *w = st_writer_open(out->fp, "metrics", meta, prov);
        st_write_json_record(w, rec);
        st_writer_close(w);
        out_commit(out);
    }

    json_decref(rec);
    json_decref(meta);
    json_decref(prov);
    predictions_free(&p);
    deltainfo_free(&d);
    json_decref(dhead);
    model_free(m);
    exampleset_free(set);
    return 0;
}
