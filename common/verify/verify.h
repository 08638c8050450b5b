/*
 * verify.h — checks a request's signature against a source's key set.
 *
 * Every active key is tried (rotation: any match is valid); comparisons are
 * constant-time (CRYPTO_memcmp). The result carries the diagnostics the
 * rejected-events stream records: never a secret, never a full computed MAC.
 */
#ifndef HOOKD_VERIFY_H
#define HOOKD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "headers.h"
#include "scheme.h"

#define VERIFY_PREFIX_HEX 8    /* hex chars of a computed MAC shown in diagnostics */
#define VERIFY_RECEIVED_MAX 80 /* chars of the received signature kept */
#define VERIFY_DEFAULT_TOLERANCE_S 300 /* used when a source's tolerance_s is <= 0 */

enum verify_status {
    VERIFY_OK = 0,
    VERIFY_MISSING,   /* 400 */
    VERIFY_MALFORMED, /* 400 */
    VERIFY_MISMATCH,  /* 401 */
    VERIFY_STALE,     /* 401: timestamp outside tolerance */
};

struct verify_tried {
    const char *version; /* borrowed from the config's keyset */
    char prefix[VERIFY_PREFIX_HEX + 1];
};

struct verify_result {
    enum verify_status status;
    const char *reason;          /* static: "ok", "missing_header", "malformed_header",
                                    "no_match", "timestamp_too_old", "timestamp_in_future",
                                    "body_hash_mismatch" (twilio: 401), "malformed_body" (400),
                                    "crypto_error" (libcrypto failed: 401, logged) */
    const char *matched_version; /* borrowed; NULL unless OK */
    const struct secret *matched_key; /* borrowed from the source; NULL unless OK */
    const char *header_name;     /* static; may be NULL */
    char received[VERIFY_RECEIVED_MAX + 1]; /* signature header as received, truncated,
                                               non-printable bytes as '?' */
    bool has_timestamp;
    int64_t timestamp;
    int64_t skew_s; /* now - timestamp */
    struct verify_tried tried[CONFIG_MAX_KEYS];
    size_t ntried;
    struct sig_input input; /* what the scheme parsed */
};

/*
 * Verifies. NOW_S is the current time; CHECK_TOLERANCE false skips the
 * timestamp window (replays of stored events). Always fills *out; returns
 * out->status. The signature is checked before the timestamp: a wrong
 * signature is MISMATCH whatever its age; STALE means it matched a key but
 * lies outside +-tolerance_s (VERIFY_DEFAULT_TOLERANCE_S when that is <= 0).
 * An empty body (NULL, 0) is valid input. out->input borrows from h.
 */
enum verify_status verify_request(const struct source_cfg *src, const struct headers *h,
                                  const char *body, size_t body_len, int64_t now_s,
                                  bool check_tolerance, struct verify_result *out);

/* The same, with the request line (method, query string) for schemes that
 * sign the URL (twilio; hmac's {method} and {url}). http may be NULL. */
enum verify_status verify_request_http(const struct source_cfg *src, const struct headers *h,
                                       const struct verify_http *http, const char *body,
                                       size_t body_len, int64_t now_s, bool check_tolerance,
                                       struct verify_result *out);

/* The tolerance in force: the source's, else the scheme's default, else
 * VERIFY_DEFAULT_TOLERANCE_S. */
int64_t verify_tolerance_s(const struct source_cfg *src);

/* True when the source's signature covers the request line (twilio; hmac
 * with {url} or {method}), which a stored event does not keep: a replay can
 * check such an event's digest, not its signature. */
bool verify_needs_request_line(const struct source_cfg *src);

/* HTTP status for a status: 200 for OK, 400 or 401 otherwise. */
int verify_http_status(enum verify_status st);

#endif
