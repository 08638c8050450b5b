/*
 * test_worker_batch.c — a worker thread's batches against a real
 * redis-server: one read hands out several entries (round robin over the
 * tenant streams, each begun), one outcome call records a batch whose
 * steps differ (finish, retry, dead, a finish that finds its work done) and
 * counts each exactly once, a worker killed -9 with a batch in hand loses
 * nothing and counts nothing twice, and a busy worker makes fewer Redis
 * calls than events.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_worker.h"
#include "worker_fixture.h"

static const char config[] = "[route default]\nhandler = exec:/bin/true\n";

/* Up to CAP new entries of the default route, read and begun as a worker
 * reads them; returns how many. */
static size_t read_batch(struct wfx *f, struct store_taken *t, size_t cap)
{
    struct store_start start = {.ttl_s = 3600, .token = "w1/0/batch"};
    struct store_streams s;
    size_t n = 0;

    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_group_ensure(f->st, "default"), 0);
    ASSERT_INT_EQ(store_streams_refresh(f->st, &s, true), 0);
    ASSERT_INT_EQ(store_read_begin(f->st, &s, "w1", &start, t, cap, &n), 0);
    store_streams_clear(&s);
    return n;
}

static long long hist_field(struct wfx *f, const char *field)
{
    return redis_num(f->rc, "HGET hookd:{default}:handler_hist %s", field);
}

TEST_T(worker_batch_read_hands_out_several_begun_round_robin, 30)
{
    struct store_taken t[8];
    struct wfx f;
    char id[32];

    wfx_start(&f, config, NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "plain-%d", i);
        wfx_enqueue(&f, "default", id, "{}");
    }
    /* A tenant stream with one event: one pass takes one entry per stream. */
    ASSERT_INT_EQ(redis_int(f.rc, "SADD hookd:{default}:tenants acme"), 1);
    ASSERT_INT_EQ(store_group_ensure(f.st, "default"), 0);
    redisReply *r = redis_cmd(f.rc, "XADD hookd:{default}:stream:acme * event_id t-1 source "
                                    "github type push body {} attempt 1");
    freeReplyObject(r);
    size_t n = read_batch(&f, t, 8);
    ASSERT_INT_EQ(n, 4);
    /* Round robin: the default stream's first entry, the tenant's, then the rest. */
    ASSERT_STR_EQ(t[0].ev->event_id, "plain-0");
    ASSERT_STR_EQ(t[1].ev->event_id, "t-1");
    ASSERT_STR_EQ(t[1].ev->stream_tenant, "acme");
    ASSERT_STR_EQ(t[2].ev->event_id, "plain-1");
    ASSERT_STR_EQ(t[3].ev->event_id, "plain-2");
    for (size_t i = 0; i < n; i++) {
        ASSERT(t[i].begun && t[i].b.run);
        ASSERT_INT_EQ(t[i].b.attempts, 1);
        store_event_free(t[i].ev);
    }
    ASSERT(wfx_state_is(&f, "default", "plain-2", "processing"));
    /* The cap holds: nothing is left, and a cap of 1 takes one. */
    ASSERT_INT_EQ(read_batch(&f, t, 8), 0);
    wfx_enqueue(&f, "default", "late-1", "{}");
    wfx_enqueue(&f, "default", "late-2", "{}");
    ASSERT_INT_EQ(read_batch(&f, t, 1), 1);
    ASSERT_STR_EQ(t[0].ev->event_id, "late-1");
    store_event_free(t[0].ev);
}

TEST_T(worker_batch_mixed_outcomes_counted_once, 30)
{
    struct store_taken t[4];
    struct store_handler_sample ok, tr, perm;
    bool applied[5] = {false, false, false, false, true};
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "m-ok", "{}");
    wfx_enqueue(&f, "default", "m-retry", "{}");
    wfx_enqueue(&f, "default", "m-dead", "{}");
    ASSERT_INT_EQ(read_batch(&f, t, 4), 3);
    store_handler_sample(&ok, "ok", 0.002);
    store_handler_sample(&tr, "transient", 0.004);
    store_handler_sample(&perm, "permanent", 0.001);
    /* The same FINISH twice in the batch (a step re-sent): the second finds
     * it done. And a RETRY of the finished event: only acked. */
    struct store_outcome o[5] = {
        {.kind = STORE_FINISH, .ev = t[0].ev, .ttl_s = 3600, .smp = &ok},
        {.kind = STORE_RETRY,
         .ev = t[1].ev,
         .ttl_s = 3600,
         .smp = &tr,
         .due_ms = 4102444800000LL,
         .last_error = "exit 75"},
        {.kind = STORE_DEAD,
         .ev = t[2].ev,
         .ttl_s = 3600,
         .smp = &perm,
         .reason = "permanent",
         .last_error = "exit 65",
         .attempts = 1},
        {.kind = STORE_FINISH, .ev = t[0].ev, .ttl_s = 3600, .smp = &ok},
        {.kind = STORE_RETRY, .ev = t[0].ev, .ttl_s = 3600, .due_ms = 1, .last_error = "x"},
    };
    ASSERT_INT_EQ(store_outcomes(f.st, o, 5, applied), 0);
    ASSERT(applied[0] && applied[1] && applied[2] && !applied[3] && !applied[4]);
    ASSERT(wfx_state_is(&f, "default", "m-ok", "processed"));
    ASSERT(wfx_state_is(&f, "default", "m-retry", "retry_scheduled"));
    ASSERT(wfx_state_is(&f, "default", "m-dead", "failed_permanent"));
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "retried"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_permanent"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_now"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 1); /* m-retry is still open */
    ASSERT_INT_EQ(redis_int(f.rc, "ZCARD hookd:{default}:retry"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 1);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    /* The samples summed by field: four runs of "ok", one each of the others. */
    ASSERT_INT_EQ(hist_field(&f, ok.bucket_field), 2);
    ASSERT_INT_EQ(hist_field(&f, "ok:sum_us"), 4000);
    ASSERT_INT_EQ(hist_field(&f, tr.bucket_field), 1);
    ASSERT_INT_EQ(hist_field(&f, "transient:sum_us"), 4000);
    ASSERT_INT_EQ(hist_field(&f, perm.bucket_field), 1);
    char *reason = redis_str(f.rc, "HGET hookd:{default}:seen:github:m-dead reason");
    ASSERT_STR_EQ(reason, "permanent");
    free(reason);
    for (int i = 0; i < 3; i++)
        store_event_free(t[i].ev);
}

/* Calls of the scripts Redis ran since the last CONFIG RESETSTAT. */
static long long script_calls(struct wfx *f)
{
    static const char *const names[] = {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="};
    char *info = redis_str(f->rc, "INFO commandstats");
    long long n = 0;

    for (size_t i = 0; info && i < 2; i++) {
        const char *p = strstr(info, names[i]);
        n += p ? strtoll(p + strlen(names[i]), NULL, 10) : 0;
    }
    free(info);
    return n;
}

static void start_persistent(struct wfx *f, const char *extra)
{
    char tpl[2048];

    snprintf(tpl, sizeof tpl,
             "[route default]\nhandler = exec:%s @DIR@\nexec_mode = persistent\n%s",
             harness_bin("persistent_handler"), extra);
    wfx_start(f, tpl, NULL);
}

static void enqueue_n(struct wfx *f, const char *prefix, const char *type, int n)
{
    char id[64];

    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        wfx_enqueue_full(f, "default", "github", id, type, "{}", 2, NULL, NULL);
    }
}

/* Before batches a busy thread made two script calls per event (the read
 * with its BEGIN, the outcome): 800 here. Now one of each per batch, of
 * as many entries as the handler runs in BATCH_BUDGET_US. */
TEST_T(worker_batch_fewer_script_calls_than_events, 40)
{
    struct wfx f;

    start_persistent(&f, "");
    enqueue_n(&f, "c", "ok", 400);
    redisReply *r = redis_cmd(f.rc, "CONFIG RESETSTAT");
    freeReplyObject(r);
    struct proc *w = wfx_worker(&f, (const char *const[]){"-r", "default", "-n", "2", NULL});
    WAIT_FOR(wfx_counter(&f, "default", "processed") == 400, 30000);
    long long calls = script_calls(&f);
    ASSERT_INT_OP(calls, <, 400); /* how far below depends on the machine's load */
    ASSERT_INT_EQ(wfx_lines("runs"), 400);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(proc_log_count(w, "\"outcome\":\"processed\""), 400);
}

/* The persistent handler that runs h-0 (its process group's leader: the
 * runner starts it in a group of its own), once it has started h-0 and
 * forked the child it hangs with; 0 before. */
static pid_t hanging_handler(void)
{
    char *runs = harness_read_file(harness_path("runs"), NULL);
    char *child = harness_read_file(harness_path("child.h-0"), NULL);
    const char *line = runs ? strstr(runs, "h-0 1 ") : NULL;
    long pid = line && child && strchr(child, '\n') ? strtol(line + 6, NULL, 10) : 0;

    free(runs), free(child);
    return pid > 1 && getpgid((pid_t)pid) == (pid_t)pid ? (pid_t)pid : 0;
}

/* Killed -9 while a batch is in hand: its handler hangs on the second
 * entry, the first's outcome may or may not have gone out, the rest were
 * read and begun but never run. Another worker claims every one after
 * visibility_timeout: each ok event is processed and counted once, the
 * hanging one ends dead (max_attempts 2), nothing stays pending. */
TEST_T(worker_batch_kill9_with_batch_in_hand, 60)
{
    struct wfx f;
    char name[64];

    start_persistent(&f, "visibility_timeout = 1s\nhandler_timeout = 2s\nmax_attempts = 2\n");
    enqueue_n(&f, "warm", "ok", 40); /* the thread learns its handler is fast */
    struct proc *w = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    WAIT_FOR(wfx_counter(&f, "default", "processed") == 40, 20000);
    usleep(300 * 1000); /* idle: blocked in its wait for new entries */
    /* Stopped while they arrive, the worker's wait hands it a-0 alone, and
     * its next read the rest at once: h-0 (hangs), then b-0, b-1, b-2. */
    ASSERT_INT_EQ(proc_signal(w, SIGSTOP), 0);
    enqueue_n(&f, "a", "ok", 1);
    enqueue_n(&f, "h", "hang", 1);
    enqueue_n(&f, "b", "ok", 3);
    ASSERT_INT_EQ(proc_signal(w, SIGCONT), 0);
    WAIT_FOR(hanging_handler() > 0, 10000);
    pid_t group = hanging_handler();
    proc_kill(w);
    ASSERT(group > 0 && kill(-group, SIGKILL) == 0);
    /* b-0 was read and begun with the batch (an attempt counted), not run. */
    ASSERT(wfx_state_is(&f, "default", "b-0", "processing"));
    char *att = wfx_seen(&f, "default", "b-0", "attempts");
    ASSERT_STR_EQ(att, "1");
    free(att);
    ASSERT_INT_EQ(wfx_lines_with("runs", "b-0 "), 0);

    wfx_worker(&f, (const char *const[]){"-r", "default", "-n", "2", NULL});
    WAIT_FOR(wfx_counter(&f, "default", "processed") == 44 &&
                 wfx_counter(&f, "default", "failed_permanent") == 1,
             20000);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_now"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 1);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "b-%d", i);
        ASSERT(wfx_state_is(&f, "default", name, "processed"));
    }
    /* b-0 ran once, on its second attempt (the first start was the batch's). */
    ASSERT_INT_EQ(wfx_lines_with("runs", "b-0 2 "), 1);
    ASSERT_INT_EQ(wfx_lines_with("runs", "b-0 "), 1);
    char *reason = redis_str(f.rc, "HGET hookd:{default}:seen:github:h-0 reason");
    ASSERT_STR_EQ(reason, "exhausted");
    free(reason);
}

/* A route paused after the worker's last sample of the flag: the plain
 * read of its one stream takes entries, but BEGIN checks the flag and
 * starts none of them (no attempt counted, no handler); they stay pending,
 * idle past any visibility_timeout, so the first claim pass after the
 * resume takes them over at once. */
TEST_T(worker_batch_plain_read_of_paused_route_begins_nothing, 30)
{
    struct store_start start = {.ttl_s = 3600, .token = "w1/0/p"};
    struct store_taken t[4];
    struct store_streams s;
    struct store_event *ev = NULL;
    bool done = false;
    size_t n = 9;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "p-1", "{}");
    wfx_enqueue(&f, "default", "p-2", "{}");
    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_group_ensure(f.st, "default"), 0);
    ASSERT_INT_EQ(store_streams_refresh(f.st, &s, true), 0);
    ASSERT(!s.paused && s.n == 1);
    redisReply *r = redis_cmd(f.rc, "SET hookd:{default}:paused 1");
    freeReplyObject(r);
    ASSERT_INT_EQ(store_read_begin(f.st, &s, "w1", &start, t, 4, &n), 0);
    ASSERT_INT_EQ(n, 0);
    ASSERT(s.paused);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 2);
    ASSERT(wfx_state_is(&f, "default", "p-1", "queued"));
    char *att = wfx_seen(&f, "default", "p-1", "attempts");
    ASSERT(att == NULL);
    free(att);
    /* Resumed: a claim with the default visibility_timeout takes them now. */
    r = redis_cmd(f.rc, "DEL hookd:{default}:paused");
    freeReplyObject(r);
    ASSERT_INT_EQ(store_claim_next(f.st, &s, "w2", 60000, &ev, &done), 0);
    ASSERT_NOT_NULL(ev);
    ASSERT_STR_EQ(ev->event_id, "p-1");
    store_event_free(ev);
    store_streams_clear(&s);
}

/* worker_batch = 1 and two tenant streams: the idle wait (one entry per
 * stream that has one) hands the thread two entries at once; they are
 * handled as batches of one, each counted once. */
TEST_T(worker_batch_of_one_idle_wait_hands_out_two, 30)
{
    struct wfx f;

    wfx_start(&f, "[route default]\nhandler = exec:/bin/true\nworker_batch = 1\n", NULL);
    ASSERT_INT_EQ(redis_int(f.rc, "SADD hookd:{default}:tenants a b"), 2);
    ASSERT_INT_EQ(store_group_ensure(f.st, "default"), 0);
    struct proc *w = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    usleep(1500 * 1000); /* idle: blocked on both tenant streams */
    ASSERT_INT_EQ(proc_signal(w, SIGSTOP), 0);
    freeReplyObject(redis_cmd(f.rc, "XADD hookd:{default}:stream:a * event_id ta source github "
                                    "type push body {} attempt 1"));
    freeReplyObject(redis_cmd(f.rc, "XADD hookd:{default}:stream:b * event_id tb source github "
                                    "type push body {} attempt 1"));
    ASSERT_INT_EQ(proc_signal(w, SIGCONT), 0);
    WAIT_FOR(wfx_counter(&f, "default", "processed") == 2, 10000);
    ASSERT(wfx_state_is(&f, "default", "ta", "processed"));
    ASSERT(wfx_state_is(&f, "default", "tb", "processed"));
    ASSERT_INT_EQ(proc_log_count(w, "\"outcome\":\"processed\""), 2);
}
