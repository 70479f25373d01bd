/* init-model — write a randomly initialised RoBERTa in HuggingFace layout (config.json,
 * model.safetensors, vocab.json, merges.txt): what tests, the demo and benchmarks run on,
 * since real roberta-base weights cannot be downloaded everywhere. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hfconfig.h"
#include "model.h"
#include "modelio.h"
#include "safetensors.h"
#include "source.h"
#include "util.h"

static void usage(void) {
    printf(
        "Usage: init-model --vocab DIR [OPTIONS] -o OUTDIR\n"
        "Write a randomly initialised RoBERTa model directory in HuggingFace layout.\n"
        "\n"
        "  -v, --vocab DIR          vocab.json + merges.txt to copy (sets the vocabulary size)\n"
        "  -o, --output OUTDIR      the model directory to create (must not exist)\n"
        "      --preset tiny|base   tiny: 2 layers, hidden 32, 4 heads, FFN 64 (default);\n"
        "                           base: roberta-base (12, 768, 12, 3072)\n"
        "      --layers N --hidden N --heads N --intermediate N --max-positions N\n"
        "                           override single sizes (max positions default 514)\n"
        "      --task-head KIND     also write a task head: classification, regression,\n"
        "                           multiple_choice, span (default: none, like a pre-trained\n"
        "                           checkpoint); --head KIND is accepted too\n"
        "      --head A             head architecture: jiant (default) or hf.  The pooler\n"
        "                           (roberta.pooler.dense, as in roberta-base) is written\n"
        "                           unless the architecture has none for the task head (hf\n"
        "                           classification, regression, span: HF's classes)\n"
        "      --num-labels N       classes of the head (default 2)\n"
        "  -s, --seed S             seed of the weights (Philox, default 0)\n"
        "  -h, --help, -V, --version\n"
        "\nWeights follow HF's _init_weights: normal(0, 0.02) for Linear and embedding weights,\n"
        "zero biases and padding row, LayerNorm weight 1 and bias 0.  See init-model(1).\n");
}

static int head_from_name(const char *s) {
    if (strcmp(s, "classification") == 0) return HEAD_CLASSIFICATION;
    if (strcmp(s, "regression") == 0) return HEAD_REGRESSION;
    if (strcmp(s, "multiple_choice") == 0) return HEAD_MULTIPLE_CHOICE;
    if (strcmp(s, "span") == 0 || strcmp(s, "span_classification") == 0) return HEAD_SPAN;
    return -1;
}

/* Number of entries of vocab.json (or encoder.json): the embedding rows. */
static int count_vocab(const char *json_text, size_t len, const char *where) {
    json_error_t err;
    json_t *v = json_loadb(json_text, len, 0, &err);
    if (!json_is_object(v)) die(where, "vocab.json: not a JSON object (%s)", err.text);
    int n = (int)json_object_size(v);
    json_decref(v);
    return n;
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    enum { O_PRESET = 256, O_LAYERS, O_HIDDEN, O_HEADS, O_INTER, O_MAXPOS, O_HEAD, O_TASK_HEAD, O_NLABELS };
    static const struct option longopts[] = {
        {"vocab", required_argument, 0, 'v'},         {"output", required_argument, 0, 'o'},
        {"preset", required_argument, 0, O_PRESET},   {"layers", required_argument, 0, O_LAYERS},
        {"hidden", required_argument, 0, O_HIDDEN},   {"heads", required_argument, 0, O_HEADS},
        {"intermediate", required_argument, 0, O_INTER},
        {"max-positions", required_argument, 0, O_MAXPOS},
        {"head", required_argument, 0, O_HEAD},       {"task-head", required_argument, 0, O_TASK_HEAD},
        {"num-labels", required_argument, 0, O_NLABELS},
        {"seed", required_argument, 0, 's'},       {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},             {0, 0, 0, 0}};
    const char *vocab = NULL, *outdir = NULL;
    int layers = -1, hidden = -1, heads = -1, inter = -1, maxpos = 514, head = -1, num_labels = 2;
    int base = 0;
    HeadArch arch = ARCH_JIANT;
    uint64_t seed = 0;
    int c;
    while ((c = getopt_long(argc, argv, "v:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'v': vocab = optarg; break;
        case 'o': outdir = optarg; break;
        case O_PRESET:
            if (strcmp(optarg, "base") == 0) base = 1;
            else if (strcmp(optarg, "tiny") != 0) die_usage("--preset: expected tiny or base");
            break;
        case O_LAYERS: layers = (int)parse_long("--layers", optarg, 1, 1024); break;
        case O_HIDDEN: hidden = (int)parse_long("--hidden", optarg, 1, 1 << 16); break;
        case O_HEADS: heads = (int)parse_long("--heads", optarg, 1, 1024); break;
        case O_INTER: inter = (int)parse_long("--intermediate", optarg, 1, 1 << 18); break;
        case O_MAXPOS: maxpos = (int)parse_long("--max-positions", optarg, 4, 1 << 20); break;
        case O_HEAD: /* an architecture, or (the option's older meaning) a task head kind */
            if (head_arch_parse(optarg, &arch) == 0) break;
            head = head_from_name(optarg);
            if (head < 0) die_usage("--head: expected jiant or hf (or a task head kind), got '%s'", optarg);
            break;
        case O_TASK_HEAD:
            head = head_from_name(optarg);
            if (head < 0) die_usage("--task-head: unknown head '%s'", optarg);
            break;
        case O_NLABELS: num_labels = (int)parse_long("--num-labels", optarg, 2, 1 << 16); break;
        case 's': seed = (uint64_t)parse_long("--seed", optarg, 0, 1L << 62); break;
        case 'h': usage(); return 0;
        case 'V': printf("init-model (sparsetune) %s\n", SPARSETUNE_VERSION); return 0;
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (!vocab) die_usage("--vocab DIR is required");
    if (!outdir) die_usage("-o OUTDIR is required");
    if (optind < argc) die_usage("unexpected argument '%s'", argv[optind]);

    HfConfig cfg;
    hfconfig_default(&cfg);
    if (!base) {
        cfg.num_hidden_layers = 2;
        cfg.hidden_size = 32;
        cfg.num_attention_heads = 4;
        cfg.intermediate_size = 64;
    }
    /* roberta-base's config.json values where RobertaConfig's class defaults differ. */
    cfg.layer_norm_eps = 1e-5;
    cfg.type_vocab_size = 1;
    if (layers > 0) cfg.num_hidden_layers = layers;
    if (hidden > 0) cfg.hidden_size = hidden;
    if (heads > 0) cfg.num_attention_heads = heads;
    if (inter > 0) cfg.intermediate_size = inter;
    cfg.max_position_embeddings = maxpos;
    if (cfg.hidden_size % cfg.num_attention_heads)
        die_usage("--hidden %d is not a multiple of --heads %d", cfg.hidden_size, cfg.num_attention_heads);

    Source *src = source_open_dir(vocab);
    size_t vlen = 0, mlen = 0;
    char *vjson = source_dir_read(src, "vocab.json", &vlen);
    char *merges = source_dir_read(src, "merges.txt", &mlen);
    if (!vjson || !merges) die(vocab, "needs vocab.json and merges.txt (a RoBERTa tokenizer)");
    cfg.vocab_size = count_vocab(vjson, vlen, vocab);
    if (cfg.pad_token_id >= cfg.vocab_size) die(vocab, "vocabulary too small for pad id %d", cfg.pad_token_id);

    /* Without a task head the model is a pre-trained checkpoint: it has the pooler, as
     * roberta-base has, so either architecture can start from it. */
    Model *m = model_create(&cfg, head >= 0 ? (HeadKind)head : HEAD_CLASSIFICATION, head >= 0 ? arch : ARCH_JIANT,
                            num_labels);
    model_init_random(m, seed);

    model_save_dir(m, &cfg, vocab, head >= 0, outdir);
    free(vjson);
    free(merges);
    source_close(src);
    model_free(m);
    return 0;
}
