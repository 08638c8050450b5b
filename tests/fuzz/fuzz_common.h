/*
 * fuzz_common.h — what the fuzz targets share: turning fuzzer bytes into a
 * request (headers, then a blank line, then the body) and the fixed sources
 * the signature targets verify against.
 */
#ifndef HOOKD_FUZZ_COMMON_H
#define HOOKD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "headers.h"

#define FUZZ_NOW_S 1700000000 /* the clock the signature targets run at */

/*
 * Splits data into "Name: value" lines (LF or CRLF) up to the first empty
 * line, then the body; every view points into data. A line without a colon
 * becomes a header with an empty value. At most HEADERS_MAX_COUNT headers;
 * any further lines are ignored.
 */
void fuzz_split(const uint8_t *data, size_t size, struct headers *h, const char **body,
                size_t *body_len);

/* The source named NAME of the fixed fuzz config (built on first use, kept
 * for the life of the process); aborts if absent. */
const struct source_cfg *fuzz_source(const char *name);

/* Verifies data (as fuzz_split reads it) against source NAME and checks
 * verify_request's promises. Returns 0. */
int fuzz_verify(const char *name, const uint8_t *data, size_t size);

/* The same with the request line (method, query string): twilio, hmac {url}. */
struct verify_http;
int fuzz_verify_http(const char *name, const struct verify_http *http, const uint8_t *data,
                     size_t size);

/* Aborts unless p[0..n) is valid UTF-8. */
void fuzz_assert_utf8(const char *p, size_t n);

#endif
