/*
 * scheme_paddle.c — Paddle Billing: `Paddle-Signature: ts=TS;h1=<hex>`.
 *
 * HMAC-SHA256 of "TS:body" under the notification destination's secret key
 * (used as is). While a secret is rotated Paddle sends one h1= per active
 * secret, so every h1= is a candidate; an h1= that is not 64 hex digits is
 * skipped (another may match). Unknown parts are ignored; no ts=, a repeated
 * ts=, a part without '=' or no usable h1= makes the header malformed.
 */
#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define PADDLE_SIG_HEADER "Paddle-Signature"

static int paddle_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out)
{
    const char *v;
    size_t n;

    if (!scheme_header(h, PADDLE_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, PADDLE_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, PADDLE_SIG_HEADER, v, n);
    return scheme_kv_signatures(out, v, n, ';', "ts", "h1");
}

static int paddle_compute(const struct source_cfg *src, const struct sig_input *in,
                          const struct secret *key, const char *body, size_t body_len,
                          unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {{in->ts_text, in->ts_text_len}, {":", 1}, {body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 3, mac, mac_len);
}

const struct scheme scheme_paddle = {
    .name = "paddle",
    .default_id = "json:/event_id",
    .default_type = "json:/event_type",
    .parse = paddle_parse,
    .compute = paddle_compute,
};
