/*
 * test_fanout.c — one route, several handlers (handler.LABEL), through a
 * real receiver, redis-server and workers: each handler runs each event
 * once; one retrying or dead-lettering leaves the other alone; a worker of
 * one handler killed -9 mid-event; -r ROUTE:LABEL.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingress_fixture.h"
#include "prom_parse.h"

#define SECRET "gh-secret-one"

static const char conf_head[] = HARNESS_CONF_HEAD("500ms")
                                "[source github]\n"
                                "scheme = github\n"
                                "secret.v1 = " SECRET "\n"
                                "[route default]\n"
                                "retry_schedule = 0s\n"
                                "visibility_timeout = 1s\n"
                                "handler_timeout = 60s\n"
                                "handler = exec:@H@/record.sh @DIR@/a\n";

/* Starts Redis and the receiver with HEAD plus ROUTE_TAIL (the
 * handler.LABEL lines), @A@ and @B@ being the two handlers' mark dirs. */
static void start_with(struct fixture *f, const char *head, const char *route_tail)
{
    char handlers[512], a[512], b[512], text[4096];
    const char *vars[] = {"@H@", handlers, "@DIR@", harness_tmpdir(), NULL};
    char *conf;

    snprintf(handlers, sizeof handlers, "%s/tests/data/handlers", harness_repo_dir());
    snprintf(a, sizeof a, "%s/a", harness_tmpdir());
    snprintf(b, sizeof b, "%s/b", harness_tmpdir());
    ASSERT_INT_EQ(mkdir(a, 0700), 0);
    ASSERT_INT_EQ(mkdir(b, 0700), 0);
    snprintf(text, sizeof text, "%s%s", head, route_tail);
    conf = harness_expand(text, vars);
    fixture_start(f, conf);
    free(conf);
}

static void start(struct fixture *f, const char *route_tail)
{
    start_with(f, conf_head, route_tail);
}

/* A worker with ARGS after -c; waits until the audit group exists (a
 * labelled handler's group starts at the end of the shared stream). */
static struct proc *worker(struct fixture *f, const char *r1, const char *r2)
{
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f->config_path,
                          r1 ? "-r" : NULL, r1, r2 ? "-r" : NULL, r2, NULL};
    if (!r1)
        argv[3] = NULL;
    else if (!r2)
        argv[5] = NULL;
    struct proc *p = proc_start(argv, NULL, "worker");
    WAIT_FOR(redis_int(f->rc, "EXISTS hookd:{default}:stream") == 1, 10000);
    return p;
}

static int groups(struct fixture *f)
{
    redisReply *r = redisCommand(f->rc, "XINFO GROUPS hookd:{default}:stream");
    int n = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : -1;
    freeReplyObject(r);
    return n;
}

/* An integer field of a hash (0 when absent). */
static long long hget_int(struct fixture *f, const char *key, const char *field)
{
    return redis_num(f->rc, "HGET %s %s", key, field);
}

static void post(struct fixture *f, const char *id)
{
    struct http_response r;

    ASSERT_INT_EQ(fixture_post_github(f, SECRET, id, "push", "{\"ref\":\"main\"}", &r), 202);
    http_response_free(&r);
}

/* The state of the event ID for handler LABEL (NULL: the plain one). */
static int state_is(struct fixture *f, const char *label, const char *id, const char *want)
{
    char *s = label ? redis_str(f->rc, "HGET hookd:{default}:h:%s:seen:github:%s state", label, id)
                    : redis_str(f->rc, "HGET hookd:{default}:seen:github:%s state", id);
    int ok = s && strcmp(s, want) == 0;
    free(s);
    return ok;
}

/* Lines of DIR/runs equal to LINE. */
static int runs(const char *dir, const char *line)
{
    char name[600];
    snprintf(name, sizeof name, "%s/runs", dir);
    char *text = harness_read_file(harness_path(name), NULL);
    int n = 0;
    size_t l = strlen(line);
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        n += nl && (size_t)(nl - p) == l && memcmp(p, line, l) == 0;
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

TEST_T(fanout_two_handlers_run_each_event_once, 60)
{
    struct fixture f;
    char id[32], line[64];

    start(&f, "handler.audit = exec:@H@/record.sh @DIR@/b\n");
    /* Accepted before any worker of the audit handler started: its group
     * begins after this one (a handler added to a route does not run the
     * stream's history); the plain handler runs it. */
    post(&f, "early-1");
    usleep(20 * 1000);
    struct proc *w = worker(&f, NULL, NULL);
    WAIT_FOR(groups(&f) == 2, 10000);
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "fo-%d", i);
        post(&f, id);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "fo-%d", i);
        WAIT_FOR(state_is(&f, NULL, id, "processed"), 15000);
        WAIT_FOR(state_is(&f, "audit", id, "processed"), 15000);
    }
    /* Dedupe stays one record per event: a redelivery is a duplicate. */
    struct http_response r;
    ASSERT_INT_EQ(fixture_post_github(&f, SECRET, "fo-3", "push", "{}", &r), 200);
    http_response_free(&r);
    usleep(500 * 1000);
    for (int i = 0; i < 20; i++) {
        snprintf(line, sizeof line, "fo-%d 1", i);
        ASSERT_INT_EQ(runs("a", line), 1);
        ASSERT_INT_EQ(runs("b", line), 1);
    }
    WAIT_FOR(state_is(&f, NULL, "early-1", "processed"), 15000);
    ASSERT_INT_EQ(runs("b", "early-1 1"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:h:audit:seen:github:early-1"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:stream"), 21);
    /* Each run knows its handler. */
    char *env = harness_read_file(harness_path("b/env.fo-0"), NULL);
    ASSERT_STR_CONTAINS(env, "HOOKD_ROUTE=default\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_HANDLER=audit\n");
    free(env);
    env = harness_read_file(harness_path("a/env.fo-0"), NULL);
    ASSERT_STR_CONTAINS(env, "HOOKD_HANDLER=default\n");
    free(env);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:counters", "processed"), 21);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:h:audit:counters", "processed"), 20);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:h:audit:counters", "backlog"), 0);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:counters", "backlog"), 0);
    proc_stop(w);
}

TEST_T(fanout_one_handler_retries_the_other_does_not, 60)
{
    struct fixture f;

    start(&f, "handler.audit = exec:@H@/flaky.sh @DIR@/b 3\n");
    struct proc *w = worker(&f, NULL, NULL);
    WAIT_FOR(groups(&f) == 2, 10000);
    post(&f, "fl-1");
    post(&f, "fl-2");
    WAIT_FOR(state_is(&f, "audit", "fl-1", "processed"), 15000);
    WAIT_FOR(state_is(&f, "audit", "fl-2", "processed"), 15000);
    ASSERT(state_is(&f, NULL, "fl-1", "processed"));
    ASSERT_INT_EQ(runs("a", "fl-1 1"), 1);
    ASSERT_INT_EQ(runs("a", "fl-1 2"), 0); /* the plain handler ran once */
    ASSERT_INT_EQ(runs("b", "fl-1 1"), 1);
    ASSERT_INT_EQ(runs("b", "fl-1 2"), 1);
    ASSERT_INT_EQ(runs("b", "fl-1 3"), 1);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:h:audit:seen:github:fl-1", "attempts"), 3);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:seen:github:fl-1", "attempts"), 1);
    /* Retries went to the handler's own stream; the shared one is whole. */
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:stream"), 2);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:h:audit:counters", "retried"), 4);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:counters", "retried"), 0);
    proc_stop(w);
}

/* GET PATH on the admin listener: the body (malloc'd), status 200 asserted. */
static char *admin_get(struct fixture *f, const char *path)
{
    const char *headers[] = {"Authorization: Bearer test-admin-token", NULL};
    struct http_response r = {0};

    ASSERT_INT_EQ(http_request(f->admin_port, "GET", path, headers, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    char *body = strdup(r.body ? r.body : "");
    http_response_free(&r);
    return body;
}

/* A hookd_route_* sample of one handler of route default, from /metrics. */
static double handler_metric(struct fixture *f, const char *name, const char *handler)
{
    char *body = admin_get(f, "/metrics"), err[200];
    struct prom_doc doc;

    if (prom_parse(body, strlen(body), &doc, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "/metrics: %s", err);
    double v = prom_sum(&doc, name, NULL, "route", "default", "handler", handler, NULL);
    prom_doc_free(&doc);
    free(body);
    return v;
}

TEST_T(fanout_dead_letter_of_one_handler_and_its_replay, 60)
{
    struct fixture f;
    char *out = NULL;

    start(&f, "handler.audit = exec:@H@/record.sh @DIR@/b 65\n");
    struct proc *wa = worker(&f, "default:default", NULL);
    struct proc *wb = worker(&f, "default:audit", NULL);
    WAIT_FOR(groups(&f) == 2, 10000);
    post(&f, "dl-1");
    WAIT_FOR(state_is(&f, "audit", "dl-1", "failed_permanent"), 15000);
    WAIT_FOR(state_is(&f, NULL, "dl-1", "processed"), 15000);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:h:audit:dead"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 0);
    ASSERT_INT_EQ(proc_log_count(wa, "\"event_id\":\"dl-1\""), 1);
    /* Each handler shows on its own: metrics, the dashboard's API, stats. */
    ASSERT(handler_metric(&f, "hookd_route_dead_letters", "audit") == 1);
    ASSERT(handler_metric(&f, "hookd_route_processed_total", "audit") == 0);
    /* The plain handler's series keep the labels they had before fan-out. */
    char *metrics = admin_get(&f, "/metrics");
    ASSERT_STR_CONTAINS(metrics, "\nhookd_route_dead_letters{route=\"default\"} 0\n");
    ASSERT_STR_CONTAINS(metrics, "\nhookd_route_processed_total{route=\"default\"} 1\n");
    ASSERT_STR_CONTAINS(metrics, "hookd_handler_duration_seconds_count{route=\"default\","
                                 "handler=\"audit\",result=\"permanent\"} 1\n");
    free(metrics);
    char *api = admin_get(&f, "/api/counts");
    ASSERT_STR_CONTAINS(api, "\"default:audit\"");
    free(api);
    api = admin_get(&f, "/api/dead/default%3Aaudit");
    ASSERT_STR_CONTAINS(api, "dl-1");
    free(api);
    api = admin_get(&f, "/api/dead/default");
    ASSERT(strstr(api, "dl-1") == NULL);
    free(api);
    const char *stats[] = {harness_bin("hookctl"), "-c", f.config_path, "stats", "--json", NULL};
    ASSERT_INT_EQ(harness_run(stats, &out, 10000), 0);
    ASSERT_STR_CONTAINS(out, "\"default:audit\"");
    free(out);
    const char *list[] = {harness_bin("hookctl"), "-c", f.config_path, "dead", "list",
                          "default:audit", NULL};
    ASSERT_INT_EQ(harness_run(list, &out, 10000), 0);
    ASSERT_STR_CONTAINS(out, "dl-1");
    free(out);
    /* Replaying the audit handler's letter runs only that handler. */
    const char *replay[] = {harness_bin("hookctl"), "-c", f.config_path, "replay",
                            "default:audit", "--id", "dl-1", NULL};
    int rc = harness_run(replay, &out, 10000);
    ASSERT_INT_EQ(rc, 0);
    free(out);
    WAIT_FOR(runs("b", "dl-1 1") == 2, 15000);
    WAIT_FOR(state_is(&f, "audit", "dl-1", "failed_permanent"), 15000);
    usleep(300 * 1000);
    ASSERT_INT_EQ(runs("a", "dl-1 1"), 1);
    ASSERT(state_is(&f, NULL, "dl-1", "processed"));
    /* The replay went through the handler's own stream: counted in its
     * figures, never listed as a tenant (its name in the store is "~"). */
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:h:audit:stream"), 1);
    const char *plain[] = {harness_bin("hookctl"), "-c", f.config_path, "stats", NULL};
    ASSERT_INT_EQ(harness_run(plain, &out, 10000), 0);
    ASSERT_STR_CONTAINS(out, "default:audit");
    ASSERT_STR_CONTAINS(out, "consumers (group hookd-workers; of ROUTE:LABEL, hookd-workers:LABEL)");
    if (strstr(out, "tenant streams") || strchr(out, '~'))
        test_fail(__FILE__, __LINE__, "the own stream shows as a tenant:\n%s", out);
    free(out);
    ASSERT_INT_EQ(harness_run(stats, &out, 10000), 0);
    ASSERT(strstr(out, "\"tenants\"") == NULL);
    free(out);
    api = admin_get(&f, "/api/counts");
    ASSERT(strchr(api, '~') == NULL);
    free(api);
    proc_stop(wa);
    proc_stop(wb);
}

TEST_T(fanout_worker_of_one_handler_killed_mid_event, 60)
{
    struct fixture f;
    char name[600];

    start(&f, "handler.audit = exec:@H@/slow.sh @DIR@/b 30 2\n");
    struct proc *wa = worker(&f, "default", NULL);
    struct proc *wb = worker(&f, "default:audit", NULL);
    WAIT_FOR(groups(&f) == 2, 10000);
    post(&f, "k-1");
    snprintf(name, sizeof name, "b/pid.k-1.1");
    WAIT_FOR(access(harness_path(name), F_OK) == 0, 15000);
    WAIT_FOR(state_is(&f, NULL, "k-1", "processed") || state_is(&f, "audit", "k-1", "processed"),
             15000);
    proc_kill(wb);
    char *pid = harness_read_file(harness_path(name), NULL);
    if (pid)
        kill(-(pid_t)strtol(pid, NULL, 10), SIGKILL);
    free(pid);
    /* The surviving worker serves both handlers: it claims the stale entry
     * in the audit group after visibility_timeout and runs attempt 2. */
    WAIT_FOR(state_is(&f, "audit", "k-1", "processed"), 15000);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:h:audit:seen:github:k-1", "attempts"), 2);
    ASSERT_INT_EQ(runs("a", "k-1 1"), 1);
    ASSERT_INT_EQ(hget_int(&f, "hookd:{default}:h:audit:counters", "backlog"), 0);
    proc_stop(wa);
}

TEST_T(fanout_unknown_label_and_pause_of_one_handler, 20)
{
    struct fixture f;
    char *out = NULL;

    start(&f, "handler.audit = exec:@H@/record.sh @DIR@/b\n");
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, "-r", "default:nope",
                          NULL};
    ASSERT_INT_EQ(harness_run(argv, &out, 10000), 2);
    ASSERT_STR_CONTAINS(out, "[route default] has no handler.nope");
    free(out);
    /* pause is the route's flag: for ROUTE:LABEL hookctl says so and sets
     * nothing, rather than pausing every handler while naming one. */
    const char *pause[] = {harness_bin("hookctl"), "-c", f.config_path, "pause", "default:audit",
                           NULL};
    ASSERT_INT_EQ(harness_run(pause, &out, 10000), 2);
    ASSERT_STR_CONTAINS(out, "hookctl pause default");
    free(out);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:paused"), 0);
}

/* The persistent handler's DIR/runs ("ID ATTEMPT PID" lines): the lines
 * that start with PREFIX into *lines, and the distinct pids of all. */
static int distinct_pids(const char *dir, const char *prefix, int *lines)
{
    char name[600];
    snprintf(name, sizeof name, "%s/runs", dir);
    char *text = harness_read_file(harness_path(name), NULL);
    long pids[64];
    int n = 0;

    *lines = 0;
    for (char *p = text; p && *p;) {
        *lines += strncmp(p, prefix, strlen(prefix)) == 0;
        char *nl = strchr(p, '\n'), *sp;
        if (nl)
            *nl = '\0';
        long pid = (sp = strrchr(p, ' ')) ? strtol(sp + 1, NULL, 10) : 0;
        int seen = 0;
        for (int i = 0; i < n; i++)
            seen |= pids[i] == pid;
        if (pid && !seen && n < 64)
            pids[n++] = pid;
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

/* exec_mode = persistent applies to each handler of the route: one
 * long-lived process per handler (per worker thread), each told in its
 * header line which handler it is, each event run once by each. */
TEST_T(fanout_persistent_handlers, 60)
{
    static const char head[] = HARNESS_CONF_HEAD("500ms") "[source github]\n"
                                                          "scheme = github\n"
                                                          "secret.v1 = " SECRET "\n"
                                                          "[route default]\n"
                                                          "exec_mode = persistent\n"
                                                          "retry_schedule = 0s\n"
                                                          "handler = exec:@P@ @DIR@/a\n";
    struct fixture f;
    struct http_response r;
    char id[32], name[64], tail[600];
    int lines;

    snprintf(tail, sizeof tail, "handler.audit = exec:%s @DIR@/b\n",
             harness_bin("persistent_handler"));
    char *text = harness_expand(head, (const char *const[]){"@P@",
                                                             harness_bin("persistent_handler"),
                                                             NULL});
    start_with(&f, text, tail);
    free(text);
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, "--concurrency", "1",
                          NULL};
    struct proc *w = proc_start(argv, NULL, "worker");
    WAIT_FOR(groups(&f) == 2, 10000);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "pf-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, SECRET, id, "ok", "{\"n\":1}", &r), 202);
        http_response_free(&r);
    }
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "pf-%d", i);
        WAIT_FOR(state_is(&f, NULL, id, "processed"), 15000);
        WAIT_FOR(state_is(&f, "audit", id, "processed"), 15000);
        snprintf(name, sizeof name, "%s 1 ", id);
        ASSERT_INT_EQ(distinct_pids("a", name, &lines), 1); /* one process */
        ASSERT_INT_EQ(lines, 1);                            /* one run */
        ASSERT_INT_EQ(distinct_pids("b", name, &lines), 1);
        ASSERT_INT_EQ(lines, 1);
    }
    char *ha = harness_read_file(harness_path("a/head.pf-0"), NULL);
    char *hb = harness_read_file(harness_path("b/head.pf-0"), NULL);
    ASSERT_STR_CONTAINS(ha, "\"route\":\"default\",\"handler\":\"default\"");
    ASSERT_STR_CONTAINS(hb, "\"route\":\"default\",\"handler\":\"audit\"");
    free(ha), free(hb);
    proc_stop(w);
}
