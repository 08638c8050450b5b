/*
 * scheme_token.c — senders that authenticate with a shared token rather
 * than a signature: GitLab (`X-Gitlab-Token`), Okta event hooks and others
 * (the header is `token_header`, default X-Gitlab-Token).
 *
 * The token is compared with each secret.VERSION in constant time whatever
 * the lengths: both are hashed with SHA-256 and the digests compared, so the
 * "MAC" of a key is the SHA-256 of its text and the candidate is the SHA-256
 * of the header. The header itself is never copied into diagnostics (it is
 * a credential, and a wrong one may be an old one): `received` shows only
 * that it was there. Nothing but the token is signed, so the body is only
 * as trustworthy as the transport: use TLS and, where the sender allows,
 * an allow-list.
 */
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "scheme_impl.h"

#define TOKEN_DEFAULT_HEADER "X-Gitlab-Token"
#define TOKEN_MAX 4096 /* bytes of a token header */

static const char *token_header(const struct source_cfg *src)
{
    return src->token_header && src->token_header[0] ? src->token_header : TOKEN_DEFAULT_HEADER;
}

static int token_parse(const struct source_cfg *src, const struct headers *h, struct sig_input *out)
{
    const char *name = token_header(src), *v;
    struct sig_candidate *c = &out->sigs[0];
    unsigned int len = 0;
    size_t n;

    if (!scheme_header(h, name, &v, &n)) {
        scheme_set_raw(out, name, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, name, "(token)", 7);
    if (n > TOKEN_MAX)
        return HOOKD_ESIG_MALFORMED;
    if (!EVP_Digest(v, n, c->mac, &len, EVP_sha256(), NULL))
        return HOOKD_ESIG_MALFORMED;
    c->len = len;
    out->nsigs = 1;
    return 0;
}

static int token_compute(const struct source_cfg *src, const struct sig_input *in,
                         const struct secret *key, const char *body, size_t body_len,
                         unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    unsigned int len = 0;

    if (!EVP_Digest(key->key, key->key_len, mac, &len, EVP_sha256(), NULL))
        return HOOKD_ECRYPTO;
    *mac_len = len;
    return 0;
}

const struct scheme scheme_token = {
    .name = "token",
    .default_id = "header:X-Gitlab-Event-UUID|sha256",
    .default_type = "header:X-Gitlab-Event",
    .parse = token_parse,
    .compute = token_compute,
    .credential_header = token_header,
};
