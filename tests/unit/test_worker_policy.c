/*
 * test_worker_policy.c — the worker's pure policy modules: the retry delay
 * (schedule, full jitter, cap, Retry-After floor), the classification table
 * and handler parsing, from workers/ through libworker.a (the worker
 * without its main()), as hookd-worker runs them.
 */
#include "test.h"
#include "err.h"

#include "retry.h"
#include "runner.h"

static struct route_cfg route_with(int64_t *sched, size_t n, int64_t cap)
{
    struct route_cfg rt = {0};

    rt.retry_schedule_ms = sched;
    rt.nschedule = n;
    rt.max_backoff_ms = cap;
    rt.max_attempts = 8;
    return rt;
}

TEST(worker_retry_delay_full_jitter)
{
    int64_t sched[] = {0, 10000, 30000};
    struct route_cfg rt = route_with(sched, 3, 3600000);
    uint64_t rng = 12345;
    int64_t lo = INT64_MAX, hi = 0, sum = 0;

    ASSERT_INT_EQ(retry_delay_ms(&rt, 1, -1, &rng), 0);
    for (int i = 0; i < 2000; i++) {
        int64_t d = retry_delay_ms(&rt, 2, -1, &rng);
        ASSERT_INT_OP(d, >=, 0);
        ASSERT_INT_OP(d, <=, 10000);
        lo = d < lo ? d : lo, hi = d > hi ? d : hi, sum += d;
    }
    /* Spread over the whole window, centred on its middle. */
    ASSERT_INT_OP(lo, <, 500);
    ASSERT_INT_OP(hi, >, 9500);
    ASSERT_INT_OP(sum / 2000, >, 4000);
    ASSERT_INT_OP(sum / 2000, <, 6000);
    /* Past the end of the schedule: its last entry. */
    for (int i = 0; i < 200; i++)
        ASSERT_INT_OP(retry_delay_ms(&rt, 9, -1, &rng), <=, 30000);
}

TEST(worker_retry_delay_cap_and_retry_after)
{
    int64_t sched[] = {600000};
    struct route_cfg rt = route_with(sched, 1, 5000);
    uint64_t rng = 7;

    for (int i = 0; i < 200; i++)
        ASSERT_INT_OP(retry_delay_ms(&rt, 1, -1, &rng), <=, 5000);
    /* Retry-After is a floor, itself capped by max_backoff. */
    for (int i = 0; i < 200; i++)
        ASSERT_INT_OP(retry_delay_ms(&rt, 1, 3000, &rng), >=, 3000);
    ASSERT_INT_EQ(retry_delay_ms(&rt, 1, 90000, &rng), 5000);
    sched[0] = 0;
    ASSERT_INT_EQ(retry_delay_ms(&rt, 1, 1000, &rng), 1000);
}

static enum verdict exit_verdict(const struct route_cfg *rt, enum run_status st, int code)
{
    struct run_result r = {.status = st, .code = code};

    return classify(rt, &r);
}

TEST(worker_classification_table)
{
    int perm[] = {42, 75};
    struct route_cfg rt = route_with(NULL, 0, 0);

    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 0), VERDICT_OK);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 75), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 65), VERDICT_PERMANENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 77), VERDICT_PERMANENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 1), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 42), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_SIGNALED, 9), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_TIMEOUT, 0), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_SPAWN_FAILED, 2), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_NO_REPLY, 0), VERDICT_TRANSIENT); /* exit 0, no reply */
    rt.permanent_exit_codes = perm, rt.npermanent = 2;
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 42), VERDICT_PERMANENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 75), VERDICT_PERMANENT); /* listed wins */
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_EXITED, 0), VERDICT_OK);

    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 200), VERDICT_OK);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 204), VERDICT_OK);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 408), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 429), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 500), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 503), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 400), VERDICT_PERMANENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 404), VERDICT_PERMANENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_STATUS, 302), VERDICT_TRANSIENT);
    ASSERT_INT_EQ(exit_verdict(&rt, RUN_HTTP_ERROR, 7), VERDICT_TRANSIENT);
}

TEST(worker_last_error_text)
{
    struct run_result r = {0};
    char buf[64];

    snprintf(r.what, sizeof r.what, "exit 75");
    ASSERT_INT_EQ(run_last_error(&r, buf, sizeof buf), 7);
    ASSERT_STR_EQ(buf, "exit 75");
    memcpy(r.output, "boom\n", 5), r.output_len = 5, r.output_cut = RUN_CUT_HEAD;
    run_last_error(&r, buf, sizeof buf);
    ASSERT_STR_EQ(buf, "exit 75: …boom\n");
    memset(r.output, 'x', 100), r.output_len = 100;
    ASSERT_INT_EQ(run_last_error(&r, buf, sizeof buf), sizeof buf - 1);
}

TEST(worker_handler_parse)
{
    struct handler h;
    char err[160];

    ASSERT_INT_EQ(handler_parse("exec:/usr/bin/env  -i   FOO=1 /bin/true", &h, err, sizeof err), 0);
    ASSERT_INT_EQ(h.kind, HANDLER_EXEC);
    ASSERT_STR_EQ(h.argv[0], "/usr/bin/env");
    ASSERT_STR_EQ(h.argv[1], "-i");
    ASSERT_STR_EQ(h.argv[2], "FOO=1");
    ASSERT_STR_EQ(h.argv[3], "/bin/true");
    ASSERT_NULL(h.argv[4]);
    handler_free(&h);
    ASSERT_INT_EQ(handler_parse("http://svc:8080/hook", &h, err, sizeof err), 0);
    ASSERT_INT_EQ(h.kind, HANDLER_HTTP);
    ASSERT_STR_EQ(h.url, "http://svc:8080/hook");
    handler_free(&h);
    ASSERT_INT_EQ(handler_parse("exec:   ", &h, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_STR_CONTAINS(err, "names no program");
    ASSERT_INT_EQ(handler_parse("ftp://x", &h, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_INT_EQ(handler_parse("http://a b", &h, err, sizeof err), HOOKD_ECONFIG);
}
