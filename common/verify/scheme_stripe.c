/*
 * scheme_stripe.c — Stripe: `Stripe-Signature: t=TS,v1=HEX[,v1=HEX...][,v0=...]`.
 *
 * The signed content is "TS.body" (TS exactly as in the header), HMAC-SHA256
 * under the endpoint's signing secret: the whole `whsec_...` text is the key,
 * it is NOT base64-decoded (unlike Standard Webhooks). While a secret is
 * being rolled Stripe sends one v1= per active secret, so every v1= is a
 * candidate. Other schemes (v0 = the test-mode SHA-1 scheme, anything new)
 * are ignored. Without t= or without any v1= the header is malformed (400);
 * so is a repeated t=, a v1= that is not 64 hex digits, or an item with no
 * '='. Empty items (a stray comma) are skipped.
 */
#include <string.h>

#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define STRIPE_SIG_HEADER "Stripe-Signature"

static int stripe_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out)
{
    const char *v;
    size_t n;

    if (!scheme_header(h, STRIPE_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, STRIPE_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, STRIPE_SIG_HEADER, v, n);
    return scheme_kv_signatures(out, v, n, ',', "t", "v1");
}

static int stripe_compute(const struct source_cfg *src, const struct sig_input *in,
                          const struct secret *key, const char *body, size_t body_len,
                          unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {{in->ts_text, in->ts_text_len}, {".", 1}, {body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 3, mac, mac_len);
}

const struct scheme scheme_stripe = {
    .name = "stripe",
    .default_id = "json:/id",
    .default_type = "json:/type",
    .parse = stripe_parse,
    .compute = stripe_compute,
    .decode_key = NULL,
};
