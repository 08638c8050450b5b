/*
 * testsign.c — see testsign.h.
 */
#include "testsign.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static void hexify(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static void add(struct headers *h, const char *name, const char *value)
{
    headers_add(h, name, strlen(name), value, strlen(value));
}

/* HMAC of prefix || body with the given digest. */
static unsigned hmac2(const EVP_MD *md, const void *key, size_t klen, const char *prefix,
                      const void *body, size_t len, unsigned char *out)
{
    unsigned char buf[1 << 16];
    unsigned int outlen = 0;
    size_t plen = strlen(prefix);

    if (plen + len > sizeof buf)
        return 0;
    memcpy(buf, prefix, plen);
    if (len)
        memcpy(buf + plen, body, len);
    HMAC(md, key, (int)klen, buf, plen + len, out, &outlen);
    return outlen;
}

static int sign_standard(struct test_req *r, const char *secret, const void *body, size_t len)
{
    unsigned char key[256], mac[64];
    char prefix[TESTSIGN_BUF + 40];
    const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
    int klen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)strlen(b64));
    size_t pads =
        strlen(b64) >= 2 ? (b64[strlen(b64) - 1] == '=') + (b64[strlen(b64) - 2] == '=') : 0;
    unsigned n;

    if (klen < 0 || strlen(b64) > 300)
        return -1;
    snprintf(prefix, sizeof prefix, "%s.%s.", r->id, r->ts);
    n = hmac2(EVP_sha256(), key, (size_t)klen - pads, prefix, body, len, mac);
    memcpy(r->sig, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)r->sig + 3, mac, (int)n);
    add(&r->h, "webhook-id", r->id);
    add(&r->h, "webhook-timestamp", r->ts);
    add(&r->h, "webhook-signature", r->sig);
    return 0;
}

static int sign_hmac(struct test_req *r, const struct source_cfg *src, const char *secret,
                     const void *body, size_t len)
{
    const EVP_MD *md = src->algo == MAC_SHA1     ? EVP_sha1()
                       : src->algo == MAC_SHA512 ? EVP_sha512()
                                                 : EVP_sha256();
    char prefix[48] = "";
    unsigned char mac[64];
    size_t off = 0;
    unsigned n;

    if (src->ts_header)
        snprintf(prefix, sizeof prefix, "%s.", r->ts);
    n = hmac2(md, secret, strlen(secret), prefix, body, len, mac);
    if (src->sig_prefix) {
        off = strlen(src->sig_prefix);
        memcpy(r->sig, src->sig_prefix, off);
    }
    if (src->enc == ENC_BASE64)
        EVP_EncodeBlock((unsigned char *)r->sig + off, mac, (int)n);
    else
        hexify(mac, n, r->sig + off);
    add(&r->h, src->sig_header, r->sig);
    if (src->ts_header)
        add(&r->h, src->ts_header, r->ts);
    return 0;
}

int testsign(struct test_req *r, const char *scheme, const struct source_cfg *src,
             const char *secret, long long ts, const char *id, const void *body, size_t len)
{
    unsigned char mac[64];
    char prefix[64];
    size_t klen = strlen(secret);
    unsigned n;

    memset(r, 0, sizeof *r);
    snprintf(r->ts, sizeof r->ts, "%lld", ts);
    snprintf(r->id, sizeof r->id, "%s", id ? id : "msg_test");
    if (strcmp(scheme, "github") == 0 || strcmp(scheme, "shopify") == 0) {
        n = hmac2(EVP_sha256(), secret, klen, "", body, len, mac);
        if (scheme[0] == 'g') {
            memcpy(r->sig, "sha256=", 7);
            hexify(mac, n, r->sig + 7);
            add(&r->h, "X-Hub-Signature-256", r->sig);
        } else {
            EVP_EncodeBlock((unsigned char *)r->sig, mac, (int)n);
            add(&r->h, "X-Shopify-Hmac-Sha256", r->sig);
        }
        return 0;
    }
    if (strcmp(scheme, "stripe") == 0) {
        snprintf(prefix, sizeof prefix, "%lld.", ts);
        n = hmac2(EVP_sha256(), secret, klen, prefix, body, len, mac);
        snprintf(r->sig, sizeof r->sig, "t=%lld,v1=", ts);
        hexify(mac, n, r->sig + strlen(r->sig));
        add(&r->h, "Stripe-Signature", r->sig);
        return 0;
    }
    if (strcmp(scheme, "slack") == 0) {
        snprintf(prefix, sizeof prefix, "v0:%lld:", ts);
        n = hmac2(EVP_sha256(), secret, klen, prefix, body, len, mac);
        memcpy(r->sig, "v0=", 3);
        hexify(mac, n, r->sig + 3);
        add(&r->h, "X-Slack-Signature", r->sig);
        add(&r->h, "X-Slack-Request-Timestamp", r->ts);
        return 0;
    }
    if (strcmp(scheme, "standard") == 0)
        return sign_standard(r, secret, body, len);
    if (strcmp(scheme, "hmac") == 0 && src)
        return sign_hmac(r, src, secret, body, len);
    return -1;
}

void testsign_set(struct test_req *r, const char *name, const char *value, size_t len)
{
    for (size_t i = 0; i < r->h.n; i++) {
        struct header *hd = &r->h.items[i];
        if (hd->name_len == strlen(name) && strncasecmp(hd->name, name, hd->name_len) == 0) {
            hd->value = value;
            hd->value_len = len;
            return;
        }
    }
    headers_add(&r->h, name, strlen(name), value, len);
}
