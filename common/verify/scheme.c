/*
 * scheme.c — the registry of signature schemes, and the helpers the
 * scheme_*.c files share (header lookup, timestamp and candidate parsing).
 *
 * Adding a provider: write scheme_NAME.c defining `const struct scheme
 * scheme_NAME`, declare it in scheme_impl.h and add one line to `registry`
 * below. The request path (verify.c, the receiver) never names a scheme.
 */
#include "scheme.h"

#include <string.h>

#include "codec.h"
#include "err.h"
#include "scheme_impl.h"

static const struct scheme *const registry[] = {
    &scheme_github, &scheme_stripe,  &scheme_shopify,  &scheme_slack,  &scheme_standard,
    &scheme_hmac,   &scheme_discord, &scheme_sendgrid, &scheme_twilio, &scheme_paddle,
    &scheme_zoom,   &scheme_meta,    &scheme_twitch,   &scheme_token,
};

#define NSCHEMES (sizeof registry / sizeof registry[0])

const struct scheme *scheme_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NSCHEMES; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const char *scheme_names(void)
{
    /* Kept in step with `registry` by test_scheme_names_lists_registry. */
    return "github, stripe, shopify, slack, standard, hmac, discord, sendgrid, twilio, paddle, "
           "zoom, meta, twitch, token";
}

void scheme_trim(const char **p, size_t *n)
{
    while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t'))
        (*p)++, (*n)--;
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

bool scheme_header(const struct headers *h, const char *name, const char **v, size_t *n)
{
    const struct header *hd = h ? headers_find(h, name) : NULL;

    if (!hd || !hd->value)
        return false;
    *v = hd->value;
    *n = hd->value_len;
    scheme_trim(v, n);
    return *n > 0;
}

/* Decimal digits only, at most max of them. */
static bool digits(const char *p, size_t n, size_t max, int64_t *out)
{
    int64_t v = 0;

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no libc time zone function is involved. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool two(const char *p, int64_t lo, int64_t hi, int64_t *out)
{
    return digits(p, 2, 2, out) && *out >= lo && *out <= hi;
}

int scheme_rfc3339(const char *p, size_t n, int64_t *out)
{
    int64_t y, mo, d, h, mi, s, oh = 0, om = 0, off = 0;
    size_t i = 19;

    /* YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM) */
    if (n < 20 || n > 35 || !digits(p, 4, 4, &y) || p[4] != '-' || !two(p + 5, 1, 12, &mo) ||
        p[7] != '-' || !two(p + 8, 1, 31, &d) || (p[10] != 'T' && p[10] != 't') ||
        !two(p + 11, 0, 23, &h) || p[13] != ':' || !two(p + 14, 0, 59, &mi) || p[16] != ':' ||
        !two(p + 17, 0, 60, &s))
        return HOOKD_ESIG_MALFORMED;
    if (p[i] == '.') {
        size_t f = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == f || i - f > 9)
            return HOOKD_ESIG_MALFORMED;
    }
    if (i + 1 == n && (p[i] == 'Z' || p[i] == 'z'))
        off = 0;
    else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && two(p + i + 1, 0, 23, &oh) &&
             p[i + 3] == ':' && two(p + i + 4, 0, 59, &om))
        off = (p[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    else
        return HOOKD_ESIG_MALFORMED;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
    return 0;
}

int scheme_set_timestamp_as(struct sig_input *in, const char *p, size_t n, enum ts_format fmt)
{
    int64_t ts = 0;

    if (fmt == TS_RFC3339) {
        if (scheme_rfc3339(p, n, &ts) < 0)
            return HOOKD_ESIG_MALFORMED;
    } else if (fmt == TS_MILLISECONDS) {
        if (!digits(p, n, SCHEME_TS_MAX_DIGITS + 3, &ts))
            return HOOKD_ESIG_MALFORMED;
        ts /= 1000;
    } else if (!digits(p, n, SCHEME_TS_MAX_DIGITS, &ts)) {
        return HOOKD_ESIG_MALFORMED;
    }
    in->has_timestamp = true;
    in->timestamp = ts;
    in->ts_text = p;
    in->ts_text_len = n;
    return 0;
}

int scheme_set_timestamp(struct sig_input *in, const char *p, size_t n)
{
    return scheme_set_timestamp_as(in, p, n, TS_SECONDS);
}

static int add_candidate(struct sig_input *in, const char *p, size_t n, size_t min, size_t max,
                         bool hex)
{
    struct sig_candidate *c;
    long got;

    if (in->nsigs >= SCHEME_MAX_SIGS || max > SCHEME_MAX_SIG)
        return HOOKD_ESIG_MALFORMED;
    c = &in->sigs[in->nsigs];
    got = hex ? codec_hex_decode(p, n, c->mac, sizeof c->mac)
              : codec_base64_decode(p, n, c->mac, sizeof c->mac);
    if (got < 0 || (size_t)got < min || (size_t)got > max)
        return HOOKD_ESIG_MALFORMED;
    c->len = (size_t)got;
    in->nsigs++;
    return 0;
}

int scheme_add_hex(struct sig_input *in, const char *p, size_t n, size_t want)
{
    return add_candidate(in, p, n, want, want, true);
}

int scheme_add_base64(struct sig_input *in, const char *p, size_t n, size_t want)
{
    return add_candidate(in, p, n, want, want, false);
}

int scheme_add_base64_range(struct sig_input *in, const char *p, size_t n, size_t min, size_t max)
{
    return add_candidate(in, p, n, min, max, false);
}

void scheme_set_raw(struct sig_input *in, const char *header_name, const char *v, size_t n)
{
    in->header_name = header_name;
    in->raw = v;
    in->raw_len = n;
}

/* One "key=value" item of a signature list. */
static int kv_item(struct sig_input *out, const char *p, size_t n, const char *ts_key,
                   const char *sig_key)
{
    const char *eq = memchr(p, '=', n), *val;
    size_t klen, vlen;

    if (!eq)
        return HOOKD_ESIG_MALFORMED;
    klen = (size_t)(eq - p);
    val = eq + 1;
    vlen = n - klen - 1;
    scheme_trim(&val, &vlen);
    if (klen == strlen(ts_key) && memcmp(p, ts_key, klen) == 0)
        return out->has_timestamp ? HOOKD_ESIG_MALFORMED : scheme_set_timestamp(out, val, vlen);
    if (klen == strlen(sig_key) && memcmp(p, sig_key, klen) == 0) {
        /* An unusable signature cannot match, but others in the header
         * still may: skipped; with none usable the header is malformed. */
        if (out->nsigs >= SCHEME_MAX_SIGS)
            return HOOKD_ESIG_MALFORMED; /* more than any rotation needs */
        (void)scheme_add_hex(out, val, vlen, 32);
    }
    return 0; /* other versions and unknown keys */
}

int scheme_kv_signatures(struct sig_input *out, const char *v, size_t n, char sep,
                         const char *ts_key, const char *sig_key)
{
    const char *end = v + n;

    for (const char *p = v; p < end;) {
        const char *cut = memchr(p, sep, (size_t)(end - p));
        const char *item = p;
        size_t ilen = (size_t)((cut ? cut : end) - p);
        int rc;

        p = cut ? cut + 1 : end;
        scheme_trim(&item, &ilen);
        if (ilen > 0 && (rc = kv_item(out, item, ilen, ts_key, sig_key)) < 0)
            return rc;
    }
    return out->has_timestamp && out->nsigs > 0 ? 0 : HOOKD_ESIG_MALFORMED;
}
