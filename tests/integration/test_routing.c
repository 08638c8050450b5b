/*
 * test_routing.c — route filters and handler = drop through a real
 * receiver, redis-server and worker: which route takes an event, what a
 * drop route answers and does not store, the hostile bodies (not JSON, a
 * field that is an object, a very long one), and the worker's refusal to
 * serve a drop route.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingress_fixture.h"
#include "prom_parse.h"

static const char routing_conf[] = HARNESS_CONF_HEAD("500ms")
                                   "[source github]\n"
                                   "scheme = github\n"
                                   "secret.v1 = gh-secret-one\n"
                                   "[route pings]\n"
                                   "match = github:ping\n"
                                   "handler = drop\n"
                                   "[route merged]\n"
                                   "match = github:pull_request\n"
                                   "filter = json:/action == closed, json:/pull_request/merged == "
                                   "true, header:X-GitHub-Hook-Installation-Target-Type ~ repo*\n"
                                   "handler = exec:@H@/record.sh @DIR@\n"
                                   "[route bots]\n"
                                   "filter = json:/sender/type == Bot\n"
                                   "handler = drop\n"
                                   "[route default]\n"
                                   "handler = exec:@H@/record.sh @DIR@\n";

static void start(struct fixture *f)
{
    char handlers[512];
    const char *vars[] = {"@H@", handlers, "@DIR@", harness_tmpdir(), NULL};
    char *conf;

    snprintf(handlers, sizeof handlers, "%s/tests/data/handlers", harness_repo_dir());
    conf = harness_expand(routing_conf, vars);
    fixture_start(f, conf);
    free(conf);
}

/* POSTs a GitHub event with the installation-target header; returns the
 * status and leaves the body in *r. */
static int post(struct fixture *f, const char *id, const char *event, const char *target,
                const char *body, struct http_response *r)
{
    char sig[SIG_BUF_SIZE], h[4][300];

    github_signature("gh-secret-one", body, strlen(body), sig);
    snprintf(h[0], sizeof h[0], "X-Hub-Signature-256: %s", sig);
    snprintf(h[1], sizeof h[1], "X-GitHub-Delivery: %s", id);
    snprintf(h[2], sizeof h[2], "X-GitHub-Event: %s", event);
    snprintf(h[3], sizeof h[3], "X-GitHub-Hook-Installation-Target-Type: %s", target);
    const char *headers[] = {h[0], h[1], h[2], h[3], NULL};
    memset(r, 0, sizeof *r);
    ASSERT_INT_EQ(http_request(f->port, "POST", "/hooks/github", headers, body, strlen(body), r),
                  0);
    return r->status;
}

/* Posts and expects STATUS with "status":WORD and, for drops, the route. */
static void expect(struct fixture *f, const char *id, const char *event, const char *body,
                   int status, const char *word, const char *route)
{
    struct http_response r;
    char want[128];

    ASSERT_INT_EQ(post(f, id, event, "repository", body, &r), status);
    snprintf(want, sizeof want, "\"status\":\"%s\"", word);
    ASSERT_STR_CONTAINS(r.body, want);
    if (route) {
        snprintf(want, sizeof want, "\"route\":\"%s\"", route);
        ASSERT_STR_CONTAINS(r.body, want);
    }
    http_response_free(&r);
}

static double dropped_metric(struct fixture *f, const char *route)
{
    const char *headers[] = {"Authorization: Bearer test-admin-token", NULL};
    struct http_response r = {0};
    struct prom_doc doc;
    char err[200];
    double v;

    ASSERT_INT_EQ(http_request(f->admin_port, "GET", "/metrics", headers, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    if (prom_parse(r.body, r.body_len, &doc, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "/metrics: %s", err);
    v = prom_sum(&doc, "hookd_ingress_dropped_total", NULL, "route", route, "source", "github",
                 NULL);
    prom_doc_free(&doc);
    http_response_free(&r);
    return v;
}

TEST_T(routing_filters_pick_the_route, 40)
{
    static const char merged[] = "{\"action\":\"closed\",\"pull_request\":{\"merged\":true},"
                                 "\"sender\":{\"type\":\"User\"}}";
    static const char unmerged[] = "{\"action\":\"closed\",\"pull_request\":{\"merged\":false}}";
    struct fixture f;
    struct http_response r;

    start(&f);
    expect(&f, "m-1", "pull_request", merged, 202, "queued", NULL);
    expect(&f, "m-2", "pull_request", unmerged, 202, "queued", NULL);
    /* The glob on a header: another target type fails it. */
    ASSERT_INT_EQ(post(&f, "m-3", "pull_request", "organization", merged, &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&f, "merged"), 1);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 2);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{merged}:seen:github:m-1"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:github:m-2"), 1);
    /* A duplicate is judged by the route its filters pick again. */
    expect(&f, "m-1", "pull_request", merged, 200, "duplicate", NULL);

    /* A worker without -r serves every route but the drop routes and runs
     * the filtered route's event as any other. */
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, NULL};
    struct proc *w = proc_start(argv, NULL, "worker");
    const char *ids[][2] = {{"merged", "m-1"}, {"default", "m-2"}, {"default", "m-3"}};
    for (size_t i = 0; i < 3; i++) {
        char *state = NULL;
        for (int64_t end = harness_now_ms() + 10000; harness_now_ms() < end; harness_backoff(5)) {
            free(state);
            state = redis_str(f.rc, "HGET hookd:{%s}:seen:github:%s state", ids[i][0], ids[i][1]);
            if (state && strcmp(state, "processed") == 0)
                break;
        }
        ASSERT_STR_EQ(state, "processed");
        free(state);
    }
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{pings}:stream hookd:{bots}:stream"), 0);
    proc_stop(w);
}

TEST_T(routing_drop_answers_and_stores_nothing, 40)
{
    struct fixture f;
    struct http_response r;
    char *out = NULL;

    start(&f);
    expect(&f, "p-1", "ping", "{\"zen\":\"hi\"}", 200, "dropped", "pings");
    /* Not deduplicated: nothing was stored, the redelivery is dropped again. */
    expect(&f, "p-1", "ping", "{\"zen\":\"hi\"}", 200, "dropped", "pings");
    expect(&f, "b-1", "push", "{\"sender\":{\"type\":\"Bot\"}}", 200, "dropped", "bots");
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{pings}:stream hookd:{bots}:stream"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{pings}:seen:github:p-1"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{bots}:seen:github:b-1"), 0);
    ASSERT(dropped_metric(&f, "pings") == 2);
    ASSERT(dropped_metric(&f, "bots") == 1);
    /* Still verified first: a forged ping is refused, not dropped. */
    const char *forged[] = {"X-Hub-Signature-256: sha256=00000000000000000000000000000000"
                            "00000000000000000000000000000000", "X-GitHub-Delivery: p-2",
                            "X-GitHub-Event: ping", NULL};
    ASSERT_INT_EQ(http_request(f.port, "POST", "/hooks/github", forged, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
    ASSERT(dropped_metric(&f, "pings") == 2);
    /* A worker named for a drop route refuses to start; one without -r
     * serves the others. */
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, "-r", "pings", NULL};
    ASSERT_INT_EQ(harness_run(argv, &out, 10000), 2);
    ASSERT_STR_CONTAINS(out, "handler = drop");
    free(out);
}

TEST_T(routing_filters_on_hostile_bodies, 40)
{
    struct fixture f;
    size_t big = 70000;
    char *body = malloc(big + 64);
    int n;

    ASSERT_NOT_NULL(body);
    start(&f);
    /* Not JSON: json:/sender/type == Bot cannot hold, the event is kept. */
    expect(&f, "h-1", "push", "sender=Bot", 202, "queued", NULL);
    /* The field is an object, not a string. */
    expect(&f, "h-2", "push", "{\"sender\":{\"type\":{\"x\":\"Bot\"}}}", 202, "queued", NULL);
    /* A very long value (over FILTER_VALUE_MAX) equals nothing. */
    n = snprintf(body, big + 64, "{\"sender\":{\"type\":\"");
    memset(body + n, 'B', big - (size_t)n - 8);
    memcpy(body + big - 8, "\"}}", 4);
    expect(&f, "h-3", "push", body, 202, "queued", NULL);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 3);
    free(body);
    /* Control bytes and invalid UTF-8 in the compared field: no match, kept. */
    expect(&f, "h-4", "push", "{\"sender\":{\"type\":\"Bo\\u0000t\"}}", 202, "queued", NULL);
    expect(&f, "h-5", "push", "{\"sender\":{\"type\":\"Bot\"},\"sender\":{\"type\":\"Bot\"}}", 202,
           "queued", NULL);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 5);
    ASSERT(dropped_metric(&f, "bots") == 0);
}
