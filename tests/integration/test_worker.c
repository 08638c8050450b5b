/*
 * test_worker.c — hookd-worker against a real redis-server with real
 * handler processes (the sh scripts in tests/data/handlers): the SPEC's classification
 * table, retries, dead letters, skips and the handler contract. Crash,
 * concurrency and shutdown behaviour: test_worker_crash.c; HTTP handlers:
 * test_worker_http.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "store_shared.h"
#include "worker_fixture.h"

static const char *const default_route[] = {"-r", "default", NULL};

/* A dead letter's field (malloc'd) from the route's dead stream, entry 0. */
static char *dead_field(struct wfx *f, const char *route, const char *field)
{
    char key[256], *val = NULL;
    redisReply *r;

    snprintf(key, sizeof key, "hookd:{%s}:dead", route);
    r = redis_cmd(f->rc, "XRANGE %s - + COUNT 1", key);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *fields = r->element[0]->element[1];
        for (size_t i = 0; i + 1 < fields->elements; i += 2)
            if (strcmp(fields->element[i]->str, field) == 0)
                val = strdup(fields->element[i + 1]->str);
    }
    freeReplyObject(r);
    return val;
}

static void expect_dead(struct wfx *f, const char *route, const char *field, const char *want)
{
    char *v = dead_field(f, route, field);

    ASSERT_STR_EQ(v, want);
    free(v);
}

static void expect_seen(struct wfx *f, const char *route, const char *id, const char *field,
                        const char *want)
{
    char *v = wfx_seen(f, route, id, field);

    ASSERT_STR_EQ(v, want);
    free(v);
}

/* The route's handler-duration histogram (P:{default}:handler_hist, read
 * by the receiver's /metrics) counts WANT runs under RESULT, and only it. */
static void expect_handler_runs(struct wfx *f, const char *result, uint64_t want)
{
    struct store_handler_hist h[STORE_HANDLER_MAX_RESULTS];
    uint64_t runs = 0;
    size_t n = 0;

    ASSERT_INT_EQ(store_handler_hist_read(f->st, "default", h, STORE_HANDLER_MAX_RESULTS, &n), 0);
    ASSERT_INT_EQ(n, 1);
    ASSERT_STR_EQ(h[0].result, result);
    for (int i = 0; i <= STORE_HANDLER_NBOUNDS; i++)
        runs += h[0].counts[i];
    ASSERT_INT_EQ(runs, want);
}

static long long dead_len(struct wfx *f, const char *route)
{
    return redis_int(f->rc, "XLEN hookd:{%s}:dead", route);
}

TEST_T(worker_success_contract, 30)
{
    static const char body[] = "{\"zen\":\"bytes \\u00e9 stay exact\"}\n\n";
    struct wfx f;
    char *env, *got, *tp;

    wfx_start(&f, "[route default]\nhandler = exec:@H@/record.sh @DIR@\n", NULL);
    wfx_enqueue_full(&f, "default", "github", "evt-1", "push", body, sizeof body - 1,
                     "{\"content-type\":\"application/json\"}",
                     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    struct proc *w = wfx_worker(&f, default_route);
    WAIT_FOR(wfx_state_is(&f, "default", "evt-1", "processed"), 10000);

    got = harness_read_file(harness_path("body.evt-1"), NULL);
    ASSERT_STR_EQ(got, body);
    env = harness_read_file(harness_path("env.evt-1"), NULL);
    ASSERT_STR_CONTAINS(env, "HOOKD_EVENT_ID=evt-1\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_EVENT_TYPE=push\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_SOURCE=github\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_ROUTE=default\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_ATTEMPT=1\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_IDEMPOTENCY_KEY=github:evt-1\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_REQUEST_ID=req-evt-1\n");
    ASSERT_STR_CONTAINS(env,
                        "TRACEPARENT=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n");

    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    tp = wfx_seen(&f, "default", "evt-1", "processed_at");
    ASSERT_NOT_NULL(tp);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"outcome\":\"processed\"", 5000), 0);
    ASSERT_INT_EQ(proc_log_count(w, "\"classification\":\"ok\""), 1);
    ASSERT_INT_EQ(proc_log_count(w, "\"request_id\":\"req-evt-1\""), 1);
    ASSERT_INT_EQ(proc_log_count(w, "\"traceparent\":\"00-0af7"), 1);
    expect_handler_runs(&f, "ok", 1);
    free(got), free(env), free(tp);
}

/* Variables the config reads secrets from (env:) are not handed to
 * handlers; the rest of the worker's environment is. */
TEST_T(worker_handler_env_has_no_secrets, 30)
{
    struct wfx f;
    const char *argv[] = {harness_bin("hookd-worker"), "-c", NULL, "-r", "default", NULL};
    const char *const env[] = {"TEST_SIGNING_SECRET_V1=s3cr3t-signing-value",
                               "TEST_REDIS_PASSWORD=s3cr3t-redis-value", "TEST_PLAIN_VAR=kept",
                               NULL};

    wfx_start(&f,
              "[source github]\nscheme = github\nsecret.v1 = env:TEST_SIGNING_SECRET_V1\n"
              "[route default]\nhandler = exec:@H@/env.sh @DIR@\n",
              NULL);
    wfx_enqueue(&f, "default", "env-1", "{}");
    argv[2] = f.config_path;
    proc_start(argv, env, "worker");
    WAIT_FOR(wfx_state_is(&f, "default", "env-1", "processed"), 10000);
    char *got = harness_read_file(harness_path("fullenv.env-1"), NULL);
    ASSERT_NOT_NULL(got);
    ASSERT_STR_CONTAINS(got, "TEST_PLAIN_VAR=kept\n");
    ASSERT_STR_CONTAINS(got, "HOOKD_EVENT_ID=env-1\n");
    ASSERT(strstr(got, "s3cr3t-signing-value") == NULL);
    ASSERT(strstr(got, "TEST_SIGNING_SECRET_V1") == NULL);
    ASSERT_STR_CONTAINS(got, "TEST_REDIS_PASSWORD="); /* not named by the config: passed */
    free(got);
}

TEST_T(worker_transient_then_success, 30)
{
    struct wfx f;
    char *attempts, *err;

    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/flaky.sh @DIR@ 3\nmax_attempts = 5\n"
              "retry_schedule = 0s,100ms,100ms\n",
              NULL);
    wfx_enqueue(&f, "default", "flaky-1", "{}");
    struct proc *w = wfx_worker(&f, default_route);
    WAIT_FOR(wfx_state_is(&f, "default", "flaky-1", "processed"), 10000);
    attempts = wfx_seen(&f, "default", "flaky-1", "attempts");
    ASSERT_STR_EQ(attempts, "3");
    ASSERT_INT_EQ(wfx_lines("runs"), 3);
    ASSERT_INT_EQ(wfx_lines_with("runs", "flaky-1 3"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "retried"), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "ZCARD hookd:{default}:retry"), 0);
    /* The re-queued entry replaced the old one: one entry per event. */
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:stream"), 1);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"outcome\":\"processed\"", 5000), 0);
    ASSERT_INT_EQ(proc_log_count(w, "\"outcome\":\"retry_scheduled\""), 2);
    ASSERT_INT_EQ(proc_log_count(w, "\"exit_code\":75"), 2);
    err = wfx_seen(&f, "default", "flaky-1", "last_error");
    ASSERT_STR_CONTAINS(err, "exit 75: flaky.sh: not yet (attempt 2)");
    free(attempts), free(err);
}

TEST_T(worker_permanent_dead_letter, 30)
{
    struct wfx f;
    char *v;

    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/record.sh @DIR@ 65\n"
              "[route custom]\nhandler = exec:@H@/record.sh @DIR@ 42\n"
              "permanent_exit_codes = 42, 43\n",
              NULL);
    wfx_enqueue(&f, "default", "perm-1", "payload-1");
    wfx_enqueue(&f, "custom", "perm-2", "payload-2");
    const char *const args[] = {"-r", "default", "-r", "custom", NULL};
    wfx_worker(&f, args);
    WAIT_FOR(wfx_state_is(&f, "default", "perm-1", "failed_permanent"), 10000);
    WAIT_FOR(wfx_state_is(&f, "custom", "perm-2", "failed_permanent"), 10000);
    ASSERT_INT_EQ(wfx_lines("runs"), 2); /* no retry */
    ASSERT_INT_EQ(dead_len(&f, "default"), 1);
    expect_dead(&f, "default", "reason", "permanent");
    expect_dead(&f, "default", "attempts", "1");
    expect_dead(&f, "default", "event_id", "perm-1");
    expect_dead(&f, "default", "body", "payload-1");
    v = dead_field(&f, "default", "failed_at");
    ASSERT_NOT_NULL(v);
    free(v);
    v = dead_field(&f, "default", "last_error");
    ASSERT_STR_CONTAINS(v, "exit 65: record.sh: failing perm-1 with exit 65");
    free(v);
    expect_dead(&f, "custom", "reason", "permanent");
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_permanent"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    expect_handler_runs(&f, "permanent", 1);
}

TEST_T(worker_exhausted_dead_letter, 30)
{
    struct wfx f;
    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/record.sh @DIR@ 75\nmax_attempts = 3\n"
              "retry_schedule = 0s\n",
              NULL);
    wfx_enqueue(&f, "default", "tired-1", "x");
    struct proc *w = wfx_worker(&f, default_route);
    WAIT_FOR(wfx_state_is(&f, "default", "tired-1", "failed_permanent"), 10000);
    ASSERT_INT_EQ(wfx_lines("runs"), 3);
    expect_dead(&f, "default", "reason", "exhausted");
    expect_dead(&f, "default", "attempts", "3");
    expect_seen(&f, "default", "tired-1", "reason", "exhausted");
    ASSERT_INT_EQ(wfx_counter(&f, "default", "retried"), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "ZCARD hookd:{default}:retry"), 0);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"classification\":\"exhausted\"", 5000), 0);
}

TEST_T(worker_handler_timeout, 30)
{
    struct wfx f;
    char *v, *child;
    int64_t start = harness_now_ms();

    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/hang.sh @DIR@\nhandler_timeout = 300ms\n"
              "max_attempts = 2\nretry_schedule = 0s\n",
              NULL);
    wfx_enqueue(&f, "default", "hang-1", "x");
    struct proc *w = wfx_worker(&f, default_route);
    WAIT_FOR(wfx_state_is(&f, "default", "hang-1", "failed_permanent"), 15000);
    /* Two attempts of 300 ms each: SIGTERM ends sh and sleep at once. */
    ASSERT_INT_OP(harness_now_ms() - start, <, 8000);
    ASSERT_INT_EQ(wfx_lines("runs"), 2);
    expect_dead(&f, "default", "reason", "exhausted");
    v = dead_field(&f, "default", "last_error");
    ASSERT_STR_CONTAINS(v, "timeout after 300 ms");
    ASSERT_STR_CONTAINS(v, "hang.sh: hanging");
    free(v);
    ASSERT_INT_EQ(proc_log_count(w, "\"timeout\":true"), 2);
    /* The handler's own child went down with its process group. */
    child = harness_read_file(harness_path("child.1"), NULL);
    ASSERT_NOT_NULL(child);
    WAIT_FOR(wfx_process_gone((pid_t)strtol(child, NULL, 10)), 5000);
    free(child);
}

TEST_T(worker_skips_processed_requeued_copy, 30)
{
    struct wfx f;
    redisReply *r;

    wfx_start(&f, "[route default]\nhandler = exec:@H@/record.sh @DIR@\n", NULL);
    wfx_enqueue(&f, "default", "once-1", "only once");
    struct proc *w = wfx_worker(&f, default_route);
    WAIT_FOR(wfx_state_is(&f, "default", "once-1", "processed"), 10000);

    /* Re-queue a copy of the processed entry by hand, field by field. */
    r = redis_cmd(f.rc, "XRANGE hookd:{default}:stream - +");
    ASSERT_INT_EQ(r->elements, 1);
    redisReply *fields = r->element[0]->element[1];
    const char *argv[64] = {"XADD", "hookd:{default}:stream", "*"};
    size_t n = 3;
    for (size_t i = 0; i < fields->elements && n < 64; i++)
        argv[n++] = fields->element[i]->str;
    redisReply *x = redisCommandArgv(f.rc, (int)n, argv, NULL);
    ASSERT(x && x->type == REDIS_REPLY_STRING);
    freeReplyObject(x);
    freeReplyObject(r);

    WAIT_FOR(wfx_counter(&f, "default", "duplicate_skipped") == 1, 10000);
    WAIT_FOR(wfx_pending(&f, "default") == 0, 5000);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"outcome\":\"skipped_duplicate\"", 5000), 0);
    ASSERT_INT_EQ(wfx_lines("runs"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
}

TEST_T(worker_priority_and_anti_starvation, 30)
{
    struct wfx f;
    char *order, *line;
    char id[32];

    wfx_start(&f,
              "[route low]\npriority = low\nhandler = exec:@H@/order.sh @DIR@\n"
              "[route high]\npriority = high\nhandler = exec:@H@/order.sh @DIR@\n"
              "[route default]\nhandler = exec:/bin/true\n",
              NULL);
    for (int i = 0; i < 4; i++)
        snprintf(id, sizeof id, "low-%d", i), wfx_enqueue(&f, "low", id, "{}");
    for (int i = 0; i < 20; i++)
        snprintf(id, sizeof id, "high-%d", i), wfx_enqueue(&f, "high", id, "{}");
    const char *const args[] = {"-r", "low", "-r", "high", NULL};
    wfx_worker(&f, args);
    WAIT_FOR(wfx_lines("order") == 24, 20000);
    order = harness_read_file(harness_path("order"), NULL);
    /* Cycles 0..6 serve high first; cycle 7 (every 8th) serves low first. */
    line = order;
    for (int i = 0; i < 16; i++) {
        const char *want = i == 7 || i == 15 ? "low " : "high ";
        if (strncmp(line, want, strlen(want)) != 0)
            test_fail(__FILE__, __LINE__, "event %d: want %s, got order:\n%s", i, want, order);
        line = strchr(line, '\n') + 1;
    }
    free(order);
}

/* Three levels, the top one flooded: the anti-starvation cycles take the
 * routes below it in turn, so the middle one is not starved either. */
TEST_T(worker_priority_three_levels_none_starved, 30)
{
    struct wfx f;
    char *order, *line;
    char id[32];

    wfx_start(&f,
              "[route low]\npriority = low\nhandler = exec:@H@/order.sh @DIR@\n"
              "[route mid]\npriority = normal\nhandler = exec:@H@/order.sh @DIR@\n"
              "[route high]\npriority = high\nhandler = exec:@H@/order.sh @DIR@\n"
              "[route default]\nhandler = exec:/bin/true\n",
              NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "low-%d", i), wfx_enqueue(&f, "low", id, "{}");
        snprintf(id, sizeof id, "mid-%d", i), wfx_enqueue(&f, "mid", id, "{}");
    }
    for (int i = 0; i < 40; i++)
        snprintf(id, sizeof id, "high-%d", i), wfx_enqueue(&f, "high", id, "{}");
    const char *const args[] = {"-r", "low", "-r", "mid", "-r", "high", NULL};
    wfx_worker(&f, args);
    WAIT_FOR(wfx_lines("order") == 48, 20000);
    order = harness_read_file(harness_path("order"), NULL);
    /* Every 8th cycle goes to low, then mid, then low, then mid. */
    line = order;
    for (int i = 0; i < 32; i++) {
        const char *want = i % 8 != 7 ? "high " : i % 16 == 7 ? "low " : "mid ";
        if (strncmp(line, want, strlen(want)) != 0)
            test_fail(__FILE__, __LINE__, "event %d: want %s, got order:\n%s", i, want, order);
        line = strchr(line, '\n') + 1;
    }
    free(order);
}

TEST_T(worker_end_to_end_through_receiver, 30)
{
    static const char body[] = "{\"action\":\"opened\",\"number\":7}";
    struct wfx f;
    struct http_response resp = {0};
    char tpl[1024], sig[SIG_BUF_SIZE], hsig[SIG_BUF_SIZE + 32], *got, *env, *conf, want[160];
    int port = harness_free_port(), admin = harness_free_port();

    snprintf(tpl, sizeof tpl,
             "[receiver]\nlisten = 127.0.0.1:%d\nadmin_listen = 127.0.0.1:%d\n"
             "admin_token = t\n[source github]\nscheme = github\nsecret.v1 = e2e-secret\n"
             "[route default]\nhandler = exec:@H@/record.sh @DIR@\n",
             port, admin);
    wfx_start(&f, tpl, NULL);
    conf = harness_read_file(f.config_path, NULL);
    ASSERT_NOT_NULL(conf);
    free(conf);
    receiver_start(f.config_path, admin);
    wfx_worker(&f, default_route);

    ASSERT_INT_EQ(github_signature("e2e-secret", body, sizeof body - 1, sig), 0);
    snprintf(hsig, sizeof hsig, "X-Hub-Signature-256: %s", sig);
    const char *headers[] = {"X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958",
                             "X-GitHub-Event: pull_request", "Content-Type: application/json", hsig,
                             NULL};
    ASSERT_INT_EQ(
        http_request(port, "POST", "/hooks/github", headers, body, sizeof body - 1, &resp), 0);
    ASSERT_INT_EQ(resp.status, 202);
    const char *reqid = http_header(&resp, "X-Request-Id");
    ASSERT_NOT_NULL(reqid);

    WAIT_FOR(wfx_state_is(&f, "default", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "processed"),
             10000);
    got = harness_read_file(harness_path("body.72d3162e-cc78-11e3-81ab-4c9367dc0958"), NULL);
    ASSERT_STR_EQ(got, body);
    env = harness_read_file(harness_path("env.72d3162e-cc78-11e3-81ab-4c9367dc0958"), NULL);
    ASSERT_STR_CONTAINS(env, "HOOKD_EVENT_TYPE=pull_request\n");
    ASSERT_STR_CONTAINS(env, "HOOKD_SOURCE=github\n");
    snprintf(want, sizeof want, "HOOKD_REQUEST_ID=%s\n", reqid);
    ASSERT_STR_CONTAINS(env, want);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    http_response_free(&resp);
    free(got), free(env);
}

TEST_T(worker_exec_pipes_big_body_no_deadlock, 30)
{
    enum { BODY = 1 << 20 };
    struct wfx f;
    char *body = malloc(BODY + 1), *size, *err;

    ASSERT_NOT_NULL(body);
    memset(body, 'b', BODY);
    body[BODY] = '\0';
    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/noisy.sh @DIR@\nretry_schedule = 0s\n"
              "[route deaf]\nhandler = exec:/bin/true\n"
              "[route missing]\nhandler = exec:/nonexistent/handler arg\nmax_attempts = 1\n",
              NULL);
    wfx_enqueue_full(&f, "default", "github", "big-1", "push", body, BODY, NULL, NULL);
    wfx_enqueue_full(&f, "deaf", "github", "big-2", "push", body, BODY, NULL, NULL);
    wfx_enqueue(&f, "missing", "gone-1", "x");
    wfx_worker(&f, (const char *const[]){"-r", "default", "-r", "deaf", "-r", "missing", NULL});
    WAIT_FOR(wfx_state_is(&f, "default", "big-1", "processed"), 15000);
    WAIT_FOR(wfx_state_is(&f, "deaf", "big-2", "processed"), 15000); /* never read its stdin */
    WAIT_FOR(wfx_state_is(&f, "missing", "gone-1", "failed_permanent"), 15000);

    size = harness_read_file(harness_path("size.big-1"), NULL);
    ASSERT_STR_EQ(size, "1048576\n");
    /* attempt 1's last_error: the tail of 256 KiB of stderr, bounded */
    err = wfx_seen(&f, "default", "big-1", "last_error");
    ASSERT_NOT_NULL(err);
    ASSERT_INT_OP(strlen(err), <=, 2048 + 64);
    ASSERT(strncmp(err, "exit 75: …eee", strlen("exit 75: …eee")) == 0);
    ASSERT_STR_CONTAINS(err, "eeenoisy.sh: tail marker\n");
    free(err);
    expect_seen(&f, "missing", "gone-1", "reason", "exhausted");
    err = wfx_seen(&f, "missing", "gone-1", "last_error");
    ASSERT_STR_EQ(err, "cannot run /nonexistent/handler: No such file or directory");
    free(err), free(size), free(body);
}
