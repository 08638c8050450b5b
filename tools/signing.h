/*
 * signing.h — providers' webhook signatures, computed straight from OpenSSL's
 * HMAC() and base64 so they never share code with the receiver's verifiers.
 * The one signer of the tests (part of harness.h; testsign.h builds request
 * headers on it), bench/gen and burst/loadgen: libtools.a.
 *
 * Each writes a NUL-terminated header value into out (SIG_BUF_SIZE bytes) and
 * returns 0, or -1 on a bad argument (e.g. a Standard secret that is not
 * base64). Timestamps are Unix seconds.
 */
#ifndef HOOKD_TOOLS_SIGNING_H
#define HOOKD_TOOLS_SIGNING_H

#include <stddef.h>

#define SIG_BUF_SIZE 256

/* X-Hub-Signature-256: "sha256=HEX" of HMAC-SHA256(secret, body). */
int github_signature(const char *secret, const void *body, size_t len, char out[SIG_BUF_SIZE]);
/* Stripe-Signature: "t=TS,v1=HEX" of HMAC-SHA256(secret, "TS." body). */
int stripe_signature(const char *secret, long long ts, const void *body, size_t len,
                     char out[SIG_BUF_SIZE]);
/* X-Slack-Signature: "v0=HEX" of HMAC-SHA256(secret, "v0:TS:" body). */
int slack_signature(const char *secret, long long ts, const void *body, size_t len,
                    char out[SIG_BUF_SIZE]);
/* X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256(secret, body). */
int shopify_signature(const char *secret, const void *body, size_t len, char out[SIG_BUF_SIZE]);
/* webhook-signature: "v1,B64" of HMAC-SHA256(base64-decoded secret after an
 * optional "whsec_", "ID.TS." body). */
int standard_signature(const char *whsec_secret, const char *id, long long ts, const void *body,
                       size_t len, char out[SIG_BUF_SIZE]);

/* Generic HMAC: alg "sha1", "sha256" or "sha512"; hex (lower case) or,
 * with base64 != 0, base64; prefix (NULL: none) is written first. */
int hmac_signature(const char *alg, const void *key, size_t key_len, const void *msg, size_t len,
                   int base64, const char *prefix, char out[SIG_BUF_SIZE]);

/* As hmac_signature, over HEAD (a C string) followed by body[0..len): the
 * layout of every scheme that signs a timestamp or an id with the body. */
int hmac_signature_joined(const char *alg, const void *key, size_t key_len, const char *head,
                          const void *body, size_t len, int base64, const char *prefix,
                          char out[SIG_BUF_SIZE]);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
