/*
 * scheme_hmac.c — the generic HMAC scheme, driven by the source's settings:
 *
 *   signature_header = X-Signature        (required)
 *   algorithm        = sha1 | sha256 | sha512
 *   encoding         = hex | base64
 *   signature_prefix = sha256=            (optional; must then be present)
 *   timestamp_header = X-Timestamp        (optional; then required and held
 *                                          to `tolerance`)
 *   timestamp_format = seconds | milliseconds | rfc3339
 *   signed_content   = {timestamp}.{body} (template)
 *
 * The template is literal text with placeholders: {body} (the raw body,
 * required at least once), {timestamp} (the timestamp header's text as
 * received; needs timestamp_header) and {id} (the value of the id header;
 * needs `id = header:NAME`, since that is the only id known before the body
 * is trusted), {method} (the request's method, e.g. POST) and {url}
 * (`public_url`, plus "?" and the request's query string when it has one:
 * HubSpot v3 signs method + URL + body + timestamp, Square URL + body).
 * Any other '{' is a configuration error, found at load time
 * by the scheme's check hook. One signature per header: senders that list
 * several need their own scheme.
 */
#include <string.h>

#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define HMAC_DEFAULT_TEMPLATE    "{body}"
#define HMAC_DEFAULT_TEMPLATE_TS "{timestamp}.{body}"

enum tmpl_piece {
    PIECE_LITERAL,
    PIECE_BODY,
    PIECE_TIMESTAMP,
    PIECE_ID,
    PIECE_METHOD,
    PIECE_URL,
    PIECE_BAD
};

static const char *hmac_template(const struct source_cfg *src)
{
    if (src->signed_content)
        return src->signed_content;
    return src->ts_header ? HMAC_DEFAULT_TEMPLATE_TS : HMAC_DEFAULT_TEMPLATE;
}

/* Classifies the piece starting at *t and advances past it; lit and litlen
 * give a literal run. */
static enum tmpl_piece tmpl_next(const char **t, const char **lit, size_t *litlen)
{
    static const struct {
        const char *text;
        enum tmpl_piece piece;
    } names[] = {{"{body}", PIECE_BODY},
                 {"{timestamp}", PIECE_TIMESTAMP},
                 {"{id}", PIECE_ID},
                 {"{method}", PIECE_METHOD},
                 {"{url}", PIECE_URL}};
    const char *brace;

    if (**t != '{') {
        brace = strchr(*t, '{');
        *lit = *t;
        *litlen = brace ? (size_t)(brace - *t) : strlen(*t);
        *t += *litlen;
        return PIECE_LITERAL;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].text);
        if (strncmp(*t, names[i].text, n) == 0) {
            *t += n;
            return names[i].piece;
        }
    }
    return PIECE_BAD;
}

static bool id_is_header(const struct source_cfg *src)
{
    return src->id.kind == FIELD_HEADER && src->id.arg && src->id.arg[0];
}

static int hmac_check(const struct source_cfg *src, char *err, size_t errlen)
{
    const char *t = hmac_template(src), *lit;
    size_t litlen, pieces = 0, bodies = 0;
    enum tmpl_piece pc;

    if (!src->sig_header || !src->sig_header[0])
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "scheme hmac needs signature_header");
    while (*t) {
        if ((pc = tmpl_next(&t, &lit, &litlen)) == PIECE_BAD)
            return hookd_errf(HOOKD_ECONFIG, err, errlen,
                              "signed_content: unknown placeholder at \"%.20s\" (known: {body}, "
                              "{timestamp}, {id}, {method}, {url})",
                              t);
        if (pc == PIECE_TIMESTAMP && !src->ts_header)
            return hookd_errf(HOOKD_ECONFIG, err, errlen,
                              "signed_content uses {timestamp} but no timestamp_header is set");
        if (pc == PIECE_ID && !id_is_header(src))
            return hookd_errf(HOOKD_ECONFIG, err, errlen,
                              "signed_content uses {id}, which needs id = header:NAME");
        if (pc == PIECE_URL && !src->public_url)
            return hookd_errf(HOOKD_ECONFIG, err, errlen, "signed_content uses {url}, which needs public_url");
        bodies += pc == PIECE_BODY;
        pieces += pc == PIECE_URL ? 3 : 1; /* the URL, "?", the query */
    }
    if (bodies == 0)
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "signed_content must include {body}");
    if (pieces + 2 > MAC_MAX_PARTS) /* + 2: room for a {url} met last */
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "signed_content has more than %d pieces",
                          MAC_MAX_PARTS - 2);
    return 0;
}

static int hmac_parse(const struct source_cfg *src, const struct headers *h, struct sig_input *out)
{
    const char *name = src->sig_header ? src->sig_header : "", *v, *ts, *id;
    size_t n, tslen, idlen, plen = src->sig_prefix ? strlen(src->sig_prefix) : 0;
    int rc;

    if (!scheme_header(h, name, &v, &n)) {
        scheme_set_raw(out, name, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, name, v, n);
    if (plen && (n < plen || memcmp(v, src->sig_prefix, plen) != 0))
        return HOOKD_ESIG_MALFORMED;
    rc = src->enc == ENC_BASE64 ? scheme_add_base64(out, v + plen, n - plen, mac_size(src->algo))
                                : scheme_add_hex(out, v + plen, n - plen, mac_size(src->algo));
    if (rc < 0)
        return rc;
    if (src->ts_header) {
        if (!scheme_header(h, src->ts_header, &ts, &tslen))
            return HOOKD_ESIG_MALFORMED;
        if ((rc = scheme_set_timestamp_as(out, ts, tslen, src->ts_format)) < 0)
            return rc;
    }
    if (strstr(hmac_template(src), "{id}") && id_is_header(src)) {
        if (!scheme_header(h, src->id.arg, &id, &idlen) || idlen > SCHEME_MSG_ID_MAX)
            return HOOKD_ESIG_MALFORMED;
        out->msg_id = id;
        out->msg_id_len = idlen;
    }
    return 0;
}

/* {url}: public_url, then "?" and the query when there is one. */
static size_t hmac_url(const struct source_cfg *src, const struct sig_input *in,
                       struct mac_part *parts)
{
    parts[0] = (struct mac_part){src->public_url, src->public_url ? strlen(src->public_url) : 0};
    if (!in->http.query_len)
        return 1;
    parts[1] = (struct mac_part){"?", 1};
    parts[2] = (struct mac_part){in->http.query, in->http.query_len};
    return 3;
}

static int hmac_compute(const struct source_cfg *src, const struct sig_input *in,
                        const struct secret *key, const char *body, size_t body_len,
                        unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    struct mac_part parts[MAC_MAX_PARTS];
    const char *t = hmac_template(src), *lit = NULL;
    size_t n = 0, litlen = 0;

    while (*t) {
        if (n + 3 > MAC_MAX_PARTS)
            return HOOKD_ECRYPTO;
        switch (tmpl_next(&t, &lit, &litlen)) {
        case PIECE_LITERAL:
            parts[n++] = (struct mac_part){lit, litlen};
            break;
        case PIECE_BODY:
            parts[n++] = (struct mac_part){body, body_len};
            break;
        case PIECE_TIMESTAMP:
            parts[n++] = (struct mac_part){in->ts_text, in->ts_text_len};
            break;
        case PIECE_ID:
            parts[n++] = (struct mac_part){in->msg_id, in->msg_id_len};
            break;
        case PIECE_METHOD:
            parts[n++] = (struct mac_part){in->http.method ? in->http.method : "",
                                           in->http.method ? strlen(in->http.method) : 0};
            break;
        case PIECE_URL:
            n += hmac_url(src, in, parts + n);
            break;
        case PIECE_BAD:
        default:
            return HOOKD_ECRYPTO; /* refused at load time by hmac_check */
        }
    }
    return mac_compute(src->algo, key->key, key->key_len, parts, n, mac, mac_len);
}

const struct scheme scheme_hmac = {
    .name = "hmac",
    .default_id = "sha256",
    .default_type = NULL,
    .parse = hmac_parse,
    .compute = hmac_compute,
    .decode_key = NULL,
    .check = hmac_check,
};
