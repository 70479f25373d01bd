#include "harness.h"
#include "utf8.h"

static int valid(const char *s, size_t n) { return utf8_valid(s, n, NULL); }

TEST(utf8_accepts_valid_text) {
    const char *ok = "plain ASCII, é, 漢字, 😀, \xF4\x8F\xBF\xBF";
    CHECK(valid(ok, strlen(ok)));
    CHECK(valid("", 0));
}

TEST(utf8_rejects_malformed_sequences) {
    size_t at = 99;
    CHECK(!utf8_valid("ab\xC0\xAF", 4, &at)); /* overlong '/' */
    CHECK_EQ_INT(at, 2);
    CHECK(!valid("\xE0\x80\xAF", 3));         /* overlong, 3 bytes */
    CHECK(!valid("\xED\xA0\x80", 3));         /* surrogate U+D800 */
    CHECK(!valid("\xF4\x90\x80\x80", 4));     /* > U+10FFFF */
    CHECK(!valid("\xE6\xBC", 2));             /* truncated */
    CHECK(!valid("\x80", 1));                 /* stray continuation */
    CHECK(!valid("\xFF", 1));
    CHECK(!utf8_valid("abc\xE6\xBCx", 6, &at));
    CHECK_EQ_INT(at, 3);
}
