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
    &scheme_github, &scheme_stripe, &scheme_shopify, &scheme_slack, &scheme_standard, &scheme_hmac,
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
    return "github, stripe, shopify, slack, standard, hmac";
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

int scheme_set_timestamp(struct sig_input *in, const char *p, size_t n)
{
    int64_t ts = 0;

    if (n == 0 || n > SCHEME_TS_MAX_DIGITS)
        return HOOKD_ESIG_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return HOOKD_ESIG_MALFORMED;
        ts = ts * 10 + (p[i] - '0');
    }
    in->has_timestamp = true;
    in->timestamp = ts;
    in->ts_text = p;
    in->ts_text_len = n;
    return 0;
}

static int add_candidate(struct sig_input *in, const char *p, size_t n, size_t want, bool hex)
{
    struct sig_candidate *c;
    long got;

    if (in->nsigs >= SCHEME_MAX_SIGS || want > SCHEME_MAX_MAC)
        return HOOKD_ESIG_MALFORMED;
    c = &in->sigs[in->nsigs];
    got = hex ? codec_hex_decode(p, n, c->mac, sizeof c->mac)
              : codec_base64_decode(p, n, c->mac, sizeof c->mac);
    if (got < 0 || (size_t)got != want)
        return HOOKD_ESIG_MALFORMED;
    c->len = (size_t)got;
    in->nsigs++;
    return 0;
}

int scheme_add_hex(struct sig_input *in, const char *p, size_t n, size_t want)
{
    return add_candidate(in, p, n, want, true);
}

int scheme_add_base64(struct sig_input *in, const char *p, size_t n, size_t want)
{
    return add_candidate(in, p, n, want, false);
}

void scheme_set_raw(struct sig_input *in, const char *header_name, const char *v, size_t n)
{
    in->header_name = header_name;
    in->raw = v;
    in->raw_len = n;
}
