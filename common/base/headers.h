/*
 * headers.h — a request's header list as length-delimited views.
 *
 * Parsers (schemes, id/type extraction) take a struct headers rather than an
 * MHD_Connection, so they can be unit-tested and fuzzed without a socket.
 * The list borrows the name/value bytes; the caller keeps them alive.
 */
#ifndef HOOKD_HEADERS_H
#define HOOKD_HEADERS_H

#include <stddef.h>

#define HEADERS_MAX_COUNT 128 /* more headers than this: the request is refused */

struct header {
    const char *name; /* borrowed, not NUL-terminated necessarily */
    size_t name_len;
    const char *value; /* borrowed */
    size_t value_len;
};

struct headers {
    struct header items[HEADERS_MAX_COUNT];
    size_t n;
};

/* Appends a view; returns 0, or HOOKD_ETOO_LARGE when the list is full. */
int headers_add(struct headers *h, const char *name, size_t name_len, const char *value,
                size_t value_len);

/* First header whose name matches case-insensitively, or NULL. Borrowed. */
const struct header *headers_find(const struct headers *h, const char *name);

#endif
