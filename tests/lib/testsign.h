/*
 * testsign.h — signs a request the way each provider does, for unit tests.
 * Written straight on OpenSSL's HMAC() and EVP_EncodeBlock/EVP_DecodeBlock,
 * sharing no code with common/scheme_*.c, so a test that passes is not the
 * verifier agreeing with itself.
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

/* Replaces the value of header NAME in r->h (appends it when absent).
 * VALUE is borrowed: the caller keeps it alive while r is used. */
void testsign_set(struct test_req *r, const char *name, const char *value, size_t len);

#endif
