/*
 * scheme_paddle.c — Paddle Billing: `Paddle-Signature: ts=TS;h1=<hex>`.
 *
 * HMAC-SHA256 of "TS:body" under the notification destination's secret key
 * (used as is). While a secret is rotated Paddle sends one h1= per active
 * secret, so every h1= is a candidate; an h1= that is not 64 hex digits is
 * skipped (another may match). Unknown parts are ignored; no ts=, a repeated
 * ts=, a part without '=' or no usable h1= makes the header malformed.
 */
#include <string.h>

#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define PADDLE_SIG_HEADER "Paddle-Signature"

static int paddle_part(struct sig_input *out, const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n), *val;
    size_t klen, vlen;

    if (!eq)
        return HOOKD_ESIG_MALFORMED;
    klen = (size_t)(eq - p);
    val = eq + 1;
    vlen = n - klen - 1;
    scheme_trim(&val, &vlen);
    if (klen == 2 && memcmp(p, "ts", 2) == 0)
        return out->has_timestamp ? HOOKD_ESIG_MALFORMED : scheme_set_timestamp(out, val, vlen);
    if (klen == 2 && memcmp(p, "h1", 2) == 0) {
        if (out->nsigs >= SCHEME_MAX_SIGS)
            return HOOKD_ESIG_MALFORMED;
        (void)scheme_add_hex(out, val, vlen, 32);
    }
    return 0;
}

static int paddle_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out)
{
    const char *v, *end;
    size_t n;
    int rc;

    if (!scheme_header(h, PADDLE_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, PADDLE_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, PADDLE_SIG_HEADER, v, n);
    end = v + n;
    for (const char *p = v; p < end;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *part = p;
        size_t plen = (size_t)((semi ? semi : end) - p);

        p = semi ? semi + 1 : end;
        scheme_trim(&part, &plen);
        if (plen > 0 && (rc = paddle_part(out, part, plen)) < 0)
            return rc;
    }
    return out->has_timestamp && out->nsigs > 0 ? 0 : HOOKD_ESIG_MALFORMED;
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
