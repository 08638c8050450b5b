/*
 * scheme_standard.c — Standard Webhooks (the Svix format):
 *
 *   webhook-id: msg_...
 *   webhook-timestamp: TS
 *   webhook-signature: v1,<base64> [v1,<base64> ...]
 *
 * The signed content is "id.TS.body", HMAC-SHA256 under the secret's bytes:
 * the configured text is `whsec_` + base64, and the key is the base64
 * decoded (decode_key). Signatures are space-separated; several appear
 * while a key is rotated. `v1a,<base64>` entries are Ed25519 signatures of
 * the same bytes, checked against the source's public_key.VERSION keys
 * (`whpk_` + base64 of the 32-byte raw key); v1 entries are checked against
 * its secret.VERSION keys. Other versions are ignored; with no usable v1 or
 * v1a at all the header is malformed. Svix's own header names (svix-id,
 * svix-timestamp, svix-signature) are read when the webhook-* signature
 * header is absent; the three headers always come from the same family.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "err.h"
#include "mac.h"
#include "pkey.h"
#include "scheme_impl.h"

#define STD_SECRET_PREFIX "whsec_"
#define STD_PUBLIC_PREFIX "whpk_"
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
    bool v1 = vlen == 2 && memcmp(p, "v1", 2) == 0, v1a = vlen == 3 && memcmp(p, "v1a", 3) == 0;

    if (v1 || v1a) {
        if (out->nsigs >= SCHEME_MAX_SIGS)
            return HOOKD_ESIG_MALFORMED; /* more than any rotation needs */
        (void)scheme_add_base64(out, comma + 1, n - vlen - 1, v1 ? 32 : PKEY_ED25519_SIG_LEN);
    }
    return 0; /* future versions */
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

/* The signed content: id "." TS "." body. */
static void std_parts(const struct sig_input *in, const char *body, size_t body_len,
                      struct mac_part parts[5])
{
    parts[0] = (struct mac_part){in->msg_id, in->msg_id_len};
    parts[1] = (struct mac_part){".", 1};
    parts[2] = (struct mac_part){in->ts_text, in->ts_text_len};
    parts[3] = (struct mac_part){".", 1};
    parts[4] = (struct mac_part){body, body_len};
}

static int std_compute(const struct source_cfg *src, const struct sig_input *in,
                       const struct secret *key, const char *body, size_t body_len,
                       unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    struct mac_part parts[5];

    std_parts(in, body, body_len, parts);
    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 5, mac, mac_len);
}

/* v1a: every 64-byte candidate against one Ed25519 public key. */
static int std_verify_key(const struct source_cfg *src, const struct sig_input *in,
                          const struct secret *key, const char *body, size_t body_len)
{
    struct mac_part parts[5];
    int match = 0, rc;

    std_parts(in, body, body_len, parts);
    for (size_t i = 0; i < in->nsigs; i++) {
        if (in->sigs[i].len != PKEY_ED25519_SIG_LEN)
            continue;
        if ((rc = pkey_verify(key, parts, 5, in->sigs[i].mac, in->sigs[i].len)) < 0)
            return rc;
        match |= rc;
    }
    return match;
}

/* "whpk_" + base64 of the 32-byte raw Ed25519 key. */
static int std_public_key(const char *text, size_t len, struct secret *key, char *err,
                          size_t errlen)
{
    const size_t plen = sizeof STD_PUBLIC_PREFIX - 1;
    unsigned char raw[64];
    long got;

    if (len < plen || memcmp(text, STD_PUBLIC_PREFIX, plen) != 0) {
        snprintf(err, errlen, "a Standard Webhooks public key starts with \"whpk_\"%s",
                 len >= 6 && memcmp(text, STD_SECRET_PREFIX, 6) == 0
                     ? " (whsec_ is a shared secret: configure it as secret.VERSION)"
                     : "");
        return HOOKD_ECONFIG;
    }
    got = codec_base64_decode(text + plen, len - plen, raw, sizeof raw);
    if (got < 0) {
        snprintf(err, errlen, "the text after \"whpk_\" is not base64");
        return HOOKD_ECONFIG;
    }
    return pkey_set_ed25519(key, raw, (size_t)got, err, errlen);
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
    .keys = SCHEME_KEY_SECRET | SCHEME_KEY_PUBLIC,
    .parse_public_key = std_public_key,
    .verify_key = std_verify_key,
};
