/*
 * test_schemes.c — the signature schemes' header parsers and MAC
 * computation, one scheme at a time (common/scheme*.c, common/mac.c):
 * which inputs parse, into which candidates, and which are missing or
 * malformed. End-to-end verification lives in test_verify.c.
 */
#include <string.h>

#include "../lib/test.h"
#include "../lib/testdata.h"
#include "codec.h"
#include "err.h"
#include "mac.h"
#include "scheme.h"

static const char HEX64[] = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

static int parse(const char *scheme, const struct headers *h, struct sig_input *in)
{
    struct test_source t;
    int rc;

    testsrc_init(&t, scheme);
    ASSERT_NOT_NULL(t.src.scheme);
    memset(in, 0, sizeof *in);
    rc = t.src.scheme->parse(&t.src, h, in);
    testsrc_free(&t);
    return rc;
}

/* Parses a single signature header value. */
static int parse1(const char *scheme, const char *name, const char *value, struct sig_input *in)
{
    struct headers h = {0};
    th_add(&h, name, value);
    return parse(scheme, &h, in);
}

TEST(scheme_registry_finds_every_scheme)
{
    static const char *const names[] = {"github", "stripe", "shopify", "slack", "standard", "hmac"};

    for (size_t i = 0; i < 6; i++) {
        const struct scheme *s = scheme_find(names[i]);
        ASSERT_NOT_NULL(s);
        ASSERT_STR_EQ(s->name, names[i]);
        ASSERT_NOT_NULL(s->parse);
        ASSERT_NOT_NULL(s->compute);
        ASSERT_NOT_NULL(s->default_id);
        ASSERT_STR_CONTAINS(scheme_names(), names[i]);
    }
    ASSERT_NULL(scheme_find("GitHub"));
    ASSERT_NULL(scheme_find(""));
    ASSERT_NULL(scheme_find(NULL));
}

TEST(scheme_mac_rfc4231_and_rfc2202)
{
    const unsigned char key[] = "Jefe";
    const char *msg = "what do ya want for nothing?";
    struct mac_part whole[] = {{msg, strlen(msg)}};
    struct mac_part split[] = {{msg, 4}, {NULL, 0}, {msg + 4, strlen(msg) - 4}};
    unsigned char mac[64], mac2[64];
    char hex[129];
    size_t n = 0, n2 = 0;

    ASSERT_INT_EQ(mac_compute(MAC_SHA256, key, 4, whole, 1, mac, &n), 0);
    codec_hex_encode(mac, n, hex);
    ASSERT_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ASSERT_INT_EQ(mac_compute(MAC_SHA256, key, 4, split, 3, mac2, &n2), 0);
    ASSERT(n2 == n && memcmp(mac, mac2, n) == 0);
    ASSERT_INT_EQ(mac_compute(MAC_SHA512, key, 4, whole, 1, mac, &n), 0);
    codec_hex_encode(mac, n, hex);
    ASSERT_STR_EQ(hex, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    ASSERT_INT_EQ(mac_compute(MAC_SHA1, key, 4, whole, 1, mac, &n), 0);
    codec_hex_encode(mac, n, hex);
    ASSERT_STR_EQ(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    /* Empty key and empty message are valid HMAC inputs. */
    ASSERT_INT_EQ(mac_compute(MAC_SHA256, NULL, 0, NULL, 0, mac, &n), 0);
    codec_hex_encode(mac, n, hex);
    ASSERT_STR_EQ(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(scheme_github_parses_sha256_header)
{
    struct sig_input in;
    char v[80];

    snprintf(v, sizeof v, "sha256=%s", HEX64);
    ASSERT_INT_EQ(parse1("github", "x-hub-signature-256", v, &in), 0);
    ASSERT_STR_EQ(in.header_name, "X-Hub-Signature-256");
    ASSERT_INT_EQ(in.nsigs, 1);
    ASSERT_INT_EQ(in.sigs[0].len, 32);
    ASSERT_INT_EQ(in.sigs[0].mac[0], 0x75);
    ASSERT(!in.has_timestamp);
    ASSERT_INT_EQ(in.raw_len, strlen(v));
}

TEST(scheme_github_legacy_sha1_only_is_missing)
{
    struct sig_input in;
    ASSERT_INT_EQ(
        parse1("github", "X-Hub-Signature", "sha1=aa6c15286b8b2f4835d42de396b001f31719a30e", &in),
        HOOKD_ESIG_MISSING);
    ASSERT_STR_EQ(in.header_name, "X-Hub-Signature-256");
    ASSERT_NULL(in.raw);
}

TEST(scheme_github_malformed)
{
    struct sig_input in;
    char v[100];

    snprintf(v, sizeof v, "sha1=%s", HEX64);
    ASSERT_INT_EQ(parse1("github", "X-Hub-Signature-256", v, &in), HOOKD_ESIG_MALFORMED);
    ASSERT_INT_EQ(parse1("github", "X-Hub-Signature-256", "sha256=abcd", &in),
                  HOOKD_ESIG_MALFORMED);
    ASSERT_INT_EQ(parse1("github", "X-Hub-Signature-256", HEX64, &in), HOOKD_ESIG_MALFORMED);
    snprintf(v, sizeof v, "sha256=%.63sZ", HEX64);
    ASSERT_INT_EQ(parse1("github", "X-Hub-Signature-256", v, &in), HOOKD_ESIG_MALFORMED);
    ASSERT_INT_EQ(parse1("github", "X-Hub-Signature-256", "   ", &in), HOOKD_ESIG_MISSING);
}

TEST(scheme_stripe_docs_example_header)
{
    /* The example header of Stripe's "Verify webhook signatures" page:
     * one v1 and a v0 (ignored). */
    struct sig_input in;
    ASSERT_INT_EQ(parse1("stripe", "Stripe-Signature",
                         "t=1492774577,"
                         "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,"
                         "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
                         &in),
                  0);
    ASSERT(in.has_timestamp);
    ASSERT_INT_EQ(in.timestamp, 1492774577);
    ASSERT_INT_EQ(in.ts_text_len, 10);
    ASSERT_INT_EQ(in.nsigs, 1);
    ASSERT_INT_EQ(in.sigs[0].mac[0], 0x52);
}

TEST(scheme_stripe_several_v1_and_spacing)
{
    struct sig_input in;
    char v[300];

    snprintf(v, sizeof v, "t=1700000000, v1=%s ,,v1=%s,v9=whatever", HEX64, HEX64);
    ASSERT_INT_EQ(parse1("stripe", "Stripe-Signature", v, &in), 0);
    ASSERT_INT_EQ(in.nsigs, 2);
    ASSERT_INT_EQ(in.timestamp, 1700000000);
}

TEST(scheme_stripe_malformed)
{
    static const char *const bad[] = {
        "v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", /* no t */
        "t=1700000000",                                                        /* no v1 */
        "t=1700000000,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
        "t=17x0,v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "t=,v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "t=1,t=2,v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "t=1700000000,v1=7571", /* truncated */
        "t=1700000000,v1",      /* no '=' */
        "garbage",
        "t=-5,v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "t=99999999999999,v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    };
    struct sig_input in;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse1("stripe", "Stripe-Signature", bad[i], &in);
        if (rc != HOOKD_ESIG_MALFORMED)
            test_fail(__FILE__, __LINE__, "\"%s\" gave %d", bad[i], rc);
        ASSERT_STR_EQ(in.header_name, "Stripe-Signature");
        ASSERT_NOT_NULL(in.raw);
    }
}

TEST(scheme_stripe_too_many_candidates_is_malformed)
{
    char v[1000];
    size_t off = (size_t)snprintf(v, sizeof v, "t=1");
    struct sig_input in;

    for (int i = 0; i < SCHEME_MAX_SIGS + 1; i++)
        off += (size_t)snprintf(v + off, sizeof v - off, ",v1=%s", HEX64);
    ASSERT_INT_EQ(parse1("stripe", "Stripe-Signature", v, &in), HOOKD_ESIG_MALFORMED);
}

TEST(scheme_shopify_base64)
{
    struct sig_input in;

    ASSERT_INT_EQ(parse1("shopify", "X-Shopify-Hmac-Sha256",
                         "dlc0XUsGndIMCu2oIVuG0vcxXCnL3b9mBJOM34o2DNY=", &in),
                  0);
    ASSERT_INT_EQ(in.nsigs, 1);
    ASSERT_INT_EQ(in.sigs[0].len, 32);
    ASSERT(!in.has_timestamp);
    ASSERT_INT_EQ(parse1("shopify", "X-Shopify-Hmac-Sha256",
                         "dlc0XUsGndIMCu2oIVuG0vcxXCnL3b9mBJOM34o2DNY", &in),
                  HOOKD_ESIG_MALFORMED); /* padding removed */
    ASSERT_INT_EQ(parse1("shopify", "X-Shopify-Hmac-Sha256", "Zm9vYmFy", &in),
                  HOOKD_ESIG_MALFORMED);
    ASSERT_INT_EQ(parse1("shopify", "X-Shopify-Hmac-Sha256", HEX64, &in), HOOKD_ESIG_MALFORMED);
    ASSERT_INT_EQ(parse1("shopify", "X-Other", "x", &in), HOOKD_ESIG_MISSING);
}

TEST(scheme_slack_parses_and_refuses)
{
    struct headers h = {0};
    struct sig_input in;
    char v[80];

    snprintf(v, sizeof v, "v0=%s", HEX64);
    th_add(&h, "X-Slack-Signature", v);
    ASSERT_INT_EQ(parse("slack", &h, &in), HOOKD_ESIG_MALFORMED); /* no timestamp header */
    th_add(&h, "X-Slack-Request-Timestamp", "1531420618");
    ASSERT_INT_EQ(parse("slack", &h, &in), 0);
    ASSERT_INT_EQ(in.timestamp, 1531420618);
    ASSERT_INT_EQ(in.nsigs, 1);
    h.items[1].value = "153142061x", h.items[1].value_len = 10;
    ASSERT_INT_EQ(parse("slack", &h, &in), HOOKD_ESIG_MALFORMED);
    h.items[1].value = "1531420618";
    h.items[0].value = HEX64, h.items[0].value_len = 64; /* no v0= */
    ASSERT_INT_EQ(parse("slack", &h, &in), HOOKD_ESIG_MALFORMED);
    ASSERT_INT_EQ(parse1("slack", "X-Slack-Request-Timestamp", "1", &in), HOOKD_ESIG_MISSING);
}

TEST(scheme_standard_signature_list)
{
    struct headers h = {0};
    struct sig_input in;

    th_add(&h, "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek");
    th_add(&h, "webhook-timestamp", "1614265330");
    th_add(&h, "webhook-signature",
           "v1a,aGVsbG8= v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMTI=  "
           "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,x");
    ASSERT_INT_EQ(parse("standard", &h, &in), 0);
    ASSERT_INT_EQ(in.nsigs, 2);
    ASSERT_INT_EQ(in.timestamp, 1614265330);
    ASSERT_INT_EQ(in.msg_id_len, strlen("msg_p5jXN8AQM9LWM0D4loKWxJek"));
    ASSERT(memcmp(in.msg_id, "msg_p5jXN8AQM9LWM0D4loKWxJek", in.msg_id_len) == 0);
}

TEST(scheme_standard_malformed)
{
    static const char *const bad[] = {
        "v1a,aGVsbG8=", /* only asymmetric */
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "v1,notbase64!",
        "v1,aGVsbG8=",
        ",x",
        "",
    };
    struct sig_input in;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct headers h = {0};
        int rc;
        th_add(&h, "webhook-id", "msg_1");
        th_add(&h, "webhook-timestamp", "1614265330");
        th_add(&h, "webhook-signature", bad[i]);
        rc = parse("standard", &h, &in);
        if (rc != (bad[i][0] ? HOOKD_ESIG_MALFORMED : HOOKD_ESIG_MISSING))
            test_fail(__FILE__, __LINE__, "\"%s\" gave %d", bad[i], rc);
    }
}

TEST(scheme_standard_needs_id_and_timestamp_of_same_family)
{
    const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    struct headers h = {0};
    struct sig_input in;

    th_add(&h, "svix-signature", sig);
    th_add(&h, "svix-timestamp", "1614265330");
    ASSERT_INT_EQ(parse("standard", &h, &in), HOOKD_ESIG_MALFORMED); /* no svix-id */
    th_add(&h, "webhook-id", "msg_1");
    ASSERT_INT_EQ(parse("standard", &h, &in), HOOKD_ESIG_MALFORMED); /* wrong family */
    th_add(&h, "svix-id", "msg_1");
    ASSERT_INT_EQ(parse("standard", &h, &in), 0);
    ASSERT_STR_EQ(in.header_name, "svix-signature");
}

TEST(scheme_standard_decode_key)
{
    const struct scheme *s = scheme_find("standard");
    unsigned char *key = NULL;
    size_t len = 0;

    ASSERT_NOT_NULL(s->decode_key);
    ASSERT_INT_EQ(s->decode_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 38, &key, &len), 0);
    ASSERT_INT_EQ(len, 24);
    free(key);
    ASSERT_INT_EQ(s->decode_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32, &key, &len), 0);
    ASSERT_INT_EQ(len, 24);
    free(key);
    ASSERT_INT_EQ(s->decode_key("whsec_not base64", 16, &key, &len), HOOKD_EPARSE);
    ASSERT_NULL(key);
    ASSERT_INT_EQ(s->decode_key("whsec_", 6, &key, &len), HOOKD_EPARSE);
    ASSERT_NULL(scheme_find("stripe")->decode_key); /* whsec_ text used as is */
}

static void hmac_src(struct test_source *t, enum mac_encoding enc, const char *prefix,
                     const char *ts, const char *tmpl)
{
    testsrc_init(t, "hmac");
    testsrc_set(&t->src.sig_header, "X-Signature");
    testsrc_set(&t->src.sig_prefix, prefix);
    testsrc_set(&t->src.ts_header, ts);
    testsrc_set(&t->src.signed_content, tmpl);
    t->src.enc = enc;
}

TEST(scheme_hmac_parse_follows_settings)
{
    struct test_source t;
    struct headers h = {0};
    struct sig_input in = {0};
    char v[80];

    hmac_src(&t, ENC_HEX, "sha256=", "X-Timestamp", NULL);
    snprintf(v, sizeof v, "sha256=%s", HEX64);
    th_add(&h, "X-Signature", v);
    ASSERT_INT_EQ(t.src.scheme->parse(&t.src, &h, &in), HOOKD_ESIG_MALFORMED); /* no timestamp */
    th_add(&h, "X-Timestamp", "1700000000");
    memset(&in, 0, sizeof in);
    ASSERT_INT_EQ(t.src.scheme->parse(&t.src, &h, &in), 0);
    ASSERT_INT_EQ(in.timestamp, 1700000000);
    h.items[0].value = HEX64, h.items[0].value_len = 64; /* prefix missing */
    memset(&in, 0, sizeof in);
    ASSERT_INT_EQ(t.src.scheme->parse(&t.src, &h, &in), HOOKD_ESIG_MALFORMED);
    testsrc_free(&t);
}

TEST(scheme_hmac_check_templates)
{
    static const struct {
        const char *tmpl, *ts;
        int ok;
    } cases[] = {
        {"{body}", NULL, 1},
        {"{timestamp}.{body}", "X-Ts", 1},
        {"v0:{timestamp}:{body}", "X-Ts", 1},
        {"{timestamp}.{body}", NULL, 0},
        {"{timestamp}", "X-Ts", 0},
        {"{bodyy}", NULL, 0},
        {"{body", NULL, 0},
        {"{id}.{body}", NULL, 0},
        {"a{body}b{body}c{body}d{body}e{body}f{body}g{body}h{body}i", NULL, 0},
    };
    char err[200];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_source t;
        int rc;
        hmac_src(&t, ENC_HEX, NULL, cases[i].ts, cases[i].tmpl);
        err[0] = '\0';
        rc = t.src.scheme->check(&t.src, err, sizeof err);
        if ((rc == 0) != cases[i].ok)
            test_fail(__FILE__, __LINE__, "template \"%s\": rc %d (%s)", cases[i].tmpl, rc, err);
        if (!cases[i].ok)
            ASSERT(err[0] != '\0');
        testsrc_free(&t);
    }
}

TEST(scheme_hmac_id_placeholder_uses_id_header)
{
    struct test_source t;
    struct headers h = {0};
    struct sig_input in = {0};
    char err[200];

    hmac_src(&t, ENC_HEX, NULL, NULL, "{id}.{body}");
    t.src.id.kind = FIELD_HEADER;
    t.src.id.arg = strdup("X-Delivery");
    ASSERT_INT_EQ(t.src.scheme->check(&t.src, err, sizeof err), 0);
    th_add(&h, "X-Signature", HEX64);
    ASSERT_INT_EQ(t.src.scheme->parse(&t.src, &h, &in), HOOKD_ESIG_MALFORMED);
    th_add(&h, "X-Delivery", "d-1");
    memset(&in, 0, sizeof in);
    ASSERT_INT_EQ(t.src.scheme->parse(&t.src, &h, &in), 0);
    ASSERT_INT_EQ(in.msg_id_len, 3);
    testsrc_free(&t);
}

TEST(scheme_parsers_survive_huge_values)
{
    static const char *const cases[][2] = {
        {"github", "X-Hub-Signature-256"},    {"stripe", "Stripe-Signature"},
        {"shopify", "X-Shopify-Hmac-Sha256"}, {"slack", "X-Slack-Signature"},
        {"standard", "webhook-signature"},
    };
    size_t n = 64 * 1024;
    char *big = malloc(n);
    struct sig_input in;

    ASSERT_NOT_NULL(big);
    for (size_t i = 0; i < n; i++)
        big[i] = "v1=,t 0a"[i % 8];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct headers h = {0};
        headers_add(&h, cases[i][1], strlen(cases[i][1]), big, n);
        th_add(&h, "X-Slack-Request-Timestamp", "1");
        th_add(&h, "webhook-id", "m");
        th_add(&h, "webhook-timestamp", "1");
        ASSERT_INT_EQ(parse(cases[i][0], &h, &in), HOOKD_ESIG_MALFORMED);
        ASSERT_INT_EQ(in.raw_len, n);
    }
    free(big);
}

TEST(scheme_unusable_candidate_is_skipped_not_fatal)
{
    struct sig_input in;
    char v[400];

    /* A garbled v1 next to a good one: the good one still counts. */
    snprintf(v, sizeof v, "t=1,v1=zz,v1=%s", HEX64);
    ASSERT_INT_EQ(parse1("stripe", "Stripe-Signature", v, &in), 0);
    ASSERT_INT_EQ(in.nsigs, 1);
    ASSERT_INT_EQ(parse1("stripe", "Stripe-Signature", "t=1,v1=zz", &in), HOOKD_ESIG_MALFORMED);
}
