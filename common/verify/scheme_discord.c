/*
 * scheme_discord.c — Discord interactions:
 *
 *   X-Signature-Ed25519: <128 hex digits>   (a 64-byte Ed25519 signature)
 *   X-Signature-Timestamp: TS
 *
 * The signed bytes are TS followed by the body, with no separator, under the
 * application's public key (public_key.VERSION = the 64 hex digits the
 * developer portal shows). Discord refuses to save an endpoint that accepts
 * a bad signature, and sends a PING (`"type": 1`) to check: answered
 * `{"type":1}` once it verified, never queued. Ids are JSON (`id`, `type`;
 * an integer type becomes its decimal text).
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "pkey.h"
#include "scheme_impl.h"

#define DISCORD_SIG_HEADER "X-Signature-Ed25519"
#define DISCORD_TS_HEADER "X-Signature-Timestamp"
#define DISCORD_PING 1 /* interaction type of a PING */

static int discord_parse(const struct source_cfg *src, const struct headers *h,
                         struct sig_input *out)
{
    const char *v, *ts;
    size_t n, tslen;
    int rc;

    if (!scheme_header(h, DISCORD_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, DISCORD_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, DISCORD_SIG_HEADER, v, n);
    if (!scheme_header(h, DISCORD_TS_HEADER, &ts, &tslen))
        return HOOKD_ESIG_MALFORMED;
    if ((rc = scheme_set_timestamp(out, ts, tslen)) < 0)
        return rc;
    return scheme_add_hex(out, v, n, PKEY_ED25519_SIG_LEN);
}

static int discord_verify_key(const struct source_cfg *src, const struct sig_input *in,
                              const struct secret *key, const char *body, size_t body_len)
{
    const struct mac_part parts[] = {{in->ts_text, in->ts_text_len}, {body, body_len}};

    return pkey_verify(key, parts, 2, in->sigs[0].mac, in->sigs[0].len);
}

/* 64 hex digits: the raw 32-byte key. */
static int discord_public_key(const char *text, size_t len, struct secret *key, char *err,
                              size_t errlen)
{
    unsigned char raw[PKEY_ED25519_LEN];

    if (len != 2 * PKEY_ED25519_LEN) {
        snprintf(err, errlen, "a Discord public key is %d hex digits, this one is %zu characters",
                 2 * PKEY_ED25519_LEN, len);
        return HOOKD_ECONFIG;
    }
    if (codec_hex_decode(text, len, raw, sizeof raw) != PKEY_ED25519_LEN) {
        snprintf(err, errlen, "a Discord public key is hex digits only");
        return HOOKD_ECONFIG;
    }
    return pkey_set_ed25519(key, raw, sizeof raw, err, errlen);
}

static int discord_handshake(const struct source_cfg *src, const struct secret *key,
                             struct extract_ctx *x, struct handshake_answer *ans)
{
    json_t *type = json_object_get(extract_json(x), "type");

    if (!json_is_integer(type) || json_integer_value(type) != DISCORD_PING)
        return 0;
    return handshake_json(ans, 200, "ping", json_pack("{s:i}", "type", DISCORD_PING)) < 0
               ? HOOKD_ENOMEM
               : 1;
}

const struct scheme scheme_discord = {
    .name = "discord",
    .default_id = "json:/id",
    .default_type = "json:/type",
    .parse = discord_parse,
    .keys = SCHEME_KEY_PUBLIC,
    .parse_public_key = discord_public_key,
    .verify_key = discord_verify_key,
    .handshake = discord_handshake,
};
