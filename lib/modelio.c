#include "modelio.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "hfconfig.h"
#include "safetensors.h"
#include "source.h"
#include "util.h"

HeadKind head_for_task(TaskType t) {
    switch (t) {
    case TASK_REGRESSION: return HEAD_REGRESSION;
    case TASK_MULTIPLE_CHOICE: return HEAD_MULTIPLE_CHOICE;
    case TASK_SPAN_CLASSIFICATION: return HEAD_SPAN;
    default: return HEAD_CLASSIFICATION;
    }
}

HeadArch head_arch_of_header(json_t *header, const char *where) {
    json_t *v = json_object_get(header, "head");
    if (!v) return ARCH_HF;
    HeadArch a;
    if (!json_is_string(v) || head_arch_parse(json_string_value(v), &a) != 0)
        die(where, "header: \"head\" must be \"jiant\" or \"hf\"");
    return a;
}

Model *model_open(const char *dir, TaskType task, int num_labels, HeadArch arch, uint64_t seed,
                  double dropout, ModelInfo *info) {
    Source *src = source_open_dir(dir);
    size_t len = 0;
    char *config = source_dir_read(src, "config.json", &len);
    char *where = source_dir_describe(src, "config.json");
    if (!config) die(where, "missing (a model directory holds config.json and model.safetensors)");
    HfConfig cfg;
    hfconfig_parse(config, len, where, &cfg);
    free(config);
    free(where);
    if (dropout >= 0) cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = dropout;

    /* A real directory is mapped; an archive member is read into memory. */
    where = source_dir_describe(src, "model.safetensors");
    SafeTensors *st = safetensors_load(src, "model.safetensors");
    if (!st) die(where, "missing (a model directory holds config.json and model.safetensors)");
    if (info) {
        memset(info, 0, sizeof *info);
        sha256_hex(st->map, st->map_len, info->sha256);
    }
    if (num_labels < 0) { /* no examples: the checkpoint's head, else config.json, else 2 */
        const SafeTensor *ob = safetensors_find(st, "classifier.out_proj.bias");
        num_labels = ob && ob->ndim == 1 && ob->shape[0] >= 2 && ob->shape[0] <= 1 << 16 ? (int)ob->shape[0]
                     : cfg.num_labels >= 2 ? cfg.num_labels : 2;
    }
    Model *m = model_create(&cfg, head_for_task(task), arch, num_labels);
    int loaded = model_load(m, st, where);
    if (!(loaded & MODEL_LOADED_HEAD)) model_init_head(m, seed);
    if (loaded & MODEL_HEAD_IGNORED)
        warnx_st(where, "its task head does not fit this task (%d outputs of a %s head, --head %s): a new "
                 "head is initialised from the seed", m->num_labels, m->head == HEAD_SPAN ? "span" : m->head == HEAD_MULTIPLE_CHOICE ? "multiple-choice"
                                       : m->head == HEAD_REGRESSION ? "regression" : "classification", head_arch_name(m->arch));
    if (!(loaded & MODEL_LOADED_POOLER)) model_init_pooler(m, seed);
    if (info) {
        info->head_from_checkpoint = (loaded & MODEL_LOADED_HEAD) != 0;
        info->pooler_from_checkpoint = (loaded & MODEL_LOADED_POOLER) != 0;
    }
    safetensors_close(st);
    free(where);
    source_close(src);
    return m;
}

/* The directory being written and its further files; removed if the tool dies before the
 * rename. */
static char save_tmpdir[4096];
static char save_extra[MODEL_SAVE_EXTRA_MAX][256];
static void remove_save_tmpdir(void) {
    if (!save_tmpdir[0]) return;
    static const char *files[] = {"config.json", "vocab.json", "merges.txt", "model.safetensors"};
    char path[sizeof save_tmpdir + sizeof save_extra + 2];
    for (size_t i = 0; i < sizeof files / sizeof files[0] + MODEL_SAVE_EXTRA_MAX; i++) {
        const char *f = i < 4 ? files[i] : save_extra[i - 4];
        if (!f[0]) continue;
        snprintf(path, sizeof path, "%s/%s", save_tmpdir, f);
        unlink(path);
    }
    rmdir(save_tmpdir);
}

static void write_file(const char *dir, const char *name, const char *data, size_t len) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    OutFile *o = out_open(path, 0);
    if (fwrite(data, 1, len, o->fp) != len) die(path, "write error: %s", strerror(errno));
    out_commit(o);
}

void model_save_dir(const Model *m, const HfConfig *cfg, const char *tokenizer, int with_head,
                    const char *outdir) {
    model_save_dir_with(m, cfg, tokenizer, with_head, NULL, 0, outdir);
}

void model_save_dir_with(const Model *m, const HfConfig *cfg, const char *tokenizer,
                         int with_head, const SaveFile *extra, int n_extra, const char *outdir) {
    struct stat sb;
    if (stat(outdir, &sb) == 0) die(outdir, "already exists");
    if (n_extra < 0 || n_extra > MODEL_SAVE_EXTRA_MAX) die(outdir, "too many files to save");
    for (int i = 0; i < MODEL_SAVE_EXTRA_MAX; i++) {
        const char *name = i < n_extra ? extra[i].name : "";
        if (strchr(name, '/') || strlen(name) >= sizeof save_extra[i]) die(name, "not a file name");
        strcpy(save_extra[i], name);
    }
    snprintf(save_tmpdir, sizeof save_tmpdir, "%s.tmp.%ld", outdir, (long)getpid());
    if (mkdir(save_tmpdir, 0777) != 0) die(save_tmpdir, "cannot create: %s", strerror(errno));
    st_atexit_cleanup(remove_save_tmpdir);

    char *config = hfconfig_to_json(cfg);
    write_file(save_tmpdir, "config.json", config, strlen(config));
    free(config);
    for (int i = 0; i < n_extra; i++) write_file(save_tmpdir, extra[i].name, extra[i].data, extra[i].len);
    if (tokenizer) {
        Source *src = source_open_dir(tokenizer);
        static const char *names[] = {"vocab.json", "merges.txt"};
        for (int i = 0; i < 2; i++) {
            size_t len = 0;
            char *buf = source_dir_read(src, names[i], &len);
            if (buf) write_file(save_tmpdir, names[i], buf, len);
            free(buf);
        }
        source_close(src);
    }
    float *host = xmalloc(m->total * sizeof *host); /* the parameters may be on the GPU */
    model_get_params(m, host);
    SafeTensorsWriter *w = safetensors_writer_new();
    safetensors_writer_meta(w, "format", "pt");
    for (int i = 0; i < m->n_base; i++) { /* not the extras of a structural method */
        if (m->info[i].is_head && !with_head) continue;
        safetensors_writer_add(w, m->info[i].name, ST_F32, m->info[i].shape, m->info[i].ndim,
                               host + m->info[i].offset);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", save_tmpdir);
    safetensors_writer_save(w, path);
    free(host);
    if (rename(save_tmpdir, outdir) != 0) die(outdir, "cannot rename into place: %s", strerror(errno));
    save_tmpdir[0] = '\0';
}
