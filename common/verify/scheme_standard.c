/*
 * scheme_standard.c — Standard Webhooks (the Svix format):
 *
 *   webhook-id: msg_...
 *   webhook-timestamp: TS
 *   webhook-signature: v1,<base64> [v1,<base64> ...]
 *
 * The signed content is "id.TS.body", HMAC-SHA256 under the secret's bytes:
 * the configured text is `whsec_` + base64, and the key is the base64
 * decoded (decode_key). Signatures are space-separated; several v1 appear
 * while a secret is rotated. Other versions (v1a = Ed25519, which needs a
 * public key, not a shared secret) are ignored; with no v1 at all the header
 * is malformed. Svix's own header names (svix-id, svix-timestamp,
 * svix-signature) are read when the webhook-* signature header is absent;
 * the three headers always come from the same family.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define STD_SECRET_PREFIX "whsec_"
#define STD_KEY_MAX       1024 /* bytes of a decoded secret */

struct std_names {
    const char *sig, *id, *ts;
};

static const struct std_names std_families[] = {
    {"webhook-signature", "webhook-id", "webhook-timestamp"},
    {"svix-signature", "svix-id", "svix-timestamp"},
};

/* One "vN,<base64>" token of the signature list. */
static int std_token(struct sig_input *out, const char *p, size_t n)
{
    const char *comma = memchr(p, ',', n);
    size_t vlen;

    if (!comma || comma == p)
        return HOOKD_ESIG_MALFORMED;
    vlen = (size_t)(comma - p);
    /* A v1 that does not decode to 32 bytes cannot match: skip it, as the
     * reference library does (it compares each candidate); the header is
     * malformed only when no usable v1 is left. */
    if (vlen == 2 && p[0] == 'v' && p[1] == '1') {
        if (out->nsigs >= SCHEME_MAX_SIGS)
            return HOOKD_ESIG_MALFORMED; /* more than any rotation needs */
        (void)scheme_add_base64(out, comma + 1, n - vlen - 1, 32);
    }
    return 0; /* v1a and future versions */
}

static int std_signatures(struct sig_input *out, const char *v, size_t n)
{
    const char *end = v + n;

    for (const char *p = v; p < end;) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        size_t tlen = (size_t)((sp ? sp : end) - p);
        int rc;

        if (tlen > 0 && (rc = std_token(out, p, tlen)) < 0)
            return rc;
        p = sp ? sp + 1 : end;
    }
    return out->nsigs > 0 ? 0 : HOOKD_ESIG_MALFORMED;
}

static int std_parse(const struct source_cfg *src, const struct headers *h, struct sig_input *out)
{
    const struct std_names *f = NULL;
    const char *v, *id, *ts;
    size_t n, idlen, tslen;
    int rc;

    for (size_t i = 0; i < sizeof std_families / sizeof std_families[0] && !f; i++)
        if (scheme_header(h, std_families[i].sig, &v, &n))
            f = &std_families[i];
    if (!f) {
        scheme_set_raw(out, std_families[0].sig, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, f->sig, v, n);
    if (!scheme_header(h, f->id, &id, &idlen) || idlen > SCHEME_MSG_ID_MAX)
        return HOOKD_ESIG_MALFORMED;
    out->msg_id = id;
    out->msg_id_len = idlen;
    if (!scheme_header(h, f->ts, &ts, &tslen))
        return HOOKD_ESIG_MALFORMED;
    if ((rc = scheme_set_timestamp(out, ts, tslen)) < 0)
        return rc;
    return std_signatures(out, v, n);
}

static int std_compute(const struct source_cfg *src, const struct sig_input *in,
                       const struct secret *key, const char *body, size_t body_len,
                       unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {{in->msg_id, in->msg_id_len},
                                     {".", 1},
                                     {in->ts_text, in->ts_text_len},
                                     {".", 1},
                                     {body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 5, mac, mac_len);
}

/* "whsec_" + base64 (the prefix is optional, as in the reference libraries). */
static int std_decode_key(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
    const size_t plen = sizeof STD_SECRET_PREFIX - 1;
    unsigned char *buf;
    long got;

    *out = NULL;
    *out_len = 0;
    if (len >= plen && memcmp(text, STD_SECRET_PREFIX, plen) == 0)
        text += plen, len -= plen;
    if (len == 0 || len / 4 * 3 > STD_KEY_MAX)
        return HOOKD_EPARSE;
    if (!(buf = malloc(len / 4 * 3 + 3)))
        return HOOKD_ENOMEM;
    got = codec_base64_decode(text, len, buf, len / 4 * 3 + 3);
    if (got <= 0) {
        OPENSSL_cleanse(buf, len / 4 * 3 + 3);
        free(buf);
        return HOOKD_EPARSE;
    }
    *out = buf;
    *out_len = (size_t)got;
    return 0;
}

const struct scheme scheme_standard = {
    .name = "standard",
    .default_id = "header:webhook-id|header:svix-id",
    .default_type = "json:/type",
    .parse = std_parse,
    .compute = std_compute,
    .decode_key = std_decode_key,
};
