/* Metrics against tests/fixtures/metrics/metrics.json (gen_metrics.py: independent formulas +
 * scipy), plus the API's error paths and conventions. */
#include <jansson.h>
#include <stdlib.h>

#include "harness.h"
#include "metrics.h"
#include "util.h"

static json_t *load_fixture(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics/metrics.json", harness_fixture_dir());
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) harness_fail(__FILE__, __LINE__, "%s: %s", path, e.text);
    return root;
}

TEST(metrics_match_reference_fixture) {
    json_t *root = load_fixture();
    if (!root) return;
    json_t *sets = json_object_get(root, "datasets");
    CHECK(json_array_size(sets) > 40);
    size_t d, checked = 0;
    json_t *ds;
    json_array_foreach(sets, d, ds) {
        const char *name = json_string_value(json_object_get(ds, "name"));
        int values = strcmp(json_string_value(json_object_get(ds, "kind")), "values") == 0;
        json_t *jg = json_object_get(ds, "gold"), *jp = json_object_get(ds, "pred");
        size_t n = json_array_size(jg);
        CHECK_EQ_INT(json_array_size(jp), n);
        int32_t *gi = xmalloc(n * sizeof *gi + 1), *pi = xmalloc(n * sizeof *pi + 1);
        double *gv = xmalloc(n * sizeof *gv + 1), *pv = xmalloc(n * sizeof *pv + 1);
        for (size_t i = 0; i < n; i++) {
            json_t *a = json_array_get(jg, i), *b = json_array_get(jp, i);
            gv[i] = json_number_value(a), pv[i] = json_number_value(b);
            gi[i] = (int32_t)json_integer_value(a), pi[i] = (int32_t)json_integer_value(b);
        }
        size_t r;
        json_t *res;
        json_array_foreach(json_object_get(ds, "results"), r, res) {
            const char *metric = json_string_value(json_object_get(res, "metric"));
            int nc = (int)json_integer_value(json_object_get(res, "num_classes"));
            MetricResult out;
            char err[256] = "";
            int rc = values ? metric_compute_values(metric, gv, pv, n, &out, err, sizeof err)
                            : metric_compute_classes(metric, gi, pi, n, nc, &out, err, sizeof err);
            CHECK_MSG(rc == 0, "%s %s: %s", name, metric, err);
            if (rc) continue;
            CHECK_STR(out.metric, metric);
            double want = json_number_value(json_object_get(res, "value"));
            CHECK_MSG(fabs(out.value - want) <= 1e-9, "%s %s (nc %d): headline %.17g, want %.17g",
                      name, metric, nc, out.value, want);
            json_t *expect = json_object_get(res, "expect");
            CHECK_EQ_INT(out.n_components, json_object_size(expect));
            const char *key;
            json_t *jv;
            json_object_foreach(expect, key, jv) {
                double got = metric_component(&out, key);
                CHECK_MSG(fabs(got - json_number_value(jv)) <= 1e-9,
                          "%s %s (nc %d): %s %.17g, want %.17g", name, metric, nc, key, got,
                          json_number_value(jv));
            }
            /* undefined bits: exactly the listed components */
            unsigned want_bits = 0;
            size_t u;
            json_t *ju;
            json_array_foreach(json_object_get(res, "undefined"), u, ju) {
                for (int c = 0; c < out.n_components; c++)
                    if (strcmp(out.name[c], json_string_value(ju)) == 0) want_bits |= 1u << c;
            }
            CHECK_MSG(out.undefined == want_bits, "%s %s: undefined bits %u, want %u", name,
                      metric, out.undefined, want_bits);
            checked++;
        }
        free(gi), free(pi), free(gv), free(pv);
    }
    CHECK(checked > 250);
    json_decref(root);
}

TEST(metrics_task_mapping) {
    CHECK_STR(metric_for_task("cola"), "mcc");
    CHECK_STR(metric_for_task("stsb"), "pearson_spearman");
    CHECK_STR(metric_for_task("mrpc"), "acc_f1");
    CHECK_STR(metric_for_task("rte"), "accuracy");
    CHECK_STR(metric_for_task("cb"), "acc_macro_f1");
    CHECK_STR(metric_for_task("copa"), "accuracy");
    CHECK_STR(metric_for_task("wsc"), "accuracy");
    CHECK(metric_for_task("sst2") == NULL);
    CHECK_EQ_INT(metric_is_regression("pearson_spearman"), 1);
    CHECK_EQ_INT(metric_is_regression("mcc"), 0);
    CHECK_EQ_INT(metric_is_regression("bleu"), -1);
}

TEST(metrics_hand_values) {
    /* MRPC-like: tp=2, fp=1, fn=1, tn=2 -> acc 4/6, F1 2*2/(4+1+1) = 2/3. */
    int32_t g[] = {1, 1, 1, 0, 0, 0}, p[] = {1, 1, 0, 1, 0, 0};
    MetricResult r;
    char err[128];
    CHECK_EQ_INT(metric_compute_classes("acc_f1", g, p, 6, 2, &r, err, sizeof err), 0);
    CHECK_NEAR(metric_component(&r, "accuracy"), 4.0 / 6, 1e-15);
    CHECK_NEAR(metric_component(&r, "f1"), 2.0 / 3, 1e-15);
    CHECK_NEAR(r.value, 2.0 / 3, 1e-15);
    /* MCC: (tp*tn - fp*fn)/sqrt(...) = (4-1)/sqrt(3*3*3*3) = 1/3. */
    CHECK_NEAR(metric_mcc(g, p, 6), 1.0 / 3, 1e-15);
    /* CB, jiant style: class 2 absent everywhere counts 0 with num_classes 3, is skipped with 0. */
    int32_t cg[] = {0, 1, 0, 1}, cp[] = {0, 1, 1, 1};
    double f0 = 2.0 / 3, f1 = 2.0 * 2 / 5;
    CHECK_NEAR(metric_macro_f1(cg, cp, 4, 3), (f0 + f1) / 3, 1e-15);
    CHECK_NEAR(metric_macro_f1(cg, cp, 4, 0), (f0 + f1) / 2, 1e-15);
    /* Spearman with ties = Pearson on average ranks. */
    double x[] = {1, 2, 2, 3}, y[] = {10, 20, 30, 40}, s;
    CHECK_EQ_INT(metric_spearman(x, y, 4, &s), 0);
    double rx[] = {1, 2.5, 2.5, 4}, ry[] = {1, 2, 3, 4}, pr;
    CHECK_EQ_INT(metric_pearson(rx, ry, 4, &pr), 0);
    CHECK_NEAR(s, pr, 1e-15);
    /* Inputs are not modified by GSL's ranking. */
    CHECK(x[1] == 2 && y[3] == 40);
}

TEST(metrics_errors) {
    int32_t g[] = {0, 1, 3}, p[] = {0, 1, 1};
    double v[] = {1, NAN, 2}, w[] = {1, 2, 3};
    MetricResult r;
    char err[256];
    CHECK_EQ_INT(metric_compute_classes("bleu", g, p, 3, 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "unknown metric 'bleu'") != NULL);
    CHECK_EQ_INT(metric_compute_classes("pearson", g, p, 3, 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "float values") != NULL);
    CHECK_EQ_INT(metric_compute_values("mcc", w, w, 3, &r, err, sizeof err), -1);
    CHECK(strstr(err, "class labels") != NULL);
    CHECK_EQ_INT(metric_compute_classes("accuracy", g, p, 0, 0, &r, err, sizeof err), -1);
    CHECK(strstr(err, "no examples") != NULL);
    CHECK_EQ_INT(metric_compute_classes("acc_macro_f1", g, p, 3, 3, &r, err, sizeof err), -1);
    CHECK_STR(err, "example 2: gold label 3 outside 0..2");
    CHECK_EQ_INT(metric_compute_classes("acc_macro_f1", p, g, 3, 3, &r, err, sizeof err), -1);
    CHECK_STR(err, "example 2: predicted label 3 outside 0..2");
    CHECK_EQ_INT(metric_compute_classes("acc_macro_f1", g, p, 3, 0, &r, err, sizeof err), 0);
    CHECK_EQ_INT(metric_compute_values("pearson", w, v, 3, &r, err, sizeof err), -1);
    CHECK_STR(err, "example 1: predicted value is not finite");
    CHECK_EQ_INT(metric_compute_values("spearman", v, w, 3, &r, err, sizeof err), -1);
    CHECK_STR(err, "example 1: gold value is not finite");
}
