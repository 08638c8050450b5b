/*
 * filter.h — a route's payload filters: `filter = FIELD-SPEC OP VALUE, …`.
 *
 * A filter reads one field of a verified request (extract.h's spec syntax:
 * header:NAME, json:/pointer, alternatives A|B) and compares it with a
 * constant: `==` equal bytes, `!=` not equal, `~` an fnmatch(3) glob. A
 * route takes an event when its match list matches and every one of its
 * filters holds (config_route_for).
 *
 * A field that has no usable value — absent, JSON null, the body not JSON,
 * an object or array, longer than FILTER_VALUE_MAX bytes, holding a NUL —
 * equals nothing: `==` and `~` fail on it and `!=` holds. So
 * `json:/type != ping` keeps an event whose body is not JSON, and
 * `json:/type == invoice.paid` never takes one. JSON true, false and
 * numbers compare as their JSON text ("true", "42", "1.5").
 *
 * Untrusted bytes in, verdict out, no I/O; the request's body is parsed at
 * most once, shared with the id/type extraction (struct extract_ctx).
 */
#ifndef HOOKD_FILTER_H
#define HOOKD_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "extract.h"

#define FILTER_VALUE_MAX 1024 /* bytes of a field value a filter compares */

enum filter_op { FILTER_EQ, FILTER_NE, FILTER_GLOB };

struct route_filter {
    struct field_spec field;
    enum filter_op op;
    char *value; /* the constant (or the glob), NUL-terminated, owned */
};

/*
 * Parses one item, "FIELD-SPEC OP VALUE" with the operator between spaces,
 * into *out (zeroed by the caller). VALUE is the rest of the item, trimmed,
 * and not empty. Returns 0, or HOOKD_ECONFIG with one sentence in err, or
 * HOOKD_ENOMEM. On failure *out holds nothing to free.
 */
int filter_parse(const char *text, struct route_filter *out, char *err, size_t errlen);

/* Frees what filter_parse allocated and zeroes *f. NULL does nothing. */
void filter_free(struct route_filter *f);

/* True when every one of the n filters holds for the request in x (true
 * for n == 0). x may parse the body on first use. */
bool filter_all_hold(struct extract_ctx *x, const struct route_filter *f, size_t n);

#endif
