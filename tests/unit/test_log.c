/*
 * test_log.c — log lines are valid JSON objects whatever the input: control
 * bytes, quotes, invalid UTF-8, and values far longer than a line.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

/* Runs fn with stderr redirected to a file; returns what it wrote. */
static char *capture(void (*fn)(void))
{
    const char *path = harness_path("log.txt");
    FILE *f = fopen(path, "w");
    int saved = dup(2);

    ASSERT_NOT_NULL(f);
    dup2(fileno(f), 2);
    fn();
    dup2(saved, 2);
    close(saved);
    fclose(f);
    return harness_read_file(path, NULL);
}

static void write_hostile(void)
{
    struct logline l;
    char big[10000];

    memset(big, 'x', sizeof big);
    log_set_level(LOG_DEBUG);
    ASSERT(log_begin(&l, LOG_INFO, EV_REQUEST));
    log_str(&l, "quote", "a\"b\\c\n\t\x01");
    log_strn(&l, "bad_utf8", "\xff\xfe ok \xc3\xa9", 8);
    log_strn(&l, "nul", "a\0b", 3);
    log_int(&l, "n", -42);
    log_end(&l);
    ASSERT(log_begin(&l, LOG_WARN, EV_REQUEST));
    log_strn(&l, "huge", big, sizeof big);
    log_str(&l, "after", "dropped");
    log_end(&l);
    log_set_level(LOG_ERROR);
    ASSERT(!log_begin(&l, LOG_INFO, EV_REQUEST));
}

TEST(log_lines_are_valid_json)
{
    char *out = capture(write_hostile);
    char *nl = strchr(out, '\n');
    json_error_t e;

    ASSERT_NOT_NULL(nl);
    json_t *a = json_loadb(out, (size_t)(nl - out), JSON_ALLOW_NUL, &e);
    if (!a)
        test_fail(__FILE__, __LINE__, "line 1 not JSON: %s: %s", e.text, out);
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "quote")), "a\"b\\c\n\t\x01");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "bad_utf8")),
                  "\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
    ASSERT_INT_EQ(json_integer_value(json_object_get(a, "n")), -42);
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "event")), "request");
    json_decref(a);
    char *line2 = nl + 1, *nl2 = strchr(line2, '\n');
    ASSERT_NOT_NULL(nl2);
    ASSERT(nl2 - line2 < LOG_LINE_MAX);
    json_t *b = json_loadb(line2, (size_t)(nl2 - line2), 0, &e);
    if (!b)
        test_fail(__FILE__, __LINE__, "line 2 not JSON: %s", e.text);
    ASSERT(json_is_true(json_object_get(b, "truncated")));
    ASSERT_NULL(json_object_get(b, "after"));
    json_decref(b);
    ASSERT(nl2[1] == '\0'); /* the level filter dropped the third line */
    free(out);
}

/* The escaper copies runs of plain bytes at once: escapes between runs,
 * and a cut keeps exactly the prefix that fits (never half an escape). */
TEST(log_json_escape_runs_and_cuts)
{
    char buf[64];
    size_t n = 0;

    ASSERT(log_json_escape(buf, sizeof buf, &n, "ab\"cd\\e\x01\xc3\xa9z\xff", 12));
    buf[n] = '\0';
    ASSERT_STR_EQ(buf, "ab\\\"cd\\\\e\\u0001\xc3\xa9z\\ufffd");
    n = 0;
    ASSERT(!log_json_escape(buf, 6, &n, "abcdefgh", 8));
    ASSERT_INT_EQ(n, 5);
    ASSERT(memcmp(buf, "abcde", 5) == 0);
    n = 0;
    ASSERT(!log_json_escape(buf, 5, &n, "abc\"d", 5));
    ASSERT_INT_EQ(n, 3); /* the 2-byte escape did not fit whole */
    n = 0;
    ASSERT(log_json_escape(buf, 4, &n, "abc", 3));
    ASSERT_INT_EQ(n, 3);
}

static const double doubles[] = {0,        0.0004,      0.0006,      1,    1.5,  12.3456,
                                 999.9996, 1234567.891, 1e11 + 0.25, 2e12, -3.25};

static void write_numbers(void)
{
    struct logline l;
    static const int64_t ints[] = {0, 7, -42, 1234567890123, INT64_MAX, INT64_MIN};

    log_set_level(LOG_DEBUG);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        ASSERT(log_begin(&l, LOG_INFO, EV_REQUEST));
        log_int(&l, "n", ints[i]);
        log_end(&l);
    }
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++) {
        ASSERT(log_begin(&l, LOG_INFO, EV_REQUEST));
        log_double(&l, "d", doubles[i]);
        log_end(&l);
    }
}

/* Numbers and the timestamp are formatted by hand (printf cost more than
 * the rest of a request's line): the same text printf gives. */
TEST(log_numbers_and_time_as_printf_writes_them)
{
    static const char *const ints[] = {
        "0", "7", "-42", "1234567890123", "9223372036854775807", "-9223372036854775808"};
    char *out = capture(write_numbers), *line = out, want[64], got[64];
    size_t i = 0;

    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1, i++) {
        const char *key = i < 6 ? "\"n\":" : "\"d\":", *v = strstr(line, key), *ts;
        ASSERT_NOT_NULL(v);
        v += 4;
        snprintf(got, sizeof got, "%.*s", (int)(nl - 1 - v), v); /* up to the closing } */
        if (i < 6)
            snprintf(want, sizeof want, "%s", ints[i]);
        else
            snprintf(want, sizeof want, "%.3f", doubles[i - 6]);
        ASSERT_STR_EQ(got, want);
        ASSERT_NOT_NULL(ts = strstr(line, "\"ts\":\""));
        ts += 6; /* 2026-12-03T12:00:00.123Z */
        ASSERT(strlen(ts) > 24 && ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
        for (int k = 20; k < 23; k++)
            ASSERT(ts[k] >= '0' && ts[k] <= '9');
    }
    ASSERT_INT_EQ(i, 6 + sizeof doubles / sizeof *doubles);
    free(out);
}
