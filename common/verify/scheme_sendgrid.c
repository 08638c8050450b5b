/*
 * scheme_sendgrid.c — SendGrid's signed Event Webhook:
 *
 *   X-Twilio-Email-Event-Webhook-Signature: <base64 of a DER ECDSA signature>
 *   X-Twilio-Email-Event-Webhook-Timestamp: TS
 *
 * ECDSA over P-256 with SHA-256 of TS followed by the body, under the
 * verification key SendGrid shows (public_key.VERSION = base64 of a DER
 * SubjectPublicKeyInfo). A signature that is not strict DER is malformed
 * (400) before any key is tried. Events come as a JSON array without one
 * id, so the id defaults to the body's SHA-256 and there is no type.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "pkey.h"
#include "scheme_impl.h"

#define SENDGRID_SIG_HEADER "X-Twilio-Email-Event-Webhook-Signature"
#define SENDGRID_TS_HEADER "X-Twilio-Email-Event-Webhook-Timestamp"

static int sendgrid_parse(const struct source_cfg *src, const struct headers *h,
                          struct sig_input *out)
{
    const char *v, *ts;
    size_t n, tslen;
    int rc;

    if (!scheme_header(h, SENDGRID_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, SENDGRID_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, SENDGRID_SIG_HEADER, v, n);
    if (!scheme_header(h, SENDGRID_TS_HEADER, &ts, &tslen))
        return HOOKD_ESIG_MALFORMED;
    if ((rc = scheme_set_timestamp(out, ts, tslen)) < 0)
        return rc;
    if ((rc = scheme_add_base64_range(out, v, n, PKEY_ECDSA_SIG_MIN, SCHEME_MAX_SIG)) < 0)
        return rc;
    return pkey_ecdsa_der_ok(out->sigs[0].mac, out->sigs[0].len) ? 0 : HOOKD_ESIG_MALFORMED;
}

static int sendgrid_verify_key(const struct source_cfg *src, const struct sig_input *in,
                               const struct secret *key, const char *body, size_t body_len)
{
    const struct mac_part parts[] = {{in->ts_text, in->ts_text_len}, {body, body_len}};

    return pkey_verify(key, parts, 2, in->sigs[0].mac, in->sigs[0].len);
}

static int sendgrid_public_key(const char *text, size_t len, struct secret *key, char *err,
                               size_t errlen)
{
    unsigned char der[PKEY_SPKI_MAX];
    long got = codec_base64_decode(text, len, der, sizeof der);

    if (got <= 0) {
        snprintf(err, errlen,
                 "a SendGrid verification key is base64 (of a DER "
                 "SubjectPublicKeyInfo); this is not");
        return HOOKD_ECONFIG;
    }
    return pkey_set_p256_spki(key, der, (size_t)got, err, errlen);
}

const struct scheme scheme_sendgrid = {
    .name = "sendgrid",
    .default_id = "sha256",
    .default_type = NULL,
    .parse = sendgrid_parse,
    .keys = SCHEME_KEY_PUBLIC,
    .parse_public_key = sendgrid_public_key,
    .verify_key = sendgrid_verify_key,
};
