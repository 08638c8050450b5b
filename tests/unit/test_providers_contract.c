/*
 * test_providers_contract.c — holds every scheme to the compatibility
 * matrix of docs/providers.md: signature header, timestamp handling, secret
 * format, default id and type sources, and the provider payload variants
 * the matrix describes. A change to any of these must fail here loudly and
 * be made in docs/providers.md in the same commit.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../lib/test.h"
#include "../lib/testdata.h"
#include "../lib/testsign.h"
#include "err.h"
#include "extract.h"
#include "scheme.h"
#include "verify.h"

#define TS 1700000000LL

/* One row of the matrix in docs/providers.md. */
struct row {
    const char *scheme;
    const char *sig_header; /* as reported in diagnostics */
    bool timestamped;       /* held to `tolerance`, both directions */
    bool key_decoded;       /* secret text is decoded (whsec_ + base64) */
    const char *default_id;
    const char *default_type; /* NULL: none */
    const char *secret;
};

static const struct row matrix[] = {
    {"github", "X-Hub-Signature-256", false, false, "header:X-GitHub-Delivery",
     "header:X-GitHub-Event", "gh-secret"},
    {"stripe", "Stripe-Signature", true, false, "json:/id", "json:/type", "whsec_stripe"},
    {"shopify", "X-Shopify-Hmac-Sha256", false, false,
     "header:X-Shopify-Event-Id|header:X-Shopify-Webhook-Id", "header:X-Shopify-Topic", "shpss_x"},
    {"slack", "X-Slack-Signature", true, false, "json:/event_id", "json:/event/type",
     "slack-secret"},
    {"standard", "webhook-signature", true, true, "header:webhook-id|header:svix-id", "json:/type",
     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    {"hmac", "X-Signature", true, false, "sha256", NULL, "generic"},
    /* SPEC v2; good/bad/rotated/skew of each in test_schemes_v2.c */
    {"discord", "X-Signature-Ed25519", true, false, "json:/id", "json:/type",
     "6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0"},
    {"sendgrid", "X-Twilio-Email-Event-Webhook-Signature", true, false, "sha256", NULL,
     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+"
     "u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhH"
     "PTnlvFYPAZFceEu/1FwCM/QmGUhA=="},
    {"twilio", "X-Twilio-Signature", false, false,
     "header:I-Twilio-Idempotency-Token|form:MessageSid|form:CallSid|sha256", NULL, "auth-token"},
    {"paddle", "Paddle-Signature", true, false, "json:/event_id", "json:/event_type", "pdl"},
    {"zoom", "x-zm-signature", true, false, "sha256", "json:/event", "zoom"},
    {"meta", "X-Hub-Signature-256", false, false, "sha256", "json:/object", "meta"},
    {"twitch", "Twitch-Eventsub-Message-Signature", true, false,
     "header:Twitch-Eventsub-Message-Id", "json:/subscription/type", "twitch"},
    {"token", "X-Gitlab-Token", false, false, "header:X-Gitlab-Event-UUID|sha256",
     "header:X-Gitlab-Event", "gitlab-token"},
};
#define NROWS_V1 6 /* rows signed by testsign.c; the rest by testsign_v2.c */
#define NROWS (sizeof matrix / sizeof matrix[0])

static void src_for(struct test_source *t, const struct row *r, int64_t tolerance_s)
{
    testsrc_init(t, r->scheme);
    ASSERT_NOT_NULL(t->src.scheme);
    t->src.tolerance_s = tolerance_s;
    if (strcmp(r->scheme, "hmac") == 0) {
        testsrc_set(&t->src.sig_header, "X-Signature");
        testsrc_set(&t->src.ts_header, "X-Timestamp");
    }
    if (strcmp(r->scheme, "twilio") == 0)
        testsrc_set(&t->src.public_url, "https://hooks.example.com/hooks/twilio");
    if (t->src.scheme->keys == SCHEME_KEY_PUBLIC)
        ASSERT_INT_EQ(testsrc_add_public_key(t, "v1", r->secret), 0);
    else
        ASSERT_INT_EQ(testsrc_add_key(t, "v1", r->secret), 0);
}

TEST(provider_contract_matrix_covers_registry)
{
    char names[256];
    size_t n = 0;

    snprintf(names, sizeof names, "%s", scheme_names());
    for (char *p = names, *comma; p && *p; p = comma ? comma + 2 : NULL, n++) {
        bool found = false;
        if ((comma = strchr(p, ',')))
            *comma = '\0';
        for (size_t i = 0; i < NROWS; i++)
            found |= strcmp(matrix[i].scheme, p) == 0;
        if (!found || !scheme_find(p))
            test_fail(__FILE__, __LINE__, "scheme \"%s\" has no row in docs/providers.md", p);
    }
    ASSERT_INT_EQ(n, NROWS);
}

TEST(provider_contract_default_id_and_type)
{
    for (size_t i = 0; i < NROWS; i++) {
        const struct scheme *s = scheme_find(matrix[i].scheme);
        struct field_spec spec;
        char err[200];

        ASSERT_STR_EQ(s->default_id, matrix[i].default_id);
        if (matrix[i].default_type)
            ASSERT_STR_EQ(s->default_type, matrix[i].default_type);
        else
            ASSERT_NULL(s->default_type);
        /* Defaults use the same syntax as the config keys. */
        ASSERT_INT_EQ(extract_parse_spec(s->default_id, &spec, err, sizeof err), 0);
        extract_spec_free(&spec);
        if (s->default_type) {
            ASSERT_INT_EQ(extract_parse_spec(s->default_type, &spec, err, sizeof err), 0);
            extract_spec_free(&spec);
        }
    }
}

TEST(provider_contract_signature_header_names)
{
    for (size_t i = 0; i < NROWS; i++) {
        struct test_source t;
        struct headers h = {0};
        struct verify_result r;

        src_for(&t, &matrix[i], 300);
        ASSERT_INT_EQ(verify_request(&t.src, &h, "", 0, TS, true, &r), VERIFY_MISSING);
        ASSERT_STR_EQ(r.header_name, matrix[i].sig_header);
        testsrc_free(&t);
    }
}

TEST(provider_contract_secret_format)
{
    for (size_t i = 0; i < NROWS; i++)
        ASSERT_INT_EQ(scheme_find(matrix[i].scheme)->decode_key != NULL, matrix[i].key_decoded);
}

TEST(provider_contract_tolerance)
{
    static const int64_t tolerances[] = {300, 60};

    for (size_t i = 0; i < NROWS_V1; i++) {
        for (size_t k = 0; k < 2; k++) {
            int64_t tol = tolerances[k];
            struct test_source t;
            struct test_req req;
            struct verify_result r;

            src_for(&t, &matrix[i], tol);
            ASSERT_INT_EQ(
                testsign(&req, matrix[i].scheme, &t.src, matrix[i].secret, TS, "msg_1", "{}", 2),
                0);
            ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS + tol, true, &r), VERIFY_OK);
            ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS - tol, true, &r), VERIFY_OK);
            ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS + tol + 1, true, &r),
                          matrix[i].timestamped ? VERIFY_STALE : VERIFY_OK);
            ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS - tol - 1, true, &r),
                          matrix[i].timestamped ? VERIFY_STALE : VERIFY_OK);
            ASSERT_INT_EQ(r.has_timestamp, matrix[i].timestamped);
            testsrc_free(&t);
        }
    }
}

/* Extracts the scheme's default id and type from a provider-shaped request. */
static void ids(const char *scheme, const struct headers *h, const char *body, int *id_rc, char *id,
                int *type_rc, char *type)
{
    const struct scheme *s = scheme_find(scheme);
    struct extract_ctx x;
    size_t n;

    extract_init(&x, "src", h, body, strlen(body));
    *id_rc = extract_field(&x, NULL, s->default_id, id, EXTRACT_MAX_LEN + 1, &n);
    *type_rc = extract_field(&x, NULL, s->default_type, type, EXTRACT_MAX_LEN + 1, &n);
    extract_release(&x);
}

/* The v2 rows: timestamped or not, as the matrix says (the window itself is
 * tested per scheme in test_schemes_v2.c). */
TEST(provider_contract_tolerance_v2)
{
    for (size_t i = NROWS_V1; i < NROWS; i++) {
        struct test_source t;
        struct test_req req;
        struct test_keypair kp = {0};
        struct verify_result r;
        struct verify_http http = {"POST", NULL, 0};
        const char *scheme = matrix[i].scheme;

        src_for(&t, &matrix[i], 60);
        if (t.src.scheme->keys == SCHEME_KEY_PUBLIC) {
            ASSERT_INT_EQ(test_keypair_new(&kp, scheme), 0);
            t.src.keys.n = 0;
            EVP_PKEY_free((EVP_PKEY *)t.src.keys.keys[0].pkey);
            free(t.src.keys.keys[0].version);
            ASSERT_INT_EQ(testsrc_add_public_key(&t, "v1", kp.public_text), 0);
        }
        ASSERT_INT_EQ(testsign_v2(&req, scheme, &t.src, matrix[i].secret, &kp, TS, "{}", 2), 0);
        http.query = req.query, http.query_len = strlen(req.query);
        ASSERT_INT_EQ(verify_request_http(&t.src, &req.h, &http, "{}", 2, TS + 61, true, &r),
                      matrix[i].timestamped ? VERIFY_STALE : VERIFY_OK);
        ASSERT_INT_EQ(r.has_timestamp, matrix[i].timestamped);
        test_keypair_free(&kp);
        testsrc_free(&t);
    }
}

TEST(provider_contract_github_ping_and_push)
{
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1];
    struct headers h = {0};
    int id_rc, type_rc;

    th_add(&h, "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    th_add(&h, "X-GitHub-Event", "ping");
    ids("github", &h, "{\"zen\":\"Design for failure.\",\"hook_id\":1}", &id_rc, id, &type_rc,
        type);
    ASSERT_INT_EQ(id_rc, 0);
    ASSERT_STR_EQ(id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    ASSERT_STR_EQ(type, "ping");
    /* form-encoded deliveries (content type x-www-form-urlencoded) work too:
     * GitHub's id and type are headers */
    ids("github", &h, "payload=%7B%7D", &id_rc, id, &type_rc, type);
    ASSERT_INT_EQ(id_rc, 0);
    ASSERT_INT_EQ(type_rc, 0);
}

TEST(provider_contract_stripe_snapshot_and_thin_events)
{
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1];
    struct headers h = {0};
    int id_rc, type_rc;

    ids("stripe", &h,
        "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"invoice.paid\",\"data\":{}}", &id_rc, id,
        &type_rc, type);
    ASSERT_STR_EQ(id, "evt_1");
    ASSERT_STR_EQ(type, "invoice.paid");
    ids("stripe", &h,
        "{\"id\":\"evt_test_65R\",\"object\":\"v2.core.event\",\"type\":\"v1.billing.meter.error_"
        "report_triggered\",\"related_object\":{\"id\":\"mtr_1\"}}",
        &id_rc, id, &type_rc, type);
    ASSERT_INT_EQ(id_rc, 0);
    ASSERT_STR_EQ(type, "v1.billing.meter.error_report_triggered");
}

TEST(provider_contract_shopify_id_fallback)
{
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1];
    struct headers h = {0};
    int id_rc, type_rc;

    th_add(&h, "X-Shopify-Topic", "orders/create");
    th_add(&h, "X-Shopify-Webhook-Id", "wh-1");
    ids("shopify", &h, "{}", &id_rc, id, &type_rc, type);
    ASSERT_STR_EQ(id, "wh-1");
    ASSERT_STR_EQ(type, "orders/create");
    th_add(&h, "X-Shopify-Event-Id", "ev-1");
    ids("shopify", &h, "{}", &id_rc, id, &type_rc, type);
    ASSERT_STR_EQ(id, "ev-1");
}

TEST(provider_contract_slack_payload_variants)
{
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1];
    struct headers h = {0};
    int id_rc, type_rc;

    ids("slack", &h,
        "{\"type\":\"event_callback\",\"event_id\":\"Ev01\",\"event\":{\"type\":\"app_mention\"}}",
        &id_rc, id, &type_rc, type);
    ASSERT_STR_EQ(id, "Ev01");
    ASSERT_STR_EQ(type, "app_mention");
    /* url_verification carries no event_id: the receiver answers it first */
    ids("slack", &h, "{\"type\":\"url_verification\",\"challenge\":\"abc\"}", &id_rc, id, &type_rc,
        type);
    ASSERT_INT_EQ(id_rc, HOOKD_ENOT_FOUND);
    /* form-encoded interactivity and slash commands: 400 under the defaults */
    ids("slack", &h, "payload=%7B%22type%22%3A%22block_actions%22%7D", &id_rc, id, &type_rc, type);
    ASSERT_INT_EQ(id_rc, HOOKD_ENOT_JSON);
    ASSERT_INT_EQ(type_rc, HOOKD_ENOT_JSON);
}

TEST(provider_contract_standard_and_svix_headers)
{
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1];
    struct headers h = {0}, hs = {0};
    int id_rc, type_rc;

    th_add(&h, "webhook-id", "msg_1");
    ids("standard", &h,
        "{\"type\":\"user.created\",\"timestamp\":\"2022-11-03T20:26:10.344522Z\",\"data\":{}}",
        &id_rc, id, &type_rc, type);
    ASSERT_STR_EQ(id, "msg_1");
    ASSERT_STR_EQ(type, "user.created");
    th_add(&hs, "svix-id", "msg_2");
    ids("standard", &hs, "{\"type\":\"x\"}", &id_rc, id, &type_rc, type);
    ASSERT_STR_EQ(id, "msg_2");
}

TEST(provider_contract_hmac_defaults)
{
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1];
    struct headers h = {0};
    int id_rc, type_rc;

    ids("hmac", &h, "anything", &id_rc, id, &type_rc, type);
    ASSERT_INT_EQ(id_rc, 0);
    ASSERT_INT_EQ(strlen(id), 64); /* sha256 of the body */
    ASSERT_INT_EQ(type_rc, 0);
    ASSERT_STR_EQ(type, "");
}
