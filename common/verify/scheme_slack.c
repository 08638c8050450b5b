/*
 * scheme_slack.c — Slack: `X-Slack-Signature: v0=<64 hex>` and
 * `X-Slack-Request-Timestamp: TS`; the signed content is "v0:TS:body",
 * HMAC-SHA256 under the app's signing secret (used as is).
 *
 * A missing signature header is "missing" (400); a signature without a
 * usable timestamp header, or with a version other than v0, is "malformed"
 * (400): it cannot be checked. The timestamp is enforced in both directions
 * by verify.c (Slack recommends five minutes).
 *
 * Ids: Events API callbacks carry event_id and event.type. A signed
 * url_verification (Slack's handshake when the Request URL is saved) is
 * answered `{"challenge":…}` by the handshake hook, before anything is
 * extracted, and never queued; form-encoded
 * payloads (slash commands, interactivity) have neither field and are
 * refused with 400 under the defaults (see docs/providers.md).
 */
#include <string.h>

#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "mac.h"
#include "scheme_impl.h"

#define SLACK_SIG_HEADER "X-Slack-Signature"
#define SLACK_TS_HEADER  "X-Slack-Request-Timestamp"
#define SLACK_PREFIX     "v0="

static int slack_parse(const struct source_cfg *src, const struct headers *h, struct sig_input *out)
{
    const size_t plen = sizeof SLACK_PREFIX - 1;
    const char *v, *ts;
    size_t n, tslen;
    int rc;

    if (!scheme_header(h, SLACK_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, SLACK_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, SLACK_SIG_HEADER, v, n);
    if (!scheme_header(h, SLACK_TS_HEADER, &ts, &tslen))
        return HOOKD_ESIG_MALFORMED;
    if ((rc = scheme_set_timestamp(out, ts, tslen)) < 0)
        return rc;
    if (n < plen || memcmp(v, SLACK_PREFIX, plen) != 0)
        return HOOKD_ESIG_MALFORMED;
    return scheme_add_hex(out, v + plen, n - plen, 32);
}

static int slack_compute(const struct source_cfg *src, const struct sig_input *in,
                         const struct secret *key, const char *body, size_t body_len,
                         unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {
        {"v0:", 3}, {in->ts_text, in->ts_text_len}, {":", 1}, {body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 4, mac, mac_len);
}

static int slack_handshake(const struct source_cfg *src, const struct secret *key,
                           struct extract_ctx *x, struct handshake_answer *ans)
{
    json_t *body = extract_json(x), *challenge = json_object_get(body, "challenge");
    const char *type;
    size_t tlen;

    type = handshake_json_str(body, "type", &tlen);
    if (!type || strcmp(type, "url_verification") != 0 || !json_is_string(challenge))
        return 0;
    return handshake_json(ans, 200, "url_verification",
                          json_pack("{s:O}", "challenge", challenge)) < 0
               ? HOOKD_ENOMEM
               : 1;
}

const struct scheme scheme_slack = {
    .name = "slack",
    .default_id = "json:/event_id",
    .default_type = "json:/event/type",
    .parse = slack_parse,
    .compute = slack_compute,
    .decode_key = NULL,
    .handshake = slack_handshake,
};
