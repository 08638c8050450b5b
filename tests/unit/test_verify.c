/*
 * test_verify.c — verify_request end to end (common/verify.c over every
 * scheme): the published and computed vectors in tests/data/vectors, then
 * the negative cases for every scheme (tampered body, wrong or retired
 * secret, rotation, timestamps outside the window both ways, empty and
 * binary bodies, huge and garbled headers) and the diagnostics contract
 * (a MAC prefix only, the received header truncated and sanitised).
 */
#define _GNU_SOURCE /* memmem */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "../lib/test.h"
#include "../lib/testdata.h"
#include "../lib/testsign.h"
#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "mac.h"
#include "scheme.h"
#include "verify.h"

#define MAX_VECTORS 64
#define TS          1700000000LL

static const char *const ALL[] = {"github", "stripe", "shopify", "slack", "standard", "hmac"};
#define NALL (sizeof ALL / sizeof ALL[0])

/* A secret in the format each scheme's provider hands out. */
static const char *secret_for(const char *scheme, int which)
{
    if (strcmp(scheme, "standard") == 0)
        return which ? "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGVzdHM="
                     : "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    if (strcmp(scheme, "stripe") == 0)
        return which ? "whsec_other_secret" : "whsec_test_secret";
    return which ? "another secret" : "It's a Secret to Everybody";
}

static void src_for(struct test_source *t, const char *scheme)
{
    testsrc_init(t, scheme);
    if (strcmp(scheme, "hmac") == 0) {
        testsrc_set(&t->src.sig_header, "X-Signature");
        testsrc_set(&t->src.sig_prefix, "sha256=");
        testsrc_set(&t->src.ts_header, "X-Timestamp");
    }
}

static bool has_ts(const char *scheme)
{
    return strcmp(scheme, "github") != 0 && strcmp(scheme, "shopify") != 0;
}

/* ------------------------------------------------------------ vectors */

static void vector_headers(json_t *vec, struct headers *h)
{
    const char *name;
    json_t *val;

    json_object_foreach(json_object_get(vec, "headers"), name, val)
        th_add(h, name, json_string_value(val));
}

static void vector_spec(json_t *text, struct field_spec *spec)
{
    char err[200];

    if (text)
        ASSERT_INT_EQ(extract_parse_spec(json_string_value(text), spec, err, sizeof err), 0);
}

/* The handshake hook on a verified vector: the answer it expects, or none. */
static void check_handshake(const char *file, const struct source_cfg *src, json_t *vec,
                            const struct secret *key, struct extract_ctx *x)
{
    json_t *want = json_object_get(vec, "expect_handshake"), *wj, *gj;
    struct handshake_answer ans = {0};
    int rc = src->scheme->handshake ? src->scheme->handshake(src, key, x, &ans) : 0;

    if (!want) {
        if (rc != 0)
            test_fail(__FILE__, __LINE__, "%s: taken for a handshake", file);
        return;
    }
    if (rc != 1)
        test_fail(__FILE__, __LINE__, "%s: handshake hook gave %d", file, rc);
    ASSERT_INT_EQ(ans.status, json_integer_value(json_object_get(want, "status")));
    wj = json_loads(json_string_value(json_object_get(want, "body")), JSON_DECODE_ANY, NULL);
    gj = json_loadb(ans.body, ans.body_len, JSON_DECODE_ANY, NULL);
    if (wj && gj && strncmp(ans.content_type, "application/json", 16) == 0)
        ASSERT(json_equal(wj, gj));
    else
        ASSERT_STR_EQ(ans.body, json_string_value(json_object_get(want, "body")));
    json_decref(wj), json_decref(gj);
    handshake_answer_free(&ans);
}

static void vector_config(json_t *vec, struct test_source *t)
{
    json_t *c = json_object_get(vec, "config");
    const char *algo = json_string_value(json_object_get(c, "algorithm"));
    const char *enc = json_string_value(json_object_get(c, "encoding"));

    if (!c)
        return;
    testsrc_set(&t->src.sig_header, json_string_value(json_object_get(c, "signature_header")));
    testsrc_set(&t->src.sig_prefix, json_string_value(json_object_get(c, "signature_prefix")));
    testsrc_set(&t->src.ts_header, json_string_value(json_object_get(c, "timestamp_header")));
    testsrc_set(&t->src.signed_content, json_string_value(json_object_get(c, "signed_content")));
    testsrc_set(&t->src.public_url, json_string_value(json_object_get(c, "public_url")));
    testsrc_set(&t->src.token_header, json_string_value(json_object_get(c, "token_header")));
    vector_spec(json_object_get(c, "id"), &t->src.id);
    vector_spec(json_object_get(c, "type"), &t->src.type);
    if (json_object_get(c, "timestamp_format")) {
        const char *f = json_string_value(json_object_get(c, "timestamp_format"));
        t->src.ts_format = strcmp(f, "milliseconds") == 0 ? TS_MILLISECONDS
                           : strcmp(f, "rfc3339") == 0    ? TS_RFC3339
                                                          : TS_SECONDS;
    }
    t->src.algo = algo && strcmp(algo, "sha1") == 0     ? MAC_SHA1
                  : algo && strcmp(algo, "sha512") == 0 ? MAC_SHA512
                                                        : MAC_SHA256;
    t->src.enc = enc && strcmp(enc, "base64") == 0 ? ENC_BASE64 : ENC_HEX;
}

static void check_default_field(const char *file, const struct source_cfg *src, json_t *vec,
                                const char *key, const char *spec, struct extract_ctx *x)
{
    const char *want = json_string_value(json_object_get(vec, key));
    char out[EXTRACT_MAX_LEN + 1];
    size_t len;
    int rc;

    if (!want)
        return;
    rc = extract_field(x, NULL, spec, out, sizeof out, &len);
    if (rc != 0 || strcmp(out, want) != 0)
        test_fail(__FILE__, __LINE__, "%s: %s: got %d \"%s\", want \"%s\"", file, key, rc, out,
                  want);
}

/* Verifies one vector file; returns nothing, fails the test on a mismatch. */
static void run_vector(const char *file)
{
    char rel[300];
    json_t *vec;
    struct test_source t;
    struct headers h = {0};
    struct verify_result r;
    struct extract_ctx x;
    struct verify_http http = {0};
    const char *body;
    size_t len;
    int64_t now;

    snprintf(rel, sizeof rel, "vectors/%s", file);
    ASSERT_NOT_NULL(vec = testdata_json(rel));
    ASSERT_NOT_NULL(json_string_value(json_object_get(vec, "source")));
    testsrc_init(&t, json_string_value(json_object_get(vec, "scheme")));
    if (!t.src.scheme)
        test_fail(__FILE__, __LINE__, "%s: unknown scheme", file);
    vector_config(vec, &t);
    if (json_object_get(vec, "public_key"))
        ASSERT_INT_EQ(testsrc_add_public_key(
                          &t, "v1", json_string_value(json_object_get(vec, "public_key"))),
                      0);
    else
        ASSERT_INT_EQ(
            testsrc_add_key(&t, "v1", json_string_value(json_object_get(vec, "secret"))), 0);
    vector_headers(vec, &h);
    http.method = json_string_value(json_object_get(json_object_get(vec, "http"), "method"));
    http.query = json_string_value(json_object_get(json_object_get(vec, "http"), "query"));
    http.query_len = http.query ? strlen(http.query) : 0;
    body = json_string_value(json_object_get(vec, "payload"));
    len = json_string_length(json_object_get(vec, "payload"));
    now = json_integer_value(json_object_get(vec, "timestamp"));
    if (verify_request_http(&t.src, &h, &http, body, len, now, true, &r) != VERIFY_OK)
        test_fail(__FILE__, __LINE__, "%s: %s (%s)", file, r.reason, r.received);
    ASSERT_STR_EQ(r.matched_version, "v1");
    extract_init(&x, "test", &h, body, len);
    check_default_field(file, &t.src, vec, "expect_id", t.src.scheme->default_id, &x);
    check_default_field(file, &t.src, vec, "expect_type", t.src.scheme->default_type, &x);
    check_handshake(file, &t.src, vec, r.matched_key, &x);
    extract_release(&x);
    /* The same request with one body byte changed must fail (a token signs
     * no body: only the token is checked). */
    if (len > 0 && strcmp(t.src.scheme->name, "token") != 0) {
        char *copy = strndup(body, len);
        copy[len - 1] ^= 1;
        ASSERT_INT_EQ(verify_request_http(&t.src, &h, &http, copy, len, now, true, &r),
                      VERIFY_MISMATCH);
        free(copy);
    }
    testsrc_free(&t);
    json_decref(vec);
}

TEST(verify_vectors_all_files)
{
    char *names[MAX_VECTORS];
    size_t n = testdata_json_names("vectors", names, MAX_VECTORS);

    if (n == 0)
        test_fail(__FILE__, __LINE__, "no vectors found (HOOKD_TEST_DATA?)");
    for (size_t i = 0; i < n; i++)
        run_vector(names[i]);
    ASSERT_INT_OP(n, >=, 24);
    testdata_names_free(names, n);
}

TEST(verify_vector_github_published)
{
    run_vector("github.json");
}

TEST(verify_vector_slack_published)
{
    run_vector("slack.json");
}

TEST(verify_vector_standard_published)
{
    run_vector("standard-webhooks.json");
}

TEST(verify_vector_stripe_second_v1_matches)
{
    run_vector("stripe-rotation.json");
}

/* ------------------------------------------------------------ per scheme */

/* Signs BODY for SCHEME with secret #which at time ts and verifies it at
 * now with key set KEYS (versions v1.. in order, secrets by index). */
static enum verify_status sign_and_verify(const char *scheme, int which, long long ts,
                                          const void *body, size_t len, const int *keys,
                                          size_t nkeys, int64_t now, struct verify_result *r)
{
    struct test_source t;
    struct test_req req;
    enum verify_status st;

    src_for(&t, scheme);
    for (size_t i = 0; i < nkeys; i++) {
        char ver[24];
        snprintf(ver, sizeof ver, "v%zu", i + 1);
        ASSERT_INT_EQ(testsrc_add_key(&t, ver, secret_for(scheme, keys[i])), 0);
    }
    ASSERT_INT_EQ(testsign(&req, scheme, &t.src, secret_for(scheme, which), ts, "msg_1", body, len),
                  0);
    st = verify_request(&t.src, &req.h, body, len, now, true, r);
    /* version strings die with t: keep the test's view stable */
    if (r->matched_version)
        r->matched_version = strcmp(r->matched_version, "v1") == 0 ? "v1" : "v2";
    for (size_t i = 0; i < r->ntried; i++)
        r->tried[i].version = NULL;
    testsrc_free(&t);
    return st;
}

TEST(verify_every_scheme_accepts_and_rejects)
{
    const char *body = "{\"id\":\"evt_1\",\"type\":\"ping\"}";
    const int k0[] = {0}, k1[] = {1};
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        const char *s = ALL[i];
        ASSERT_INT_EQ(sign_and_verify(s, 0, TS, body, strlen(body), k0, 1, TS, &r), VERIFY_OK);
        ASSERT_STR_EQ(r.reason, "ok");
        ASSERT_STR_EQ(r.matched_version, "v1");
        /* wrong secret */
        ASSERT_INT_EQ(sign_and_verify(s, 1, TS, body, strlen(body), k0, 1, TS, &r),
                      VERIFY_MISMATCH);
        ASSERT_STR_EQ(r.reason, "no_match");
        ASSERT_NULL(r.matched_version);
        ASSERT_INT_EQ(r.ntried, 1);
        ASSERT_INT_EQ(strlen(r.tried[0].prefix), VERIFY_PREFIX_HEX);
        ASSERT_INT_EQ(verify_http_status(r.status), 401);
        /* retired version: signed with a secret no longer in the set */
        ASSERT_INT_EQ(sign_and_verify(s, 0, TS, body, strlen(body), k1, 1, TS, &r),
                      VERIFY_MISMATCH);
    }
}

TEST(verify_rotation_reports_matched_version)
{
    const char *body = "{}";
    const int both[] = {1, 0}, swapped[] = {0, 1};
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        ASSERT_INT_EQ(sign_and_verify(ALL[i], 0, TS, body, 2, both, 2, TS, &r), VERIFY_OK);
        ASSERT_STR_EQ(r.matched_version, "v2");
        ASSERT_INT_EQ(r.ntried, 2);
        ASSERT_INT_EQ(sign_and_verify(ALL[i], 0, TS, body, 2, swapped, 2, TS, &r), VERIFY_OK);
        ASSERT_STR_EQ(r.matched_version, "v1");
        ASSERT_INT_EQ(sign_and_verify(ALL[i], 1, TS, body, 2, swapped, 2, TS, &r), VERIFY_OK);
        ASSERT_STR_EQ(r.matched_version, "v2");
    }
}

TEST(verify_tampered_body_every_scheme)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        src_for(&t, ALL[i]);
        testsrc_add_key(&t, "v1", secret_for(ALL[i], 0));
        testsign(&req, ALL[i], &t.src, secret_for(ALL[i], 0), TS, "msg_1", "{\"a\":1}", 7);
        ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{\"a\":1}", 7, TS, true, &r), VERIFY_OK);
        ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{\"a\":2}", 7, TS, true, &r),
                      VERIFY_MISMATCH);
        ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{\"a\":1} ", 8, TS, true, &r),
                      VERIFY_MISMATCH);
        ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{\"a\":1", 6, TS, true, &r), VERIFY_MISMATCH);
        testsrc_free(&t);
    }
}

TEST(verify_timestamp_window_both_directions)
{
    const int k0[] = {0};
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        const char *s = ALL[i];
        enum verify_status old = sign_and_verify(s, 0, TS, "x", 1, k0, 1, TS + 301, &r);
        if (!has_ts(s)) {
            ASSERT_INT_EQ(old, VERIFY_OK); /* nothing to hold to a window */
            ASSERT(!r.has_timestamp);
            continue;
        }
        ASSERT_INT_EQ(old, VERIFY_STALE);
        ASSERT_STR_EQ(r.reason, "timestamp_too_old");
        ASSERT_INT_EQ(r.skew_s, 301);
        ASSERT_NULL(r.matched_version);
        ASSERT_INT_EQ(verify_http_status(r.status), 401);
        ASSERT_INT_EQ(sign_and_verify(s, 0, TS, "x", 1, k0, 1, TS - 301, &r), VERIFY_STALE);
        ASSERT_STR_EQ(r.reason, "timestamp_in_future");
        ASSERT_INT_EQ(r.skew_s, -301);
        ASSERT_INT_EQ(sign_and_verify(s, 0, TS, "x", 1, k0, 1, TS + 300, &r), VERIFY_OK);
        ASSERT_INT_EQ(sign_and_verify(s, 0, TS, "x", 1, k0, 1, TS - 300, &r), VERIFY_OK);
        /* A wrong signature is no_match whatever its age. */
        ASSERT_INT_EQ(sign_and_verify(s, 1, TS, "x", 1, k0, 1, TS + 9999, &r), VERIFY_MISMATCH);
    }
}

TEST(verify_tolerance_can_be_skipped_for_replays)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;

    src_for(&t, "stripe");
    testsrc_add_key(&t, "v1", secret_for("stripe", 0));
    t.src.tolerance_s = 10;
    testsign(&req, "stripe", &t.src, secret_for("stripe", 0), TS, NULL, "b", 1);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "b", 1, TS + 11, true, &r), VERIFY_STALE);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "b", 1, TS + 11, false, &r), VERIFY_OK);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "b", 1, TS + 86400 * 365, false, &r), VERIFY_OK);
    testsrc_free(&t);
}

TEST(verify_empty_and_binary_bodies)
{
    const char bin[] = {'a', '\0', 'b', '\0', '\xff', '\n', '\0'};
    const int k0[] = {0};
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        ASSERT_INT_EQ(sign_and_verify(ALL[i], 0, TS, "", 0, k0, 1, TS, &r), VERIFY_OK);
        ASSERT_INT_EQ(sign_and_verify(ALL[i], 0, TS, NULL, 0, k0, 1, TS, &r), VERIFY_OK);
        ASSERT_INT_EQ(sign_and_verify(ALL[i], 0, TS, bin, sizeof bin, k0, 1, TS, &r), VERIFY_OK);
    }
}

TEST(verify_binary_body_nul_is_not_a_terminator)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;
    const char a[] = {'x', '\0', 'y'}, b[] = {'x', '\0', 'z'};

    src_for(&t, "github");
    testsrc_add_key(&t, "v1", "s");
    testsign(&req, "github", &t.src, "s", TS, NULL, a, 3);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, a, 3, TS, true, &r), VERIFY_OK);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, b, 3, TS, true, &r), VERIFY_MISMATCH);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, a, 1, TS, true, &r), VERIFY_MISMATCH);
    testsrc_free(&t);
}

TEST(verify_missing_and_malformed_map_to_400)
{
    struct test_source t;
    struct headers h = {0};
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        src_for(&t, ALL[i]);
        testsrc_add_key(&t, "v1", secret_for(ALL[i], 0));
        memset(&h, 0, sizeof h);
        ASSERT_INT_EQ(verify_request(&t.src, &h, "x", 1, TS, true, &r), VERIFY_MISSING);
        ASSERT_STR_EQ(r.reason, "missing_header");
        ASSERT_NOT_NULL(r.header_name);
        ASSERT_STR_EQ(r.received, "");
        ASSERT_INT_EQ(verify_http_status(r.status), 400);
        th_add(&h, r.header_name, "garbage\x01");
        th_add(&h, "X-Slack-Request-Timestamp", "1");
        th_add(&h, "X-Timestamp", "1");
        th_add(&h, "webhook-id", "m");
        th_add(&h, "webhook-timestamp", "1");
        ASSERT_INT_EQ(verify_request(&t.src, &h, "x", 1, TS, true, &r), VERIFY_MALFORMED);
        ASSERT_STR_EQ(r.reason, "malformed_header");
        ASSERT_STR_EQ(r.received, "garbage?");
        ASSERT_INT_EQ(verify_http_status(r.status), 400);
        testsrc_free(&t);
    }
}

TEST(verify_truncated_signature_is_malformed)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;

    for (size_t i = 0; i < NALL; i++) {
        src_for(&t, ALL[i]);
        testsrc_add_key(&t, "v1", secret_for(ALL[i], 0));
        testsign(&req, ALL[i], &t.src, secret_for(ALL[i], 0), TS, "msg_1", "x", 1);
        /* every signature header is the first one testsign adds */
        for (size_t k = 0; k < req.h.n; k++)
            if (req.h.items[k].value == req.sig)
                req.h.items[k].value_len = strlen(req.sig) - 2;
        ASSERT_INT_EQ(verify_request(&t.src, &req.h, "x", 1, TS, true, &r), VERIFY_MALFORMED);
        testsrc_free(&t);
    }
}

TEST(verify_huge_header_value_is_bounded)
{
    size_t n = 64 * 1024;
    char *big = malloc(n);
    struct test_source t;
    struct headers h = {0};
    struct verify_result r;

    ASSERT_NOT_NULL(big);
    memset(big, 'a', n);
    memcpy(big, "t=1,v1=", 7);
    src_for(&t, "stripe");
    testsrc_add_key(&t, "v1", "whsec_x");
    headers_add(&h, "Stripe-Signature", 16, big, n);
    ASSERT_INT_EQ(verify_request(&t.src, &h, "x", 1, TS, true, &r), VERIFY_MALFORMED);
    ASSERT_INT_EQ(strlen(r.received), VERIFY_RECEIVED_MAX);
    ASSERT(strncmp(r.received, "t=1,v1=aaa", 10) == 0);
    testsrc_free(&t);
    free(big);
}

TEST(verify_standard_several_signatures)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;
    char list[600];

    src_for(&t, "standard");
    testsrc_add_key(&t, "v1", secret_for("standard", 0));
    testsign(&req, "standard", &t.src, secret_for("standard", 0), TS, "msg_2", "{}", 2);
    snprintf(list, sizeof list, "v1a,aGVsbG8= v1,MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE= %s",
             req.sig);
    testsign_set(&req, "webhook-signature", list, strlen(list));
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS, true, &r), VERIFY_OK);
    ASSERT_INT_EQ(r.input.nsigs, 2);
    /* the message id is signed: another id fails */
    testsign_set(&req, "webhook-id", "msg_3", 5);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS, true, &r), VERIFY_MISMATCH);
    testsrc_free(&t);
}

TEST(verify_stripe_only_second_v1_matches)
{
    struct test_source t;
    struct test_req req, other;
    struct verify_result r;
    char hdr[400];

    src_for(&t, "stripe");
    testsrc_add_key(&t, "v7", "whsec_new");
    testsign(&req, "stripe", &t.src, "whsec_new", TS, NULL, "{}", 2);
    testsign(&other, "stripe", &t.src, "whsec_old", TS, NULL, "{}", 2);
    /* "t=TS,v1=OLD" + ",v1=NEW" */
    snprintf(hdr, sizeof hdr, "%s,%s", other.sig, strchr(req.sig, ',') + 1);
    testsign_set(&req, "Stripe-Signature", hdr, strlen(hdr));
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "{}", 2, TS, true, &r), VERIFY_OK);
    ASSERT_STR_EQ(r.matched_version, "v7");
    ASSERT_INT_EQ(r.input.nsigs, 2);
    testsrc_free(&t);
}

TEST(verify_diagnostics_never_hold_a_full_mac_or_secret)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;

    src_for(&t, "github");
    testsrc_add_key(&t, "v1", "topsecret-one");
    testsrc_add_key(&t, "v2", "topsecret-two");
    testsign(&req, "github", &t.src, "wrong", TS, NULL, "x", 1);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "x", 1, TS, true, &r), VERIFY_MISMATCH);
    ASSERT_INT_EQ(r.ntried, 2);
    ASSERT_STR_EQ(r.tried[0].version, "v1");
    ASSERT_STR_EQ(r.tried[1].version, "v2");
    ASSERT_INT_EQ(strlen(r.tried[0].prefix), 8);
    ASSERT(memmem(&r, sizeof r, "topsecret", 9) == NULL);
    ASSERT_INT_EQ(strlen(r.received),
                  strlen("sha256=") + 64 > VERIFY_RECEIVED_MAX ? VERIFY_RECEIVED_MAX : 71);
    testsrc_free(&t);
}

TEST(verify_no_keys_is_no_match)
{
    struct test_source t;
    struct test_req req;
    struct verify_result r;

    src_for(&t, "github");
    testsign(&req, "github", &t.src, "s", TS, NULL, "x", 1);
    ASSERT_INT_EQ(verify_request(&t.src, &req.h, "x", 1, TS, true, &r), VERIFY_MISMATCH);
    ASSERT_INT_EQ(r.ntried, 0);
    testsrc_free(&t);
}

TEST(verify_http_status_table)
{
    ASSERT_INT_EQ(verify_http_status(VERIFY_OK), 200);
    ASSERT_INT_EQ(verify_http_status(VERIFY_MISSING), 400);
    ASSERT_INT_EQ(verify_http_status(VERIFY_MALFORMED), 400);
    ASSERT_INT_EQ(verify_http_status(VERIFY_MISMATCH), 401);
    ASSERT_INT_EQ(verify_http_status(VERIFY_STALE), 401);
}

/* mac_compute writes HMAC's two digests itself: the same bytes as
 * OpenSSL's HMAC for every algorithm, keys shorter than, as long as and
 * longer than a block (hashed first), empty ones, and content in parts. */
TEST(verify_mac_matches_openssl_hmac)
{
    static const size_t key_lens[] = {0, 1, 20, 63, 64, 65, 127, 128, 129, 300};
    const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256(), EVP_sha512()};
    unsigned char key[300], text[1500], want[EVP_MAX_MD_SIZE], got[64];
    unsigned int want_len;
    size_t got_len;

    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (unsigned char)(i * 13 + 1);
    for (int a = MAC_SHA1; a <= MAC_SHA512; a++)
        for (size_t k = 0; k < sizeof key_lens / sizeof *key_lens; k++) {
            struct mac_part parts[] = {{text, 10}, {NULL, 0}, {text + 10, sizeof text - 10}};
            ASSERT_NOT_NULL(
                HMAC(mds[a], key, (int)key_lens[k], text, sizeof text, want, &want_len));
            ASSERT_INT_EQ(mac_compute((enum mac_algo)a, key, key_lens[k], parts, 3, got, &got_len),
                          0);
            ASSERT_INT_EQ(got_len, want_len);
            ASSERT(memcmp(got, want, want_len) == 0);
        }
}
