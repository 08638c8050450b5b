/*
 * test.h — hookd's tiny test runner (after libuv's test/task.h).
 *
 * TEST(name) { ... } registers a test at load time; the runner (runner.c)
 * runs each in a forked child with a timeout. Asserts print both values and
 * fail the test by exiting the child. SKIP("why") marks it skipped.
 *
 *   build/tests                 run all
 *   build/tests --list          list names
 *   build/tests NAME...         run those (a trailing * matches a prefix)
 */
#ifndef HOOKD_TEST_H
#define HOOKD_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);

void test_register(const char *name, test_fn fn, int timeout_s);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
void test_skip(const char *why) __attribute__((noreturn));

/*
 * Hooks run inside the test's child process, at most TEST_MAX_HOOKS of each.
 * test_on_fail: after the failure message, before the child exits (print the
 * logs of servers the test started). test_on_pass: after the test body
 * returns, latest registered first (clean up, scan logs); it may still fail
 * the test. A test child that gets SIGTERM (the runner's timeout) may handle
 * it with test_fail to run the fail hooks; SIGKILL follows after 2 s.
 */
#define TEST_MAX_HOOKS 8
void test_on_fail(void (*fn)(void));
void test_on_pass(void (*fn)(void));

#define TEST_DEFAULT_TIMEOUT_S 60

#define TEST_T(name, timeout_s)                                                 \
    static void test_##name(void);                                              \
    __attribute__((constructor)) static void test_reg_##name(void)             \
    {                                                                           \
        test_register(#name, test_##name, timeout_s);                           \
    }                                                                           \
    static void test_##name(void)

#define TEST(name) TEST_T(name, TEST_DEFAULT_TIMEOUT_S)

#define SKIP(why) test_skip(why)

#define ASSERT(cond)                                                            \
    do {                                                                        \
        if (!(cond))                                                            \
            test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);      \
    } while (0)

#define ASSERT_INT_EQ(a, b)                                                     \
    do {                                                                        \
        long long a_ = (long long)(a), b_ = (long long)(b);                     \
        if (a_ != b_)                                                           \
            test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define ASSERT_INT_OP(a, op, b)                                                 \
    do {                                                                        \
        long long a_ = (long long)(a), b_ = (long long)(b);                     \
        if (!(a_ op b_))                                                        \
            test_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_); \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                     \
    do {                                                                        \
        const char *a_ = (a), *b_ = (b);                                        \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                  \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                  \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                        \
    do {                                                                        \
        const char *h_ = (hay), *n_ = (needle);                                 \
        if (!h_ || !strstr(h_, n_))                                             \
            test_fail(__FILE__, __LINE__, "%s contains \"%s\": got \"%.400s\"", #hay, n_, \
                      h_ ? h_ : "(null)");                                      \
    } while (0)

#define ASSERT_NULL(p) ASSERT((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT((p) != NULL)

#endif
