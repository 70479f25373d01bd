#include "harness.h"
#include "json_fast.h"

/* The fast path must give exactly jansson's value, or decline (NULL). */
static void same_as_jansson(const char *text, int must_accept) {
    size_t n = strlen(text);
    json_t *fast = json_fast_loadb(text, n);
    json_error_t e;
    json_t *ref = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (must_accept) CHECK_MSG(fast != NULL, "declined: %s", text);
    if (fast) {
        CHECK_MSG(ref != NULL, "accepted what jansson rejects: %s", text);
        CHECK_MSG(ref && json_equal(fast, ref), "differs from jansson: %s", text);
    }
    json_decref(fast);
    json_decref(ref);
}

TEST(json_fast_matches_jansson) {
    same_as_jansson("{\"text\": \"plain\", \"label\": \"1\"}", 1);
    same_as_jansson("{\"a\":\"esc \\\" \\\\ \\/ \\b\\f\\n\\r\\t\",\"b\":\"\\u00e9\\u4e2d\\ud83d\\ude00\"}", 1);
    same_as_jansson("{\"nul\":\"x\\u0000y\"}", 1);
    same_as_jansson("{\"n\":[0,-1,12345678901,1.5,-2.5e-3,1E5,true,false,null,{},[]]}", 1);
    same_as_jansson("{\"target\":{\"span1_index\":5,\"span1_text\":\"The dishwasher\"},\"label\":false}", 1);
    same_as_jansson("  {\"x\" : 1 }  ", 1);
    same_as_jansson("{\"é\":\"ü\"}", 1);
    /* must decline: invalid or special */
    const char *bad[] = {"{\"a\":1,}", "{\"a\":1", "{\"a\" 1}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":1}x",
                         "{\"a\":\"\\ud800\"}", "{\"a\":\"\\x\"}", "{\"a\":1,\"a\":2}",
                         "{\"a\":99999999999999999999}", "{\"a\":tru}", "{\"a\":\"ctl\x01\"}", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = json_fast_loadb(bad[i], strlen(bad[i]));
        CHECK_MSG(v == NULL, "accepted: %s", bad[i]);
        json_decref(v);
    }
}
