/*
 * scheme_twitch.c — Twitch EventSub webhooks:
 *
 *   Twitch-Eventsub-Message-Signature: sha256=<hex>
 *   Twitch-Eventsub-Message-Id: ID
 *   Twitch-Eventsub-Message-Timestamp: RFC 3339 (with nanoseconds)
 *   Twitch-Eventsub-Message-Type: notification | webhook_callback_verification | revocation
 *
 * HMAC-SHA256 of ID, TS (as received) and the body, concatenated with no
 * separator, under the subscription's secret. Twitch's own guidance is to
 * refuse messages older than 10 minutes: the default tolerance is 600 s.
 * Handshake: a verified `webhook_callback_verification` is answered with
 * the body's `challenge` as text/plain.
 */
#include <string.h>

#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "mac.h"
#include "scheme_impl.h"

#define TWITCH_SIG_HEADER "Twitch-Eventsub-Message-Signature"
#define TWITCH_ID_HEADER "Twitch-Eventsub-Message-Id"
#define TWITCH_TS_HEADER "Twitch-Eventsub-Message-Timestamp"
#define TWITCH_TYPE_HEADER "Twitch-Eventsub-Message-Type"
#define TWITCH_PREFIX "sha256="
#define TWITCH_TOLERANCE_S 600

static int twitch_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out)
{
    const size_t plen = sizeof TWITCH_PREFIX - 1;
    const char *v, *id, *ts;
    size_t n, idlen, tslen;
    int rc;

    if (!scheme_header(h, TWITCH_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, TWITCH_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, TWITCH_SIG_HEADER, v, n);
    if (!scheme_header(h, TWITCH_ID_HEADER, &id, &idlen) || idlen > SCHEME_MSG_ID_MAX)
        return HOOKD_ESIG_MALFORMED;
    out->msg_id = id;
    out->msg_id_len = idlen;
    if (!scheme_header(h, TWITCH_TS_HEADER, &ts, &tslen))
        return HOOKD_ESIG_MALFORMED;
    if ((rc = scheme_set_timestamp_as(out, ts, tslen, TS_RFC3339)) < 0)
        return rc;
    if (n < plen || memcmp(v, TWITCH_PREFIX, plen) != 0)
        return HOOKD_ESIG_MALFORMED;
    return scheme_add_hex(out, v + plen, n - plen, 32);
}

static int twitch_compute(const struct source_cfg *src, const struct sig_input *in,
                          const struct secret *key, const char *body, size_t body_len,
                          unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {
        {in->msg_id, in->msg_id_len}, {in->ts_text, in->ts_text_len}, {body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 3, mac, mac_len);
}

static int twitch_handshake(const struct source_cfg *src, const struct secret *key,
                            struct extract_ctx *x, struct handshake_answer *ans)
{
    const char *type, *challenge;
    size_t tlen, clen;

    if (!scheme_header(x->h, TWITCH_TYPE_HEADER, &type, &tlen) ||
        tlen != sizeof "webhook_callback_verification" - 1 ||
        memcmp(type, "webhook_callback_verification", tlen) != 0)
        return 0;
    challenge = handshake_json_str(extract_json(x), "challenge", &clen);
    if (!challenge || !handshake_challenge_ok(challenge, clen))
        return 0; /* handled as an event: 400 unless it has an id and type */
    return handshake_text(ans, 200, "callback_verification", challenge, clen) < 0 ? HOOKD_ENOMEM
                                                                                  : 1;
}

const struct scheme scheme_twitch = {
    .name = "twitch",
    .default_id = "header:Twitch-Eventsub-Message-Id",
    .default_type = "json:/subscription/type",
    .parse = twitch_parse,
    .compute = twitch_compute,
    .handshake = twitch_handshake,
    .default_tolerance_s = TWITCH_TOLERANCE_S,
};
