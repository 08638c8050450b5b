/*
 * scheme_twilio.c — Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 under
 * the account's auth token (used as is) of:
 *
 *   public_url [ "?" query ]          the URL Twilio was told to call, plus
 *                                     the request's query string as received
 *   then, for a form body             each parameter, sorted by name (then
 *   (application/x-www-form-urlencoded)  value), as decoded name + value
 *
 * For any other body (JSON) Twilio adds `bodySHA256=<hex SHA-256 of the
 * body>` to the URL and signs the URL alone: that parameter must be there
 * (else the request is malformed) and must match the body (else 401
 * body_hash_mismatch), or a valid signature would vouch for any body.
 * Repeated names stay, in value order; escapes are decoded (%XX, '+');
 * a malformed escape makes the request malformed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "err.h"
#include "form.h"
#include "mac.h"
#include "scheme_impl.h"

#define TWILIO_SIG_HEADER "X-Twilio-Signature"

struct tw_param {
    const char *name, *value; /* decoded, in the scratch buffer */
    size_t name_len, value_len;
};

static int tw_parse(const struct source_cfg *src, const struct headers *h, struct sig_input *out)
{
    const char *v;
    size_t n;
    char hash[CODEC_SHA256_HEX_LEN + 1];

    if (!scheme_header(h, TWILIO_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, TWILIO_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, TWILIO_SIG_HEADER, v, n);
    if (!src->public_url)
        return HOOKD_ESIG_MALFORMED;
    /* Which body it is is decided by the Content-Type, now, so that a form
     * body is never judged by the JSON rule or the other way round. */
    out->form_body = form_is_form(h);
    if (!out->form_body && form_get(out->http.query, out->http.query_len, "bodySHA256", hash,
                                    sizeof hash) != CODEC_SHA256_HEX_LEN)
        return HOOKD_ESIG_MALFORMED;
    return scheme_add_base64(out, v, n, 20);
}

static int cmp_view(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_param(const void *x, const void *y)
{
    const struct tw_param *a = x, *b = y;
    int c = cmp_view(a->name, a->name_len, b->name, b->name_len);
    return c ? c : cmp_view(a->value, a->value_len, b->value, b->value_len);
}

/* Decodes the form into scratch and appends the sorted name+value runs to
 * msg at *len. Returns 0, HOOKD_ESIG_MALFORMED (a malformed form) or
 * HOOKD_ECRYPTO (out of memory). */
static int tw_form(const char *body, size_t body_len, char *msg, size_t *len)
{
    struct form_pair *pairs = malloc(FORM_MAX_PAIRS * sizeof *pairs);
    struct tw_param *params = malloc(FORM_MAX_PAIRS * sizeof *params);
    char *scratch = malloc(body_len ? body_len : 1);
    long np = -1;
    size_t used = 0;
    int rc = HOOKD_ECRYPTO;

    if (!pairs || !params || !scratch)
        goto out;
    rc = HOOKD_ESIG_MALFORMED;
    if ((np = form_split(body, body_len, pairs, FORM_MAX_PAIRS)) < 0)
        goto out;
    for (long i = 0; i < np; i++) {
        struct tw_param *t = &params[i];
        t->name = scratch + used;
        t->name_len = (size_t)form_decode(pairs[i].name, pairs[i].name_len, scratch + used);
        used += t->name_len;
        t->value = scratch + used;
        t->value_len = (size_t)form_decode(pairs[i].value, pairs[i].value_len, scratch + used);
        used += t->value_len;
    }
    qsort(params, (size_t)np, sizeof *params, cmp_param);
    for (long i = 0; i < np; i++) {
        memcpy(msg + *len, params[i].name, params[i].name_len);
        *len += params[i].name_len;
        memcpy(msg + *len, params[i].value, params[i].value_len);
        *len += params[i].value_len;
    }
    rc = 0;
out:
    free(pairs), free(params), free(scratch);
    return rc;
}

static bool tw_body_hash_ok(const struct sig_input *in, const char *body, size_t body_len)
{
    char want[CODEC_SHA256_HEX_LEN + 1], got[CODEC_SHA256_HEX_LEN + 1];

    if (form_get(in->http.query, in->http.query_len, "bodySHA256", want, sizeof want) !=
        CODEC_SHA256_HEX_LEN)
        return false;
    codec_sha256_hex(body, body_len, got);
    for (size_t i = 0; i < CODEC_SHA256_HEX_LEN; i++)
        if (want[i] >= 'A' && want[i] <= 'F')
            want[i] = (char)(want[i] + 32);
    return CRYPTO_memcmp(want, got, CODEC_SHA256_HEX_LEN) == 0;
}

static int tw_compute(const struct source_cfg *src, const struct sig_input *in,
                      const struct secret *key, const char *body, size_t body_len,
                      unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    size_t ulen = strlen(src->public_url), len = 0;
    bool form = in->form_body;
    char *msg = malloc(ulen + 1 + in->http.query_len + (form ? body_len : 0) + 1);
    struct mac_part part;
    int rc = HOOKD_ECRYPTO;

    if (!msg)
        return HOOKD_ECRYPTO;
    memcpy(msg, src->public_url, ulen);
    len = ulen;
    if (in->http.query_len) {
        msg[len++] = '?';
        memcpy(msg + len, in->http.query, in->http.query_len);
        len += in->http.query_len;
    }
    if (form)
        rc = tw_form(body, body_len, msg, &len);
    else
        rc = tw_body_hash_ok(in, body, body_len) ? 0 : HOOKD_ESIG_MISMATCH;
    if (rc == 0) {
        part = (struct mac_part){msg, len};
        rc = mac_compute(MAC_SHA1, key->key, key->key_len, &part, 1, mac, mac_len);
    }
    free(msg);
    return rc;
}

const struct scheme scheme_twilio = {
    .name = "twilio",
    .default_id = "header:I-Twilio-Idempotency-Token|form:MessageSid|form:CallSid|sha256",
    .default_type = NULL,
    .parse = tw_parse,
    .compute = tw_compute,
    .signs_request_line = true,
};
