/*
 * scheme_github.c — GitHub: `X-Hub-Signature-256: sha256=<64 hex>`, the
 * HMAC-SHA256 of the raw body under the webhook secret (used as is).
 *
 * The legacy `X-Hub-Signature: sha1=<hex>` is deliberately not accepted:
 * GitHub sends it only for compatibility, alongside the SHA-256 header, and
 * HMAC-SHA1 is the weaker construction. A request that carries only the SHA-1
 * header is answered as "signature header missing" (400), so an operator
 * sees at once that the sender (an old GitHub Enterprise Server, or a proxy
 * that drops headers) does not send the header hookd checks. Sources that
 * must accept SHA-1 can use scheme = hmac with algorithm = sha1.
 *
 * No timestamp: GitHub signs only the body; X-GitHub-Delivery (a GUID) is
 * the id and the dedupe store is the replay defence.
 */
#include <string.h>

#include "err.h"
#include "mac.h"
#include "scheme_impl.h"

#define GITHUB_SIG_HEADER "X-Hub-Signature-256"
#define GITHUB_PREFIX     "sha256="

int scheme_github_parse(const struct source_cfg *src, const struct headers *h,
                        struct sig_input *out)
{
    const size_t plen = sizeof GITHUB_PREFIX - 1;
    const char *v;
    size_t n;

    if (!scheme_header(h, GITHUB_SIG_HEADER, &v, &n)) {
        scheme_set_raw(out, GITHUB_SIG_HEADER, NULL, 0);
        return HOOKD_ESIG_MISSING;
    }
    scheme_set_raw(out, GITHUB_SIG_HEADER, v, n);
    if (n < plen || memcmp(v, GITHUB_PREFIX, plen) != 0)
        return HOOKD_ESIG_MALFORMED;
    return scheme_add_hex(out, v + plen, n - plen, 32);
}

int scheme_github_compute(const struct source_cfg *src, const struct sig_input *in,
                          const struct secret *key, const char *body, size_t body_len,
                          unsigned char mac[SCHEME_MAX_MAC], size_t *mac_len)
{
    const struct mac_part parts[] = {{body, body_len}};

    return mac_compute(MAC_SHA256, key->key, key->key_len, parts, 1, mac, mac_len);
}

const struct scheme scheme_github = {
    .name = "github",
    .default_id = "header:X-GitHub-Delivery",
    .default_type = "header:X-GitHub-Event",
    .parse = scheme_github_parse,
    .compute = scheme_github_compute,
    .decode_key = NULL,
};
