/*
 * test_schemes_v2.c — the schemes of SPEC v2 one by one: a good request, a
 * tampered body, a rotated key (the second version matches, both are
 * tried and reported), the timestamp window in both directions, and the
 * missing header; then each parser's hostile input (bad hex, base64 and
 * DER, wrong lengths, Paddle's extra and repeated parts, Twilio forms with
 * repeated and percent-encoded names, RFC 3339 offsets and fractions) and
 * the handshake hooks. Requests are signed by tests/lib/testsign_v2.c,
 * which shares no code with common/verify/.
 */
#include <string.h>


#include "../lib/test.h"
#include "../lib/testdata.h"
#include "../lib/testsign.h"
#include "signing.h"
#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "scheme.h"
#include "scheme_impl.h"
#include "verify.h"

#define TS 1700000000LL
#define BODY "{\"id\":\"1\",\"type\":2,\"event\":\"x\"}"

static const char *const V2[] = {"discord", "sendgrid", "standard", "paddle", "zoom",
                                 "meta",    "twitch",   "token",    "twilio"};
#define NV2 (sizeof V2 / sizeof V2[0])

static bool asymmetric(const char *scheme)
{
    return strcmp(scheme, "discord") == 0 || strcmp(scheme, "sendgrid") == 0 ||
           strcmp(scheme, "standard") == 0;
}

static bool timestamped(const char *scheme)
{
    return strcmp(scheme, "meta") != 0 && strcmp(scheme, "token") != 0 &&
           strcmp(scheme, "twilio") != 0;
}

/* Key material #which (0 or 1) for a scheme: a fresh key pair or a secret. */
struct material {
    struct test_keypair kp[2];
    const char *secret[2];
};

static void material_init(struct material *m, const char *scheme)
{
    memset(m, 0, sizeof *m);
    m->secret[0] = "first-secret-of-the-source";
    m->secret[1] = "second-secret-of-the-source";
    if (asymmetric(scheme)) {
        ASSERT_INT_EQ(test_keypair_new(&m->kp[0], scheme), 0);
        ASSERT_INT_EQ(test_keypair_new(&m->kp[1], scheme), 0);
    }
}

static void material_free(struct material *m)
{
    test_keypair_free(&m->kp[0]);
    test_keypair_free(&m->kp[1]);
}

static void add_key(struct test_source *t, const char *scheme, struct material *m, int which,
                    const char *version)
{
    if (asymmetric(scheme))
        ASSERT_INT_EQ(testsrc_add_public_key(t, version, m->kp[which].public_text), 0);
    else
        ASSERT_INT_EQ(testsrc_add_key(t, version, m->secret[which]), 0);
}

static void src_init(struct test_source *t, const char *scheme)
{
    testsrc_init(t, scheme);
    ASSERT_NOT_NULL(t->src.scheme);
    if (strcmp(scheme, "twilio") == 0)
        testsrc_set(&t->src.public_url, "https://hooks.example.com/hooks/twilio");
}

/* Signs BODY with key #which at ts; verifies with keys listed in `keys`
 * (versions v1, v2 in order) at now. */
static enum verify_status run(const char *scheme, struct material *m, int which, long long ts,
                              const char *body, const int *keys, size_t nkeys, int64_t now,
                              struct verify_result *r)
{
    struct test_source t;
    struct test_req req;
    struct verify_http http = {"POST", NULL, 0};
    enum verify_status st;

    src_init(&t, scheme);
    for (size_t i = 0; i < nkeys; i++)
        add_key(&t, scheme, m, keys[i], i ? "v2" : "v1");
    ASSERT_INT_EQ(
        testsign_v2(&req, scheme, &t.src, m->secret[which], &m->kp[which], ts, BODY, strlen(BODY)),
        0);
    http.query = req.query;
    http.query_len = strlen(req.query);
    st = verify_request_http(&t.src, &req.h, &http, body, strlen(body), now, true, r);
    if (r->matched_version)
        r->matched_version = strcmp(r->matched_version, "v1") == 0 ? "v1" : "v2";
    for (size_t i = 0; i < r->ntried; i++)
        r->tried[i].version = NULL;
    r->matched_key = NULL;
    testsrc_free(&t);
    return st;
}

TEST(scheme_v2_good_bad_rotated_skew)
{
    static const int one[] = {0}, rotated[] = {1, 0}, other[] = {1};

    for (size_t i = 0; i < NV2; i++) {
        const char *s = V2[i];
        struct material m;
        struct verify_result r;
        int64_t tol = strcmp(s, "twitch") == 0 ? 600 : 300;

        material_init(&m, s);
        if (run(s, &m, 0, TS, BODY, one, 1, TS, &r) != VERIFY_OK)
            test_fail(__FILE__, __LINE__, "%s: good request: %s", s, r.reason);
        ASSERT_STR_EQ(r.matched_version, "v1");
        if (strcmp(s, "token") != 0 &&
            run(s, &m, 0, TS, "{\"id\":\"1\",\"type\":2,\"event\":\"y\"}", one, 1, TS, &r) !=
                VERIFY_MISMATCH)
            test_fail(__FILE__, __LINE__, "%s: tampered body: %s", s, r.reason);
        if (run(s, &m, 0, TS, BODY, rotated, 2, TS, &r) != VERIFY_OK)
            test_fail(__FILE__, __LINE__, "%s: rotated: %s", s, r.reason);
        ASSERT_STR_EQ(r.matched_version, "v2");
        ASSERT_INT_EQ(r.ntried, 2);
        ASSERT_INT_EQ(strlen(r.tried[0].prefix), 8);
        if (run(s, &m, 0, TS, BODY, other, 1, TS, &r) != VERIFY_MISMATCH)
            test_fail(__FILE__, __LINE__, "%s: retired key: %s", s, r.reason);
        ASSERT_STR_EQ(r.reason, "no_match");
        ASSERT_INT_EQ(r.ntried, 1);
        if (timestamped(s)) {
            ASSERT_INT_EQ(run(s, &m, 0, TS, BODY, one, 1, TS + tol, &r), VERIFY_OK);
            ASSERT_INT_EQ(run(s, &m, 0, TS, BODY, one, 1, TS + tol + 1, &r), VERIFY_STALE);
            ASSERT_STR_EQ(r.reason, "timestamp_too_old");
            ASSERT_INT_EQ(r.skew_s, tol + 1);
            ASSERT_INT_EQ(run(s, &m, 0, TS, BODY, one, 1, TS - tol - 1, &r), VERIFY_STALE);
            ASSERT_STR_EQ(r.reason, "timestamp_in_future");
        }
        material_free(&m);
    }
}

TEST(scheme_v2_missing_header_is_400)
{
    for (size_t i = 0; i < NV2; i++) {
        struct test_source t;
        struct headers h = {0};
        struct verify_result r;

        src_init(&t, V2[i]);
        ASSERT_INT_EQ(verify_request(&t.src, &h, "{}", 2, TS, true, &r), VERIFY_MISSING);
        ASSERT_NOT_NULL(r.header_name);
        testsrc_free(&t);
    }
}

/* Verifies headers given as "Name: value" pairs against a source with one
 * key (pk: a public key text, else a secret). */
static enum verify_status check(const char *scheme, const char *key, bool pk, const char *const *hv,
                                size_t n, const char *query, struct verify_result *r)
{
    struct test_source t;
    struct headers h = {0};
    struct verify_http http = {"POST", query, query ? strlen(query) : 0};
    enum verify_status st;

    src_init(&t, scheme);
    if (pk)
        ASSERT_INT_EQ(testsrc_add_public_key(&t, "v1", key), 0);
    else
        ASSERT_INT_EQ(testsrc_add_key(&t, "v1", key), 0);
    for (size_t i = 0; i + 1 < n; i += 2)
        th_add(&h, hv[i], hv[i + 1]);
    st = verify_request_http(&t.src, &h, &http, BODY, strlen(BODY), TS, true, r);
    testsrc_free(&t);
    return st;
}

#define CHECK(scheme, key, pk, query, ...)                                                         \
    check(scheme, key, pk, (const char *const[]){__VA_ARGS__},                                     \
          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), query, &r)

TEST(scheme_v2_hostile_signature_headers)
{
    struct test_keypair ed, ec;
    struct verify_result r;
    char hex128[129];

    ASSERT_INT_EQ(test_keypair_new(&ed, "discord"), 0);
    ASSERT_INT_EQ(test_keypair_new(&ec, "sendgrid"), 0);
    memset(hex128, 'a', 128), hex128[128] = '\0';
    /* discord: not hex, short, no timestamp, a timestamp that is not digits */
    ASSERT_INT_EQ(CHECK("discord", ed.public_text, true, NULL, "X-Signature-Ed25519", "zz",
                        "X-Signature-Timestamp", "1700000000"),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("discord", ed.public_text, true, NULL, "X-Signature-Ed25519", "abcd",
                        "X-Signature-Timestamp", "1700000000"),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("discord", ed.public_text, true, NULL, "X-Signature-Ed25519", hex128),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("discord", ed.public_text, true, NULL, "X-Signature-Ed25519", hex128,
                        "X-Signature-Timestamp", "17e8"),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("discord", ed.public_text, true, NULL, "X-Signature-Ed25519", hex128,
                        "X-Signature-Timestamp", "1700000000"),
                  VERIFY_MISMATCH);
    ASSERT_INT_EQ(r.ntried, 1); /* the key was tried (its version died with the source) */
    /* sendgrid: not base64, base64 but not DER, DER with trailing bytes */
    ASSERT_INT_EQ(CHECK("sendgrid", ec.public_text, true, NULL,
                        "X-Twilio-Email-Event-Webhook-Signature", "!!!",
                        "X-Twilio-Email-Event-Webhook-Timestamp", "1700000000"),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("sendgrid", ec.public_text, true, NULL,
                        "X-Twilio-Email-Event-Webhook-Signature", "AAAAAAAAAAAAAAAA",
                        "X-Twilio-Email-Event-Webhook-Timestamp", "1700000000"),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("sendgrid", ec.public_text, true, NULL,
                        "X-Twilio-Email-Event-Webhook-Signature", "MAYCAQECAQEA",
                        "X-Twilio-Email-Event-Webhook-Timestamp", "1700000000"),
                  VERIFY_MALFORMED);
    /* a well-formed DER signature of the wrong key: 401 */
    ASSERT_INT_EQ(CHECK("sendgrid", ec.public_text, true, NULL,
                        "X-Twilio-Email-Event-Webhook-Signature",
                        "MAYCAQECAQE=", "X-Twilio-Email-Event-Webhook-Timestamp", "1700000000"),
                  VERIFY_MISMATCH);
    /* standard v1a of the wrong length is skipped; nothing usable left */
    ASSERT_INT_EQ(CHECK("standard",
                        "whpk_"
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                        true, NULL, "webhook-id", "m", "webhook-timestamp", "1700000000",
                        "webhook-signature", "v1a,AAAA v1a,!!"),
                  VERIFY_MALFORMED);
    test_keypair_free(&ed);
    test_keypair_free(&ec);
}

TEST(scheme_v2_paddle_parts)
{
    struct verify_result r;
    char hdr[400], ok[SIG_BUF_SIZE];
    const char *msg = "1700000000:" BODY;

    ASSERT_INT_EQ(hmac_signature("sha256", "s", 1, msg, strlen(msg), 0, NULL, ok), 0);
    /* extra unknown parts and spaces are ignored; a bad h1 next to a good one is skipped */
    snprintf(hdr, sizeof hdr, " ts=1700000000 ; x=1;h1=nothex; h1=%s ;", ok);
    ASSERT_INT_EQ(CHECK("paddle", "s", false, NULL, "Paddle-Signature", hdr), VERIFY_OK);
    snprintf(hdr, sizeof hdr, "ts=1700000000;ts=1700000000;h1=%s", ok);
    ASSERT_INT_EQ(CHECK("paddle", "s", false, NULL, "Paddle-Signature", hdr), VERIFY_MALFORMED);
    snprintf(hdr, sizeof hdr, "h1=%s", ok);
    ASSERT_INT_EQ(CHECK("paddle", "s", false, NULL, "Paddle-Signature", hdr), VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("paddle", "s", false, NULL, "Paddle-Signature", "ts=1700000000;h1"),
                  VERIFY_MALFORMED);
    ASSERT_INT_EQ(CHECK("paddle", "s", false, NULL, "Paddle-Signature", "ts=1700000000;h1=00"),
                  VERIFY_MALFORMED);
}

/* Twilio's canonical string, computed here by hand. */
static void twilio_sig(const char *canonical, char out[SIG_BUF_SIZE])
{
    ASSERT_INT_EQ(hmac_signature("sha1", "tok", 3, canonical, strlen(canonical), 1, NULL, out), 0);
}

TEST(scheme_v2_twilio_forms)
{
    static const char form[] = "b=2&a%5Bx%5D=%7E+z&b=1&a=&c";
    struct test_source t;
    struct headers h = {0};
    struct verify_result r;
    struct verify_http http = {"POST", "q=1", 3};
    char sig[SIG_BUF_SIZE];

    /* sorted by decoded name, then value; repeated names kept; a bare name is "" */
    twilio_sig("https://x.example/t?q=1aa[x]~ zb1b2c", sig);
    src_init(&t, "twilio");
    testsrc_set(&t.src.public_url, "https://x.example/t");
    ASSERT_INT_EQ(testsrc_add_key(&t, "v1", "tok"), 0);
    th_add(&h, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    th_add(&h, "X-Twilio-Signature", sig);
    ASSERT_INT_EQ(verify_request_http(&t.src, &h, &http, form, strlen(form), TS, true, &r),
                  VERIFY_OK);
    /* a malformed escape: 400, not a guess */
    ASSERT_INT_EQ(verify_request_http(&t.src, &h, &http, "a=%G1", 5, TS, true, &r),
                  VERIFY_MALFORMED);
    ASSERT_STR_EQ(r.reason, "malformed_body");
    /* a JSON body needs bodySHA256 in the query */
    h.n = 0;
    th_add(&h, "Content-Type", "application/json");
    th_add(&h, "X-Twilio-Signature", sig);
    ASSERT_INT_EQ(verify_request_http(&t.src, &h, &http, "{}", 2, TS, true, &r), VERIFY_MALFORMED);
    testsrc_free(&t);
}

TEST(scheme_v2_rfc3339)
{
    static const struct {
        const char *text;
        long long want; /* -1: malformed */
    } cases[] = {
        {"2023-11-14T22:13:20Z", 1700000000},
        {"2023-11-14T22:13:20.5Z", 1700000000},
        {"2023-11-14T22:13:20.123456789z", 1700000000},
        {"2023-11-14t23:13:20+01:00", 1700000000},
        {"2023-11-14T20:43:20-01:30", 1700000000},
        {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T00:00:00Z", 1709164800},
        {"2023-11-14T22:13:20", -1},
        {"2023-11-14T22:13:20.Z", -1},
        {"2023-11-14T22:13:20.1234567890Z", -1},
        {"2023-13-14T22:13:20Z", -1},
        {"2023-11-14T22:13:20+0100", -1},
        {"2023-11-14 22:13:20Z", -1},
        {"1700000000", -1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 0;
        int rc = scheme_rfc3339(cases[i].text, strlen(cases[i].text), &got);
        if (cases[i].want < 0)
            ASSERT_INT_EQ(rc, HOOKD_ESIG_MALFORMED);
        else if (rc != 0 || got != cases[i].want)
            test_fail(__FILE__, __LINE__, "%s: rc %d, got %lld", cases[i].text, rc, (long long)got);
    }
}

static int meta_get(const char *token, const char *query, struct handshake_answer *a)
{
    struct test_source t;
    int rc;

    src_init(&t, "meta");
    testsrc_set(&t.src.verify_token, token);
    memset(a, 0, sizeof *a);
    rc = t.src.scheme->handshake_get(&t.src, query, strlen(query), a);
    testsrc_free(&t);
    return rc;
}

TEST(scheme_v2_meta_get_handshake)
{
    struct handshake_answer a;

    ASSERT_INT_EQ(
        meta_get("tok", "hub.mode=subscribe&hub.verify_token=tok&hub.challenge=1158201444", &a), 0);
    ASSERT_INT_EQ(a.status, 200);
    ASSERT_STR_EQ(a.body, "1158201444");
    ASSERT_STR_CONTAINS(a.content_type, "text/plain");
    handshake_answer_free(&a);
    /* percent-encoded token */
    meta_get("a b&c", "hub.challenge=x&hub.verify_token=a+b%26c&hub.mode=subscribe", &a);
    ASSERT_INT_EQ(a.status, 200);
    handshake_answer_free(&a);
    meta_get("tok", "hub.mode=subscribe&hub.verify_token=tok2&hub.challenge=1", &a);
    ASSERT_INT_EQ(a.status, 403);
    handshake_answer_free(&a);
    meta_get("tok", "hub.mode=unsubscribe&hub.verify_token=tok&hub.challenge=1", &a);
    ASSERT_INT_EQ(a.status, 403);
    handshake_answer_free(&a);
    meta_get(NULL, "hub.mode=subscribe&hub.verify_token=&hub.challenge=1", &a);
    ASSERT_INT_EQ(a.status, 403);
    handshake_answer_free(&a);
    meta_get("tok", "hub.mode=subscribe&hub.verify_token=tok&hub.challenge=%3Cscript%3E%20", &a);
    ASSERT_INT_EQ(a.status, 400);
    handshake_answer_free(&a);
    meta_get("tok", "hub.mode=subscribe&hub.verify_token=tok", &a);
    ASSERT_INT_EQ(a.status, 400);
    handshake_answer_free(&a);
}

TEST(scheme_v2_handshakes_only_for_their_requests)
{
    static const char *const schemes[] = {"slack", "discord", "zoom", "twitch"};
    static const char body[] = "{\"type\":2,\"event\":\"meeting.started\",\"challenge\":\"c\"}";
    struct handshake_answer a = {0};
    struct test_source t;
    struct headers h = {0};
    struct extract_ctx x;

    for (size_t i = 0; i < 4; i++) {
        src_init(&t, schemes[i]);
        ASSERT_INT_EQ(testsrc_add_key(&t, "v1", "k"), 0);
        extract_init(&x, "s", &h, body, strlen(body));
        ASSERT_INT_EQ(t.src.scheme->handshake(&t.src, &t.src.keys.keys[0], &x, &a), 0);
        extract_release(&x);
        testsrc_free(&t);
    }
    /* slack's url_verification */
    src_init(&t, "slack");
    extract_init(&x, "s", &h, "{\"type\":\"url_verification\",\"challenge\":\"3eZbrw\"}", 48);
    ASSERT_INT_EQ(t.src.scheme->handshake(&t.src, NULL, &x, &a), 1);
    ASSERT_STR_EQ(a.body, "{\"challenge\":\"3eZbrw\"}");
    handshake_answer_free(&a);
    extract_release(&x);
    testsrc_free(&t);
    /* schemes without a GET handshake say so: the receiver answers 405 */
    for (size_t i = 0; i < NV2; i++)
        if (strcmp(V2[i], "meta") != 0)
            ASSERT_NULL(scheme_find(V2[i])->handshake_get);
}

TEST(scheme_v2_form_field_spec)
{
    struct field_spec spec;
    struct headers h = {0};
    struct extract_ctx x;
    char out[EXTRACT_MAX_LEN + 1], err[200];
    size_t n;
    static const char body[] = "CallSid=CA1&MessageSid=SM%2F1+x&Empty=";

    ASSERT_INT_EQ(extract_parse_spec("form:MessageSid", &spec, err, sizeof err), 0);
    th_add(&h, "Content-Type", "application/x-www-form-urlencoded");
    extract_init(&x, "s", &h, body, strlen(body));
    ASSERT_INT_EQ(extract_field(&x, &spec, NULL, out, sizeof out, &n), 0);
    ASSERT_STR_EQ(out, "SM/1 x");
    ASSERT_INT_EQ(extract_field(&x, NULL, "form:Empty|form:CallSid", out, sizeof out, &n), 0);
    ASSERT_STR_EQ(out, "CA1");
    ASSERT_INT_EQ(extract_field(&x, NULL, "form:Nope", out, sizeof out, &n), HOOKD_ENOT_FOUND);
    extract_release(&x);
    extract_init(&x, "s", &h, "a=%zz", 5);
    ASSERT_INT_EQ(extract_field(&x, NULL, "form:a", out, sizeof out, &n), HOOKD_EPARSE);
    extract_release(&x);
    /* not a form body: absent, so alternatives go on */
    h.n = 0;
    extract_init(&x, "s", &h, body, strlen(body));
    ASSERT_INT_EQ(extract_field(&x, &spec, NULL, out, sizeof out, &n), HOOKD_ENOT_FOUND);
    extract_release(&x);
    extract_spec_free(&spec);
    ASSERT_INT_EQ(extract_parse_spec("form:", &spec, err, sizeof err), HOOKD_ECONFIG);
}
