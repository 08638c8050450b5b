/*
 * scheme_zoom.c — Zoom: `x-zm-signature: v0=<hex>` and
 * `x-zm-request-timestamp: TS`; HMAC-SHA256 of "v0:TS:body" under the
 * app's secret token (used as is).
 *
 * Handshake: when an endpoint is saved Zoom posts a signed
 * `{"event":"endpoint.url_validation","payload":{"plainToken":P}}` and
 * expects `{"plainToken":P,"encryptedToken":E}`, E the hex HMAC-SHA256 of P
 * under the same secret token: hookd uses the key version that verified the
 * request. Zoom sends no event id: the id defaults to the body's SHA-256.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "mac.h"
#include "scheme_impl.h"

#define ZOOM_SIG_HEADER "x-zm-signature"
#define ZOOM_TS_HEADER "x-zm-request-timestamp"
#define ZOOM_PREFIX "v0="

static int zoom_parse(const struct source_cfg *src, const struct headers *h, struct sig_input *out)
{
    const size_t plen = sizeof ZOOM_PREFIX - 1;
    const char *v, *ts;
    size_t n, tslen;
    int rc;

    if (!scheme_header(h, ZOOM_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, ZOOM_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, ZOOM_SIG_HEADER, v, n);
    if (!scheme_header(h, ZOOM_TS_HEADER, &ts, &tslen))
        return HOOKD_ESIG_MALFORMED;
    if ((rc = scheme_set_timestamp(out, ts, tslen)) < 0)
        return rc;
    if (n < plen || memcmp(v, ZOOM_PREFIX, plen) != 0)
        return HOOKD_ESIG_MALFORMED;
    return scheme_add_hex(out, v + plen, n - plen, 32);
}

static int zoom_compute(const struct source_cfg *src, const struct sig_input *in,
                        const struct secret *key, const char *body, size_t body_len,
                        unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {
        {"v0:", 3}, {in->ts_text, in->ts_text_len}, {":", 1}, {body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 4, mac, mac_len);
}

static int zoom_handshake(const struct source_cfg *src, const struct secret *key,
                          struct extract_ctx *x, struct handshake_answer *ans)
{
    json_t *body = extract_json(x);
    unsigned char mac[SCHEME_MAX_MAC];
    char hex[2 * SCHEME_MAX_MAC + 1];
    const char *event, *plain;
    size_t elen, plen, mlen;
    struct mac_part part;

    event = handshake_json_str(body, "event", &elen);
    if (!event || strcmp(event, "endpoint.url_validation") != 0)
        return 0;
    plain = handshake_json_str(json_object_get(body, "payload"), "plainToken", &plen);
    if (!plain || !handshake_challenge_ok(plain, plen))
        return 0; /* not a usable validation: handled as an event (400 without an id) */
    part = (struct mac_part){plain, plen};
    if (mac_compute(MAC_SHA256, key->key, key->key_len, &part, 1, mac, &mlen) < 0)
        return HOOKD_ENOMEM;
    codec_hex_encode(mac, mlen, hex);
    OPENSSL_cleanse(mac, sizeof mac);
    return handshake_json(
               ans, 200, "url_validation",
               json_pack("{s:s%,s:s}", "plainToken", plain, plen, "encryptedToken", hex)) < 0
               ? HOOKD_ENOMEM
               : 1;
}

const struct scheme scheme_zoom = {
    .name = "zoom",
    .default_id = "sha256",
    .default_type = "json:/event",
    .parse = zoom_parse,
    .compute = zoom_compute,
    .handshake = zoom_handshake,
};
