/*
 * test_ingress.c — every row of the SPEC's HTTP table, over real HTTP
 * against a real receiver and redis-server.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "ingress_fixture.h"

TEST(ingress_github_queued_then_duplicate)
{
    struct fixture f;
    struct http_response r;
    const char *body = "{\"action\":\"opened\",\"number\":1}";

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "d-1", "push", body, &r), 202);
    ASSERT_STR_CONTAINS(r.body, "\"status\":\"queued\"");
    ASSERT_STR_CONTAINS(r.body, "\"event_id\":\"d-1\"");
    ASSERT_NOT_NULL(http_header(&r, "X-Request-Id"));
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "d-1", "push", body, &r), 200);
    ASSERT_STR_CONTAINS(r.body, "\"status\":\"duplicate\"");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 1);
    /* The dedupe record and the stream entry, as the SPEC lays them out. */
    char *state = redis_str(f.rc, "HGET hookd:{default}:seen:github:d-1 state");
    ASSERT_STR_EQ(state, "queued");
    free(state);
    long long ttl = redis_int(f.rc, "TTL hookd:{default}:seen:github:d-1");
    ASSERT(ttl > 3500 && ttl <= 3600);
    redisReply *e = redis_cmd(f.rc, "XRANGE hookd:{default}:stream - +");
    ASSERT_INT_EQ(e->elements, 1);
    redisReply *fields = e->element[0]->element[1];
    const char *want[] = {"event_id",    "source",      "type",        "body",
                          "body_sha256", "headers",     "sig_version", "received_at",
                          "request_id",  "traceparent", "attempt"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int found = 0;
        for (size_t i = 0; i + 1 < fields->elements; i += 2)
            if (strcmp(fields->element[i]->str, want[w]) == 0) {
                found = 1;
                if (strcmp(want[w], "body") == 0)
                    ASSERT_STR_EQ(fields->element[i + 1]->str, body);
                if (strcmp(want[w], "sig_version") == 0)
                    ASSERT_STR_EQ(fields->element[i + 1]->str, "v1");
                if (strcmp(want[w], "type") == 0)
                    ASSERT_STR_EQ(fields->element[i + 1]->str, "push");
            }
        if (!found)
            test_fail(__FILE__, __LINE__, "stream entry lacks field %s", want[w]);
    }
    freeReplyObject(e);
    char *received = redis_str(f.rc, "HGET hookd:{default}:counters received");
    char *dups = redis_str(f.rc, "HGET hookd:{default}:counters duplicates");
    ASSERT_STR_EQ(received, "1");
    ASSERT_STR_EQ(dups, "1");
    free(received), free(dups);
}

TEST(ingress_rotation_two_active_versions)
{
    struct fixture f;

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "r-1", "push", "{}", NULL), 202);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-two", "r-2", "push", "{}", NULL), 202);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-retired", "r-3", "push", "{}", NULL), 401);
    redisReply *e = redis_cmd(f.rc, "XRANGE hookd:{default}:stream - +");
    ASSERT_INT_EQ(e->elements, 2);
    char *v1 = redis_str(f.rc, "HGET hookd:{default}:seen:github:r-1 state");
    ASSERT_STR_EQ(v1, "queued");
    free(v1);
    /* The version that matched is recorded with each event. */
    int saw_v2 = 0;
    for (size_t k = 0; k < e->elements; k++) {
        redisReply *fl = e->element[k]->element[1];
        for (size_t i = 0; i + 1 < fl->elements; i += 2)
            if (!strcmp(fl->element[i]->str, "sig_version") &&
                !strcmp(fl->element[i + 1]->str, "v2"))
                saw_v2 = 1;
    }
    freeReplyObject(e);
    ASSERT(saw_v2);
}

static long long dropped_records(struct fixture *f)
{
    struct http_response r;
    long long n = 0;

    const char *const auth[] = {"Authorization: Bearer test-admin-token", NULL};

    if (http_request(f->admin_port, "GET", "/metrics", auth, NULL, 0, &r) == 0) {
        const char *p = strstr(r.body, "\nhookd_rejected_records_dropped_total ");
        if (p)
            n = strtoll(p + strlen("\nhookd_rejected_records_dropped_total "), NULL, 10);
        http_response_free(&r);
    }
    return n;
}

/* Redis gone: a bad signature still gets its 401 and log line at once; its
 * record cannot be written, and is counted as dropped, not lost silently. */
TEST(ingress_rejects_counted_as_dropped_while_redis_down)
{
    struct fixture f;
    char id[32];

    fixture_start(&f, NULL);
    redisFree(f.rc);
    f.rc = NULL;
    redis_kill(f.redis);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "down-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "wrong-secret", id, "push", "{}", NULL), 401);
    }
    WAIT_FOR(dropped_records(&f) == 3, 5000);
    ASSERT_INT_EQ(proc_log_count(f.receiver, "signature_rejected"), 3);
}

TEST(ingress_bad_signature_401_and_diagnostics)
{
    struct fixture f;
    struct http_response r;

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(fixture_post_github(&f, "wrong-secret", "bad-1", "push", "{\"a\":1}", &r), 401);
    ASSERT_STR_CONTAINS(r.body, "no_match");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:github:bad-1"), 0);
    /* One diagnostics entry, naming both versions tried, never a secret;
     * written after the answer (pipeline.h). */
    WAIT_FOR(redis_int(f.rc, "XLEN hookd:rejected") == 1, 5000);
    redisReply *e = redis_cmd(f.rc, "XRANGE hookd:rejected - +");
    ASSERT_INT_EQ(e->elements, 1);
    redisReply *fl = e->element[0]->element[1];
    char all[4096];
    size_t used = 0;
    for (size_t i = 0; i < fl->elements; i++) {
        int n = snprintf(all + used, sizeof all - used, "%s ", fl->element[i]->str);
        ASSERT(n > 0 && (size_t)n < sizeof all - used);
        used += (size_t)n;
    }
    freeReplyObject(e);
    ASSERT_STR_CONTAINS(all, "reason no_match");
    ASSERT_STR_CONTAINS(all, "v1:");
    ASSERT_STR_CONTAINS(all, "v2:");
    ASSERT_STR_CONTAINS(all, "event_id bad-1");
    ASSERT(strstr(all, "gh-secret") == NULL);
    /* rejected_at in epoch ms, like every time hookd stores */
    const char *at = strstr(all, "rejected_at ");
    ASSERT_NOT_NULL(at);
    ASSERT(strtoll(at + 12, NULL, 10) > 1000000000000LL);
    char *log = proc_log(f.receiver);
    ASSERT_STR_CONTAINS(log, "signature_rejected");
    ASSERT(strstr(log, "gh-secret-one") == NULL && strstr(log, "gh-secret-two") == NULL);
    free(log);
}

/* A bad signature is answered without waiting on Redis: with Redis frozen
 * the 401s still go out at once, and their records are written once it
 * wakes (before, each pool thread waited out the Redis timeout). */
TEST(ingress_bad_signatures_answered_while_redis_frozen)
{
    struct fixture f;
    char id[32];

    fixture_start(&f, NULL);
    proc_signal(redis_proc(f.redis), SIGSTOP);
    int64_t t0 = harness_now_ms();
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "frozen-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "wrong-secret", id, "push", "{}", NULL), 401);
    }
    int64_t took = harness_now_ms() - t0;
    proc_signal(redis_proc(f.redis), SIGCONT);
    printf("    8 bad signatures answered in %lld ms with Redis frozen\n", (long long)took);
    ASSERT_INT_OP(took, <, 400); /* the Redis timeout is 500 ms: not one waited it out */
    /* Written, or dropped and counted: never lost without a trace. */
    WAIT_FOR(redis_int(f.rc, "XLEN hookd:rejected") + dropped_records(&f) == 8, 5000);
}

TEST(ingress_missing_or_malformed_signature_400)
{
    struct fixture f;
    struct http_response r;
    const char *missing[] = {"X-GitHub-Delivery: m-1", "X-GitHub-Event: push", NULL};
    const char *garbled[] = {"X-Hub-Signature-256: sha256=zz-not-hex", "X-GitHub-Delivery: m-2",
                             "X-GitHub-Event: push", NULL};
    const char *stripe_no_t[] = {"Stripe-Signature: v1=abcdef", NULL};
    const char *stripe_no_v1[] = {"Stripe-Signature: t=1700000000", NULL};

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/github", missing, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 400);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/github", garbled, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 400);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/stripe", stripe_no_t, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 400);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/stripe", stripe_no_v1, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 400);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default") + fixture_stream_len(&f, "billing"), 0);
}

static int post_stripe(struct fixture *f, long long ts, const char *body, struct http_response *r)
{
    char sig[SIG_BUF_SIZE], h[400];
    stripe_signature("whsec_stripe_test", ts, body, strlen(body), sig);
    snprintf(h, sizeof h, "Stripe-Signature: %s", sig);
    const char *headers[] = {h, "Content-Type: application/json", NULL};
    ASSERT_INT_EQ(http_request(f->port, "POST", "/hooks/stripe", headers, body, strlen(body), r),
                  0);
    return r->status;
}

TEST(ingress_stripe_routing_tolerance_and_json_fields)
{
    struct fixture f;
    struct http_response r;
    long long now = (long long)time(NULL);

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(post_stripe(&f, now, "{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}", &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(post_stripe(&f, now, "{\"id\":\"evt_2\",\"type\":\"customer.created\"}", &r),
                  202);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "billing"), 1);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 1);
    /* Outside the 300 s tolerance, in both directions. */
    ASSERT_INT_EQ(post_stripe(&f, now - 400, "{\"id\":\"evt_3\",\"type\":\"invoice.paid\"}", &r),
                  401);
    http_response_free(&r);
    ASSERT_INT_EQ(post_stripe(&f, now + 400, "{\"id\":\"evt_4\",\"type\":\"invoice.paid\"}", &r),
                  401);
    http_response_free(&r);
    /* The id comes from JSON: missing field, and a body that is not JSON. */
    ASSERT_INT_EQ(post_stripe(&f, now, "{\"type\":\"invoice.paid\"}", &r), 400);
    http_response_free(&r);
    ASSERT_INT_EQ(post_stripe(&f, now, "not json at all", &r), 400);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "billing"), 1);
}

TEST(ingress_other_schemes_accept_signed_events)
{
    struct fixture f;
    struct http_response r;
    char sig[SIG_BUF_SIZE], h1[400], h2[200];
    long long now = (long long)time(NULL);

    fixture_start(&f, NULL);
    /* Slack */
    const char *sbody = "{\"event_id\":\"Ev1\",\"event\":{\"type\":\"message\"}}";
    slack_signature("slack-signing-secret", now, sbody, strlen(sbody), sig);
    snprintf(h1, sizeof h1, "X-Slack-Signature: %s", sig);
    snprintf(h2, sizeof h2, "X-Slack-Request-Timestamp: %lld", now);
    const char *slack_h[] = {h1, h2, NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/slack", slack_h, sbody, strlen(sbody), &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    /* Shopify */
    const char *pbody = "{\"id\":123}";
    shopify_signature("shopify-secret", pbody, strlen(pbody), sig);
    snprintf(h1, sizeof h1, "X-Shopify-Hmac-Sha256: %s", sig);
    const char *shop_h[] = {h1, "X-Shopify-Webhook-Id: wh-1", "X-Shopify-Topic: orders/create",
                            NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/shopify", shop_h, pbody, strlen(pbody), &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    /* Standard Webhooks */
    const char *wbody = "{\"type\":\"user.created\"}";
    standard_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", now, wbody, strlen(wbody),
                       sig);
    snprintf(
        h1, sizeof h1,
        "webhook-signature: v1,bm90LXRoaXMtb25l v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= %s",
        sig);
    snprintf(h2, sizeof h2, "webhook-timestamp: %lld", now);
    const char *std_h[] = {h1, h2, "webhook-id: msg_1", NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/standard", std_h, wbody, strlen(wbody), &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    /* Generic HMAC: sha512, base64, prefix, id from a JSON pointer. */
    const char *gbody = "{\"meta\":{\"id\":\"g-1\"}}";
    hmac_signature("sha512", "generic-secret", 14, gbody, strlen(gbody), 1, "sha512=", sig);
    snprintf(h1, sizeof h1, "X-Signature: %s", sig);
    const char *gen_h[] = {h1, "X-Event-Type: thing.done", NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/generic", gen_h, gbody, strlen(gbody), &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 4);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:generic:g-1"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:shopify:wh-1"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:slack:Ev1"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:standard:msg_1"), 1);
}

TEST(ingress_slack_url_verification)
{
    struct fixture f;
    struct http_response r;
    char sig[SIG_BUF_SIZE], h1[400], h2[200];
    long long now = (long long)time(NULL);
    const char *body =
        "{\"token\":\"t\",\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P\","
        "\"type\":\"url_verification\"}";

    fixture_start(&f, NULL);
    slack_signature("slack-signing-secret", now, body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Slack-Signature: %s", sig);
    snprintf(h2, sizeof h2, "X-Slack-Request-Timestamp: %lld", now);
    const char *h[] = {h1, h2, NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/slack", h, body, strlen(body), &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_STR_CONTAINS(r.body, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 0);
}

TEST(ingress_unknown_source_method_and_size)
{
    struct fixture f;
    struct http_response r;
    char big[200];

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/nobody", NULL, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 404);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/elsewhere", NULL, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 404);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(f.port, "GET", "/hooks/github", NULL, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 405);
    ASSERT_STR_EQ(http_header(&r, "Allow"), "POST");
    http_response_free(&r);
    /* Content-Length over the source's max_body (64 bytes). */
    memset(big, 'a', sizeof big);
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/small", NULL, big, sizeof big, &r), 0);
    ASSERT_INT_EQ(r.status, 413);
    http_response_free(&r);
    /* Chunked, growing past max_body: counted as it arrives, never buffered. */
    char raw[1024];
    int n = snprintf(raw, sizeof raw,
                     "POST /hooks/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n40\r\n%064d\r\n40\r\n%064d\r\n0\r\n\r\n",
                     0, 0);
    ASSERT_INT_EQ(http_raw(f.port, raw, (size_t)n, 5000, &r), 0);
    ASSERT_INT_EQ(r.status, 413);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 0);
}

TEST(ingress_request_id_from_proxy_is_kept)
{
    struct fixture f;
    struct http_response r;
    char sig[SIG_BUF_SIZE], h1[300];

    fixture_start(&f, NULL);
    github_signature("gh-secret-one", "{}", 2, sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    const char *h[] = {h1, "X-GitHub-Delivery: rid-1", "X-GitHub-Event: ping",
                       "X-Request-Id: proxy-req-42", NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/github", h, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 202);
    ASSERT_STR_EQ(http_header(&r, "X-Request-Id"), "proxy-req-42");
    http_response_free(&r);
    char *log = proc_log(f.receiver);
    ASSERT_STR_CONTAINS(log, "\"request_id\":\"proxy-req-42\"");
    free(log);
    redisReply *e = redis_cmd(f.rc, "XRANGE hookd:{default}:stream - +");
    int found = 0;
    redisReply *fl = e->element[0]->element[1];
    for (size_t i = 0; i + 1 < fl->elements; i += 2)
        found |= !strcmp(fl->element[i]->str, "request_id") &&
                 !strcmp(fl->element[i + 1]->str, "proxy-req-42");
    freeReplyObject(e);
    ASSERT(found);
}

struct race_arg {
    struct fixture *f;
    int status;
};

static void *race_post(void *p)
{
    struct race_arg *a = p;
    a->status = fixture_post_github(a->f, "gh-secret-one", "race-1", "push", "{\"n\":1}", NULL);
    return NULL;
}

TEST(ingress_concurrent_copies_give_one_202)
{
    enum { COPIES = 16 };
    struct fixture f;
    pthread_t t[COPIES];
    struct race_arg a[COPIES];
    int accepted = 0, dup = 0;

    fixture_start(&f, NULL);
    for (int i = 0; i < COPIES; i++) {
        a[i] = (struct race_arg){&f, 0};
        pthread_create(&t[i], NULL, race_post, &a[i]);
    }
    for (int i = 0; i < COPIES; i++) {
        pthread_join(t[i], NULL);
        accepted += a[i].status == 202;
        dup += a[i].status == 200;
    }
    ASSERT_INT_EQ(accepted, 1);
    ASSERT_INT_EQ(dup, COPIES - 1);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 1);
}

static int readyz_status(int admin_port)
{
    struct http_response r;
    int status;
    if (http_request(admin_port, "GET", "/readyz", NULL, NULL, 0, &r) != 0)
        return -1;
    status = r.status;
    http_response_free(&r);
    return status;
}

TEST_T(ingress_redis_down_503_then_recovers, 90)
{
    struct fixture f;
    struct http_response r;

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "up-1", "push", "{}", NULL), 202);
    ASSERT_INT_EQ(readyz_status(f.admin_port), 200);
    redisFree(f.rc);
    redis_kill(f.redis);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "down-1", "push", "{}", &r), 503);
    ASSERT_STR_EQ(http_header(&r, "Retry-After"), "7");
    http_response_free(&r);
    ASSERT_INT_EQ(readyz_status(f.admin_port), 503);
    redis_restart(f.redis);
    f.rc = redis_connect(f.redis);
    /* The receiver reconnects by itself. */
    WAIT_FOR(fixture_post_github(&f, "gh-secret-one", "down-1", "push", "{}", NULL) == 202, 10000);
    WAIT_FOR(readyz_status(f.admin_port) == 200,
             5000); /* reconnects are throttled to 1 per 100 ms */
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 1); /* no persistence: only the new one */
}

/* Started while Redis is down: it serves (503, not ready) instead of
 * exiting, and accepts once Redis is there, without a restart. */
TEST_T(ingress_starts_with_redis_down, 60)
{
    struct fixture f;
    struct http_response r;

    fixture_start(&f, NULL);
    proc_stop(f.receiver);
    redisFree(f.rc);
    redis_kill(f.redis);
    f.receiver = receiver_start(f.config_path, f.admin_port);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "cold-1", "push", "{}", &r), 503);
    ASSERT_NOT_NULL(http_header(&r, "Retry-After"));
    http_response_free(&r);
    ASSERT_INT_EQ(readyz_status(f.admin_port), 503);
    redis_restart(f.redis);
    f.rc = redis_connect(f.redis);
    WAIT_FOR(fixture_post_github(&f, "gh-secret-one", "cold-1", "push", "{}", NULL) == 202, 10000);
    WAIT_FOR(readyz_status(f.admin_port) == 200, 5000);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 1);
}

TEST_T(ingress_sighup_swaps_keys_and_survives_bad_file, 60)
{
    struct fixture f;
    static const char rotated[] =
        "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\n"
        "[redis]\nurl = @REDIS@\n"
        "[source github]\nscheme = github\nsecret.v3 = gh-secret-three\n"
        "[route default]\nhandler = exec:/bin/true\n";

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "h-1", "push", "{}", NULL), 202);
    fixture_rewrite_config(&f, rotated);
    proc_signal(f.receiver, SIGHUP);
    WAIT_FOR(proc_log_count(f.receiver, "config reloaded") == 1, 5000);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "h-2", "push", "{}", NULL), 401);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-three", "h-3", "push", "{}", NULL), 202);
    /* A broken file: logged, and the running config stays. */
    fixture_reload_fails(&f, "[receiver]\nbogus_key = 1\n", "receiver.conf:2");
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-three", "h-4", "push", "{}", NULL), 202);
    ASSERT(proc_alive(f.receiver));
}

TEST(ingress_sigterm_exits_zero)
{
    struct fixture f;

    fixture_start(&f, NULL);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "t-1", "push", "{}", NULL), 202);
    proc_signal(f.receiver, SIGTERM);
    ASSERT_INT_EQ(proc_wait(f.receiver, 10000), 0);
}

/* The epoll loop (polling = epoll) serves the same path, suspend and
 * resume included. */
TEST(ingress_epoll_polling_serves)
{
    struct fixture f;
    static const char conf[] =
        "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\npolling = epoll\n"
        "[redis]\nurl = @REDIS@\n"
        "[source github]\nscheme = github\nsecret.v1 = gh-secret-one\n"
        "[route default]\nhandler = exec:/bin/true\n";

    fixture_start(&f, conf);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "ep-1", "push", "{}", NULL), 202);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "ep-1", "push", "{}", NULL), 200);
    ASSERT_INT_EQ(fixture_post_github(&f, "wrong-secret", "ep-2", "push", "{}", NULL), 401);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 1);
    proc_signal(f.receiver, SIGTERM);
    ASSERT_INT_EQ(proc_wait(f.receiver, 10000), 0);
}

TEST(ingress_rate_limit_429_with_retry_after)
{
    struct fixture f;
    struct http_response r;
    char id[32];
    int accepted = 0, limited = 0;
    static const char conf[] =
        "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\n"
        "[redis]\nurl = @REDIS@\n"
        "[source github]\nscheme = github\nsecret.v1 = gh-secret-one\nrate_limit = 1/s\nburst = 3\n"
        "[route default]\nhandler = exec:/bin/true\n";

    fixture_start(&f, conf);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "rl-%d", i);
        int st = fixture_post_github(&f, "gh-secret-one", id, "push", "{}", &r);
        if (st == 429) {
            limited++;
            ASSERT_NOT_NULL(http_header(&r, "Retry-After"));
            ASSERT(strtol(http_header(&r, "Retry-After"), NULL, 10) >= 1);
        }
        accepted += st == 202;
        http_response_free(&r);
    }
    /* The burst of 3 passes (a fourth may, if a second ticked), the rest wait. */
    ASSERT(accepted >= 3 && accepted <= 4);
    ASSERT_INT_EQ(accepted + limited, 6);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), accepted);
    /* A run-time override (what `hookctl throttle` writes) lifts the limit. */
    redisReply *x = redis_cmd(f.rc, "HSET hookd:throttle github 1000");
    freeReplyObject(x);
    WAIT_FOR(fixture_post_github(&f, "gh-secret-one", "rl-late", "push", "{}", NULL) == 202, 5000);
}

TEST(ingress_paused_route_503_then_resumes)
{
    struct fixture f;
    struct http_response r;

    fixture_start(&f, NULL);
    redisReply *x = redis_cmd(f.rc, "SET hookd:{default}:paused 1");
    freeReplyObject(x);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "p-1", "push", "{}", &r), 503);
    ASSERT_NOT_NULL(http_header(&r, "Retry-After"));
    ASSERT_STR_CONTAINS(r.body, "paused");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 0);
    x = redis_cmd(f.rc, "DEL hookd:{default}:paused");
    freeReplyObject(x);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "p-1", "push", "{}", NULL), 202);
}

TEST(ingress_watermark_503_and_recovery)
{
    struct fixture f;
    struct http_response r;
    char id[32];
    static const char conf[] =
        "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\n"
        "high_watermark = 5\nlow_watermark = 3\nretry_after = 2s\n"
        "[redis]\nurl = @REDIS@\n"
        "[source github]\nscheme = github\nsecret.v1 = gh-secret-one\n"
        "[route default]\nhandler = exec:/bin/true\n"
        "[route other]\nmatch = github:other\nhandler = exec:/bin/true\n";

    fixture_start(&f, conf);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "w-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", id, "push", "{}", NULL), 202);
    }
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "w-5", "push", "{}", &r), 503);
    ASSERT_STR_EQ(http_header(&r, "Retry-After"), "2"); /* retry_after at the watermark */
    http_response_free(&r);
    /* Only the overloaded route pushes back. */
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "o-1", "other", "{}", NULL), 202);
    /* Retry-After grows with the overload: in depth (3x the watermark)... */
    freeReplyObject(redis_cmd(f.rc, "HSET hookd:{default}:counters backlog 15"));
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "w-5", "push", "{}", &r), 503);
    ASSERT_STR_EQ(http_header(&r, "Retry-After"), "6");
    http_response_free(&r);
    /* ...and in time: refusing for over one retry_after adds one more. */
    freeReplyObject(redis_cmd(f.rc, "HSET hookd:{default}:counters backlog 5"));
    usleep(2100 * 1000);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "w-5", "push", "{}", &r), 503);
    ASSERT_STR_EQ(http_header(&r, "Retry-After"), "4");
    http_response_free(&r);
    /* Draining to 4 (below high, above low) is not enough: hysteresis. */
    freeReplyObject(redis_cmd(f.rc, "HSET hookd:{default}:counters backlog 4"));
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "w-5", "push", "{}", NULL), 503);
    freeReplyObject(redis_cmd(f.rc, "HSET hookd:{default}:counters backlog 2"));
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "w-5", "push", "{}", NULL), 202);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 6); /* nothing trimmed, nothing lost */
}

TEST(ingress_redis_restart_between_requests_costs_no_503)
{
    struct fixture f;
    char id[32];

    fixture_start(&f, NULL);
    /* Open a connection on each pool thread. */
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "before-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", id, "push", "{}", NULL), 202);
    }
    redisFree(f.rc);
    redis_stop(f.redis);
    redis_restart(f.redis);
    f.rc = redis_connect(f.redis);
    /* Stale connections are noticed before a command is sent on them. */
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "after-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", id, "push", "{}", NULL), 202);
    }
}
