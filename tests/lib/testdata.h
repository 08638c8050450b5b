/*
 * testdata.h — helpers for unit tests: finding tests/data, loading JSON
 * files, and building a source config and a header list by hand.
 *
 * The data directory is $HOOKD_TEST_DATA when set, else ../tests/data
 * relative to the test binary's directory (build/tests or build-san/tests),
 * so tests run from any working directory.
 */
#ifndef HOOKD_TESTDATA_H
#define HOOKD_TESTDATA_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "headers.h"

/* Writes the path of REL under the data directory into out. 0 or -1. */
int testdata_path(const char *rel, char *out, size_t cap);

/* Parses a data file as JSON. New reference; NULL (with a message on
 * stderr) when missing or invalid. */
json_t *testdata_json(const char *rel);

/* Names of the *.json files in data directory DIR, sorted; returns how many
 * (at most max). Each name is malloc'd; free with testdata_names_free. */
size_t testdata_json_names(const char *dir, char **names, size_t max);
void testdata_names_free(char **names, size_t n);

/* A source built by hand. Owns every string and key it points to. */
struct test_source {
    struct source_cfg src;
};

/* Zeroes t and sets the scheme (NULL scheme when the name is unknown). */
void testsrc_init(struct test_source *t, const char *scheme);

/* Adds secret.VERSION = TEXT, decoded as the scheme does at config load.
 * Returns 0, or the decode error. */
int testsrc_add_key(struct test_source *t, const char *version, const char *text);

/* Adds public_key.VERSION = TEXT, parsed as the scheme does at config load.
 * Returns 0, or HOOKD_ECONFIG. */
int testsrc_add_public_key(struct test_source *t, const char *version, const char *text);

/* Sets a string member of the hmac settings (e.g. &t->src.sig_header). */
void testsrc_set(char **field, const char *value);

void testsrc_free(struct test_source *t);

/* Appends NAME: VALUE (NUL-terminated texts, borrowed). */
void th_add(struct headers *h, const char *name, const char *value);

#endif
