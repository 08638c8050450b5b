/*
 * scheme_meta.c — Meta (WhatsApp Cloud API, Messenger, Instagram):
 * `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body under the
 * app secret, the same header and MAC as GitHub's (shared code).
 *
 * Handshake: before it sends anything Meta calls
 * `GET /hooks/SOURCE?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`
 * and expects C back as text/plain when T is the verify token the developer
 * typed (the source's `verify_token`, a secret value, compared in constant
 * time). Anything else is 403; a challenge unfit to echo is 400. Meta sends
 * no event id: the id defaults to the body's SHA-256, the type to `object`.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"
#include "form.h"
#include "handshake.h"
#include "scheme_impl.h"

#define META_TOKEN_MAX 256 /* bytes of a hub.verify_token */

/* Constant time whatever the lengths: both sides hashed first. */
static bool token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char ha[32], hb[32];
    unsigned int la = 0, lb = 0;

    if (!EVP_Digest(a, alen, ha, &la, EVP_sha256(), NULL) ||
        !EVP_Digest(b, blen, hb, &lb, EVP_sha256(), NULL))
        return false;
    return CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
}

static int meta_get(const struct source_cfg *src, const char *q, size_t qlen,
                    struct handshake_answer *ans)
{
    char mode[16], token[META_TOKEN_MAX], challenge[HANDSHAKE_CHALLENGE_MAX];
    long mlen = form_get(q, qlen, "hub.mode", mode, sizeof mode);
    long tlen = form_get(q, qlen, "hub.verify_token", token, sizeof token);
    long clen = form_get(q, qlen, "hub.challenge", challenge, sizeof challenge);
    bool ok = src->verify_token && mlen == 9 && memcmp(mode, "subscribe", 9) == 0 && tlen >= 0 &&
              token_equal(token, (size_t)tlen, src->verify_token, strlen(src->verify_token));
    static const char forbidden[] = "forbidden\n", bad[] = "bad challenge\n";

    OPENSSL_cleanse(token, sizeof token);
    if (!ok)
        return handshake_text(ans, 403, "subscribe_refused", forbidden, sizeof forbidden - 1);
    if (clen < 0 || !handshake_challenge_ok(challenge, (size_t)clen))
        return handshake_text(ans, 400, "subscribe_refused", bad, sizeof bad - 1);
    return handshake_text(ans, 200, "subscribe", challenge, (size_t)clen);
}

const struct scheme scheme_meta = {
    .name = "meta",
    .default_id = "sha256",
    .default_type = "json:/object",
    .parse = scheme_github_parse,
    .compute = scheme_github_compute,
    .handshake_get = meta_get,
};
