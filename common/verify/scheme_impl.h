/*
 * scheme_impl.h — helpers shared by the scheme_*.c files, and the scheme
 * objects the registry (scheme.c) lists. Not for callers outside the
 * schemes: they use scheme.h.
 *
 * Every helper takes (pointer, length) views of header bytes and never
 * relies on NUL termination.
 */
#ifndef HOOKD_SCHEME_IMPL_H
#define HOOKD_SCHEME_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheme.h"

#define SCHEME_TS_MAX_DIGITS 12  /* seconds: beyond the year 33000 is not a timestamp */
#define SCHEME_MSG_ID_MAX    256 /* bytes of a message id that takes part in signing */

extern const struct scheme scheme_github;
extern const struct scheme scheme_stripe;
extern const struct scheme scheme_shopify;
extern const struct scheme scheme_slack;
extern const struct scheme scheme_standard;
extern const struct scheme scheme_hmac;
extern const struct scheme scheme_discord;
extern const struct scheme scheme_sendgrid;
extern const struct scheme scheme_twilio;
extern const struct scheme scheme_paddle;
extern const struct scheme scheme_zoom;
extern const struct scheme scheme_meta;
extern const struct scheme scheme_twitch;
extern const struct scheme scheme_token;

/* GitHub's header and MAC, shared with Meta (the same X-Hub-Signature-256). */
int scheme_github_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out);
int scheme_github_compute(const struct source_cfg *src, const struct sig_input *in,
                          const struct secret *key, const char *body, size_t body_len,
                          unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len);

/* Strips HTTP optional whitespace (spaces, tabs) from both ends of a view. */
void scheme_trim(const char **p, size_t *n);

/*
 * Looks up header NAME; on success points v and n at its trimmed value and
 * returns true. An absent header, or one with an empty value, is false.
 */
bool scheme_header(const struct headers *h, const char *name, const char **v, size_t *n);

/*
 * Parses decimal seconds (digits only, 1..SCHEME_TS_MAX_DIGITS) and records
 * both the number and its text in in. Returns 0 or HOOKD_ESIG_MALFORMED.
 */
int scheme_set_timestamp(struct sig_input *in, const char *p, size_t n);
/* The same for a timestamp_format: milliseconds (up to 15 digits, kept as
 * seconds) or RFC 3339 (fractions, Z or an offset). */
int scheme_set_timestamp_as(struct sig_input *in, const char *p, size_t n, enum ts_format fmt);
/* RFC 3339 date-time to Unix seconds. 0 or HOOKD_ESIG_MALFORMED. */
int scheme_rfc3339(const char *p, size_t n, int64_t *out);

/*
 * Decodes one candidate signature (hex, or standard base64) that must be
 * exactly want bytes long and appends it. Returns 0, or HOOKD_ESIG_MALFORMED
 * when it does not decode to that length or SCHEME_MAX_SIGS are already held.
 */
int scheme_add_hex(struct sig_input *in, const char *p, size_t n, size_t want);
int scheme_add_base64(struct sig_input *in, const char *p, size_t n, size_t want);
/* The same, for a candidate of min..max bytes (a DER signature). */
int scheme_add_base64_range(struct sig_input *in, const char *p, size_t n, size_t min, size_t max);

/*
 * A list of key=value items separated by SEP, with one timestamp (TS_KEY,
 * decimal seconds; repeated: malformed) and hex HMAC-SHA256 candidates
 * (SIG_KEY; several while a secret is rotated, unusable ones skipped).
 * Stripe's "t=..,v1=..", Paddle's "ts=..;h1=..". Empty items are skipped,
 * an item without '=' is malformed, and so is a list without a timestamp
 * or a usable candidate. Returns 0 or HOOKD_ESIG_MALFORMED.
 */
int scheme_kv_signatures(struct sig_input *out, const char *v, size_t n, char sep,
                         const char *ts_key, const char *sig_key);

/* Records which header carries the signature and its raw value (borrowed). */
void scheme_set_raw(struct sig_input *in, const char *header_name, const char *v, size_t n);

#endif
