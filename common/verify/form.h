/*
 * form.h — application/x-www-form-urlencoded bodies and query strings, as
 * (pointer, length) views: Twilio signs the decoded parameters, Meta's GET
 * handshake and the form:NAME field spec read single parameters.
 *
 * '&' separates pairs, the first '=' splits name from value ('=' absent: an
 * empty value), '+' is a space and %XX a byte. A '%' not followed by two hex
 * digits makes the text malformed: nothing is guessed.
 */
#ifndef HOOKD_FORM_H
#define HOOKD_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "headers.h"

#define FORM_MAX_PAIRS 512 /* parameters in one body or query */

struct form_pair {
    const char *name, *value; /* encoded views into the text */
    size_t name_len, value_len;
};

/*
 * Splits text into at most cap pairs (empty pieces between '&' skipped).
 * Returns the count, HOOKD_ETOO_LARGE when there are more than cap, or
 * HOOKD_EPARSE when a '%' escape is malformed.
 */
long form_split(const char *p, size_t n, struct form_pair *out, size_t cap);

/* Decodes one encoded view into out (at least n bytes). Returns the decoded
 * length, or HOOKD_EPARSE on a malformed escape. */
long form_decode(const char *p, size_t n, char *out);

/* True when the encoded view decodes to exactly the NUL-terminated want. */
bool form_name_is(const char *p, size_t n, const char *want);

/*
 * The first parameter called NAME in text: its decoded value into out (cap
 * bytes; the encoded value must fit). Returns the length, or
 * HOOKD_ENOT_FOUND, HOOKD_EPARSE (malformed) or HOOKD_ETOO_LARGE.
 */
long form_get(const char *p, size_t n, const char *name, char *out, size_t cap);

/* True when the request's Content-Type is application/x-www-form-urlencoded. */
bool form_is_form(const struct headers *h);

#endif
