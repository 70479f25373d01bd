/* gradacc — SAM's burn-in: forward/backward passes at the fixed pre-trained weights, the
 * gradients of every step reduced (sum, sum of squares, or sum of absolute values) into one
 * accumulator, written as a `grads` tensors stream.  The weights never change. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "batching.h"
#include "examples.h"
#include "modelio.h"
#include "ops.h"
#include "progress.h"
#include "provenance.h"
#include "stream.h"
#include "ops_backend.h"
#include "util.h"

typedef enum { REDUCE_SUM, REDUCE_SUMSQ, REDUCE_ABS } Reduce;
static const char *REDUCE_NAMES[] = {"sum", "sumsq", "abs"};

static void usage(void) {
    printf(
        "Usage: gradacc --model DIR --steps N [OPTIONS] [EXAMPLES|-] > GRADS\n"
        "Accumulate gradients at the pre-trained weights (SAM's burn-in) and write them as a\n"
        "grads stream: one f32 tensor per parameter (encoder and head), HF names.\n"
        "\n"
        "  -m, --model DIR        HF model directory or archive (config.json, model.safetensors)\n"
        "  -n, --steps N          forward/backward passes (batches)\n"
        "  -b, --batch B          examples per batch (default 16)\n"
        "  -s, --seed S           data order, dropout and head initialisation (default 0)\n"
        "      --reduce R         sum (G = sum of g_t, the paper's), sumsq (Fisher), abs\n"
        "      --clip N           clip each batch's gradient to norm N before reducing it\n"
        "                         (clip_grad_norm_ over every parameter, as the reference\n"
        "                         code's burn-in; default 0 = off)\n"
        "      --dtype T          f32 (default), bf16 or f16: the stored gradients (half the\n"
        "                         size; top-k ranks them as stored, near ties may differ)\n"
        "      --head A           head architecture: jiant (the paper's: the head on the pooler's\n"
        "                         tanh(dense(<s>)); default) or hf (HF's classes)\n"
        "      --dropout P        override config.json's dropout rates; 0 = off (gradients\n"
        "                         are then a pure function of the data)\n"
        "      --device D         cpu, cuda or auto (default: cuda when this build has a usable\n"
        "                         GPU, else cpu); buffers, weights and optimiser state stay there\n"
        "      --precision P      matrix products in fp32 (default), tf32 or bf16 (bf16 operands,\n"
        "                         fp32 accumulation and master weights; cuda only)\n"
        "      --threads T        CPU threads (default: OpenMP's, i.e. all cores)\n"
        "      --log FILE         JSON lines: step, loss, examples, elapsed_s\n"
        "  -q, --quiet            no progress on stderr\n"
        "  -o, --output FILE      write FILE atomically instead of stdout\n"
        "  -h, --help, -V, --version\n"
        "\nBatches are consecutive runs of per-epoch shuffles of the examples, so with\n"
        "--steps 1 --batch <number of examples> the result is the gradient of the mean loss\n"
        "over all examples.  See gradacc(1).\n");
}

int main(int argc, char **argv) {
    st_set_progname(argv[0]);
    enum { O_REDUCE = 256, O_DROPOUT, O_DEVICE, O_PREC, O_THREADS, O_LOG, O_CLIP, O_HEAD, O_DTYPE };
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},   {"steps", required_argument, 0, 'n'},
        {"batch", required_argument, 0, 'b'},   {"seed", required_argument, 0, 's'},
        {"reduce", required_argument, 0, O_REDUCE}, {"dropout", required_argument, 0, O_DROPOUT},
        {"device", required_argument, 0, O_DEVICE}, {"precision", required_argument, 0, O_PREC}, {"threads", required_argument, 0, O_THREADS},
        {"log", required_argument, 0, O_LOG},   {"clip", required_argument, 0, O_CLIP},
        {"head", required_argument, 0, O_HEAD},   {"dtype", required_argument, 0, O_DTYPE},
        {"quiet", no_argument, 0, 'q'},
        {"output", required_argument, 0, 'o'},  {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},       {0, 0, 0, 0}};
    const char *model_dir = NULL, *log_path = NULL, *output = NULL, *device = NULL, *precision = NULL;
    long steps = -1;
    int batch = 16, quiet = 0;
    uint64_t seed = 0;
    double dropout = -1, clip_norm = 0;
    Reduce reduce = REDUCE_SUM;
    StDtype dtype = ST_F32;
    HeadArch arch = ARCH_JIANT;
    int c;
    while ((c = getopt_long(argc, argv, "m:n:b:s:qo:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'n': steps = parse_long("--steps", optarg, 1, 1L << 24); break;
        case 'b': batch = (int)parse_long("--batch", optarg, 1, 1 << 20); break;
        case 's': seed = (uint64_t)parse_long("--seed", optarg, 0, 1L << 62); break;
        case O_REDUCE:
            if (strcmp(optarg, "sum") == 0) reduce = REDUCE_SUM;
            else if (strcmp(optarg, "sumsq") == 0) reduce = REDUCE_SUMSQ;
            else if (strcmp(optarg, "abs") == 0) reduce = REDUCE_ABS;
            else die_usage("--reduce: expected sum, sumsq or abs, got '%s'", optarg);
            break;
        case O_DTYPE:
            if (!strcmp(optarg, "f32")) dtype = ST_F32;
            else if (!strcmp(optarg, "bf16")) dtype = ST_BF16;
            else if (!strcmp(optarg, "f16")) dtype = ST_F16;
            else die_usage("--dtype: expected f32, bf16 or f16, got '%s'", optarg);
            break;
        case O_CLIP: clip_norm = parse_double("--clip", optarg, 0, 1e9); break;
        case O_DROPOUT: dropout = parse_double("--dropout", optarg, 0, 0.99); break;
        case O_DEVICE: device = optarg; break;
        case O_PREC: precision = optarg; break;
        case O_THREADS: omp_set_num_threads((int)parse_long("--threads", optarg, 1, 4096)); break;
        case O_LOG: log_path = optarg; break;
        case O_HEAD:
            if (head_arch_parse(optarg, &arch) != 0) die_usage("--head: expected jiant or hf, got '%s'", optarg);
            break;
        case 'q': quiet = 1; break;
        case 'o': output = optarg; break;
        case 'h': usage(); return 0;
        case 'V': printf("gradacc (sparsetune) %s\n", SPARSETUNE_VERSION); return 0;
        default: die_usage_hint(); /* getopt said what was wrong */
        }
    }
    if (!model_dir) die_usage("--model DIR is required");
    if (steps < 0) die_usage("--steps N is required");
    if (argc - optind > 1) die_usage("one examples stream at most");
    const char *input = optind < argc ? argv[optind] : "-";
    ops_select(device ? device : "auto", precision, quiet || !device);

    OutFile *out = out_open(output, 1);
    ExampleSet *set = exampleset_read(input);
    if (set->n == 0) die(input, "no examples");
    for (size_t i = 0; i < set->n; i++)
        if (!set->ex[i].has_label) die(input, "record %zu: unlabeled example (gradients need labels)", i);
    ModelInfo mi;
    Model *m = model_open(model_dir, set->type, set->num_labels, arch, seed, dropout, &mi);

    /* An unclipped sum accumulates straight into the model's gradient buffer; otherwise each
     * step's gradient is reduced into a separate accumulator (backend memory, like the
     * gradients). */
    int per_step = reduce != REDUCE_SUM || clip_norm > 0;
    float *acc = NULL;
    if (per_step) {
        acc = ops_alloc(m->total);
        ops_zero(acc, m->total);
    }
    Sampler sampler;
    sampler_init(&sampler, (uint32_t)set->n, seed);
    uint32_t *idx = xmalloc((size_t)batch * sizeof *idx);
    Progress prog;
    progress_init(&prog, steps, quiet, log_path, 0);
    model_zero_grad(m);
    double loss_sum = 0;
    for (long step = 0; step < steps; step++) {
        for (int i = 0; i < batch; i++) idx[i] = sampler_next(&sampler);
        Batch b;
        batch_from_examples(&b, set, idx, batch);
        if (per_step) model_zero_grad(m);
        float loss = model_forward(m, &b, 1, seed, (uint32_t)step);
        if (!isfinite(loss)) die(NULL, "step %ld: the loss is %f", step + 1, loss);
        model_backward(m, &b);
        batch_free(&b);
        if (clip_norm > 0) { /* PyTorch's clip_grad_norm_: scale by max/(norm + 1e-6) below 1 */
            double norm = sqrt(op_sumsq(m->grads, m->total));
            if (!isfinite(norm)) die(NULL, "step %ld: the gradient norm is %f", step + 1, norm);
            double f = clip_norm / (norm + 1e-6);
            if (f < 1.0) op_scale(m->grads, m->total, (float)f);
        }
        if (per_step)
            op_reduce_into(acc, m->grads, m->total, reduce == REDUCE_SUMSQ ? OP_REDUCE_SUMSQ
                                                    : reduce == REDUCE_ABS ? OP_REDUCE_ABS : OP_REDUCE_SUM);
        loss_sum += loss;
        progress_step(&prog, step + 1, (step + 1) * (long)batch, loss);
    }
    progress_finish(&prog);
    float *result = xmalloc(m->total * sizeof *result);
    ops_download(result, acc ? acc : m->grads, m->total * sizeof *result);
    for (size_t i = 0; i < m->total; i++)
        if (!isfinite(result[i])) {
            for (int t = 0; t < m->n_params; t++)
                if (i >= m->info[t].offset && i < m->info[t].offset + m->info[t].numel)
                    die(NULL, "the accumulated gradient of %s is not finite", m->info[t].name);
        }

    json_t *upstream = json_object_get(set->header, "provenance");
    json_t *entry = prov_entry(argc, argv);
    prov_add_input(entry, input, set->sha256);
    prov_add_input(entry, model_dir, mi.sha256);
    json_t *prov = prov_chain(upstream, entry);
    json_t *meta = json_object();
    json_object_set_new(meta, "role", json_string("grads"));
    json_object_set_new(meta, "model_sha256", json_string(mi.sha256));
    json_object_set_new(meta, "head", json_string(head_arch_name(arch)));
    json_object_set_new(meta, "head_from_checkpoint", json_boolean(mi.head_from_checkpoint));
    if (m->pooler >= 0) json_object_set_new(meta, "pooler_from_checkpoint", json_boolean(mi.pooler_from_checkpoint));
    json_object_set_new(meta, "steps", json_integer(steps));
    json_object_set_new(meta, "batch", json_integer(batch));
    json_object_set_new(meta, "examples_seen", json_integer(steps * batch));
    json_object_set_new(meta, "reduction", json_string(REDUCE_NAMES[reduce]));
    json_object_set_new(meta, "clip", json_real(clip_norm)); /* 0: off */
    json_object_set_new(meta, "dtype", json_string(dtype == ST_F32 ? "f32" : dtype == ST_BF16 ? "bf16" : "f16"));
    json_object_set_new(meta, "seed", json_integer((json_int_t)seed));
    json_object_set_new(meta, "device", json_string(ops_device_label()));
    json_object_set_new(meta, "dropout", json_real(m->cfg.hidden_dropout_prob));
    json_object_set_new(meta, "mean_loss", json_real(loss_sum / (double)steps));
    json_object_set_new(meta, "task", json_deep_copy(json_object_get(set->header, "task")));
    json_object_set_new(meta, "task_type", json_string(task_type_name(set->type)));
    json_object_set_new(meta, "num_labels", json_integer(set->num_labels));
    StWriter *w = st_writer_open(out->fp, "tensors", meta, prov);
    uint16_t *half = dtype == ST_F32 ? NULL : xmalloc(m->total * sizeof *half);
    for (int t = 0; t < m->n_params; t++) {
        const ParamInfo *pi = &m->info[t];
        const float *g = result + pi->offset;
        st_record_begin(w, 4);
        st_put_str(w, "name", pi->name);
        st_put_str(w, "dtype", dtype == ST_F32 ? "f32" : dtype == ST_BF16 ? "bf16" : "f16");
        st_put_shape(w, "shape", pi->shape, pi->ndim);
        if (!half) {
            st_put_bin(w, "data", g, pi->numel * sizeof(float));
            continue;
        }
        for (size_t i = 0; i < pi->numel; i++) {
            half[i] = dtype == ST_BF16 ? f32_to_bf16(g[i]) : f32_to_f16(g[i]);
            if (dtype == ST_F16 && !isfinite(f16_to_f32(half[i])))
                die(NULL, "%s: %g does not fit in f16 (largest 65504); use --dtype bf16", pi->name, g[i]);
        }
        st_put_bin(w, "data", half, pi->numel * sizeof *half);
    }
    free(half);
    st_writer_close(w);
    out_commit(out);

    json_decref(meta);
    json_decref(prov);
    ops_free(acc);
    free(result);
    free(idx);
    sampler_free(&sampler);
    model_free(m);
    exampleset_free(set);
    return 0;
}
