/*
 * testsign.h — signs a request the way each provider does, for unit tests:
 * the provider's headers around tools/signing.h's signatures, which are
 * written straight on OpenSSL and share no code with common/verify/, so a
 * test that passes is not the verifier agreeing with itself.
 */
#ifndef HOOKD_TESTSIGN_H
#define HOOKD_TESTSIGN_H

#include <stddef.h>

#include "config.h"
#include "headers.h"

#define TESTSIGN_BUF 256

/* A signed request's headers; every view points into this struct. */
struct test_req {
    struct headers h;
    char sig[TESTSIGN_BUF];
    char ts[32];
    char id[TESTSIGN_BUF];
    char query[TESTSIGN_BUF]; /* twilio: the query string the request carries */
};

/*
 * Fills r with the signature headers SCHEME's sender would send for BODY,
 * signed with the secret text SECRET (as configured: Standard's whsec_...)
 * at time TS; ID is the Standard Webhooks message id. For scheme hmac, SRC
 * gives the settings (templates "{body}" and "{timestamp}.{body}" only).
 * Returns 0, or -1 for an unknown scheme or bad secret.
 */
int testsign(struct test_req *r, const char *scheme, const struct source_cfg *src,
             const char *secret, long long ts, const char *id, const void *body, size_t len);

/* A provider's key pair, for the public-key schemes (discord, sendgrid,
 * standard v1a), made fresh with EVP_PKEY_keygen. public_text is the public
 * key in the scheme's config form (64 hex digits, base64 DER, whpk_...). */
struct test_keypair {
    void *priv; /* EVP_PKEY, owned */
    char public_text[256];
};

/* Ed25519 for discord and standard, P-256 for sendgrid, P-384 for "p384"
 * (a key on the wrong curve). 0 or -1. */
int test_keypair_new(struct test_keypair *k, const char *scheme);
void test_keypair_free(struct test_keypair *k);

/*
 * The schemes of SPEC v2, signed the provider's way straight on OpenSSL
 * (HMAC(), EVP_DigestSign): paddle, zoom, meta, twitch, token and twilio
 * with the secret text SECRET; discord, sendgrid and standard (a v1a entry)
 * with KP. twitch's timestamp is RFC 3339; twilio signs a JSON body, with
 * bodySHA256 in the query string it writes into r->query (the URL is
 * src->public_url). Returns 0, or -1 for an unknown scheme.
 */
int testsign_v2(struct test_req *r, const char *scheme, const struct source_cfg *src,
                const char *secret, const struct test_keypair *kp, long long ts, const void *body,
                size_t len);

/* Replaces the value of header NAME in r->h (appends it when absent).
 * VALUE is borrowed: the caller keeps it alive while r is used. */
void testsign_set(struct test_req *r, const char *name, const char *value, size_t len);

#endif
