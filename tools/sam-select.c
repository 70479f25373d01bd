/* sam-select — choose the trainable entries: read a grads stream (or a model) and write a
 * mask stream.  SAM keeps, per tensor, the ⌊p·numel⌋ entries of largest |G| (PAPER.md); the
 * baselines of the paper's tables are other methods of the same tool. */
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "methods/adapter.h"
#include "methods/lora.h"
#include "modelio.h"
#include "provenance.h"
#include "select.h"
#include "stream.h"
#include "stream_tensor.h"
#include "ops_backend.h"
#include "util.h"

typedef enum { M_SAM, M_FISHER, M_ABS, M_RANDOM, M_MAGNITUDE, M_BITFIT, M_FULL, M_LORA, M_ADAPTER, M_COUNT } Method;
static const char *METHOD_NAMES[] = {"sam", "fisher", "abs", "random", "magnitude", "bitfit", "full", "lora", "adapter"};
/* The reduction each gradient-based method expects from gradacc. */
static const char *METHOD_REDUCTION[] = {"sum", "sumsq", "abs", NULL, NULL, NULL, NULL, NULL, NULL};
/* Structural methods: extra tensors (lib/methods/), the encoder frozen. */
static int is_structural(Method m) { return m == M_LORA || m == M_ADAPTER; }

static void usage(void) {
    printf(
        "Usage: sam-select [OPTIONS] [GRADS|-] > MASK\n"
        "       sam-select --method magnitude|random|bitfit|full --model DIR [OPTIONS] > MASK\n"
        "       sam-select --method lora|adapter --model DIR [OPTIONS] > PLAN\n"
        "Select the trainable entries of every masked tensor and write a mask stream.\n"
        "\n"
        "  -M, --method M       sam (largest |G| of gradacc's sum, the paper's; default),\n"
        "                       fisher (largest sum of g^2: gradacc --reduce sumsq),\n"
        "                       abs (largest sum of |g|: gradacc --reduce abs),\n"
        "                       random (exactly k uniform entries per tensor, from --seed),\n"
        "                       magnitude (largest |theta0|: reads --model),\n"
        "                       bitfit (every bias), full (everything),\n"
        "                       lora (low-rank A, B on Linears; reads --model),\n"
        "                       adapter (Pfeiffer bottleneck after every FFN; reads --model)\n"
        "  -r, --ratio P        keep floor(P*numel) entries per tensor (default 0.005)\n"
        "      --scope S        tensor (per tensor, the paper's; default) or global (the top\n"
        "                       P of all masked entries together)\n"
        "  -m, --model DIR      the model (magnitude; or names and shapes for random/bitfit/full\n"
        "                       when no grads stream is given)\n"
        "      --head A         head architecture of a mask made from --model: jiant (default;\n"
        "                       the pooler roberta.pooler.dense is an encoder tensor) or hf;\n"
        "                       a grads stream says its own (a different --head is an error)\n"
        "  -s, --seed S         seed of random (Philox stream 4, sub-stream = tensor index),\n"
        "                       and of a pooler that --model's checkpoint lacks (magnitude)\n"
        "      --include PAT    mask only tensors whose name matches the glob PAT (repeatable;\n"
        "                       default: the encoder, roberta.*)\n"
        "      --exclude PAT    never mask tensors matching PAT (repeatable)\n"
        "      --device D       where the per-tensor top-k runs: cpu (default), cuda or auto\n"
        "                       (the global scope always selects on the CPU)\n"
        "  -o, --output FILE    write FILE atomically instead of stdout\n"
        "LoRA (y = xW^T + b + (alpha/r) x A^T B^T; the encoder frozen):\n"
        "      --rank R         r (default 8)\n"
        "      --alpha A        alpha (default 16, the authors' roberta-base GLUE setting;\n"
        "                       the paper's code: 1)\n"
        "      --targets LIST   Linears of every layer: query,key,value,attention.output,\n"
        "                       intermediate,output or all (default query,value)\n"
        "      --lora-dropout P dropout on the LoRA input (default 0)\n"
        "      --lora-init-b I  zeros (default) or kaiming (the paper's code: B like A)\n"
        "Adapter (Pfeiffer: LN(h + x + ReLU(LN(h + x) D^T + b) U^T + b); the encoder frozen):\n"
        "      --reduction-factor F  bottleneck = hidden / F (default 16: 768 -> 48)\n"
        "      --bottleneck M   the bottleneck size itself\n"
        "      --adapter-init I bert (N(0, 0.02); default) or zero (up-projection 0)\n"
        "      --freeze-head    do not train the task head either (the paper's LoRA run)\n"
        "  -h, --help, -V, --version\n"
        "\nThe task head (classifier.*) is always fully trainable and marked all:true; encoder\n"
        "tensors not selected by the patterns are left out of the mask (frozen).  Ties are\n"
        "broken by the lower flat index, so masks never depend on the thread count.\n"
        "See sam-select(1).\n");
}

#define MAX_PATTERNS 64
typedef struct Options {
    Method method;
    double ratio;
    int global;
    const char *model, *output, *input, *device;
    uint64_t seed;
    int seed_given;
    HeadArch arch;
    int arch_given;
    const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
    int n_include, n_exclude;
    LoraConfig lora;
    AdapterConfig adapter;
    double reduction;
    int freeze_head;
    size_t base_entries; /* structural methods: the model's non-head entries */
    int hidden;
} Options;

static int is_head(const char *name) { return strncmp(name, "classifier.", 11) == 0; }

static int matches_any(const char *name, const char *const *pats, int n) {
    for (int i = 0; i < n; i++)
        if (fnmatch(pats[i], name, 0) == 0) return 1;
    return 0;
}

/* Is this (non-head) tensor one whose entries are selected? */
static int is_masked(const Options *o, const char *name) {
    if (matches_any(name, o->exclude, o->n_exclude)) return 0;
    if (o->n_include) return matches_any(name, o->include, o->n_include);
    return strncmp(name, "roberta.", 8) == 0;
}

static int is_bias(const char *name) {
    size_t n = strlen(name);
    return n >= 5 && strcmp(name + n - 5, ".bias") == 0;
}

/* One tensor of the input, in input order. */
typedef struct Item {
    char name[ST_NAME_MAX];
    int ndim;
    int64_t shape[8];
    size_t numel;
    float *score; /* the values ranked (gradients or weights); NULL when not needed */
    int role;     /* 0 frozen (left out), 1 selected entries, 2 all:true */
    uint32_t *index;
    size_t k;
} Item;

typedef struct Items {
    Item *v;
    size_t n, cap;
} Items;

static Item *items_push(Items *it) {
    if (it->n == it->cap) it->v = xrealloc(it->v, (it->cap = it->cap ? it->cap * 2 : 64) * sizeof *it->v);
    Item *x = &it->v[it->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static int needs_scores(Method m) { return m == M_SAM || m == M_FISHER || m == M_ABS || m == M_MAGNITUDE; }

/* Decide each tensor's role from the method and the patterns. */
static int role_of(const Options *o, const char *name) {
    if (is_head(name)) return o->freeze_head ? 0 : 2;
    if (is_structural(o->method)) return 0;
    if (!is_masked(o, name)) return 0;
    if (o->method == M_FULL) return 2;
    if (o->method == M_BITFIT) return is_bias(name) ? 2 : 0;
    return 1;
}

static void read_grads(Options *o, Items *items, json_t **upstream_header, char sha[65]) {
    StReader *r = st_reader_open(o->input, "tensors:grads");
    json_t *h = st_reader_header(r);
    HeadArch made = head_arch_of_header(h, st_reader_name(r));
    if (o->arch_given && o->arch != made)
        die(st_reader_name(r), "the gradients were computed with --head %s, not --head %s", head_arch_name(made),
            head_arch_name(o->arch));
    o->arch = made;
    const char *want = METHOD_REDUCTION[o->method];
    const char *red = json_string_value(json_object_get(h, "reduction"));
    if (want && (!red || strcmp(red, want) != 0))
        die(st_reader_name(r), "method %s needs gradients reduced by %s (gradacc --reduce %s), this stream has %s",
            METHOD_NAMES[o->method], want, want, red ? red : "none");
    *upstream_header = json_deep_copy(h);
    StRecord rec;
    while (st_reader_next(r, &rec)) {
        StTensor t;
        st_tensor_read(r, &rec, &t);
        Item *x = items_push(items);
        snprintf(x->name, sizeof x->name, "%s", t.name);
        x->ndim = t.ndim;
        memcpy(x->shape, t.shape, sizeof x->shape);
        x->numel = (size_t)t.numel;
        x->role = role_of(o, x->name);
        if (x->role == 1 && needs_scores(o->method)) {
            x->score = xmalloc_aligned(x->numel * sizeof(float));
            st_tensor_to_f32(&t, x->score);
        }
    }
    st_reader_sha256(r, sha);
    st_reader_close(r);
}

/* The extra tensors of a structural method: trained whole. */
static void add_extras(Options *o, const Model *m, Items *items) {
    ExtraTensor *x = NULL;
    int n = 0;
    if (o->method == M_LORA) {
        n = lora_extras(m, &o->lora, &x);
    } else {
        if (!o->adapter.bottleneck) o->adapter.bottleneck = (int)(m->cfg.hidden_size / o->reduction);
        if (o->adapter.bottleneck < 1) die_usage("--reduction-factor %g leaves no bottleneck", o->reduction);
        n = adapter_extras(m, &o->adapter, &x);
    }
    for (int j = 0; j < n; j++) {
        Item *it = items_push(items);
        snprintf(it->name, sizeof it->name, "%s", x[j].name);
        it->ndim = x[j].ndim;
        it->shape[0] = x[j].shape[0];
        it->shape[1] = x[j].shape[1];
        it->numel = (size_t)x[j].shape[0] * (size_t)(x[j].ndim == 2 ? x[j].shape[1] : 1);
        it->role = 2;
    }
    free(x);
}

static void read_model(Options *o, Items *items, char sha[65]) {
    ModelInfo mi;
    Model *m = model_open(o->model, TASK_CLASSIFICATION, -1, o->arch, o->seed, -1, &mi);
    memcpy(sha, mi.sha256, 65);
    if (is_structural(o->method)) {
        add_extras(o, m, items);
        for (int i = 0; i < m->head_first; i++) o->base_entries += m->info[i].numel;
        o->hidden = m->cfg.hidden_size;
    }
    for (int i = 0; i < m->n_params; i++) {
        const ParamInfo *p = &m->info[i];
        if (p->is_head && !mi.head_from_checkpoint) continue; /* not in the checkpoint */
        Item *x = items_push(items);
        snprintf(x->name, sizeof x->name, "%s", p->name);
        x->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++) x->shape[d] = p->shape[d];
        x->numel = p->numel;
        x->role = role_of(o, x->name);
        if (x->role == 1 && needs_scores(o->method)) {
            x->score = xmalloc_aligned(x->numel * sizeof(float));
            model_get_tensor(m, i, x->score);
        }
    }
    model_free(m);
}

static void check_finite(const Item *x) {
    for (size_t i = 0; i < x->numel; i++)
        if (!isfinite(x->score[i])) die(x->name, "entry %zu is %f: cannot rank non-finite scores", i, x->score[i]);
}

/* select_topk_each through the current backend (the GPU): each tensor's scores go up, its k
 * indices come down. */
static int topk_on_device(const float *const *x, const size_t *n, const size_t *k, size_t T,
                          SelectKey key, uint32_t *const *out, size_t *bad) {
    size_t most = 1;
    for (size_t t = 0; t < T; t++) most = n[t] > most ? n[t] : most;
    float *dev = ops_alloc(most);
    int rc = SELECT_OK;
    for (size_t t = 0; t < T && rc == SELECT_OK; t++) {
        ops_upload(dev, x[t], n[t] * sizeof(float));
        rc = op_topk(dev, n[t], k[t], key == SELECT_VALUE, out[t]);
        if (rc != SELECT_OK) *bad = t;
    }
    ops_free(dev);
    return rc;
}

static void select_entries(const Options *o, Items *items) {
    SelectKey key = o->method == M_FISHER ? SELECT_VALUE : SELECT_ABS;
    size_t n_sel = 0;
    for (size_t i = 0; i < items->n; i++) {
        Item *x = &items->v[i];
        if (x->role != 1) continue;
        if (x->score) check_finite(x);
        n_sel++;
    }
    if (o->method == M_RANDOM) {
        for (size_t i = 0; i < items->n; i++) {
            Item *x = &items->v[i];
            if (x->role != 1) continue;
            x->k = select_count(o->ratio, x->numel);
            x->index = xmalloc((x->k ? x->k : 1) * sizeof *x->index);
            if (select_random(o->seed, (uint32_t)i, x->numel, x->k, x->index) != SELECT_OK)
                die(x->name, "tensor too large for uint32 indices");
        }
        return;
    }
    const float **xs = xmalloc((n_sel ? n_sel : 1) * sizeof *xs);
    size_t *ns = xmalloc((n_sel ? n_sel : 1) * sizeof *ns), *ks = xmalloc((n_sel ? n_sel : 1) * sizeof *ks);
    uint32_t **outs = xmalloc((n_sel ? n_sel : 1) * sizeof *outs);
    Item **sel = xmalloc((n_sel ? n_sel : 1) * sizeof *sel);
    size_t j = 0, total = 0;
    for (size_t i = 0; i < items->n; i++)
        if (items->v[i].role == 1) {
            sel[j] = &items->v[i];
            xs[j] = sel[j]->score;
            ns[j] = sel[j]->numel;
            total += ns[j];
            j++;
        }
    int rc;
    size_t bad = 0;
    if (o->global) {
        size_t k = select_count(o->ratio, total);
        for (j = 0; j < n_sel; j++) outs[j] = xmalloc((ns[j] < k ? ns[j] : k) * sizeof(uint32_t) + 4);
        rc = select_topk_global(xs, ns, n_sel, k, key, outs, ks);
    } else {
        for (j = 0; j < n_sel; j++) {
            ks[j] = select_count(o->ratio, ns[j]);
            outs[j] = xmalloc(ks[j] * sizeof(uint32_t) + 4);
        }
        if (ops_current() == &ops_cpu_backend) rc = select_topk_each(xs, ns, ks, n_sel, key, outs, &bad);
        else rc = topk_on_device(xs, ns, ks, n_sel, key, outs, &bad);
    }
    if (rc == SELECT_ENAN) die(sel[bad]->name, "NaN among the scores");
    if (rc != SELECT_OK) die(sel[bad]->name, "tensor too large for uint32 indices");
    for (j = 0; j < n_sel; j++) {
        sel[j]->index = outs[j];
        sel[j]->k = ks[j];
    }
    free(xs), free(ns), free(ks), free(outs), free(sel);
}

static void parse_args(int argc, char **argv, Options *o) {
    enum { O_SCOPE = 256, O_INCLUDE, O_EXCLUDE, O_DEVICE, O_HEAD, O_RANK, O_ALPHA, O_TARGETS, O_LDROP, O_LINIT,
           O_RED, O_BOTTLE, O_AINIT, O_FREEZE };
    static const struct option longopts[] = {
        {"method", required_argument, 0, 'M'},  {"ratio", required_argument, 0, 'r'},
        {"scope", required_argument, 0, O_SCOPE}, {"model", required_argument, 0, 'm'},
        {"seed", required_argument, 0, 's'},    {"include", required_argument, 0, O_INCLUDE},
        {"exclude", required_argument, 0, O_EXCLUDE}, {"output", required_argument, 0, 'o'},
        {"device", required_argument, 0, O_DEVICE}, {"head", required_argument, 0, O_HEAD},
        {"rank", required_argument, 0, O_RANK},  {"alpha", required_argument, 0, O_ALPHA},
        {"targets", required_argument, 0, O_TARGETS}, {"lora-dropout", required_argument, 0, O_LDROP},
        {"lora-init-b", required_argument, 0, O_LINIT}, {"reduction-factor", required_argument, 0, O_RED},
        {"bottleneck", required_argument, 0, O_BOTTLE}, {"adapter-init", required_argument, 0, O_AINIT},
        {"freeze-head", no_argument, 0, O_FREEZE},
        {"help", no_argument, 0, 'h'},          {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->ratio = 0.005;
    o->lora = (LoraConfig){8, 16.0, (1u << LORA_QUERY) | (1u << LORA_VALUE), 0.0, 0};
    o->reduction = 16;
    char err[256];
    int lora_opt = 0, adapter_opt = 0;
    int c;
    while ((c = getopt_long(argc, argv, "M:r:m:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'M': {
            int found = 0;
            for (int i = 0; i < M_COUNT; i++)
                if (strcmp(optarg, METHOD_NAMES[i]) == 0) o->method = (Method)i, found = 1;
            if (!found)
                die_usage("--method: unknown method '%s' (sam, fisher, abs, random, magnitude, bitfit, full, lora, "
                          "adapter)", optarg);
            break;
        }
        case 'r': o->ratio = parse_double("--ratio", optarg, 0, 1); break;
        case O_SCOPE:
            if (strcmp(optarg, "tensor") == 0) o->global = 0;
            else if (strcmp(optarg, "global") == 0) o->global = 1;
            else die_usage("--scope: expected tensor or global, got '%s'", optarg);
            break;
        case 'm': o->model = optarg; break;
        case 's': o->seed = (uint64_t)parse_long("--seed", optarg, 0, 1L << 62), o->seed_given = 1; break;
        case O_INCLUDE:
            if (o->n_include == MAX_PATTERNS) die_usage("too many --include patterns");
            o->include[o->n_include++] = optarg;
            break;
        case O_EXCLUDE:
            if (o->n_exclude == MAX_PATTERNS) die_usage("too many --exclude patterns");
            o->exclude[o->n_exclude++] = optarg;
            break;
        case O_DEVICE: o->device = optarg; break;
        case O_HEAD:
            if (head_arch_parse(optarg, &o->arch) != 0) die_usage("--head: expected jiant or hf, got '%s'", optarg);
            o->arch_given = 1;
            break;
        case O_RANK: o->lora.r = (int)parse_long("--rank", optarg, 1, 65536), lora_opt = 1; break;
        case O_ALPHA: o->lora.alpha = parse_double("--alpha", optarg, 1e-9, 1e9), lora_opt = 1; break;
        case O_TARGETS:
            if (lora_parse_targets(optarg, &o->lora.targets, err, sizeof err) != 0) die_usage("--targets: %s", err);
            lora_opt = 1;
            break;
        case O_LDROP: o->lora.dropout = parse_double("--lora-dropout", optarg, 0, 0.99), lora_opt = 1; break;
        case O_LINIT:
            if (strcmp(optarg, "zeros") == 0) o->lora.init_b_kaiming = 0;
            else if (strcmp(optarg, "kaiming") == 0) o->lora.init_b_kaiming = 1;
            else die_usage("--lora-init-b: expected zeros or kaiming, got '%s'", optarg);
            lora_opt = 1;
            break;
        case O_RED: o->reduction = parse_double("--reduction-factor", optarg, 1e-3, 1e6), adapter_opt = 1; break;
        case O_BOTTLE: o->adapter.bottleneck = (int)parse_long("--bottleneck", optarg, 1, 1 << 20), adapter_opt = 1; break;
        case O_AINIT:
            if (strcmp(optarg, "bert") == 0) o->adapter.init_zero = 0;
            else if (strcmp(optarg, "zero") == 0) o->adapter.init_zero = 1;
            else die_usage("--adapter-init: expected bert or zero, got '%s'", optarg);
            adapter_opt = 1;
            break;
        case O_FREEZE: o->freeze_head = 1; break;
        case 'o': o->output = optarg; break;
        case 'h': usage(); exit(0);
        case 'V': printf("sam-select (sparsetune) %s\n", SPARSETUNE_VERSION); exit(0);
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (argc - optind > 1) die_usage("one grads stream at most");
    o->input = optind < argc ? argv[optind] : NULL;
    if (o->method == M_MAGNITUDE && !o->model) die_usage("--method magnitude needs --model DIR");
    if (is_structural(o->method) && !o->model) die_usage("--method %s needs --model DIR", METHOD_NAMES[o->method]);
    if (lora_opt && o->method != M_LORA) die_usage("--rank, --alpha, --targets, --lora-* are options of --method lora");
    if (adapter_opt && o->method != M_ADAPTER)
        die_usage("--reduction-factor, --bottleneck, --adapter-init are options of --method adapter");
    if (o->model && o->input) die_usage("give a grads stream or --model, not both");
    if (o->model && METHOD_REDUCTION[o->method])
        die_usage("--method %s reads a grads stream, not a model", METHOD_NAMES[o->method]);
    if (!o->model && !o->input) o->input = "-";
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    Options o;
    parse_args(argc, argv, &o);
    ops_select(o.device ? o.device : "cpu", NULL, !o.device);
    OutFile *out = out_open(o.output, 1);

    Items items = {0};
    json_t *upstream = NULL;
    char sha[65];
    if (o.model) read_model(&o, &items, sha);
    else read_grads(&o, &items, &upstream, sha);
    select_entries(&o, &items);

    size_t total = 0, selected = 0, n_masked = 0;
    for (size_t i = 0; i < items.n; i++) {
        const Item *x = &items.v[i];
        if (x->role == 0 || is_head(x->name)) continue;
        n_masked++;
        total += x->numel;
        selected += x->role == 2 ? x->numel : x->k;
    }
    if (n_masked == 0) die(NULL, "no tensor matches the --include/--exclude patterns");
    if (is_structural(o.method)) { /* ratio: the extras as a fraction of the encoder */
        total = o.base_entries;
        o.ratio = (double)selected / (double)total;
    }

    json_t *entry = prov_entry(argc, argv);
    prov_add_input(entry, o.model ? o.model : o.input, sha);
    json_t *prov = prov_chain(upstream ? json_object_get(upstream, "provenance") : NULL, entry);
    json_t *meta = json_object();
    json_object_set_new(meta, "method", json_string(METHOD_NAMES[o.method]));
    json_object_set_new(meta, "ratio", json_real(o.ratio));
    json_object_set_new(meta, "scope", json_string(o.global ? "global" : "tensor"));
    json_object_set_new(meta, "head", json_string(head_arch_name(o.arch)));
    /* the run's seed, so that stats --masks labels tell the seeds apart: given, or the
     * burn-in's (copied from the grads header below) */
    if (o.method == M_RANDOM || o.seed_given) json_object_set_new(meta, "seed", json_integer((json_int_t)o.seed));
    json_object_set_new(meta, "masked_tensors", json_integer((json_int_t)n_masked));
    json_object_set_new(meta, "masked_entries", json_integer((json_int_t)total));
    json_object_set_new(meta, "selected_entries", json_integer((json_int_t)selected));
    json_object_set_new(meta, "source_sha256", json_string(sha));
    if (upstream) {
        static const char *copy[] = {"model_sha256", "steps", "batch", "reduction", "task", "task_type", "num_labels",
                                     "seed"};
        for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
            json_t *v = json_object_get(upstream, copy[i]);
            if (v && !json_object_get(meta, copy[i])) json_object_set_new(meta, copy[i], json_deep_copy(v));
        }
    } else {
        json_object_set_new(meta, "model_sha256", json_string(sha));
    }
    json_t *inc = json_array(), *exc = json_array();
    for (int i = 0; i < o.n_include; i++) json_array_append_new(inc, json_string(o.include[i]));
    for (int i = 0; i < o.n_exclude; i++) json_array_append_new(exc, json_string(o.exclude[i]));
    json_object_set_new(meta, "include", inc);
    json_object_set_new(meta, "exclude", exc);
    if (o.freeze_head) json_object_set_new(meta, "freeze_head", json_true());
    if (o.method == M_LORA) json_object_set_new(meta, "structure", json_pack("{s:o}", "lora", lora_config_json(&o.lora)));
    if (o.method == M_ADAPTER)
        json_object_set_new(meta, "structure", json_pack("{s:o}", "adapter", adapter_config_json(&o.adapter, o.hidden)));

    StWriter *w = st_writer_open(out->fp, "mask", meta, prov);
    for (size_t i = 0; i < items.n; i++) {
        Item *x = &items.v[i];
        if (x->role == 1) st_put_mask(w, x->name, x->shape, x->ndim, x->index, x->k);
        else if (x->role == 2) st_put_mask(w, x->name, x->shape, x->ndim, NULL, 0);
        free(x->index);
        free(x->score);
    }
    st_writer_close(w);
    out_commit(out);
    free(items.v);
    json_decref(meta);
    json_decref(prov);
    json_decref(upstream);
    return 0;
}
