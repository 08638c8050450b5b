/*
 * test_worker_persistent.c — exec_mode = persistent against a real
 * redis-server, with a real long-lived handler (tests/tools/persistent_handler.c,
 * which answers by the event's type): one process for many events, the
 * header line, retries, dead letters, timeouts, crashes and malformed
 * replies, secrets kept out of its environment, and a clean stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "worker_fixture.h"

/* A route template with the test handler in persistent mode; EXTRA: more
 * lines of [route default]. */
static void start(struct wfx *f, const char *extra)
{
    char tpl[2048];

    snprintf(tpl, sizeof tpl,
             "[source github]\nscheme = github\nsecret.v1 = env:TEST_PERSIST_SECRET\n"
             "[route default]\nhandler = exec:%s @DIR@\nexec_mode = persistent\n%s",
             harness_bin("persistent_handler"), extra ? extra : "");
    wfx_start(f, tpl, NULL);
}

static struct proc *worker(struct wfx *f, const char *concurrency)
{
    const char *argv[] = {harness_bin("hookd-worker"),
                          "-c",
                          f->config_path,
                          "-r",
                          "default",
                          "--concurrency",
                          concurrency,
                          NULL};
    const char *const env[] = {"TEST_PERSIST_SECRET=s3cr3t-persist-value", "TEST_PLAIN_VAR=kept",
                               NULL};

    return proc_start(argv, env, "worker");
}

static void enqueue(struct wfx *f, const char *id, const char *type, const char *body)
{
    wfx_enqueue_full(f, "default", "github", id, type, body, strlen(body), NULL, NULL);
}

/* Distinct pids in the last column of tmpdir/runs. */
static int distinct_pids(void)
{
    char *text = harness_read_file(harness_path("runs"), NULL);
    long pids[256];
    int n = 0;

    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n'), *sp;
        if (nl)
            *nl = '\0';
        if ((sp = strrchr(p, ' '))) {
            long pid = strtol(sp + 1, NULL, 10);
            int seen = 0;
            for (int i = 0; i < n; i++)
                seen |= pids[i] == pid;
            if (!seen && n < 256)
                pids[n++] = pid;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    free(text);
    return n;
}

static void expect_seen_contains(struct wfx *f, const char *id, const char *field, const char *want)
{
    char *v = wfx_seen(f, "default", id, field);

    ASSERT_STR_CONTAINS(v, want);
    free(v);
}

TEST_T(worker_persistent_one_process_many_events, 30)
{
    static const char body[] = "{\"zen\":\"bytes \\u00e9 stay exact\"}\n\n";
    struct wfx f;
    char id[32], *head, *got;

    start(&f, NULL);
    wfx_enqueue_full(&f, "default", "github", "p-0", "ok", body, sizeof body - 1, NULL,
                     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    for (int i = 1; i < 30; i++)
        snprintf(id, sizeof id, "p-%d", i), enqueue(&f, id, "ok", "{}");
    struct proc *w = worker(&f, "1");
    WAIT_FOR(wfx_counter(&f, "default", "processed") == 30, 15000);
    ASSERT_INT_EQ(wfx_lines("runs"), 30);
    ASSERT_INT_EQ(distinct_pids(), 1);
    ASSERT_INT_EQ(wfx_lines_with("pids", "started "), 1);

    got = harness_read_file(harness_path("body.p-0"), NULL);
    ASSERT_STR_EQ(got, body);
    head = harness_read_file(harness_path("head.p-0"), NULL);
    ASSERT_STR_EQ(head,
                  "{\"event_id\":\"p-0\",\"type\":\"ok\",\"source\":\"github\","
                  "\"route\":\"default\",\"handler\":\"default\",\"attempt\":1,\"idempotency_key\":\"github:p-0\","
                  "\"request_id\":\"req-p-0\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80"
                  "319c-b7ad6b7169203331-01\",\"body_length\":35}\n");
    free(head);
    head = harness_read_file(harness_path("head.p-1"), NULL);
    ASSERT(strstr(head, "traceparent") == NULL); /* only when the request had one */
    ASSERT_STR_CONTAINS(head, "\"body_length\":2}\n");
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    ASSERT_INT_EQ(proc_log_count(w, "\"event\":\"handler_started\""), 1);
    ASSERT_INT_EQ(proc_log_count(w, "\"outcome\":\"processed\""), 30);
    free(head), free(got);
}

TEST_T(worker_persistent_transient_then_processed, 30)
{
    struct wfx f;

    start(&f, "max_attempts = 5\nretry_schedule = 0s,100ms,100ms\n");
    enqueue(&f, "flaky-1", "flaky", "{}");
    struct proc *w = worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "flaky-1", "processed"), 10000);
    expect_seen_contains(&f, "flaky-1", "attempts", "3");
    expect_seen_contains(&f, "flaky-1", "last_error", "reply 75: not yet (attempt 2)");
    ASSERT_INT_EQ(wfx_counter(&f, "default", "retried"), 2);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"outcome\":\"processed\"", 5000), 0);
    ASSERT_INT_EQ(proc_log_count(w, "\"outcome\":\"retry_scheduled\""), 2);
    ASSERT_INT_EQ(distinct_pids(), 1); /* a transient reply keeps the process */
}

TEST_T(worker_persistent_permanent_dead_letter, 30)
{
    struct wfx f;
    char *v;

    start(&f, NULL);
    enqueue(&f, "perm-1", "perm", "payload-1");
    worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "perm-1", "failed_permanent"), 10000);
    ASSERT_INT_EQ(wfx_lines("runs"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 1);
    expect_seen_contains(&f, "perm-1", "reason", "permanent");
    v = wfx_seen(&f, "default", "perm-1", "last_error");
    ASSERT_STR_EQ(v, "reply 65: bad payload");
    free(v);
}

/* Past handler_timeout the process group is killed; the next event gets a
 * new process. */
TEST_T(worker_persistent_timeout_restarts, 30)
{
    struct wfx f;
    char *child;

    start(&f, "handler_timeout = 300ms\nmax_attempts = 1\n");
    enqueue(&f, "hang-1", "hang", "x");
    enqueue(&f, "after-1", "ok", "y");
    struct proc *w = worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "hang-1", "failed_permanent"), 10000);
    WAIT_FOR(wfx_state_is(&f, "default", "after-1", "processed"), 10000);
    expect_seen_contains(&f, "hang-1", "last_error", "timeout after 300 ms (process group killed)");
    ASSERT_INT_EQ(proc_log_count(w, "\"timeout\":true"), 1);
    ASSERT_INT_EQ(distinct_pids(), 2);
    ASSERT_INT_EQ(wfx_lines_with("pids", "started "), 2);
    child = harness_read_file(harness_path("child.hang-1"), NULL);
    ASSERT_NOT_NULL(child);
    WAIT_FOR(wfx_process_gone((pid_t)strtol(child, NULL, 10)), 5000);
    free(child);
}

/* Ending without a reply (even with exit 0) or answering garbage is
 * transient: retried, never taken as processed. */
TEST_T(worker_persistent_crash_and_garbage_retried, 30)
{
    struct wfx f;

    start(&f, "max_attempts = 3\nretry_schedule = 0s,100ms\n");
    enqueue(&f, "crash-1", "crash", "x");
    enqueue(&f, "garbage-1", "garbage", "x");
    struct proc *w = worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "crash-1", "processed"), 10000);
    WAIT_FOR(wfx_state_is(&f, "default", "garbage-1", "processed"), 10000);
    expect_seen_contains(&f, "crash-1", "attempts", "2");
    expect_seen_contains(&f, "garbage-1", "attempts", "2");
    ASSERT_INT_EQ(wfx_counter(&f, "default", "retried"), 2);
    ASSERT_INT_EQ(proc_log_wait_for(w, "exit 0 before replying", 5000), 0);
    ASSERT_INT_EQ(proc_log_count(w, "\"error\":\"malformed reply"), 1);
    ASSERT_INT_EQ(proc_log_count(w, "\"output\":\"hello world\""), 1);
    /* each failure cost its process: crash, garbage, then the one left */
    ASSERT_INT_EQ(wfx_lines_with("pids", "started "), 3);
}

/* A handler may answer before reading its body; one that then reads it
 * stays in step and is kept; one that never reads it is replaced. */
TEST_T(worker_persistent_reply_before_body, 30)
{
    enum { BODY = 1 << 20 };
    struct wfx f;
    char *body = malloc(BODY);

    ASSERT_NOT_NULL(body);
    memset(body, 'b', BODY);
    start(&f, "handler_timeout = 2s\n");
    wfx_enqueue_full(&f, "default", "github", "early-1", "early", body, BODY, NULL, NULL);
    enqueue(&f, "ok-1", "ok", "{}");
    wfx_enqueue_full(&f, "default", "github", "deaf-1", "deaf", body, BODY, NULL, NULL);
    enqueue(&f, "ok-2", "ok", "{}");
    struct proc *w = worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "ok-2", "processed"), 15000);
    ASSERT(wfx_state_is(&f, "default", "early-1", "processed"));
    ASSERT(wfx_state_is(&f, "default", "ok-1", "processed"));
    ASSERT(wfx_state_is(&f, "default", "deaf-1", "processed")); /* its reply stands */
    ASSERT_INT_EQ(wfx_lines("runs"), 4);
    ASSERT_INT_EQ(distinct_pids(), 2); /* early-1, ok-1, deaf-1 | ok-2 */
    ASSERT_INT_EQ(proc_log_count(w, "did not read all of its body"), 1);
    free(body);
}

TEST_T(worker_persistent_env_has_no_secrets, 30)
{
    struct wfx f;
    char *got;

    start(&f, NULL);
    enqueue(&f, "env-1", "env", "{}");
    worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "env-1", "processed"), 10000);
    got = harness_read_file(harness_path("fullenv.env-1"), NULL);
    ASSERT_NOT_NULL(got);
    ASSERT_STR_CONTAINS(got, "TEST_PLAIN_VAR=kept\n");
    ASSERT(strstr(got, "s3cr3t-persist-value") == NULL);
    ASSERT(strstr(got, "TEST_PERSIST_SECRET") == NULL);
    ASSERT(strstr(got, "HOOKD_") == NULL); /* per-event values come in the header */
    free(got);
}

/* SIGTERM: each thread closes its handler's stdin, the handler exits on
 * EOF, the worker reaps it and exits 0; nothing is left behind. */
TEST_T(worker_persistent_clean_shutdown, 30)
{
    struct wfx f;
    char id[32], *pids;

    start(&f, NULL);
    for (int i = 0; i < 20; i++)
        snprintf(id, sizeof id, "s-%d", i), enqueue(&f, id, "ok", "{}");
    struct proc *w = worker(&f, "2");
    WAIT_FOR(wfx_counter(&f, "default", "processed") == 20, 15000);
    ASSERT_INT_OP(wfx_lines_with("pids", "started "), <=, 2);
    ASSERT_INT_EQ(proc_stop(w), 0);
    ASSERT_INT_EQ(wfx_lines_with("pids", "stopped "), wfx_lines_with("pids", "started "));
    pids = harness_read_file(harness_path("pids"), NULL);
    for (char *p = pids; p && (p = strstr(p, "started ")); p++)
        ASSERT(wfx_process_gone((pid_t)strtol(p + 8, NULL, 10)));
    ASSERT_INT_EQ(proc_log_count(w, "\"reason\":\"worker thread ending\""),
                  wfx_lines_with("pids", "started "));
    free(pids);
}

/* A program that cannot start fails the attempt as a spawned handler's
 * does: transient, named with its cause, dead-lettered once exhausted. */
TEST_T(worker_persistent_missing_program, 30)
{
    struct wfx f;
    char *v;

    wfx_start(&f,
              "[route default]\nhandler = exec:/nonexistent/persistent arg\n"
              "exec_mode = persistent\nmax_attempts = 2\nretry_schedule = 0s\n",
              NULL);
    enqueue(&f, "gone-1", "ok", "payload-1");
    worker(&f, "1");
    WAIT_FOR(wfx_state_is(&f, "default", "gone-1", "failed_permanent"), 10000);
    expect_seen_contains(&f, "gone-1", "reason", "exhausted");
    expect_seen_contains(&f, "gone-1", "attempts", "2");
    v = wfx_seen(&f, "default", "gone-1", "last_error");
    ASSERT_STR_EQ(v, "cannot run /nonexistent/persistent: No such file or directory");
    free(v);
}
