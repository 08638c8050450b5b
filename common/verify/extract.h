/*
 * extract.h — an event's id, type or tenant from a request, by field spec.
 *
 * Spec syntax (also documented in scheme.h, where the scheme defaults live):
 *   header:NAME | json:/pointer | form:NAME | sha256 | source, and
 *   alternatives "A|B"
 *   tried left to right. The next alternative is tried when a field is
 *   absent (also: JSON null, empty string, empty header) or the body is not
 *   JSON; a present but unusable value stops the search with its error.
 *
 * Values are at most EXTRACT_MAX_LEN bytes of valid UTF-8 without control
 * characters (so they are safe as Redis key parts, log values, env vars).
 * JSON values may be strings or integers. The body is parsed at most once
 * per request (struct extract_ctx caches it, success or failure), with
 * duplicate keys refused: two "id" keys would let hookd and the handler see
 * different ids. jansson caps nesting depth (2048), so a nesting bomb is a
 * clean "not JSON".
 */
#ifndef HOOKD_EXTRACT_H
#define HOOKD_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "source.h"
#include "headers.h"

#define EXTRACT_MAX_LEN         256 /* bytes of an extracted value */
#define EXTRACT_HEADER_NAME_MAX 128 /* bytes of a header name in a spec */
#define EXTRACT_POINTER_MAX     512 /* bytes of a JSON pointer in a spec */

/* One request's inputs. Borrowed views, plus the lazily parsed body. */
struct extract_ctx {
    const char *source; /* source name, for FIELD_SOURCE (borrowed) */
    const struct headers *h;
    const char *body;
    size_t body_len;
    json_t *json; /* owned: the parsed body, NULL until needed or if not JSON */
    bool json_tried;
    int json_err; /* 0, HOOKD_ENOT_JSON or HOOKD_ENOMEM once tried */
    bool headers_only; /* only header: alternatives apply (extract_init_headers) */
};

/* Sets up a context; nothing is parsed yet. h and body may be NULL/empty. */
void extract_init(struct extract_ctx *x, const char *source, const struct headers *h,
                  const char *body, size_t body_len);

/* A context over headers alone, for a request whose signature failed: its
 * body is never read, so json:, sha256 and source alternatives count as
 * absent and only header: ones can give a value. */
void extract_init_headers(struct extract_ctx *x, const struct headers *h);

/* Frees the parsed body. Safe to call twice; the context can be reused. */
void extract_release(struct extract_ctx *x);

/* The body as JSON (parsed on first use). Borrowed reference, valid until
 * extract_release; NULL when the body is not JSON (or out of memory). */
json_t *extract_json(struct extract_ctx *x);

/* The JSON value at POINTER (RFC 6901, NUL-terminated) in the body, parsed
 * on first use. Borrowed reference, valid until extract_release; NULL when
 * the body is not JSON or the pointer leads nowhere. */
json_t *extract_json_at(struct extract_ctx *x, const char *pointer);

/*
 * Extracts one field into out (NUL-terminated; out_cap >= EXTRACT_MAX_LEN + 1
 * always suffices; sha256 needs 65). SPEC wins when set (kind != FIELD_NONE);
 * otherwise DEFAULT_TEXT (a scheme default, may hold alternatives); when
 * both are unset the value is "" and 0 is returned.
 * Returns 0, or:
 *   HOOKD_ENOT_FOUND  field absent (header, pointer, null, empty)
 *   HOOKD_ENOT_JSON   a json: spec, and the body is not JSON
 *   HOOKD_ETOO_LARGE  value longer than EXTRACT_MAX_LEN (or out_cap)
 *   HOOKD_EPARSE      control character, NUL, invalid UTF-8, or a JSON
 *                     value that is not a string or an integer
 *   HOOKD_ECONFIG     the default text is not a valid spec (a bug)
 *   HOOKD_ENOMEM
 * On failure out is "" and *out_len 0.
 */
int extract_field(struct extract_ctx *x, const struct field_spec *spec, const char *default_text,
                  char *out, size_t out_cap, size_t *out_len);

/*
 * An ordering key (a route's order_by): as extract_field, except that a
 * string value longer than EXTRACT_MAX_LEN (a single header: or json:
 * spec) is not refused but stands for itself as "sha256:" and the 64 hex
 * digits of its SHA-256, so a very long key still orders its events in
 * bounded space. out_cap >= EXTRACT_MAX_LEN + 1.
 */
int extract_key(struct extract_ctx *x, const struct field_spec *spec, char *out, size_t out_cap,
                size_t *out_len);

/* Short static reason for a code of extract_field, for logs and 400 bodies:
 * "missing_field", "body_not_json", "field_too_long", "invalid_field",
 * "bad_spec", "out_of_memory", "ok". */
const char *extract_reason(int code);

/*
 * Parses spec text from the config into *out (which must be zeroed or
 * freed). Single specs give FIELD_HEADER (arg = name), FIELD_JSON (arg =
 * pointer), FIELD_SHA256 or FIELD_SOURCE (arg NULL); "A|B" gives
 * FIELD_ANY_OF with arg = the whole text. out->arg is malloc'd, owned by
 * the caller (free() or extract_spec_free). Returns 0, HOOKD_ECONFIG with
 * one sentence in err, or HOOKD_ENOMEM.
 */
int extract_parse_spec(const char *text, struct field_spec *out, char *err, size_t errlen);

/* Frees spec->arg and zeroes the spec. NULL does nothing. */
void extract_spec_free(struct field_spec *spec);

#endif
