/*
 * harness_int.h — what the harness's own files share and tests do not use:
 * a bounded growable buffer, environment building for exec, and the
 * per-module teardown entry points that harness.c calls at the end of a test.
 */
#ifndef HOOKD_HARNESS_INT_H
#define HOOKD_HARNESS_INT_H

#include <stddef.h>

/* A growable byte buffer with a hard maximum; data stays NUL-terminated. */
struct hbuf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this fail */
};

int hbuf_append(struct hbuf *b, const void *p, size_t n); /* 0, or -1 over max */
int hbuf_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hbuf_consume(struct hbuf *b, size_t n); /* drops the first n bytes */
void hbuf_free(struct hbuf *b);

/* Registers the end-of-test hooks once per test child. */
void harness_init(void);

/* A malloc'd NULL-terminated "K=V" array: environ with extra's entries
 * replacing or adding variables ("K" alone removes K). Free: harness_env_free. */
char **harness_env_build(const char *const extra[]);
void harness_env_free(char **env);

/* In a forked child before exec: close every descriptor above 2. */
void harness_close_from_3(void);

/* Prints up to max_lines of text to stderr, indented, long lines cut. */
void harness_print_lines(const char *text, int max_lines);

/* Fails the test if text holds a sanitizer report (sanitizer builds only). */
void harness_check_sanitizer(const char *what, const char *text);

/* Module teardown, called by harness.c's end-of-test hooks. */
void proc_teardown(int passed);
void proc_print_tails(void);
void redis_srv_teardown(void);

#endif
