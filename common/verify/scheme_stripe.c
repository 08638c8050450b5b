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

/* One "key=value" item of the header. */
static int stripe_item(struct sig_input *out, const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    size_t klen, vlen;
    const char *val;

    if (!eq)
        return HOOKD_ESIG_MALFORMED;
    klen = (size_t)(eq - p);
    val = eq + 1;
    vlen = n - klen - 1;
    scheme_trim(&val, &vlen);
    if (klen == 1 && p[0] == 't')
        return out->has_timestamp ? HOOKD_ESIG_MALFORMED : scheme_set_timestamp(out, val, vlen);
    if (klen == 2 && p[0] == 'v' && p[1] == '1') {
        /* An unusable v1 cannot match, but others in the header still may:
         * skipped; with no usable v1 at all the header is malformed. */
        if (out->nsigs >= SCHEME_MAX_SIGS)
            return HOOKD_ESIG_MALFORMED; /* more than any rotation needs */
        (void)scheme_add_hex(out, val, vlen, 32);
        return 0;
    }
    return 0; /* v0 and unknown schemes */
}

static int stripe_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out)
{
    const char *v, *end;
    size_t n;

    if (!scheme_header(h, STRIPE_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, STRIPE_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, STRIPE_SIG_HEADER, v, n);
    end = v + n;
    for (const char *p = v; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item = p;
        size_t ilen = (size_t)((comma ? comma : end) - p);
        int rc;

        p = comma ? comma + 1 : end;
        scheme_trim(&item, &ilen);
        if (ilen == 0)
            continue;
        if ((rc = stripe_item(out, item, ilen)) < 0)
            return rc;
    }
    if (!out->has_timestamp || out->nsigs == 0)
        return HOOKD_ESIG_MALFORMED;
    return 0;
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
