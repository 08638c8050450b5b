/*
 * config_values.h — value parsers shared by config.c's key table.
 * Each takes the value's text (NUL-terminated, trimmed) and writes one
 * sentence into err on failure. Internal to common/.
 */
#ifndef HOOKD_CONFIG_VALUES_H
#define HOOKD_CONFIG_VALUES_H

#include <stddef.h>
#include <stdint.h>

/* Bytes with optional k/m/g suffix (1024-based). */
int cv_size(const char *s, size_t *out, char *err, size_t errlen);
/* Non-negative integer within [min, max]. */
int cv_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);
/* Duration into ms. */
int cv_duration_ms(const char *s, int64_t *out, char *err, size_t errlen);
/*
 * Secret: literal, env:VAR or file:PATH (trailing newline stripped).
 * *out is malloc'd; *out_len its length. The secret is never put in err.
 */
int cv_secret(const char *s, char **out, size_t *out_len, char *err, size_t errlen);
/* Comma-separated list, items trimmed, empty items rejected. Caller frees
 * each item and the array (cv_list_free). */
int cv_list(const char *s, char ***out, size_t *n, char *err, size_t errlen);
void cv_list_free(char **items, size_t n);
/* Names of sources, routes, secret versions: [A-Za-z0-9_.-], 1..64 chars. */
int cv_valid_name(const char *s, size_t n);

/* Levenshtein distance of two names (SIZE_MAX past 64 bytes), for "did you mean". */
size_t cv_edit_distance(const char *a, const char *b);

#endif
