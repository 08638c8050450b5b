/*
 * test_hookctl_control.c — the operator's run-time brakes end to end:
 * `hookctl pause` / `resume` against a running receiver and worker, and
 * `hookctl throttle` against a running receiver, each taking effect without
 * a restart, visible in `hookctl stats` (text and --json).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookctl_fixture.h"
#include "worker_fixture.h"

#define SLOW_EVENTS 10
#define PAUSE_WATCH_MS 1500   /* how long a paused route must stay untouched */
#define THROTTLE_SEEN_MS 2500 /* receivers re-read overrides about once a second */

static const char brakes_conf[] =
    "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\nthreads = 2\n"
    "retry_after = 3s\n"
    "[redis]\nurl = @REDIS@\ndedupe_ttl = 3600\n"
    "[source github]\nscheme = github\nsecret.v1 = gh-secret-one\n"
    "[route slow]\nmatch = github:slow\nhandler = exec:%s/tests/data/handlers/slow.sh %s 0.2\n"
    "[route default]\nhandler = exec:/bin/true\n";

static long long counter(struct fixture *f, const char *route, const char *name)
{
    return redis_num(f->rc, "HGET hookd:{%s}:counters %s", route, name);
}

/* Handler starts recorded by slow.sh. */
static int starts(void)
{
    return wfx_lines_with("marks", "start ");
}

/* `hookctl ARGS...` run with the fixture's config; its exit code. */
#define CTL(f, out, ...) hk_ctl_config((f)->config_path, out, __VA_ARGS__, NULL)

/* `hookctl --json stats`, parsed. */
static json_t *stats_json(struct fixture *f)
{
    char *out = NULL;
    json_t *doc;

    ASSERT_INT_EQ(CTL(f, &out, "--json", "stats"), 0);
    if (!(doc = json_loads(out, 0, NULL)))
        test_fail(__FILE__, __LINE__, "stats --json is not JSON: %.300s", out);
    free(out);
    return doc;
}

static int route_paused(json_t *doc, const char *route)
{
    json_t *v = json_object_get(json_object_get(json_object_get(doc, "routes"), route), "paused");
    ASSERT(json_is_boolean(v));
    return json_is_true(v);
}

static void expect_503_paused(struct fixture *f, const char *id)
{
    struct http_response r = {0};

    ASSERT_INT_EQ(fixture_post_github(f, "gh-secret-one", id, "slow", "{}", &r), 503);
    ASSERT_NOT_NULL(http_header(&r, "Retry-After"));
    ASSERT_INT_EQ(strtol(http_header(&r, "Retry-After"), NULL, 10), 3);
    ASSERT_STR_CONTAINS(r.body, "paused");
    http_response_free(&r);
}

static void check_usage_errors(struct fixture *f)
{
    char *out = NULL;

    ASSERT_INT_EQ(CTL(f, &out, "pause"), 2);
    ASSERT_STR_CONTAINS(out, "usage: hookctl pause ROUTE");
    free(out);
    ASSERT_INT_EQ(CTL(f, NULL, "pause", "slow", "default"), 2);
    ASSERT_INT_EQ(CTL(f, NULL, "resume"), 2);
    ASSERT_INT_EQ(CTL(f, &out, "pause", "nosuch"), 2);
    ASSERT_STR_CONTAINS(out, "unknown route \"nosuch\"");
    free(out);
    ASSERT_INT_EQ(CTL(f, &out, "resume", "nosuch"), 2);
    ASSERT_STR_CONTAINS(out, "unknown route");
    free(out);
    ASSERT_INT_EQ(redis_int(f->rc, "EXISTS hookd:{nosuch}:paused"), 0);
}

TEST_T(hookctl_pause_resume_end_to_end, 60)
{
    struct fixture f;
    char conf[1024], id[32], *out = NULL;
    json_t *doc;

    snprintf(conf, sizeof conf, brakes_conf, harness_repo_dir(), harness_tmpdir());
    fixture_start(&f, conf);
    worker_start(f.config_path, "slow", NULL);
    for (int i = 0; i < SLOW_EVENTS; i++) {
        snprintf(id, sizeof id, "s-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", id, "slow", "{}", NULL), 202);
    }
    WAIT_FOR(starts() >= 1, 10000);

    ASSERT_INT_EQ(CTL(&f, &out, "pause", "slow"), 0);
    ASSERT_STR_CONTAINS(out, "route slow paused");
    free(out);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{slow}:paused"), 1);
    /* Ingress: this route's events wait with 503 + Retry-After, the others pass. */
    expect_503_paused(&f, "s-new");
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "d-1", "push", "{}", NULL), 202);
    /* Workers: the event in hand finishes, then nothing more is taken. */
    WAIT_FOR(starts() == wfx_lines_with("marks", "end "), 5000);
    /* ...and its outcome is recorded (the end mark precedes FINISH). */
    WAIT_FOR(counter(&f, "slow", "processed") == wfx_lines_with("marks", "end "), 5000);
    int started = starts();
    long long done = counter(&f, "slow", "processed");
    for (int64_t until = harness_now_ms() + PAUSE_WATCH_MS; harness_now_ms() < until;)
        harness_backoff(10);
    ASSERT_INT_EQ(starts(), started);
    ASSERT_INT_EQ(counter(&f, "slow", "processed"), done);
    ASSERT_INT_OP(done, <, SLOW_EVENTS);
    ASSERT_INT_EQ(counter(&f, "slow", "backlog"), SLOW_EVENTS - done); /* nothing dropped */

    ASSERT_INT_EQ(CTL(&f, &out, "stats"), 0);
    ASSERT_STR_CONTAINS(out, "route slow is PAUSED (hookctl resume slow)");
    ASSERT(!strstr(out, "route default is PAUSED"));
    free(out);
    doc = stats_json(&f);
    ASSERT(route_paused(doc, "slow"));
    ASSERT(!route_paused(doc, "default"));
    json_decref(doc);
    check_usage_errors(&f);

    ASSERT_INT_EQ(CTL(&f, &out, "resume", "slow"), 0);
    ASSERT_STR_CONTAINS(out, "route slow resumed");
    free(out);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "s-new", "slow", "{}", NULL), 202);
    WAIT_FOR(counter(&f, "slow", "processed") == SLOW_EVENTS + 1, 15000);
    ASSERT_INT_EQ(counter(&f, "slow", "backlog"), 0);
    doc = stats_json(&f);
    ASSERT(!route_paused(doc, "slow"));
    json_decref(doc);
    ASSERT_INT_EQ(CTL(&f, &out, "stats"), 0);
    ASSERT(!strstr(out, "PAUSED"));
    free(out);
}

/* POSTs fresh events until one gets STATUS; the ms it took. */
static int64_t until_status(struct fixture *f, int status, const char *prefix)
{
    struct http_response r = {0};
    int64_t t0 = harness_now_ms();
    char id[48];

    for (int i = 0;; i++) {
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        int got = fixture_post_github(f, "gh-secret-one", id, "push", "{}", &r);
        if (got == status)
            break;
        http_response_free(&r);
        if (harness_now_ms() - t0 > THROTTLE_SEEN_MS)
            test_fail(__FILE__, __LINE__, "no %d within %d ms (last %d)", status, THROTTLE_SEEN_MS,
                      got);
        harness_backoff(5);
    }
    if (status == 429) {
        ASSERT_NOT_NULL(http_header(&r, "Retry-After"));
        ASSERT_INT_OP(strtol(http_header(&r, "Retry-After"), NULL, 10), >=, 1);
        ASSERT_STR_CONTAINS(r.body, "rate limit");
    }
    http_response_free(&r);
    return harness_now_ms() - t0;
}

static void check_throttle_usage(struct fixture *f)
{
    char *out = NULL;

    ASSERT_INT_EQ(CTL(f, &out, "throttle", "nosuch", "5"), 2);
    ASSERT_STR_CONTAINS(out, "unknown source \"nosuch\"");
    free(out);
    ASSERT_INT_EQ(CTL(f, &out, "throttle", "github", "fast"), 2);
    ASSERT_STR_CONTAINS(out, "bad rate");
    free(out);
    ASSERT_INT_EQ(CTL(f, NULL, "throttle", "github"), 2);
    ASSERT_INT_EQ(CTL(f, NULL, "throttle", "github", "-1"), 2);
}

TEST_T(hookctl_throttle_429_then_off, 60)
{
    struct fixture f;
    char conf[1024], *out = NULL;
    json_t *doc, *v;

    snprintf(conf, sizeof conf, brakes_conf, harness_repo_dir(), harness_tmpdir());
    fixture_start(&f, conf);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "before", "push", "{}", NULL), 202);

    ASSERT_INT_EQ(CTL(&f, &out, "throttle", "github", "0"), 0);
    ASSERT_STR_CONTAINS(out, "github throttled to 0");
    free(out);
    /* No restart, no reload: the receiver picks the override up by itself. */
    ASSERT_INT_OP(until_status(&f, 429, "t"), <=, THROTTLE_SEEN_MS);
    ASSERT_INT_EQ(CTL(&f, &out, "throttle"), 0);
    ASSERT_STR_CONTAINS(out, "github 0/s");
    free(out);
    doc = stats_json(&f);
    v = json_object_get(json_object_get(doc, "throttle"), "github");
    ASSERT(json_is_number(v));
    ASSERT_INT_EQ((long long)json_number_value(v), 0);
    json_decref(doc);
    ASSERT_INT_EQ(CTL(&f, &out, "stats"), 0);
    ASSERT_STR_CONTAINS(out, "throttle overrides");
    free(out);

    /* A rate given per minute is kept per second. */
    ASSERT_INT_EQ(CTL(&f, NULL, "throttle", "github", "300/m"), 0);
    ASSERT_INT_EQ(CTL(&f, &out, "--json", "throttle"), 0);
    ASSERT_NOT_NULL(doc = json_loads(out, 0, NULL));
    ASSERT_INT_EQ((long long)json_number_value(json_object_get(doc, "github")), 5);
    json_decref(doc);
    free(out);
    check_throttle_usage(&f);

    ASSERT_INT_EQ(CTL(&f, &out, "throttle", "github", "off"), 0);
    ASSERT_STR_CONTAINS(out, "override removed");
    free(out);
    ASSERT_INT_OP(until_status(&f, 202, "u"), <=, THROTTLE_SEEN_MS);
    ASSERT_INT_EQ(CTL(&f, &out, "throttle"), 0);
    ASSERT_STR_CONTAINS(out, "no throttle overrides");
    free(out);
    doc = stats_json(&f);
    ASSERT_INT_EQ(json_object_size(json_object_get(doc, "throttle")), 0);
    json_decref(doc);
}
