/* export.c — the directory `evaluate --export` writes (export.h). */
#include "export.h"

#include <jansson.h>
#include <string.h>

#include "hfconfig.h"
#include "modelio.h"
#include "source.h"
#include "util.h"

#include "modeling_sparsetune_py.h" /* generated from lib/modeling_sparsetune.py (Makefile) */

static const char *head_name(HeadKind h) {
    switch (h) {
    case HEAD_REGRESSION: return "regression";
    case HEAD_MULTIPLE_CHOICE: return "multiple_choice";
    case HEAD_SPAN: return "span";
    default: return "classification";
    }
}

int export_is_hf_class(HeadKind head, HeadArch arch) { return arch == ARCH_HF && head != HEAD_SPAN; }

const char *export_class(HeadKind head, HeadArch arch) {
    int hf = export_is_hf_class(head, arch);
    switch (head) {
    case HEAD_MULTIPLE_CHOICE: return hf ? "RobertaForMultipleChoice" : "SparsetuneRobertaForMultipleChoice";
    case HEAD_SPAN: return "SparsetuneRobertaForSpanComparison";
    default: return hf ? "RobertaForSequenceClassification" : "SparsetuneRobertaForSequenceClassification";
    }
}

/* The "sparsetune" object of config.json (JSON text, malloc'ed). */
static char *sparsetune_json(const Model *m, const ExampleSet *set) {
    json_t *o = json_object();
    json_object_set_new(o, "head", json_string(head_name(m->head)));
    json_object_set_new(o, "head_arch", json_string(head_arch_name(m->arch)));
    json_object_set_new(o, "num_labels", json_integer(m->num_labels));
    json_t *labels = json_object_get(set->header, "labels");
    if (m->head == HEAD_MULTIPLE_CHOICE) json_object_set_new(o, "num_choices", json_integer(set->num_labels));
    else if (json_is_array(labels) && json_array_size(labels) > 0)
        json_object_set_new(o, "labels", json_deep_copy(labels));
    json_t *task = json_object_get(set->header, "task");
    json_object_set_new(o, "task", json_is_string(task) ? json_deep_copy(task) : json_string("custom"));
    json_object_set_new(o, "modeling", json_string(EXPORT_MODELING_FILE));
    json_object_set_new(o, "version", json_string(SPARSETUNE_VERSION));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (!text) die(NULL, "export: cannot serialise the config");
    return text;
}

/* id2label: the examples' label names for classification and span heads, LABEL_0 for the
 * regression output, none for multiple choice (HF's RobertaForMultipleChoice has none). */
static void set_labels(HfConfig *cfg, const Model *m, const ExampleSet *set) {
    if (m->head == HEAD_MULTIPLE_CHOICE) return;
    if (m->head == HEAD_REGRESSION) {
        hfconfig_set_labels(cfg, 1, NULL);
        snprintf(cfg->problem_type, sizeof cfg->problem_type, "regression");
        return;
    }
    json_t *labels = json_object_get(set->header, "labels");
    const char **names = xcalloc((size_t)m->num_labels, sizeof *names);
    if (json_array_size(labels) == (size_t)m->num_labels)
        for (int i = 0; i < m->num_labels; i++) names[i] = json_string_value(json_array_get(labels, (size_t)i));
    hfconfig_set_labels(cfg, m->num_labels, names);
    free(names);
    snprintf(cfg->problem_type, sizeof cfg->problem_type, "single_label_classification");
}

void export_model_dir(const Model *m, const ExampleSet *set, const char *tokenizer,
                      const char *outdir) {
    HfConfig cfg = m->cfg;
    cfg.id2label = NULL;
    cfg.num_labels = 0;
    cfg.problem_type[0] = '\0';
    set_labels(&cfg, m, set);
    snprintf(cfg.architecture, sizeof cfg.architecture, "%s", export_class(m->head, m->arch));
    if (!export_is_hf_class(m->head, m->arch))
        snprintf(cfg.model_type, sizeof cfg.model_type, "%s", HFCONFIG_OWN_MODEL_TYPE);
    else if (strcmp(cfg.model_type, HFCONFIG_OWN_MODEL_TYPE) == 0) /* re-exported: HF's again */
        snprintf(cfg.model_type, sizeof cfg.model_type, "roberta");
    char *extra = sparsetune_json(m, set);
    cfg.extra_json = extra;
    SaveFile py = {EXPORT_MODELING_FILE, modeling_sparsetune_py, sizeof modeling_sparsetune_py};
    model_save_dir_with(m, &cfg, tokenizer, 1, &py, 1, outdir);
    free(extra);
    hfconfig_free(&cfg);
}

HeadArch export_arch_of_dir(const char *dir, HeadArch fallback) {
    Source *src = source_open_dir(dir);
    size_t len = 0;
    char *text = source_dir_read(src, "config.json", &len);
    source_close(src);
    if (!text) return fallback; /* model_open says what is missing */
    json_t *cfg = json_loadb(text, len, 0, NULL);
    free(text);
    const char *name = json_string_value(json_object_get(json_object_get(cfg, "sparsetune"), "head_arch"));
    HeadArch a = fallback;
    if (name && head_arch_parse(name, &a) != 0) a = fallback;
    json_decref(cfg);
    return a;
}
