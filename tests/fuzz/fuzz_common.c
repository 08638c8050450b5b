/* fuzz_common.c — see fuzz_common.h. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "handshake.h"
#include "verify.h"

/* One source per scheme, two keys each where rotation matters. The keys
 * match those the seed corpus was signed with (tests/fuzz/README.md). */
static const char fuzz_conf[] =
    "[receiver]\n"
    "listen = 127.0.0.1:1\n"
    "[redis]\n"
    "url = redis://127.0.0.1:1/0\n"
    "[source github]\nscheme = github\nsecret.v1 = fuzz-github-1\nsecret.v2 = fuzz-github-2\n"
    "[source stripe]\nscheme = stripe\nsecret.v1 = whsec_fuzz_stripe\n"
    "[source shopify]\nscheme = shopify\nsecret.v1 = fuzz-shopify\n"
    "[source slack]\nscheme = slack\nsecret.v1 = fuzz-slack\n"
    "[source standard]\nscheme = standard\nsecret.v1 = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
    "[source hmac]\nscheme = hmac\nsignature_header = X-Signature\nalgorithm = sha256\n"
    "encoding = hex\nsignature_prefix = sha256=\ntimestamp_header = X-Timestamp\n"
    "id = header:X-Id\nsigned_content = {timestamp}.{id}.{body}\nsecret.v1 = fuzz-hmac\n"
    "[source hmac64]\nscheme = hmac\nsignature_header = X-Sig\nalgorithm = sha512\n"
    "encoding = base64\nsecret.v1 = fuzz-hmac64\n"
    "[source discord]\nscheme = discord\npublic_key.v1 = "
    "6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0\n"
    "[source sendgrid]\nscheme = sendgrid\npublic_key.v1 = "
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+"
    "u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==\n"
    "[source standard_v1a]\nscheme = standard\nsecret.v1 = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
    "public_key.v2 = whpk_8mngFYXcrsMbjOQbiKkF40cKmx/Vl38xDMdOIGRMFLs=\n"
    "[source twilio]\nscheme = twilio\npublic_url = https://mycompany.com/myapp.php\nsecret.v1 = "
    "12345\n"
    "[source paddle]\nscheme = paddle\nsecret.v1 = pdl_ntfset_01h8_secret\n"
    "[source zoom]\nscheme = zoom\nsecret.v1 = zoom-secret-token\n"
    "[source meta]\nscheme = meta\nverify_token = fuzz-verify\nsecret.v1 = meta-app-secret\n"
    "[source twitch]\nscheme = twitch\nsecret.v1 = twitch-eventsub-secret\n"
    "[source token]\nscheme = token\nsecret.v1 = gitlab-shared-token\n"
    "[route default]\nhandler = exec:/bin/true\n";

static struct config *fuzz_cfg; /* built once, kept for the process */

const struct source_cfg *fuzz_source(const char *name)
{
    char err[512];
    const struct source_cfg *src;

    if (!fuzz_cfg &&
        !(fuzz_cfg = config_parse("fuzz.conf", fuzz_conf, strlen(fuzz_conf), err, sizeof err))) {
        fprintf(stderr, "fuzz: config: %s\n", err);
        abort();
    }
    if (!(src = config_source(fuzz_cfg, name, strlen(name))))
        abort();
    return src;
}

void fuzz_split(const uint8_t *data, size_t size, struct headers *h, const char **body,
                size_t *body_len)
{
    const char *p = (const char *)data, *end = p + size;

    h->n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) { /* the blank line: the body follows */
            p = nl ? nl + 1 : end;
            break;
        }
        const char *colon = memchr(p, ':', len);
        if (h->n < HEADERS_MAX_COUNT) {
            if (colon) {
                const char *v = colon + 1, *vend = p + len;
                while (v < vend && (*v == ' ' || *v == '\t'))
                    v++;
                headers_add(h, p, (size_t)(colon - p), v, (size_t)(vend - v));
            } else {
                headers_add(h, p, len, "", 0);
            }
        }
        p = nl ? nl + 1 : end;
    }
    *body = p;
    *body_len = (size_t)(end - p);
}

void fuzz_assert_utf8(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;

    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80             ? 1
                     : (s[i] & 0xe0) == 0xc0 ? 2
                     : (s[i] & 0xf0) == 0xe0 ? 3
                     : (s[i] & 0xf8) == 0xf0 ? 4
                                             : 0;
        if (len == 0 || i + len > n)
            abort();
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                abort();
        i += len;
    }
}

/* What verify.h promises about any result, whatever the input. */
static void check_result(const struct verify_result *vr, enum verify_status st)
{
    int http = verify_http_status(st);

    if (vr->status != st || !vr->reason || (http != 200 && http != 400 && http != 401))
        abort();
    if ((st == VERIFY_OK) != (vr->matched_version != NULL))
        abort();
    if (memchr(vr->received, '\0', sizeof vr->received) == NULL)
        abort();
    for (const char *c = vr->received; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            abort();
    if (vr->ntried > CONFIG_MAX_KEYS || vr->input.nsigs > SCHEME_MAX_SIGS)
        abort();
    for (size_t i = 0; i < vr->ntried; i++) /* never a full computed MAC */
        if (strnlen(vr->tried[i].prefix, sizeof vr->tried[i].prefix) > VERIFY_PREFIX_HEX)
            abort();
}

/* A verified request may be a handshake: the answer is well-formed. */
static void check_handshake(const struct source_cfg *src, const struct verify_result *vr,
                            const struct headers *h, const char *body, size_t body_len)
{
    struct handshake_answer ans = {0};
    struct extract_ctx x;
    int rc;

    if (vr->status != VERIFY_OK || !src->scheme->handshake)
        return;
    extract_init(&x, src->name, h, body, body_len);
    rc = src->scheme->handshake(src, vr->matched_key, &x, &ans);
    if (rc == 1 && (!ans.body || !ans.content_type || ans.status != 200))
        abort();
    handshake_answer_free(&ans);
    extract_release(&x);
}

int fuzz_verify_http(const char *name, const struct verify_http *http, const uint8_t *data,
                     size_t size)
{
    const struct source_cfg *src = fuzz_source(name);
    struct headers *h = malloc(sizeof *h);
    struct verify_result vr;
    const char *body;
    size_t body_len;

    if (!h)
        return 0;
    fuzz_split(data, size, h, &body, &body_len);
    check_result(&vr, verify_request_http(src, h, http, body, body_len, FUZZ_NOW_S, true, &vr));
    check_result(&vr, verify_request_http(src, h, http, body, body_len, FUZZ_NOW_S, false, &vr));
    check_handshake(src, &vr, h, body, body_len);
    free(h);
    return 0;
}

int fuzz_verify(const char *name, const uint8_t *data, size_t size)
{
    return fuzz_verify_http(name, NULL, data, size);
}
