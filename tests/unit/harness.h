/* harness.h — a tiny unit-test harness.  Every TEST() registers itself (constructor), so test
 * files need no central list; tests/unit/main.c runs them all (or those whose name contains
 * argv[1]) and ends with the line "N passed, N failed". */
#ifndef SPARSETUNE_HARNESS_H
#define SPARSETUNE_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void harness_register(const char *name, test_fn fn);
void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Directory of the fixtures (tests/fixtures) and of ../shared/data, NULL when absent. */
const char *harness_fixture_dir(void);
const char *harness_shared_data(void);
/* Mark the current test as skipped with a reason (e.g. ../shared missing). */
void harness_skip(const char *why);
extern int harness_current_failed;

#define TEST(name)                                                              \
    static void test_##name(void);                                              \
    __attribute__((constructor)) static void register_##name(void) {            \
        harness_register(#name, test_##name);                                   \
    }                                                                           \
    static void test_##name(void)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);      \
    } while (0)
#define CHECK_MSG(cond, ...)                                                    \
    do {                                                                        \
        if (!(cond)) harness_fail(__FILE__, __LINE__, __VA_ARGS__);             \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                      \
    do {                                                                        \
        long long _a = (long long)(a), _b = (long long)(b);                     \
        if (_a != _b)                                                           \
            harness_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b); \
    } while (0)
#define CHECK_STR(a, b)                                                         \
    do {                                                                        \
        const char *_a = (a), *_b = (b);                                        \
        if (!_a || !_b || strcmp(_a, _b) != 0)                                  \
            harness_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                         _a ? _a : "(null)", _b ? _b : "(null)");               \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                   \
    do {                                                                        \
        double _a = (a), _b = (b);                                              \
        if (!(fabs(_a - _b) <= (tol)))                                          \
            harness_fail(__FILE__, __LINE__, "%s ≈ %s: %.9g vs %.9g (tol %g)", #a, #b, _a, _b, \
                         (double)(tol));                                        \
    } while (0)

#endif
