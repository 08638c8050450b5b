/*
 * test_ingress_handle.c — the receiver's decision without a socket:
 * ingress_handle (receiver/ingress.h) on a config and a store against a
 * real redis-server, with no committer thread running, so the step runs in
 * the calling thread (pipeline_commit's fallback). The answers and stream
 * contents are those the HTTP tests see through a receiver process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ingress.h"

struct handle_fx {
    struct redis_srv *redis;
    redisContext *rc;
    struct config *cfg;
    struct store *st;
};

static void fx_start(struct handle_fx *fx)
{
    char text[512], err[256];

    fx->redis = redis_start(NULL);
    fx->rc = redis_connect(fx->redis);
    snprintf(text, sizeof text,
             "[redis]\nurl = %s\ntimeout = 500ms\n"
             "[source github]\nscheme = github\nsecret.v1 = gh-secret-one\n"
             "[source small]\nscheme = github\nmax_body = 8\nsecret.v1 = s\n"
             "[route default]\nhandler = exec:/bin/true\n",
             redis_url(fx->redis));
    fx->cfg = config_parse("handle.conf", text, strlen(text), err, sizeof err);
    if (!fx->cfg)
        test_fail(__FILE__, __LINE__, "config: %s", err);
    fx->st = store_open(&fx->cfg->redis, err, sizeof err);
    if (!fx->st)
        test_fail(__FILE__, __LINE__, "store_open: %s", err);
}

static void fx_stop(struct handle_fx *fx)
{
    store_close(fx->st);
    config_release(fx->cfg);
    redisFree(fx->rc);
}

/* POSTs BODY to PATH, signed with SECRET as GitHub does: the status. */
static int post(struct handle_fx *fx, struct store *st, const char *path, const char *secret,
                const char *delivery, const char *body, struct ingress_response *resp)
{
    char sig[SIG_BUF_SIZE];
    struct headers h = {.n = 0};
    struct ingress_request req = {.request_id = "req-1",
                                  .client_addr = "127.0.0.1",
                                  .start_us = harness_now_ms() * 1000,
                                  .body = body,
                                  .body_len = strlen(body)};

    ASSERT_INT_EQ(github_signature(secret, body, strlen(body), sig), 0);
    headers_add(&h, "X-Hub-Signature-256", 19, sig, strlen(sig));
    headers_add(&h, "X-GitHub-Delivery", 17, delivery, strlen(delivery));
    headers_add(&h, "X-GitHub-Event", 14, "push", 4);
    ingress_handle(fx->cfg, st, &req, path, &h, resp);
    return resp->status;
}

TEST(ingress_handle_queued_duplicate_rejected)
{
    struct handle_fx fx;
    struct ingress_response r;

    fx_start(&fx);
    ASSERT_INT_EQ(post(&fx, fx.st, "/hooks/github", "gh-secret-one", "h-1", "{\"a\":1}", &r), 202);
    ASSERT_STR_CONTAINS(r.body, "\"status\":\"queued\"");
    ASSERT_STR_CONTAINS(r.body, "\"event_id\":\"h-1\"");
    ASSERT_STR_CONTAINS(r.body, "\"request_id\":\"req-1\"");
    ingress_response_free(&r);
    ASSERT_INT_EQ(post(&fx, fx.st, "/hooks/github", "gh-secret-one", "h-1", "{\"a\":1}", &r), 200);
    ASSERT_STR_CONTAINS(r.body, "\"status\":\"duplicate\"");
    ingress_response_free(&r);
    ASSERT_INT_EQ(redis_int(fx.rc, "XLEN hookd:{default}:stream"), 1);

    /* A bad signature: 401, and its record written by this thread. */
    ASSERT_INT_EQ(post(&fx, fx.st, "/hooks/github", "wrong", "h-2", "{\"a\":2}", &r), 401);
    ASSERT_STR_CONTAINS(r.body, "\"status\":\"rejected\"");
    ingress_response_free(&r);
    ASSERT_INT_EQ(redis_int(fx.rc, "XLEN hookd:rejected"), 1);
    /* Its event id from the scheme's header, the body never read. */
    redisReply *rej = redis_cmd(fx.rc, "XRANGE hookd:rejected - +");
    const char *want = NULL;
    for (size_t i = 0; i + 1 < rej->element[0]->element[1]->elements; i += 2)
        if (strcmp(rej->element[0]->element[1]->element[i]->str, "event_id") == 0)
            want = rej->element[0]->element[1]->element[i + 1]->str;
    ASSERT_STR_EQ(want, "h-2");
    freeReplyObject(rej);
    ASSERT_INT_EQ(redis_int(fx.rc, "XLEN hookd:{default}:stream"), 1);
    fx_stop(&fx);
}

TEST(ingress_handle_head_refusals)
{
    struct handle_fx fx;
    struct ingress_response r;

    fx_start(&fx);
    ASSERT_INT_EQ(post(&fx, fx.st, "/other/github", "gh-secret-one", "h-1", "{}", &r), 404);
    ASSERT_STR_CONTAINS(r.body, "\"error\":\"not_found\"");
    ingress_response_free(&r);
    ASSERT_INT_EQ(post(&fx, fx.st, "/hooks/nosuch", "gh-secret-one", "h-1", "{}", &r), 404);
    ASSERT_STR_CONTAINS(r.body, "\"error\":\"unknown_source\"");
    ingress_response_free(&r);
    ASSERT_INT_EQ(post(&fx, fx.st, "/hooks/small", "s", "h-1", "{\"long\":true}", &r), 413);
    ASSERT_STR_CONTAINS(r.body, "\"error\":\"body_too_large\"");
    ingress_response_free(&r);
    ASSERT_INT_EQ(redis_int(fx.rc, "XLEN hookd:{default}:stream"), 0);
    fx_stop(&fx);
}

/* No Redis handle at all: the step fails as Redis unavailable, 503 with
 * the config's Retry-After. */
TEST(ingress_handle_without_store)
{
    struct handle_fx fx;
    struct ingress_response r;

    fx_start(&fx);
    ASSERT_INT_EQ(post(&fx, NULL, "/hooks/github", "gh-secret-one", "h-9", "{}", &r), 503);
    ASSERT_STR_CONTAINS(r.body, "\"status\":\"unavailable\"");
    ASSERT_INT_EQ(r.retry_after_s, fx.cfg->receiver.retry_after_s);
    ingress_response_free(&r);
    ASSERT_INT_EQ(redis_int(fx.rc, "XLEN hookd:{default}:stream"), 0);
    fx_stop(&fx);
}
