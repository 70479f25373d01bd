/* masktrain — truly sparse fine-tuning: train only the entries a mask selects (and the head)
 * with AdamW, evaluate on a dev set, stop early, and write the best checkpoint as a delta. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <unistd.h>

#include "examples.h"
#include "methods/methods.h"
#include "modelio.h"
#include "optim.h"
#include "progress.h"
#include "provenance.h"
#include "stream.h"
#include "stream_tensor.h"
#include "trainer.h"
#include "ops_backend.h"
#include "util.h"

static void usage(void) {
    printf(
        "Usage: masktrain --model DIR --mask FILE --dev FILE [OPTIONS] [TRAIN|-] > DELTA\n"
        "Fine-tune only the entries of the mask (and the task head) and write the best dev\n"
        "checkpoint as a delta stream.\n"
        "\n"
        "  -m, --model DIR         base model (HF directory or archive)\n"
        "  -k, --mask FILE         mask stream (sam-select); tensors it omits are frozen\n"
        "      --dev FILE          dev examples for early stopping\n"
        "  -s, --seed S            data order, dropout, head initialisation (default 0)\n"
        "      --head A            head architecture: jiant (the paper's: the head on the\n"
        "                          pooler's tanh(dense(<s>)); default) or hf (HF's classes);\n"
        "                          must be the mask's\n"
        "      --lr LR             peak learning rate (default 1e-4, the paper's SAM runs)\n"
        "      --schedule S        linear (warm-up, then linear decay to 0 at the schedule's\n"
        "                          end; default) or constant (after warm-up)\n"
        "      --schedule-steps N  length of the schedule (default: --max-steps); training\n"
        "                          still ends at --max-steps or by early stopping\n"
        "      --warmup F          warm-up steps: a fraction of the schedule if < 1, else a\n"
        "                          count (default 0)\n"
        "      --weight-decay W    AdamW decay, not on biases and LayerNorm (default 0.01)\n"
        "      --beta1 B --beta2 B --adam-eps E     (0.9, 0.999, 1e-8)\n"
        "      --max-grad-norm N   clip the gradient norm (default 1.0; 0 = off)\n"
        "      --clip-scope S      the norm clipping uses: trainable (of what is trained;\n"
        "                          default) or all (the dense gradient of every parameter, as\n"
        "                          the reference code; a full backward)\n"
        "  -b, --batch B           examples per step (default 16)\n"
        "      --dropout P         override config.json's dropout rates\n"
        "      --max-steps N       at most N steps (default: 20 epochs of the training set;\n"
        "                          0: no step, the delta holds the initial head)\n"
        "      --min-steps N       never stop early before N steps (default 0)\n"
        "      --eval-every N      evaluate on dev every N steps (default 500)\n"
        "      --patience N        stop after N evaluations without improvement (default 40)\n"
        "      --dev-limit N       evaluate only the first N dev examples (default: all)\n"
        "      --keep K            the state the delta holds: best (dev evaluation; default)\n"
        "                          or last\n"
        "      --decay-frozen      decay frozen weights too, as the paper's reference code\n"
        "      --checkpoint FILE   save the training state there (atomically) ...\n"
        "      --checkpoint-every N  ... every N steps (default: --eval-every) and on\n"
        "                          SIGINT/SIGTERM\n"
        "      --resume            continue from --checkpoint FILE when it exists\n"
        "      --log FILE          JSON lines: step, loss, lr, grad_norm; dev_metric\n"
        "      --device D         cpu, cuda or auto (default: cuda when this build has a usable\n"
        "                         GPU, else cpu); buffers, weights and optimiser state stay there\n"
        "      --precision P      matrix products in fp32 (default), tf32 or bf16 (bf16 operands,\n"
        "                         fp32 accumulation and master weights; cuda only)\n"
        "      --threads T         CPU threads\n"
        "  -q, --quiet             no progress on stderr\n"
        "  -o, --output FILE       write FILE atomically instead of stdout\n"
        "  -h, --help, -V, --version\n"
        "\nSee masktrain(1).\n");
}

typedef struct Options {
    const char *model, *mask, *dev, *log, *output, *input, *device, *precision;
    TrainConfig tc;
    double warmup, dropout, beta1, beta2, adam_eps, weight_decay;
    long schedule_steps, dev_limit; /* -1: --max-steps; 0: all */
    int decay_frozen, clip_all, quiet, max_steps_given, ckpt_every_given;
    HeadArch arch;
} Options;

static void parse_args(int argc, char **argv, Options *o) {
    enum { O_LR = 256, O_SCHED, O_WARMUP, O_WD, O_B1, O_B2, O_EPS, O_CLIP, O_DROPOUT, O_MAX,
           O_MIN, O_EVAL, O_PAT, O_DECAY, O_CKPT, O_CKPT_EVERY, O_RESUME, O_LOG, O_DEVICE,
           O_PREC, O_THREADS, O_SCHED_STEPS, O_DEV_LIMIT, O_KEEP, O_CLIP_SCOPE, O_HEAD };
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},       {"mask", required_argument, 0, 'k'},
        {"dev", required_argument, 0, 'd'},         {"seed", required_argument, 0, 's'},
        {"lr", required_argument, 0, O_LR},         {"schedule", required_argument, 0, O_SCHED},
        {"warmup", required_argument, 0, O_WARMUP}, {"weight-decay", required_argument, 0, O_WD},
        {"beta1", required_argument, 0, O_B1},      {"beta2", required_argument, 0, O_B2},
        {"adam-eps", required_argument, 0, O_EPS},  {"max-grad-norm", required_argument, 0, O_CLIP},
        {"batch", required_argument, 0, 'b'},       {"dropout", required_argument, 0, O_DROPOUT},
        {"max-steps", required_argument, 0, O_MAX}, {"min-steps", required_argument, 0, O_MIN},
        {"eval-every", required_argument, 0, O_EVAL}, {"patience", required_argument, 0, O_PAT},
        {"decay-frozen", no_argument, 0, O_DECAY},  {"checkpoint", required_argument, 0, O_CKPT},
        {"checkpoint-every", required_argument, 0, O_CKPT_EVERY},
        {"resume", no_argument, 0, O_RESUME},       {"log", required_argument, 0, O_LOG},
        {"device", required_argument, 0, O_DEVICE}, {"precision", required_argument, 0, O_PREC}, {"threads", required_argument, 0, O_THREADS},
        {"schedule-steps", required_argument, 0, O_SCHED_STEPS},
        {"dev-limit", required_argument, 0, O_DEV_LIMIT}, {"keep", required_argument, 0, O_KEEP},
        {"clip-scope", required_argument, 0, O_CLIP_SCOPE},
        {"head", required_argument, 0, O_HEAD},
        {"quiet", no_argument, 0, 'q'},             {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},              {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    TrainConfig *c = &o->tc;
    c->lr = 1e-4;
    c->max_grad_norm = 1.0;
    c->batch = 16;
    c->eval_every = 500;
    c->patience = 40;
    o->dropout = -1;
    o->schedule_steps = -1;
    o->beta1 = 0.9, o->beta2 = 0.999, o->adam_eps = 1e-8, o->weight_decay = 0.01;
    int ch;
    while ((ch = getopt_long(argc, argv, "m:k:s:b:qo:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'k': o->mask = optarg; break;
        case 'd': o->dev = optarg; break;
        case 's': c->seed = (uint64_t)parse_long("--seed", optarg, 0, 1L << 62); break;
        case O_LR: c->lr = parse_double("--lr", optarg, 0, 10); break;
        case O_SCHED:
            if (strcmp(optarg, "linear") == 0) c->constant_lr = 0;
            else if (strcmp(optarg, "constant") == 0) c->constant_lr = 1;
            else die_usage("--schedule: expected linear or constant, got '%s'", optarg);
            break;
        case O_WARMUP: o->warmup = parse_double("--warmup", optarg, 0, 1e9); break;
        case O_WD: o->weight_decay = parse_double("--weight-decay", optarg, 0, 1); break;
        case O_B1: o->beta1 = parse_double("--beta1", optarg, 0, 0.999999); break;
        case O_B2: o->beta2 = parse_double("--beta2", optarg, 0, 0.999999999); break;
        case O_EPS: o->adam_eps = parse_double("--adam-eps", optarg, 0, 1); break;
        case O_CLIP: c->max_grad_norm = parse_double("--max-grad-norm", optarg, 0, 1e9); break;
        case 'b': c->batch = (int)parse_long("--batch", optarg, 1, 1 << 16); break;
        case O_DROPOUT: o->dropout = parse_double("--dropout", optarg, 0, 0.99); break;
        case O_MAX: c->max_steps = parse_long("--max-steps", optarg, 0, 1L << 24), o->max_steps_given = 1; break;
        case O_SCHED_STEPS: o->schedule_steps = parse_long("--schedule-steps", optarg, 1, 1L << 30); break;
        case O_DEV_LIMIT: o->dev_limit = parse_long("--dev-limit", optarg, 1, 1L << 30); break;
        case O_KEEP:
            if (strcmp(optarg, "best") == 0) c->keep_last = 0;
            else if (strcmp(optarg, "last") == 0) c->keep_last = 1;
            else die_usage("--keep: expected best or last, got '%s'", optarg);
            break;
        case O_CLIP_SCOPE:
            if (strcmp(optarg, "trainable") == 0) o->clip_all = 0;
            else if (strcmp(optarg, "all") == 0) o->clip_all = 1;
            else die_usage("--clip-scope: expected trainable or all, got '%s'", optarg);
            break;
        case O_MIN: c->min_steps = parse_long("--min-steps", optarg, 0, 1L << 24); break;
        case O_EVAL: c->eval_every = parse_long("--eval-every", optarg, 1, 1L << 24); break;
        case O_PAT: c->patience = parse_long("--patience", optarg, 1, 1L << 24); break;
        case O_DECAY: o->decay_frozen = 1; break;
        case O_CKPT: c->checkpoint = optarg; break;
        case O_CKPT_EVERY:
            c->checkpoint_every = parse_long("--checkpoint-every", optarg, 1, 1L << 24);
            o->ckpt_every_given = 1;
            break;
        case O_RESUME: c->resume = 1; break;
        case O_LOG: o->log = optarg; break;
        case O_DEVICE: o->device = optarg; break;
        case O_PREC: o->precision = optarg; break;
        case O_HEAD:
            if (head_arch_parse(optarg, &o->arch) != 0) die_usage("--head: expected jiant or hf, got '%s'", optarg);
            break;
        case O_THREADS: omp_set_num_threads((int)parse_long("--threads", optarg, 1, 4096)); break;
        case 'q': o->quiet = 1; break;
        case 'o': o->output = optarg; break;
        case 'h': usage(); exit(0);
        case 'V': printf("masktrain (sparsetune) %s\n", SPARSETUNE_VERSION); exit(0);
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (!o->model) die_usage("--model DIR is required");
    if (!o->mask) die_usage("--mask FILE is required");
    if (!o->dev) die_usage("--dev FILE is required");
    if (c->resume && !c->checkpoint) die_usage("--resume needs --checkpoint FILE");
    if (argc - optind > 1) die_usage("one training stream at most");
    o->input = optind < argc ? argv[optind] : "-";
    if (!o->ckpt_every_given) c->checkpoint_every = c->eval_every;
}

/* Read the mask: its trainable entries go to the optimiser; the head is trained unless the
 * plan freezes it.  A plan with structure (LoRA, adapters) first adds its extra tensors,
 * initialised from the seed; its records name them. */
static json_t *load_mask(const Options *o, Model *m, Optim *opt, char sha[65]) {
    StReader *r = st_reader_open(o->mask, "mask");
    json_t *h = json_deep_copy(st_reader_header(r));
    HeadArch made = head_arch_of_header(h, o->mask);
    if (made != o->arch)
        die(o->mask, "the mask was made for --head %s (%s), this run is --head %s: pass --head %s, or "
            "make the mask with --head %s", head_arch_name(made),
            json_object_get(h, "head") ? "its header" : "a stream without \"head\" predates the pooled head",
            head_arch_name(o->arch), head_arch_name(made), head_arch_name(o->arch));
    methods_attach(m, h, o->tc.seed, o->mask);
    char *seen = xcalloc((size_t)m->n_params, 1);
    StRecord rec;
    while (st_reader_next(r, &rec)) {
        StSparse s;
        st_mask_read(r, &rec, &s);
        int i = model_find(m, s.name);
        if (i < 0) st_reader_die(r, &rec, "the model has no tensor '%s' (a mask for another model?)", s.name);
        const ParamInfo *p = &m->info[i];
        int same = s.ndim == p->ndim;
        for (int d = 0; same && d < s.ndim; d++) same = s.shape[d] == p->shape[d];
        if (!same) st_reader_die(r, &rec, "'%s': the mask's shape differs from the model's", s.name);
        if (seen[i]) st_reader_die(r, &rec, "'%s' appears twice", s.name);
        seen[i] = 1;
        if (p->is_head || s.all) {
            optim_add(opt, m, i, NULL, 0);
        } else {
            uint32_t *index = xmalloc((s.k ? s.k : 1) * sizeof *index);
            for (uint64_t j = 0; j < s.k; j++) index[j] = st_load_u32(s.index, j);
            optim_add(opt, m, i, index, s.k);
            free(index);
        }
    }
    st_reader_sha256(r, sha);
    st_reader_close(r);
    for (int i = 0; i < m->n_params && !methods_freeze_head(h); i++)
        if (m->info[i].is_head && !seen[i]) optim_add(opt, m, i, NULL, 0);
    optim_freeze_rest(opt, m);
    free(seen);
    return h;
}

/* Jansson has no non-finite reals (a run without evaluation has no metric, no loss). */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A pooler the checkpoint lacks was initialised from the seed: the delta carries it whole
 * (its final values), so applying the delta needs no seed and no initialisation. */
static int written_whole(const Model *m, const ModelInfo *mi, int i) {
    return m->pooler >= 0 && !mi->pooler_from_checkpoint && (i == m->pooler || i == m->pooler + 1);
}

static void write_delta(OutFile *out, const Trainer *t, const Model *m, const ModelInfo *mi, json_t *meta,
                        json_t *prov) {
    StWriter *w = st_writer_open(out->fp, "delta", meta, prov);
    float *val = NULL;
    size_t cap = 0;
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        if (written_whole(m, mi, i)) { /* the model holds the kept state (trainer_run) */
            float *host = xmalloc(p->numel * sizeof *host);
            model_get_tensor(m, i, host);
            st_put_tensor(w, p->name, ST_F32, p->shape, p->ndim, host);
            free(host);
        } else if (t->mode[i] == 2) {
            st_put_tensor(w, p->name, ST_F32, p->shape, p->ndim, trainer_best(t, i));
        } else if (t->mode[i] == 1) {
            const TrainTensor *tt = &t->o->t[t->slot[i]];
            if (tt->k > cap) val = xrealloc(val, (cap = tt->k) * sizeof *val);
            const float *best = trainer_best(t, i);
            for (size_t j = 0; j < tt->k; j++) val[j] = best[j] - tt->theta0[j];
            st_put_sparse_delta(w, p->name, p->shape, p->ndim, tt->index, val, tt->k);
        }
    }
    free(val);
    st_writer_close(w);
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    Options o;
    parse_args(argc, argv, &o);
    ops_select(o.device ? o.device : "auto", o.precision, o.quiet || !o.device);
    OutFile *out = out_open(o.output, 1);
    trainer_catch_signals();

    ExampleSet *train = exampleset_read(o.input);
    ExampleSet *dev = exampleset_read(o.dev);
    if (train->n == 0) die(o.input, "no training examples");
    if (dev->n == 0) die(o.dev, "no dev examples");
    if (train->type != dev->type || train->num_labels != dev->num_labels)
        die(o.dev, "the dev set's task differs from the training set's");
    json_t *tl = json_object_get(train->header, "labels"), *dl = json_object_get(dev->header, "labels");
    if (json_array_size(tl) && json_array_size(dl) && !json_equal(tl, dl)) {
        char *a = json_dumps(tl, JSON_COMPACT), *b = json_dumps(dl, JSON_COMPACT);
        die(o.dev, "its labels %s are not the training set's %s (tokenize both with the same --labels)", b, a);
    }
    for (size_t i = 0; i < train->n; i++)
        if (!train->ex[i].has_label) die(o.input, "record %zu: unlabeled example", i);

    TrainConfig *c = &o.tc;
    if (!o.max_steps_given) {
        long per_epoch = (long)((train->n + (size_t)c->batch - 1) / (size_t)c->batch);
        c->max_steps = 20 * per_epoch;
    }
    c->schedule_steps = o.schedule_steps >= 0 ? o.schedule_steps : c->max_steps;
    c->warmup = o.warmup < 1 ? (long)floor(o.warmup * (double)c->schedule_steps) : (long)o.warmup;
    ExampleSet dev_view = *dev; /* --dev-limit: the first N examples, in file order */
    if (o.dev_limit > 0 && (size_t)o.dev_limit < dev->n) dev_view.n = (size_t)o.dev_limit;

    ModelInfo mi;
    Model *m = model_open(o.model, train->type, train->num_labels, o.arch, c->seed, o.dropout, &mi);
    Optim opt;
    optim_init(&opt, o.beta1, o.beta2, o.adam_eps, o.weight_decay, o.decay_frozen);
    opt.dense_grads = o.clip_all;
    char mask_sha[65];
    json_t *mask_header = load_mask(&o, m, &opt, mask_sha);

    json_t *entry = prov_entry(argc, argv);
    prov_add_input(entry, o.input, train->sha256);
    prov_add_input(entry, o.dev, dev->sha256);
    prov_add_input(entry, o.mask, mask_sha);
    prov_add_input(entry, o.model, mi.sha256);
    Trainer t;
    trainer_init(&t, m, &opt, c, entry);
    Progress prog;
    int resuming = c->resume && c->checkpoint && access(c->checkpoint, F_OK) == 0;
    if (!o.quiet && !c->resume && c->checkpoint && access(c->checkpoint, F_OK) == 0)
        warnx_st(c->checkpoint, "exists: this run starts afresh and will overwrite it (--resume continues it)");
    progress_init(&prog, c->max_steps, o.quiet, o.log, resuming);
    TrainResult res;
    trainer_run(&t, train, &dev_view, &prog, &res);
    progress_finish(&prog);
    if (!o.quiet) { /* one summary line (stderr): what a user checks first */
        const char *metric = json_string_value(json_object_get(dev->header, "metric"));
        if (res.best_step >= 0)
            fprintf(stderr, "%s: %ld steps in %.1f s%s; best dev %s %.4f at step %ld; %zu trainable entries\n",
                    st_progname, res.steps, now_seconds() - prog.t0, res.stopped_early ? " (stopped early)" : "",
                    metric ? metric : "metric", res.best_metric, res.best_step, optim_trainable(&opt));
        else
            fprintf(stderr, "%s: %ld steps, no evaluation; %zu trainable entries\n", st_progname, res.steps,
                    optim_trainable(&opt));
    }

    json_t *meta = json_object();
    json_object_set_new(meta, "base_model_sha256", json_string(mi.sha256));
    json_object_set_new(meta, "mask_sha256", json_string(mask_sha));
    json_object_set_new(meta, "head", json_string(head_arch_name(o.arch)));
    if (m->pooler >= 0) json_object_set_new(meta, "pooler_from_checkpoint", json_boolean(mi.pooler_from_checkpoint));
    static const char *from_mask[] = {"method", "ratio", "scope", "structure", "freeze_head"};
    for (size_t i = 0; i < sizeof from_mask / sizeof from_mask[0]; i++) {
        json_t *v = json_object_get(mask_header, from_mask[i]);
        if (v) json_object_set_new(meta, from_mask[i], json_deep_copy(v));
    }
    json_object_set_new(meta, "seed", json_integer((json_int_t)c->seed));
    size_t base_entries = 0; /* the denominator of the tunable share (stats, Table 4) */
    for (int i = 0; i < m->head_first; i++) base_entries += m->info[i].numel;
    json_object_set_new(meta, "base_entries", json_integer((json_int_t)base_entries));
    json_object_set_new(meta, "device", json_string(ops_device_label()));
    json_object_set_new(meta, "task", json_deep_copy(json_object_get(train->header, "task")));
    json_object_set_new(meta, "task_type", json_string(task_type_name(train->type)));
    json_object_set_new(meta, "num_labels", json_integer(train->num_labels));
    json_object_set_new(meta, "labels", json_deep_copy(json_object_get(train->header, "labels")));
    json_t *sum = json_object();
    json_object_set_new(sum, "steps", json_integer(res.steps));
    json_object_set_new(sum, "best_step", json_integer(res.best_step)); /* -1: no evaluation */
    json_object_set_new(sum, "best_dev_metric", real_or_null(res.best_metric));
    json_object_set_new(sum, "dev_metric", json_deep_copy(json_object_get(dev->header, "metric")));
    json_object_set_new(sum, "evaluations", json_integer(res.evals));
    json_object_set_new(sum, "stopped_early", json_boolean(res.stopped_early));
    json_object_set_new(sum, "last_loss", real_or_null(res.last_loss));
    json_object_set_new(sum, "trainable_entries", json_integer((json_int_t)optim_trainable(&opt)));
    json_object_set_new(sum, "lr", json_real(c->lr));
    json_object_set_new(sum, "schedule", json_string(c->constant_lr ? "constant" : "linear"));
    json_object_set_new(sum, "warmup_steps", json_integer(c->warmup));
    json_object_set_new(sum, "max_steps", json_integer(c->max_steps));
    json_object_set_new(sum, "schedule_steps", json_integer(c->schedule_steps));
    json_object_set_new(sum, "batch", json_integer(c->batch));
    json_object_set_new(sum, "weight_decay", json_real(o.weight_decay));
    json_object_set_new(sum, "decay_frozen", json_boolean(o.decay_frozen));
    json_object_set_new(sum, "max_grad_norm", json_real(c->max_grad_norm));
    json_object_set_new(sum, "clip_scope", json_string(o.clip_all ? "all" : "trainable"));
    json_object_set_new(sum, "keep", json_string(c->keep_last ? "last" : "best"));
    json_object_set_new(sum, "dropout", json_real(m->cfg.hidden_dropout_prob));
    json_object_set_new(sum, "eval_every", json_integer(c->eval_every));
    json_object_set_new(sum, "patience", json_integer(c->patience));
    json_object_set_new(sum, "dev_examples", json_integer((json_int_t)dev_view.n));
    json_object_set_new(meta, "training", sum);
    json_t *prov = prov_chain(json_object_get(mask_header, "provenance"), json_incref(entry));
    write_delta(out, &t, m, &mi, meta, prov);
    out_commit(out);

    json_decref(meta);
    json_decref(prov);
    json_decref(entry);
    json_decref(mask_header);
    trainer_free(&t);
    optim_free(&opt);
    model_free(m);
    exampleset_free(train);
    exampleset_free(dev);
    return 0;
}
