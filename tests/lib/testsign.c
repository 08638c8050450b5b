/*
 * testsign.c — see testsign.h. The signatures come from tools/signing.c,
 * the one signer of the tests, bench and burst; this file only says which
 * headers each provider sends them in.
 */
#include "testsign.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "signing.h"

static void add(struct headers *h, const char *name, const char *value)
{
    headers_add(h, name, strlen(name), value, strlen(value));
}

static int sign_hmac(struct test_req *r, const struct source_cfg *src, const char *secret,
                     const void *body, size_t len)
{
    static const char *const algs[] = {
        [MAC_SHA1] = "sha1", [MAC_SHA256] = "sha256", [MAC_SHA512] = "sha512"};
    char head[48] = "";

    if (src->ts_header)
        snprintf(head, sizeof head, "%s.", r->ts);
    if (hmac_signature_joined(algs[src->algo], secret, strlen(secret), head, body, len,
                              src->enc == ENC_BASE64, src->sig_prefix, r->sig) < 0)
        return -1;
    add(&r->h, src->sig_header, r->sig);
    if (src->ts_header)
        add(&r->h, src->ts_header, r->ts);
    return 0;
}

int testsign(struct test_req *r, const char *scheme, const struct source_cfg *src,
             const char *secret, long long ts, const char *id, const void *body, size_t len)
{
    _Static_assert(TESTSIGN_BUF >= SIG_BUF_SIZE, "a signature fits in test_req.sig");
    int rc = -1;

    memset(r, 0, sizeof *r);
    snprintf(r->ts, sizeof r->ts, "%lld", ts);
    snprintf(r->id, sizeof r->id, "%s", id ? id : "msg_test");
    if (strcmp(scheme, "github") == 0) {
        if ((rc = github_signature(secret, body, len, r->sig)) == 0)
            add(&r->h, "X-Hub-Signature-256", r->sig);
    } else if (strcmp(scheme, "shopify") == 0) {
        if ((rc = shopify_signature(secret, body, len, r->sig)) == 0)
            add(&r->h, "X-Shopify-Hmac-Sha256", r->sig);
    } else if (strcmp(scheme, "stripe") == 0) {
        if ((rc = stripe_signature(secret, ts, body, len, r->sig)) == 0)
            add(&r->h, "Stripe-Signature", r->sig);
    } else if (strcmp(scheme, "slack") == 0) {
        if ((rc = slack_signature(secret, ts, body, len, r->sig)) == 0) {
            add(&r->h, "X-Slack-Signature", r->sig);
            add(&r->h, "X-Slack-Request-Timestamp", r->ts);
        }
    } else if (strcmp(scheme, "standard") == 0) {
        if ((rc = standard_signature(secret, r->id, ts, body, len, r->sig)) == 0) {
            add(&r->h, "webhook-id", r->id);
            add(&r->h, "webhook-timestamp", r->ts);
            add(&r->h, "webhook-signature", r->sig);
        }
    } else if (strcmp(scheme, "hmac") == 0 && src) {
        rc = sign_hmac(r, src, secret, body, len);
    }
    return rc;
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
