/*
 * scheme_shopify.c — Shopify: `X-Shopify-Hmac-Sha256: <base64>`, the
 * HMAC-SHA256 of the raw body under the app's client secret (used as is).
 *
 * Shopify signs no timestamp, so there is no tolerance window; a retried
 * delivery carries the original payload and the same X-Shopify-Event-Id,
 * which the dedupe store catches. The id falls back to X-Shopify-Webhook-Id
 * for shops and API versions that do not send the event id.
 */
#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define SHOPIFY_SIG_HEADER "X-Shopify-Hmac-Sha256"

static int shopify_parse(const struct source_cfg *src, const struct headers *h,
                         struct sig_input *out)
{
    const char *v;
    size_t n;

    if (!scheme_header(h, SHOPIFY_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, SHOPIFY_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, SHOPIFY_SIG_HEADER, v, n);
    return scheme_add_base64(out, v, n, 32);
}

static int shopify_compute(const struct source_cfg *src, const struct sig_input *in,
                           const struct secret *key, const char *body, size_t body_len,
                           unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {{body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 1, mac, mac_len);
}

const struct scheme scheme_shopify = {
    .name = "shopify",
    .default_id = "header:X-Shopify-Event-Id|header:X-Shopify-Webhook-Id",
    .default_type = "header:X-Shopify-Topic",
    .parse = shopify_parse,
    .compute = shopify_compute,
    .decode_key = NULL,
};
