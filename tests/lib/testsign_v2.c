/*
 * testsign_v2.c — signing for the schemes of SPEC v2 (see testsign.h),
 * written on OpenSSL alone (the HMACs through tools/signing.h, the one
 * signer), sharing no code with common/verify/: a verifier that agrees
 * with these signers is not agreeing with itself.
 */
#include "testsign.h"

#include "signing.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

static void hexify(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static void add(struct headers *h, const char *name, const char *value)
{
    headers_add(h, name, strlen(name), value, strlen(value));
}

int test_keypair_new(struct test_keypair *k, const char *scheme)
{
    unsigned char raw[32], *der = NULL;
    size_t rawlen = sizeof raw;
    EVP_PKEY *pk;
    int n;

    memset(k, 0, sizeof *k);
    if (strcmp(scheme, "sendgrid") == 0 || strcmp(scheme, "p384") == 0)
        pk = EVP_EC_gen(scheme[0] == 's' ? "P-256" : "P-384");
    else
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pk)
        return -1;
    k->priv = pk;
    if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519) {
        if (!EVP_PKEY_get_raw_public_key(pk, raw, &rawlen))
            return -1;
        if (strcmp(scheme, "discord") == 0) {
            hexify(raw, rawlen, k->public_text);
        } else {
            memcpy(k->public_text, "whpk_", 5);
            EVP_EncodeBlock((unsigned char *)k->public_text + 5, raw, (int)rawlen);
        }
        return 0;
    }
    if ((n = i2d_PUBKEY(pk, &der)) <= 0)
        return -1;
    EVP_EncodeBlock((unsigned char *)k->public_text, der, n);
    OPENSSL_free(der);
    return 0;
}

void test_keypair_free(struct test_keypair *k)
{
    EVP_PKEY_free(k->priv);
    k->priv = NULL;
}

/* A signature of prefix || body: Ed25519 pure, or ECDSA over SHA-256. */
static size_t pk_sign(const struct test_keypair *kp, const char *prefix, const void *body,
                      size_t len, unsigned char *sig, size_t cap)
{
    static unsigned char buf[1 << 16];
    size_t plen = strlen(prefix), siglen = cap;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY *pk = kp->priv;
    bool ed = EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519;

    if (!ctx || plen + len > sizeof buf)
        return 0;
    memcpy(buf, prefix, plen);
    if (len)
        memcpy(buf + plen, body, len);
    if (EVP_DigestSignInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL, pk) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, buf, plen + len) != 1)
        siglen = 0;
    EVP_MD_CTX_free(ctx);
    return siglen;
}

static int sign_asym(struct test_req *r, const char *scheme, const struct test_keypair *kp,
                     const void *body, size_t len)
{
    unsigned char sig[128];
    char prefix[TESTSIGN_BUF + 40];
    size_t n;

    if (!kp)
        return -1;
    if (strcmp(scheme, "standard") == 0) {
        snprintf(prefix, sizeof prefix, "%s.%s.", r->id, r->ts);
        n = pk_sign(kp, prefix, body, len, sig, sizeof sig);
        memcpy(r->sig, "v1a,", 4);
        EVP_EncodeBlock((unsigned char *)r->sig + 4, sig, (int)n);
        add(&r->h, "webhook-id", r->id);
        add(&r->h, "webhook-timestamp", r->ts);
        add(&r->h, "webhook-signature", r->sig);
        return n ? 0 : -1;
    }
    n = pk_sign(kp, r->ts, body, len, sig, sizeof sig);
    if (strcmp(scheme, "discord") == 0) {
        hexify(sig, n, r->sig);
        add(&r->h, "X-Signature-Ed25519", r->sig);
        add(&r->h, "X-Signature-Timestamp", r->ts);
    } else {
        EVP_EncodeBlock((unsigned char *)r->sig, sig, (int)n);
        add(&r->h, "X-Twilio-Email-Event-Webhook-Signature", r->sig);
        add(&r->h, "X-Twilio-Email-Event-Webhook-Timestamp", r->ts);
    }
    return n ? 0 : -1;
}

static int sign_twilio(struct test_req *r, const struct source_cfg *src, const char *secret,
                       const void *body, size_t len)
{
    char hex[65], url[TESTSIGN_BUF + 200];

    sha256_hex(body, len, hex);
    snprintf(r->query, sizeof r->query, "bodySHA256=%s", hex);
    snprintf(url, sizeof url, "%s?%s", src->public_url, r->query);
    if (hmac_signature_joined("sha1", secret, strlen(secret), url, "", 0, 1, NULL, r->sig) < 0)
        return -1;
    add(&r->h, "Content-Type", "application/json");
    add(&r->h, "X-Twilio-Signature", r->sig);
    return 0;
}

/* The HMAC-SHA256 schemes: the signed prefix, and where the hex goes. */
static int sign_hmac256(struct test_req *r, const char *scheme, const char *secret,
                        const void *body, size_t len)
{
    char prefix[TESTSIGN_BUF + 64], hex[SIG_BUF_SIZE];

    if (strcmp(scheme, "paddle") == 0)
        snprintf(prefix, sizeof prefix, "%s:", r->ts);
    else if (strcmp(scheme, "zoom") == 0)
        snprintf(prefix, sizeof prefix, "v0:%s:", r->ts);
    else if (strcmp(scheme, "twitch") == 0)
        snprintf(prefix, sizeof prefix, "%s%s", r->id, r->ts);
    else
        prefix[0] = '\0';
    /* 64 hex digits: HMAC-SHA256 */
    if (hmac_signature_joined("sha256", secret, strlen(secret), prefix, body, len, 0, NULL,
                              hex) < 0)
        return -1;
    if (strcmp(scheme, "paddle") == 0) {
        snprintf(r->sig, sizeof r->sig, "ts=%s;h1=%.64s", r->ts, hex);
        add(&r->h, "Paddle-Signature", r->sig);
    } else if (strcmp(scheme, "zoom") == 0) {
        snprintf(r->sig, sizeof r->sig, "v0=%.64s", hex);
        add(&r->h, "x-zm-signature", r->sig);
        add(&r->h, "x-zm-request-timestamp", r->ts);
    } else {
        snprintf(r->sig, sizeof r->sig, "sha256=%.64s", hex);
        add(&r->h, scheme[0] == 'm' ? "X-Hub-Signature-256" : "Twitch-Eventsub-Message-Signature",
            r->sig);
        if (scheme[0] == 't') {
            add(&r->h, "Twitch-Eventsub-Message-Id", r->id);
            add(&r->h, "Twitch-Eventsub-Message-Timestamp", r->ts);
            add(&r->h, "Twitch-Eventsub-Message-Type", "notification");
        }
    }
    return 0;
}

int testsign_v2(struct test_req *r, const char *scheme, const struct source_cfg *src,
                const char *secret, const struct test_keypair *kp, long long ts, const void *body,
                size_t len)
{
    memset(r, 0, sizeof *r);
    snprintf(r->ts, sizeof r->ts, "%lld", ts);
    snprintf(r->id, sizeof r->id, "msg_v2_test");
    if (strcmp(scheme, "twitch") == 0) {
        time_t t = (time_t)ts;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(r->ts, sizeof r->ts, "%Y-%m-%dT%H:%M:%S.123456789Z", &tm);
    }
    if (strcmp(scheme, "discord") == 0 || strcmp(scheme, "sendgrid") == 0 ||
        strcmp(scheme, "standard") == 0)
        return sign_asym(r, scheme, kp, body, len);
    if (strcmp(scheme, "twilio") == 0)
        return src && src->public_url ? sign_twilio(r, src, secret, body, len) : -1;
    if (strcmp(scheme, "token") == 0) {
        snprintf(r->sig, sizeof r->sig, "%s", secret);
        add(&r->h, src && src->token_header ? src->token_header : "X-Gitlab-Token", r->sig);
        return 0;
    }
    if (strcmp(scheme, "paddle") == 0 || strcmp(scheme, "zoom") == 0 ||
        strcmp(scheme, "meta") == 0 || strcmp(scheme, "twitch") == 0)
        return sign_hmac256(r, scheme, secret, body, len);
    return -1;
}
