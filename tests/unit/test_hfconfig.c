/* Unit tests of lib/hfconfig.c: roberta-base's config.json, defaults, validation, round trip. */
#include <stdlib.h>
#include <string.h>

#include "die_capture.h"
#include "harness.h"
#include "hfconfig.h"

/* roberta-base's config.json on the hub. */
static const char ROBERTA_BASE[] =
    "{\n"
    "  \"architectures\": [\n"
    "    \"RobertaForMaskedLM\"\n"
    "  ],\n"
    "  \"attention_probs_dropout_prob\": 0.1,\n"
    "  \"bos_token_id\": 0,\n"
    "  \"eos_token_id\": 2,\n"
    "  \"hidden_act\": \"gelu\",\n"
    "  \"hidden_dropout_prob\": 0.1,\n"
    "  \"hidden_size\": 768,\n"
    "  \"initializer_range\": 0.02,\n"
    "  \"intermediate_size\": 3072,\n"
    "  \"layer_norm_eps\": 1e-05,\n"
    "  \"max_position_embeddings\": 514,\n"
    "  \"model_type\": \"roberta\",\n"
    "  \"num_attention_heads\": 12,\n"
    "  \"num_hidden_layers\": 12,\n"
    "  \"pad_token_id\": 1,\n"
    "  \"type_vocab_size\": 1,\n"
    "  \"vocab_size\": 50265\n"
    "}\n";

/* A fine-tuned classifier as transformers 4.x saves it. */
static const char FINETUNED[] =
    "{\n"
    "  \"_name_or_path\": \"roberta-base\",\n"
    "  \"architectures\": [\"RobertaForSequenceClassification\"],\n"
    "  \"attention_probs_dropout_prob\": 0.1,\n"
    "  \"bos_token_id\": 0,\n"
    "  \"classifier_dropout\": null,\n"
    "  \"eos_token_id\": 2,\n"
    "  \"hidden_act\": \"gelu\",\n"
    "  \"hidden_dropout_prob\": 0.1,\n"
    "  \"hidden_size\": 768,\n"
    "  \"id2label\": {\"0\": \"entailment\", \"1\": \"neutral\", \"2\": \"contradiction\"},\n"
    "  \"initializer_range\": 0.02,\n"
    "  \"intermediate_size\": 3072,\n"
    "  \"label2id\": {\"contradiction\": 2, \"entailment\": 0, \"neutral\": 1},\n"
    "  \"layer_norm_eps\": 1e-05,\n"
    "  \"max_position_embeddings\": 514,\n"
    "  \"model_type\": \"roberta\",\n"
    "  \"num_attention_heads\": 12,\n"
    "  \"num_hidden_layers\": 12,\n"
    "  \"pad_token_id\": 1,\n"
    "  \"position_embedding_type\": \"absolute\",\n"
    "  \"problem_type\": \"single_label_classification\",\n"
    "  \"torch_dtype\": \"float32\",\n"
    "  \"transformers_version\": \"4.38.2\",\n"
    "  \"type_vocab_size\": 1,\n"
    "  \"use_cache\": true,\n"
    "  \"vocab_size\": 50265\n"
    "}\n";

static int parse(const char *text, HfConfig *c, char *err, size_t n) {
    return hfconfig_parse_err(text, strlen(text), c, err, n);
}

TEST(hfconfig_roberta_base) {
    HfConfig c;
    char err[256];
    CHECK_EQ_INT(parse(ROBERTA_BASE, &c, err, sizeof err), 0);
    CHECK_EQ_INT(c.vocab_size, 50265);
    CHECK_EQ_INT(c.hidden_size, 768);
    CHECK_EQ_INT(c.num_hidden_layers, 12);
    CHECK_EQ_INT(c.num_attention_heads, 12);
    CHECK_EQ_INT(c.intermediate_size, 3072);
    CHECK_EQ_INT(c.max_position_embeddings, 514);
    CHECK_EQ_INT(c.type_vocab_size, 1);
    CHECK_EQ_INT(c.pad_token_id, 1);
    CHECK_EQ_INT(c.bos_token_id, 0);
    CHECK_EQ_INT(c.eos_token_id, 2);
    CHECK(c.layer_norm_eps == 1e-5);
    CHECK(c.hidden_dropout_prob == 0.1 && c.attention_probs_dropout_prob == 0.1);
    CHECK(c.initializer_range == 0.02);
    CHECK(c.classifier_dropout < 0);
    CHECK_STR(c.hidden_act, "gelu");
    CHECK_STR(c.model_type, "roberta");
    CHECK_STR(c.position_embedding_type, "absolute");
    CHECK_STR(c.architecture, "RobertaForMaskedLM");
    CHECK_EQ_INT(c.num_labels, 0);
    CHECK(c.id2label == NULL);
    hfconfig_free(&c);
}

TEST(hfconfig_finetuned_labels) {
    HfConfig c;
    char err[256];
    CHECK_EQ_INT(parse(FINETUNED, &c, err, sizeof err), 0);
    CHECK_EQ_INT(c.num_labels, 3);
    if (c.id2label) {
        CHECK_STR(c.id2label[0], "entailment");
        CHECK_STR(c.id2label[2], "contradiction");
    }
    CHECK_STR(c.architecture, "RobertaForSequenceClassification");
    hfconfig_free(&c);
    /* "num_labels" alone gives LABEL_i names. */
    CHECK_EQ_INT(parse("{\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,"
                       "\"num_attention_heads\":2,\"intermediate_size\":16,\"num_labels\":2}",
                       &c, err, sizeof err),
                 0);
    CHECK_EQ_INT(c.num_labels, 2);
    if (c.id2label) CHECK_STR(c.id2label[1], "LABEL_1");
    hfconfig_free(&c);
}

TEST(hfconfig_defaults_for_optional_keys) {
    HfConfig c, d;
    char err[256];
    CHECK_EQ_INT(parse("{\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":2,"
                       "\"num_attention_heads\":4,\"intermediate_size\":64}",
                       &c, err, sizeof err),
                 0);
    hfconfig_default(&d);
    /* RobertaConfig's class defaults (BertConfig's, with RoBERTa's special ids). */
    CHECK_EQ_INT(d.vocab_size, 50265);
    CHECK_EQ_INT(d.hidden_size, 768);
    CHECK_EQ_INT(c.max_position_embeddings, 512);
    CHECK_EQ_INT(c.type_vocab_size, 2);
    CHECK_EQ_INT(c.pad_token_id, 1);
    CHECK_EQ_INT(c.bos_token_id, 0);
    CHECK_EQ_INT(c.eos_token_id, 2);
    CHECK(c.layer_norm_eps == 1e-12);
    CHECK(c.hidden_dropout_prob == 0.1 && c.attention_probs_dropout_prob == 0.1);
    CHECK(c.initializer_range == 0.02);
    CHECK_STR(c.hidden_act, "gelu");
    CHECK_STR(c.model_type, "roberta");
    CHECK_STR(c.architecture, "");
    CHECK_EQ_INT(c.vocab_size, 100);
    CHECK_EQ_INT(c.num_labels, 0);
    /* null special ids keep the defaults. */
    CHECK_EQ_INT(parse("{\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":2,"
                       "\"num_attention_heads\":4,\"intermediate_size\":64,\"bos_token_id\":null}",
                       &c, err, sizeof err),
                 0);
    CHECK_EQ_INT(c.bos_token_id, 0);
}

#define BASE "\"vocab_size\":100,\"hidden_size\":32,\"num_hidden_layers\":2,\"intermediate_size\":64"

static void expect_bad(const char *text, const char *want, int line) {
    HfConfig c;
    char err[512] = "";
    if (parse(text, &c, err, sizeof err) == 0) {
        harness_fail(__FILE__, line, "accepted %s", text);
        hfconfig_free(&c);
    } else if (!strstr(err, want)) {
        harness_fail(__FILE__, line, "message '%s' lacks '%s'", err, want);
    } else {
        CHECK(c.id2label == NULL && c.num_labels == 0);
    }
}
#define BAD(text, want) expect_bad(text, want, __LINE__)

TEST(hfconfig_rejects_invalid) {
    BAD("", "invalid JSON");
    BAD("{\"hidden_size\": 768,}", "invalid JSON");
    BAD("[1]", "not a JSON object");
    BAD("{\"hidden_size\":768,\"num_hidden_layers\":12,\"num_attention_heads\":12,"
        "\"intermediate_size\":3072}",
        "missing required key \"vocab_size\"");
    BAD("{" BASE "}", "missing required key \"num_attention_heads\"");
    BAD("{" BASE ",\"num_attention_heads\":\"4\"}", "\"num_attention_heads\" must be an integer");
    BAD("{" BASE ",\"num_attention_heads\":4.0}", "must be an integer");
    BAD("{" BASE ",\"num_attention_heads\":0}", "\"num_attention_heads\" is 0, must be in [1,");
    BAD("{" BASE ",\"num_attention_heads\":5}",
        "hidden_size 32 is not a multiple of num_attention_heads 5");
    /* A repeated key: the last one counts, as in Python's json. */
    BAD("{" BASE ",\"num_attention_heads\":4,\"hidden_size\":-32}", "\"hidden_size\" is -32");
    BAD("{\"vocab_size\":100,\"hidden_size\":-32,\"num_hidden_layers\":2,"
        "\"intermediate_size\":64,\"num_attention_heads\":4}",
        "\"hidden_size\" is -32");
    BAD("{" BASE ",\"num_attention_heads\":4,\"hidden_act\":\"gelu_new\"}",
        "hidden_act 'gelu_new' is not supported (only \"gelu\")");
    BAD("{" BASE ",\"num_attention_heads\":4,\"hidden_act\":\"relu\"}", "hidden_act 'relu'");
    BAD("{" BASE ",\"num_attention_heads\":4,\"hidden_act\":1}", "\"hidden_act\" must be a string");
    BAD("{" BASE ",\"num_attention_heads\":4,\"model_type\":\"bert\"}",
        "model_type 'bert' is not supported");
    BAD("{" BASE ",\"num_attention_heads\":4,\"position_embedding_type\":\"relative_key\"}",
        "position_embedding_type 'relative_key' is not supported");
    BAD("{" BASE ",\"num_attention_heads\":4,\"layer_norm_eps\":0}", "\"layer_norm_eps\" is 0");
    BAD("{" BASE ",\"num_attention_heads\":4,\"hidden_dropout_prob\":1.5}",
        "\"hidden_dropout_prob\" is 1.5");
    BAD("{" BASE ",\"num_attention_heads\":4,\"hidden_dropout_prob\":\"0.1\"}", "must be a number");
    BAD("{" BASE ",\"num_attention_heads\":4,\"pad_token_id\":100}",
        "must be below vocab_size 100");
    BAD("{" BASE ",\"num_attention_heads\":4,\"max_position_embeddings\":2}",
        "max_position_embeddings 2 leaves no positions");
    BAD("{" BASE ",\"num_attention_heads\":4,\"id2label\":{\"0\":\"a\",\"2\":\"b\"}}",
        "\"id2label\" key '2' is not a label index in [0, 2)");
    BAD("{" BASE ",\"num_attention_heads\":4,\"id2label\":{\"0\":\"a\",\"x\":\"b\"}}",
        "key 'x'");
    BAD("{" BASE ",\"num_attention_heads\":4,\"id2label\":{\"0\":1}}", "is not a string");
    BAD("{" BASE ",\"num_attention_heads\":4,\"id2label\":{\"0\":\"a\"},\"num_labels\":2}",
        "\"num_labels\" is 2 but \"id2label\" has 1 labels");
    BAD("{" BASE ",\"num_attention_heads\":4,\"architectures\":\"Roberta\"}",
        "\"architectures\" must be an array");
}

static void parse_dies(void *p) {
    HfConfig c;
    hfconfig_parse(p, strlen(p), "model/config.json", &c);
}

TEST(hfconfig_parse_dies_with_where) {
    char msg[512];
    CHECK_EQ_INT(die_capture(parse_dies, "{\"hidden_act\": \"silu\"}", msg, sizeof msg), 1);
    CHECK_MSG(strstr(msg, "unit-tests: model/config.json: missing required key") != NULL, "%s",
              msg);
    CHECK_EQ_INT(die_capture(parse_dies, "{" BASE ",\"num_attention_heads\":4,\"hidden_act\":\"silu\"}",
                             msg, sizeof msg),
                 1);
    CHECK_MSG(strstr(msg, "model/config.json: hidden_act 'silu' is not supported") != NULL, "%s",
              msg);
}

TEST(hfconfig_round_trip) {
    HfConfig c, d;
    char err[256];
    CHECK_EQ_INT(parse(ROBERTA_BASE, &c, err, sizeof err), 0);
    char *text = hfconfig_to_json(&c);
    CHECK_EQ_INT(parse(text, &d, err, sizeof err), 0);
    CHECK(memcmp(&c, &d, sizeof c) == 0); /* no labels: the structs match exactly */
    /* HF's formatting: sorted keys, 2-space indent, Python's float repr. */
    CHECK(strstr(text, "{\n  \"architectures\": [\n    \"RobertaForMaskedLM\"\n  ],\n"
                       "  \"attention_probs_dropout_prob\": 0.1,\n") == text);
    CHECK(strstr(text, "\"layer_norm_eps\": 1e-05,\n"));
    CHECK(strstr(text, "\"initializer_range\": 0.02,\n"));
    CHECK(strstr(text, "\"classifier_dropout\": null,\n"));
    CHECK(strstr(text, "\"torch_dtype\": \"float32\",\n"));
    CHECK(strstr(text, "\"model_type\": \"roberta\",\n"));
    CHECK(strstr(text, "\"position_embedding_type\": \"absolute\",\n"));
    CHECK(strstr(text, "\"vocab_size\": 50265\n}\n"));
    CHECK(!strstr(text, "id2label"));
    free(text);

    /* With labels: id2label/label2id, sequence classification, keys sorted as strings. */
    const char *names[12] = {"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "l10",
                             "ze\"ta"};
    c.architecture[0] = '\0';
    c.classifier_dropout = 0.25;
    c.layer_norm_eps = 1e-12;
    hfconfig_set_labels(&c, 12, names);
    text = hfconfig_to_json(&c);
    CHECK(strstr(text, "\"RobertaForSequenceClassification\""));
    CHECK(strstr(text, "\"classifier_dropout\": 0.25,\n"));
    CHECK(strstr(text, "\"layer_norm_eps\": 1e-12,\n"));
    CHECK(strstr(text, "\"id2label\": {\n    \"0\": \"l0\",\n    \"1\": \"l1\",\n    \"10\": \"l10\","));
    CHECK(strstr(text, "\"11\": \"ze\\\"ta\",\n    \"2\": \"l2\","));
    CHECK(strstr(text, "\"9\": \"l9\"\n  },"));
    CHECK(strstr(text, "\"label2id\": {\n    \"l0\": 0,\n    \"l1\": 1,\n    \"l10\": 10,"));
    hfconfig_free(&d);
    CHECK_EQ_INT(parse(text, &d, err, sizeof err), 0);
    CHECK_EQ_INT(d.num_labels, 12);
    if (d.id2label) CHECK_STR(d.id2label[11], "ze\"ta");
    CHECK(d.classifier_dropout == 0.25);
    CHECK(d.layer_norm_eps == 1e-12);
    free(text);
    hfconfig_free(&d);
    /* Without names. */
    hfconfig_set_labels(&c, 1, NULL);
    text = hfconfig_to_json(&c);
    CHECK(strstr(text, "\"id2label\": {\n    \"0\": \"LABEL_0\"\n  }"));
    CHECK(strstr(text, "\"label2id\": {\n    \"LABEL_0\": 0\n  }"));
    free(text);
    hfconfig_free(&c);
}

TEST(hfconfig_json_reads_in_python) {
    if (system("/usr/bin/python3 -c 'import json' >/dev/null 2>&1") != 0) {
        harness_skip("/usr/bin/python3 not available");
        return;
    }
    HfConfig c;
    char err[256];
    CHECK_EQ_INT(parse(FINETUNED, &c, err, sizeof err), 0);
    char *text = hfconfig_to_json(&c);
    char *dir = make_tmpdir();
    char path[512], cmd[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    /* Python's json.dumps(indent=2, sort_keys=True) of what it reads gives our text back. */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import json,sys; t=open(sys.argv[1]).read(); "
             "d=json.loads(t); assert d[\"id2label\"][\"2\"]==\"contradiction\"; "
             "assert d[\"layer_norm_eps\"]==1e-05 and d[\"hidden_size\"]==768; "
             "sys.exit(0 if json.dumps(d, indent=2, sort_keys=True)+\"\\n\"==t else 1)' '%s'",
             path);
    CHECK_EQ_INT(system(cmd), 0);
    free(text);
    hfconfig_free(&c);
    rm_tree(dir);
}

TEST(hfconfig_export_fields) {
    HfConfig c, d;
    char err[256];
    CHECK_EQ_INT(parse(ROBERTA_BASE, &c, err, sizeof err), 0);
    /* problem_type, num_labels beside id2label, the "sparsetune" object one level deeper. */
    snprintf(c.problem_type, sizeof c.problem_type, "regression");
    snprintf(c.model_type, sizeof c.model_type, "%s", HFCONFIG_OWN_MODEL_TYPE);
    c.extra_json = "{\n  \"head\": \"span\",\n  \"labels\": [\n    \"False\"\n  ]\n}";
    hfconfig_set_labels(&c, 1, NULL);
    char *text = hfconfig_to_json(&c);
    CHECK(strstr(text, "\"num_labels\": 1,\n"));
    CHECK(strstr(text, "\"problem_type\": \"regression\",\n"));
    CHECK(strstr(text, "\"sparsetune\": {\n    \"head\": \"span\",\n    \"labels\": [\n"
                       "      \"False\"\n    ]\n  },\n  \"torch_dtype\""));
    /* Our model_type reads back (the encoder is RoBERTa's); so do null problem types. */
    CHECK_EQ_INT(parse(text, &d, err, sizeof err), 0);
    CHECK_STR(d.model_type, HFCONFIG_OWN_MODEL_TYPE);
    CHECK_STR(d.problem_type, "regression");
    CHECK(d.extra_json == NULL);
    CHECK_EQ_INT(d.num_labels, 1);
    hfconfig_free(&d);
    CHECK_EQ_INT(parse("{" BASE ",\"num_attention_heads\":4,\"problem_type\":null}", &d, err, sizeof err), 0);
    CHECK_STR(d.problem_type, "");
    free(text);
    hfconfig_free(&c);
}
