/*
 * scheme.h — webhook signature schemes behind one small interface.
 *
 * One file per scheme (scheme_github.c, scheme_stripe.c, ...) defines a
 * `const struct scheme scheme_NAME`; scheme.c holds the registry. Adding a
 * provider is one file plus one registry line; the request path never
 * branches on the scheme's name.
 *
 * A scheme parses its signature header(s) into a struct sig_input (decoded
 * candidate MACs, timestamp, message id) and computes the MAC of the signed
 * content for one key. verify.c drives the comparison over a key set.
 * Parsers take length-delimited bytes only (never NUL-terminated network
 * data), so they can be fuzzed alone.
 */
#ifndef HOOKD_SCHEME_H
#define HOOKD_SCHEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "headers.h"

#define SCHEME_MAX_SIGS 8 /* candidate signatures kept from one header */
#define SCHEME_MAX_MAC 64 /* bytes: SHA-512 */
#define SCHEME_MAX_SIG 72 /* bytes of a candidate: an ECDSA P-256 DER signature */

struct sig_candidate {
    unsigned char mac[SCHEME_MAX_SIG]; /* a MAC, or an Ed25519 / ECDSA signature */
    size_t len;
};

/* The request line, for schemes that sign the URL. */
struct verify_http {
    const char *method; /* "POST"; NUL-terminated, borrowed */
    const char *query;  /* the query string without '?', as received; may be NULL */
    size_t query_len;
};

struct handshake_answer;
struct extract_ctx;

/* What a scheme read from the request's headers. Views borrow the headers. */
struct sig_input {
    const char *header_name; /* static name of the header carrying the signature */
    const char *raw;         /* that header's value as received (borrowed) */
    size_t raw_len;
    bool has_timestamp;
    int64_t timestamp;   /* seconds since the epoch */
    const char *ts_text; /* the timestamp exactly as received (borrowed): signed as is */
    size_t ts_text_len;
    const char *msg_id; /* Standard Webhooks: webhook-id (borrowed); else NULL */
    size_t msg_id_len;
    struct sig_candidate sigs[SCHEME_MAX_SIGS];
    size_t nsigs;
    struct verify_http http; /* set by verify.c before parse; empty when unknown */
    bool form_body;          /* twilio: the body is form-encoded (Content-Type) */
};

/* Which kinds of key a scheme verifies with (struct scheme.keys). */
#define SCHEME_KEY_SECRET 1u /* secret.VERSION */
#define SCHEME_KEY_PUBLIC 2u /* public_key.VERSION */

/*
 * Field-spec text (defaults below, and the id/type/tenant config keys), read
 * by extract.c:
 *   header:NAME     the first header NAME (case-insensitive)
 *   json:/pointer   RFC 6901 pointer into the JSON body (~0 = '~', ~1 = '/');
 *                   a JSON string or integer
 *   form:NAME       parameter NAME of a form-encoded body, decoded
 *   sha256          hex SHA-256 of the raw body
 *   source          the source's own name
 *   A|B|...         alternatives, tried left to right: the next one is tried
 *                   when a field is absent (or null, or empty) or the body is
 *                   not JSON; a present but invalid value is an error.
 */
struct scheme {
    const char *name;
    const char *default_id;   /* field spec text: "header:X-GitHub-Delivery", "json:/id" */
    const char *default_type; /* "header:X-GitHub-Event", "json:/type"; NULL: no natural
                                 type, the event's type is "" unless configured */
    /*
     * Reads the signature header(s). Returns 0, HOOKD_ESIG_MISSING when the
     * header is absent, HOOKD_ESIG_MALFORMED when it cannot be parsed (e.g.
     * Stripe without t= or v1=). Sets header_name/raw even on MALFORMED.
     */
    int (*parse)(const struct source_cfg *src, const struct headers *h, struct sig_input *out);
    /* MAC of the signed content under one key: 0, HOOKD_ECRYPTO, or for a
     * request no key can match HOOKD_ESIG_MISMATCH (Twilio: body SHA-256 not
     * the signed bodySHA256) or HOOKD_ESIG_MALFORMED (body unreadable as
     * signed). NULL: the scheme checks every key itself (verify_key). */
    int (*compute)(const struct source_cfg *src, const struct sig_input *in,
                   const struct secret *key, const char *body, size_t body_len,
                   unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len);
    /*
     * Turns a configured secret's text into HMAC key bytes (Standard
     * Webhooks: base64 after "whsec_"). NULL means "use the text as is".
     * Returns 0 or HOOKD_EPARSE; *out is malloc'd, owned by the caller.
     */
    int (*decode_key)(const char *text, size_t len, unsigned char **out, size_t *out_len);
    /*
     * Load-time check of a source's scheme-specific settings (hmac: the
     * signed_content template). NULL means nothing to check. Returns 0, or
     * HOOKD_ECONFIG with one sentence in err.
     */
    int (*check)(const struct source_cfg *src, char *err, size_t errlen);
    unsigned keys;               /* SCHEME_KEY_* accepted; 0 means SCHEME_KEY_SECRET */
    int64_t default_tolerance_s; /* when the source sets none; 0: 300 s */
    bool signs_request_line;     /* the URL is signed: unverifiable from a stored event */
    /*
     * Parses public_key.VERSION text (the provider's own form) into key->pkey
     * and key->key_id. Returns 0, or HOOKD_ECONFIG with what is wrong (length,
     * encoding, curve) in err. NULL when the scheme takes no public keys.
     */
    int (*parse_public_key)(const char *text, size_t len, struct secret *key, char *err,
                            size_t errlen);
    /*
     * Judges the candidates against one key the scheme checks itself (a public
     * key; a token): 1 when any candidate matches, 0 when none does, or
     * HOOKD_ECRYPTO. Used for every key with a pkey, and for every key when
     * compute is NULL. Every candidate is tried.
     */
    int (*verify_key)(const struct source_cfg *src, const struct sig_input *in,
                      const struct secret *key, const char *body, size_t body_len);
    /*
     * After a POST verified: 1 when it is the provider's handshake (then *ans
     * is the answer and nothing is queued), 0 when it is an event, or
     * HOOKD_ENOMEM. key is the key that verified it. NULL: no handshake.
     */
    int (*handshake)(const struct source_cfg *src, const struct secret *key, struct extract_ctx *x,
                     struct handshake_answer *ans);
    /* The header that carries a credential (token), never stored with the
     * event; NULL (or a NULL hook): none. */
    const char *(*credential_header)(const struct source_cfg *src);
    /* GET /hooks/SOURCE?QUERY: always answers (*ans), returns 0 or HOOKD_ENOMEM.
     * NULL: the scheme has no GET handshake (405). */
    int (*handshake_get)(const struct source_cfg *src, const char *query, size_t query_len,
                         struct handshake_answer *ans);
};

/* Registry lookup by name; NULL when unknown. Returned pointer is static. */
const struct scheme *scheme_find(const char *name);

/* Comma-separated names of all schemes, for error messages. Static. */
const char *scheme_names(void);

#endif
