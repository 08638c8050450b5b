/*
 * test_admin.c — the admin listener over real HTTP against a real receiver,
 * worker and redis-server: token checks, /readyz without Redis, /metrics in
 * strict exposition format with counters that move as events flow, and the
 * W3C traceparent from the request to the stream, the worker's log and the
 * handler's environment. The JSON API and replay are in test_admin_api.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_fixture.h"
#include "store_shared.h"

TEST(admin_token_required_except_health)
{
    struct afx f;
    struct http_response r = {0};
    const char *protected_paths[] = {
        "/metrics",      "/",    "/dashboard.js", "/api/counts", "/api/dead/default",
        "/api/rejected", "/nope"};

    afx_start(&f, 0);
    ASSERT_INT_EQ(afx_get(&f, "/healthz", AFX_NONE, &r), 200);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/readyz", AFX_NONE, &r), 200);
    http_response_free(&r);
    for (size_t i = 0; i < sizeof protected_paths / sizeof *protected_paths; i++) {
        ASSERT_INT_EQ(afx_get(&f, protected_paths[i], AFX_NONE, &r), 401);
        ASSERT_STR_CONTAINS(http_header(&r, "WWW-Authenticate"), "Basic realm=\"hookd\"");
        http_response_free(&r);
    }
    /* Wrong tokens, in every shape. */
    const char *bad[] = {"Authorization: Bearer wrong",
                         "Authorization: Bearer " AFX_TOKEN "x",
                         "Authorization: Bearer ",
                         "Authorization: Basic b3BzOndyb25n" /* ops:wrong */,
                         "Authorization: Basic bm9jb2xvbg==" /* nocolon */,
                         "Authorization: Basic !!!notbase64",
                         "Authorization: Digest x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *h[] = {bad[i], NULL};
        ASSERT_INT_EQ(http_request(f.in.admin_port, "GET", "/api/counts", h, NULL, 0, &r), 0);
        if (r.status != 401)
            test_fail(__FILE__, __LINE__, "%s: status %d, want 401", bad[i], r.status);
        http_response_free(&r);
    }
    ASSERT_INT_EQ(afx_get(&f, "/metrics", AFX_BEARER, &r), 200);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/metrics", AFX_BASIC, &r), 200);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/", AFX_BASIC, &r), 200);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/nope", AFX_BEARER, &r), 404);
    http_response_free(&r);
}

TEST(admin_readyz_503_when_redis_goes_away)
{
    struct afx f;
    struct http_response r = {0};
    struct prom_doc doc;

    afx_start(&f, 0);
    ASSERT_INT_EQ(afx_get(&f, "/readyz", AFX_NONE, &r), 200);
    http_response_free(&r);
    ASSERT(afx_metric(&f, "hookd_redis_up", NULL, NULL) == 1);
    redis_kill(f.in.redis);
    WAIT_FOR(afx_get(&f, "/readyz", AFX_NONE, &r) == 503 || (http_response_free(&r), 0), 10000);
    ASSERT_STR_CONTAINS(r.body, "redis");
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/healthz", AFX_NONE, &r), 200);
    http_response_free(&r);
    /* /metrics still answers, strictly formatted, and says Redis is down. */
    afx_scrape(&f, &doc);
    ASSERT(prom_sum(&doc, "hookd_redis_up", NULL, NULL) == 0);
    size_t found;
    ASSERT(prom_sum(&doc, "hookd_route_exporter", NULL, NULL) == 0);
    prom_sum(&doc, "hookd_route_backlog", &found, NULL);
    ASSERT_INT_EQ(found, 0); /* no figures rather than wrong ones */
    prom_doc_free(&doc);
    ASSERT_INT_EQ(afx_get(&f, "/api/counts", AFX_BEARER, &r), 503);
    http_response_free(&r);
    /* Back again: ready again. */
    redis_restart(f.in.redis);
    WAIT_FOR(afx_get(&f, "/readyz", AFX_NONE, &r) == 200 || (http_response_free(&r), 0), 10000);
    http_response_free(&r);
}

static double m(struct prom_doc *d, const char *name, ...)
{
    /* Up to two label pairs, NULL-terminated. */
    va_list ap;
    const char *kv[5] = {0};

    va_start(ap, name);
    for (int i = 0; i < 4 && (kv[i] = va_arg(ap, const char *)); i++)
        ;
    va_end(ap);
    return prom_sum(d, name, NULL, kv[0], kv[1], kv[2], kv[3], NULL);
}

/* Requests of every kind move exactly the counters they should. */
TEST(admin_metrics_counters_move_with_traffic)
{
    struct afx f;
    struct http_response r = {0};
    struct prom_doc d0, d1;
    char sig[SIG_BUF_SIZE], h1[300];

    afx_start(&f, 0);
    afx_scrape(&f, &d0);
    ASSERT_STR_EQ(prom_type(&d0, "hookd_ingress_requests_total"), "counter");
    ASSERT_STR_EQ(prom_type(&d0, "hookd_ingress_request_duration_seconds"), "histogram");
    ASSERT_STR_EQ(prom_type(&d0, "hookd_route_backlog"), "gauge");
    ASSERT(m(&d0, "hookd_route_received_total", "route", "default", NULL) == 0);
    prom_doc_free(&d0);

    ASSERT_INT_EQ(afx_post_event(&f, "m-1", "push", NULL, &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_event(&f, "m-1", "push", NULL, &r), 200);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_event(&f, "m-2", "billing.paid", NULL, &r), 202);
    http_response_free(&r);
    /* A signature no key matches: both versions are tried. */
    github_signature("retired-secret", "{}", 2, sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    const char *hb[] = {h1, "X-GitHub-Delivery: m-3", "X-GitHub-Event: push", NULL};
    ASSERT_INT_EQ(http_request(f.in.port, "POST", "/hooks/github", hb, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(f.in.port, "POST", "/hooks/nosuch", NULL, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 404);
    http_response_free(&r);

    afx_scrape(&f, &d1);
    ASSERT(m(&d1, "hookd_ingress_requests_total", "outcome", "queued", "status", "202") == 2);
    ASSERT(m(&d1, "hookd_ingress_requests_total", "outcome", "duplicate", "source", "github") == 1);
    ASSERT(m(&d1, "hookd_ingress_requests_total", "outcome", "no_match", "status", "401") == 1);
    ASSERT(m(&d1, "hookd_ingress_requests_total", "outcome", "unknown_source", "source", "") == 1);
    ASSERT(m(&d1, "hookd_ingress_duplicates_total", "source", "github", NULL) == 1);
    ASSERT(m(&d1, "hookd_signature_failures_total", "reason", "no_match", "version", "v1") == 1);
    ASSERT(m(&d1, "hookd_signature_failures_total", "reason", "no_match", "version", "v2") == 1);
    ASSERT(m(&d1, "hookd_signature_verified_total", "source", "github", "version", "v1") == 3);
    ASSERT(m(&d1, "hookd_ingress_request_duration_seconds_count", "source", "github", NULL) == 4);
    ASSERT(m(&d1, "hookd_redis_roundtrip_seconds_count", "op", "enqueue", NULL) == 3);
    ASSERT(m(&d1, "hookd_route_received_total", "route", "default", NULL) == 1);
    ASSERT(m(&d1, "hookd_route_received_total", "route", "billing", NULL) == 1);
    ASSERT(m(&d1, "hookd_route_duplicates_total", "route", "default", NULL) == 1);
    ASSERT(m(&d1, "hookd_route_backlog", "route", "default", NULL) == 1);
    ASSERT(m(&d1, "hookd_route_queued", "route", "default", NULL) == 1);
    prom_doc_free(&d1);

    /* A worker drains both routes: the Redis-backed counters follow. */
    afx_worker(&f);
    WAIT_FOR(afx_metric(&f, "hookd_route_processed_total", NULL, NULL) == 2, 15000);
    afx_scrape(&f, &d1);
    ASSERT(m(&d1, "hookd_route_backlog", "route", "default", NULL) == 0);
    ASSERT(m(&d1, "hookd_route_queued", "route", "billing", NULL) == 0);
    ASSERT(m(&d1, "hookd_route_in_flight", "route", "billing", NULL) == 0);
    ASSERT(m(&d1, "hookd_route_consumers", "route", "default", NULL) >= 1);
    prom_doc_free(&d1);
}

/* Capacity answers are counted by reason and status. */
TEST(admin_metrics_count_rejections)
{
    struct afx f;
    struct http_response r = {0};

    afx_start(&f, 0);
    redis_cmd(f.in.rc, "SET hookd:{default}:paused 1");
    ASSERT_INT_EQ(afx_post_event(&f, "p-1", "push", NULL, &r), 503);
    http_response_free(&r);
    redis_cmd(f.in.rc, "DEL hookd:{default}:paused");
    ASSERT(afx_metric(&f, "hookd_ingress_rejected_total", "reason", "paused") == 1);
    redis_kill(f.in.redis);
    WAIT_FOR(afx_post_event(&f, "p-2", "push", NULL, &r) == 503 || (http_response_free(&r), 0),
             10000);
    http_response_free(&r);
    ASSERT(afx_metric(&f, "hookd_ingress_rejected_total", "reason", "redis_unavailable") +
               afx_metric(&f, "hookd_ingress_rejected_total", "reason", "redis_timeout") >=
           1);
}

/* One handler run written as a worker's outcome step writes it. */
static void observe(redisContext *rc, const char *result, double seconds)
{
    struct store_handler_sample smp;

    store_handler_sample(&smp, result, seconds);
    freeReplyObject(redis_cmd(rc, "HINCRBY hookd:{default}:handler_hist %s 1", smp.bucket_field));
    freeReplyObject(
        redis_cmd(rc, "HINCRBY hookd:{default}:handler_hist %s %lld", smp.sum_field, smp.sum_us));
}

/* Workers' handler durations, pushed into Redis, come out as a histogram. */
TEST(admin_metrics_handler_histogram_from_redis)
{
    struct afx f;
    struct prom_doc d;

    afx_start(&f, 0);
    observe(f.in.rc, "ok", 0.004);
    observe(f.in.rc, "ok", 0.3);
    observe(f.in.rc, "permanent", 500);
    observe(f.in.rc, "Bad Word!", 1); /* -> "other" */
    afx_scrape(&f, &d);
    ASSERT_STR_EQ(prom_type(&d, "hookd_handler_duration_seconds"), "histogram");
    ASSERT(m(&d, "hookd_handler_duration_seconds_count", "route", "default", "result", "ok") == 2);
    ASSERT(m(&d, "hookd_handler_duration_seconds_bucket", "result", "ok", "le", "0.005") == 1);
    ASSERT(m(&d, "hookd_handler_duration_seconds_bucket", "result", "ok", "le", "0.5") == 2);
    ASSERT(m(&d, "hookd_handler_duration_seconds_bucket", "result", "permanent", "le", "120") == 0);
    ASSERT(m(&d, "hookd_handler_duration_seconds_bucket", "result", "permanent", "le", "+Inf") ==
           1);
    ASSERT(m(&d, "hookd_handler_duration_seconds_sum", "result", "ok", NULL) > 0.3039 &&
           m(&d, "hookd_handler_duration_seconds_sum", "result", "ok", NULL) < 0.3041);
    ASSERT(m(&d, "hookd_handler_duration_seconds_count", "result", "other", NULL) == 1);
    prom_doc_free(&d);
}

/* Lines of the worker's log that mention both words. */
static int log_lines_with(struct proc *p, const char *a, const char *b)
{
    char *log = proc_log(p), *line = log;
    int n = 0;

    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(line, a) && strstr(line, b))
            n++;
        line = nl ? nl + 1 : NULL;
    }
    free(log);
    return n;
}

static char *stream_field(struct afx *f, const char *route, const char *field)
{
    redisReply *e = redis_cmd(f->in.rc, "XRANGE hookd:{%s}:stream - +", route);
    char *out = NULL;

    ASSERT(e->type == REDIS_REPLY_ARRAY && e->elements >= 1);
    redisReply *fl = e->element[e->elements - 1]->element[1];
    for (size_t i = 0; i + 1 < fl->elements; i += 2)
        if (strcmp(fl->element[i]->str, field) == 0)
            out = strdup(fl->element[i + 1]->str);
    freeReplyObject(e);
    return out;
}

TEST(admin_traceparent_request_to_handler)
{
    struct afx f;
    struct http_response r = {0};
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char path[1024], want[128];

    afx_start(&f, 0);
    ASSERT_INT_EQ(afx_post_event(&f, "tp-1", "push", tp, &r), 202);
    const char *rid = http_header(&r, "X-Request-Id");
    ASSERT_NOT_NULL(rid);
    char *request_id = strdup(rid);
    http_response_free(&r);
    /* 1. kept with the event */
    char *stored = stream_field(&f, "default", "traceparent");
    ASSERT_STR_EQ(stored, tp);
    free(stored);
    /* 2. in the receiver's log line, with the request id */
    ASSERT_INT_OP(log_lines_with(f.in.receiver, tp, request_id), >=, 1);
    /* 3. handed to the handler, and 4. in the worker's log about the event */
    afx_worker(&f);
    WAIT_FOR(afx_state_is(&f, "default", "tp-1", "processed"), 15000);
    snprintf(path, sizeof path, "%s/env.tp-1", f.dir);
    char *env = harness_read_file(path, NULL);
    snprintf(want, sizeof want, "TRACEPARENT=%s\n", tp);
    ASSERT_STR_CONTAINS(env, want);
    snprintf(want, sizeof want, "HOOKD_REQUEST_ID=%s\n", request_id);
    ASSERT_STR_CONTAINS(env, want);
    free(env);
    WAIT_FOR(log_lines_with(f.worker, "tp-1", tp) >= 1, 5000);
    ASSERT_INT_OP(log_lines_with(f.worker, tp, request_id), >=, 1);
    free(request_id);

    /* Without one (or with a malformed one), ingress starts a trace. */
    ASSERT_INT_EQ(afx_post_event(&f, "tp-2", "push", "00-zz-bad", &r), 202);
    http_response_free(&r);
    WAIT_FOR(afx_state_is(&f, "default", "tp-2", "processed"), 15000);
    snprintf(path, sizeof path, "%s/env.tp-2", f.dir);
    env = harness_read_file(path, NULL);
    char *line = env ? strstr(env, "TRACEPARENT=00-") : NULL;
    ASSERT_NOT_NULL(line);
    ASSERT_INT_EQ(strcspn(line + 12, "\n"), 55);
    ASSERT(strstr(env, "zz-bad") == NULL);
    free(env);
}

/* The route figures are Redis-wide: of two receivers on one Redis, one
 * exports them (sum() over receivers counts each once); when it stops,
 * the other takes over once the lease is gone. */
TEST(admin_route_metrics_exported_by_one_receiver)
{
    struct fixture f;
    char port[16], admin[16], port2[16], admin2[16];
    const char *h[] = {"Authorization: Bearer test-admin-token", NULL};

    fixture_start(&f, NULL);
    int p2 = harness_free_port(), a2 = harness_free_port();
    snprintf(port, sizeof port, ":%d\n", f.port), snprintf(admin, sizeof admin, ":%d\n", f.admin_port);
    snprintf(port2, sizeof port2, ":%d\n", p2), snprintf(admin2, sizeof admin2, ":%d\n", a2);
    char *text = harness_read_file(f.config_path, NULL);
    char *conf2 = harness_expand(text, (const char *const[]){port, port2, admin, admin2, NULL});
    free(text);
    struct proc *second = receiver_start(harness_write_file("second.conf", conf2), a2);
    free(conf2);

    struct http_response r1 = {0}, r2 = {0};
    ASSERT_INT_EQ(http_request(f.admin_port, "GET", "/metrics", h, NULL, 0, &r1), 0);
    freeReplyObject(redis_cmd(f.rc, "CONFIG RESETSTAT"));
    ASSERT_INT_EQ(http_request(a2, "GET", "/metrics", h, NULL, 0, &r2), 0);
    /* The one that does not export reads no route figures (ZCARD of the
     * retry set, among others), only the lease. */
    redisReply *stats = redis_cmd(f.rc, "INFO commandstats");
    ASSERT(stats && stats->str);
    ASSERT_STR_CONTAINS(stats->str, "cmdstat_set:");
    ASSERT(strstr(stats->str, "cmdstat_zcard:") == NULL);
    freeReplyObject(stats);
    bool first_exports = strstr(r1.body, "\nhookd_route_exporter 1\n") != NULL;
    bool second_exports = strstr(r2.body, "\nhookd_route_exporter 1\n") != NULL;
    ASSERT(first_exports && !second_exports); /* the first scraped took the lease */
    ASSERT_STR_CONTAINS(r1.body, "hookd_route_queued{route=\"default\"}");
    ASSERT(strstr(r2.body, "hookd_route_queued{") == NULL);
    ASSERT_STR_CONTAINS(r2.body, "\nhookd_route_exporter 0\n");
    http_response_free(&r1), http_response_free(&r2);

    /* The exporter is gone and its lease ran out: the other takes over. */
    proc_stop(f.receiver);
    freeReplyObject(redis_cmd(f.rc, "DEL hookd:metrics_exporter"));
    ASSERT_INT_EQ(http_request(a2, "GET", "/metrics", h, NULL, 0, &r2), 0);
    ASSERT_STR_CONTAINS(r2.body, "\nhookd_route_exporter 1\n");
    ASSERT_STR_CONTAINS(r2.body, "hookd_route_queued{route=\"default\"}");
    http_response_free(&r2);
    proc_stop(second);
}
