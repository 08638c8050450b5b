/*
 * test_worker_crash.c — hookd-worker when things go wrong around it: a
 * worker killed -9 mid-handler, a handler longer than visibility_timeout,
 * several workers on one route, an ordered key across a killed worker,
 * SIGTERM while a handler runs, Redis going
 * away and coming back, and a worker started before its Redis.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker_fixture.h"

#define MAX_MARKS 512

struct mark {
    char kind[8];
    char id[64];
    int attempt;
    long pid;
    long long ns;
};

/* Parses tmpdir/marks (written by slow.sh). */
static int read_marks(struct mark *m, int cap)
{
    char *text = harness_read_file(harness_path("marks"), NULL);
    int n = 0;

    for (char *line = text; line && *line && n < cap;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (sscanf(line, "%7s %63s %d %ld %lld", m[n].kind, m[n].id, &m[n].attempt, &m[n].pid,
                   &m[n].ns) == 5)
            n++;
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

static int count_marks(const char *kind)
{
    struct mark m[MAX_MARKS];
    int n = read_marks(m, MAX_MARKS), k = 0;

    for (int i = 0; i < n; i++)
        k += strcmp(m[i].kind, kind) == 0;
    return k;
}

/* Kills the process group of the handler run (ID, ATTEMPT), if it lives. */
static void kill_handler(const char *id, int attempt)
{
    char name[128], *pid;

    snprintf(name, sizeof name, "pid.%s.%d", id, attempt);
    if ((pid = harness_read_file(harness_path(name), NULL)) != NULL)
        kill(-(pid_t)strtol(pid, NULL, 10), SIGKILL);
    free(pid);
}

TEST_T(worker_kill9_entry_claimed_by_another, 40)
{
    struct wfx f;
    struct mark m[MAX_MARKS];
    struct proc *w[2];
    char *attempts;

    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 30 2\n"
              "visibility_timeout = 1s\nhandler_timeout = 60s\n",
              NULL);
    w[0] = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    w[1] = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    wfx_enqueue(&f, "default", "crash-1", "{}");
    WAIT_FOR(count_marks("start") == 1, 10000);
    ASSERT_INT_EQ(read_marks(m, MAX_MARKS), 1);
    int victim = m[0].pid == (long)proc_pid(w[0]) ? 0 : 1;
    ASSERT_INT_EQ(m[0].pid, (long)proc_pid(w[victim]));

    proc_kill(w[victim]);
    kill_handler("crash-1", 1); /* the orphaned handler of the dead worker */
    int64_t killed_at = harness_now_ms();
    WAIT_FOR(wfx_state_is(&f, "default", "crash-1", "processed"), 8000);
    int64_t took = harness_now_ms() - killed_at;
    /* visibility_timeout (1 s) + claim interval and idle read (250 ms each) + margin */
    ASSERT_INT_OP(took, <, 1000 + 2500);
    attempts = wfx_seen(&f, "default", "crash-1", "attempts");
    ASSERT_STR_EQ(attempts, "2");
    ASSERT_INT_EQ(read_marks(m, MAX_MARKS), 3); /* start 1, start 2, end 2 */
    ASSERT_INT_EQ(m[2].pid, (long)proc_pid(w[1 - victim]));
    ASSERT_INT_EQ(proc_log_count(w[1 - victim], "\"event\":\"claimed_stale\""), 1);
    /* The take-over line and the attempt line carry the request id. */
    ASSERT_INT_EQ(proc_log_count(w[1 - victim], "\"request_id\":\"req-crash-1\""), 2);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    free(attempts);
}

/* The mark of KIND for event ID, attempt ATTEMPT: its index, or -1. */
static int find_mark(const struct mark *m, int n, const char *kind, const char *id, int attempt)
{
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].kind, kind) == 0 && strcmp(m[i].id, id) == 0 && m[i].attempt == attempt)
            return i;
    return -1;
}

/* Per-key ordering across a crash: the worker running key a's first event
 * is killed -9; the key's next event, read meanwhile by the other worker,
 * is held (not run) until the first is claimed and finished, while key b
 * goes on in parallel. */
TEST_T(worker_kill9_ordered_key_not_overtaken, 40)
{
    struct wfx f;
    struct mark m[MAX_MARKS];
    struct proc *w[2];
    int n;

    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 30 2 a-1\n"
              "order_by = json:/k\nvisibility_timeout = 1s\nhandler_timeout = 60s\n",
              NULL);
    w[0] = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    w[1] = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    wfx_enqueue_keyed(&f, "default", "a-1", "a");
    WAIT_FOR(count_marks("start") == 1, 10000);
    ASSERT_INT_EQ(read_marks(m, MAX_MARKS), 1);
    int victim = m[0].pid == (long)proc_pid(w[0]) ? 0 : 1;
    wfx_enqueue_keyed(&f, "default", "a-2", "a");
    wfx_enqueue_keyed(&f, "default", "b-1", "b");
    WAIT_FOR(wfx_state_is(&f, "default", "b-1", "processed"), 8000);
    WAIT_FOR(wfx_state_is(&f, "default", "a-2", "held"), 8000);

    proc_kill(w[victim]);
    kill_handler("a-1", 1);
    WAIT_FOR(wfx_state_is(&f, "default", "a-2", "processed"), 8000);
    n = read_marks(m, MAX_MARKS);
    int end_a1 = find_mark(m, n, "end", "a-1", 2), start_a2 = find_mark(m, n, "start", "a-2", 1);
    ASSERT_INT_OP(end_a1, >=, 0);
    ASSERT_INT_OP(start_a2, >, end_a1);
    ASSERT_INT_EQ(find_mark(m, n, "start", "a-2", 2), -1); /* held is not an attempt */
    ASSERT(wfx_state_is(&f, "default", "a-1", "processed"));
    ASSERT_INT_OP(wfx_counter(&f, "default", "held"), >=, 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 3);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:order:a hookd:{default}:order:b"), 0);
    ASSERT_INT_EQ(proc_log_count(w[1 - victim], "\"outcome\":\"held\""), 1);
}

/* A paused route's entries stay where they are, even those of a worker
 * that died: nobody takes them over until the route is resumed. */
TEST_T(worker_paused_route_not_taken_over_until_resume, 40)
{
    struct wfx f;
    struct proc *w;

    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 30 2\n"
              "visibility_timeout = 1s\nhandler_timeout = 60s\n",
              NULL);
    w = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    wfx_enqueue(&f, "default", "paused-1", "{}");
    WAIT_FOR(count_marks("start") == 1, 10000);
    freeReplyObject(redis_cmd(f.rc, "SET hookd:{default}:paused 1"));
    proc_kill(w);
    kill_handler("paused-1", 1);
    wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    usleep(3000 * 1000); /* 3x visibility_timeout */
    ASSERT_INT_EQ(count_marks("start"), 1);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 1);
    freeReplyObject(redis_cmd(f.rc, "DEL hookd:{default}:paused"));
    WAIT_FOR(wfx_state_is(&f, "default", "paused-1", "processed"), 8000);
    ASSERT_INT_EQ(count_marks("start"), 2);
}

TEST_T(worker_heartbeat_keeps_long_handler, 40)
{
    struct wfx f;
    struct proc *w[2];

    /* The handler (3.5 s) outlives visibility_timeout (1.5 s) twice over: only
     * the heartbeat keeps the second worker from claiming it. */
    wfx_start(&f,
              "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 3.5\n"
              "visibility_timeout = 1500ms\nhandler_timeout = 10s\n",
              NULL);
    w[0] = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    w[1] = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    wfx_enqueue(&f, "default", "long-1", "{}");
    WAIT_FOR(wfx_state_is(&f, "default", "long-1", "processed"), 10000);
    ASSERT_INT_EQ(count_marks("start"), 1);
    ASSERT_INT_EQ(count_marks("end"), 1);
    ASSERT_INT_EQ(proc_log_count(w[0], "claimed_stale") + proc_log_count(w[1], "claimed_stale"), 0);
    ASSERT_INT_EQ(
        proc_log_count(w[0], "entry_claimed_away") + proc_log_count(w[1], "entry_claimed_away"), 0);
}

TEST_T(worker_two_workers_never_overlap_an_event, 60)
{
    enum { EVENTS = 40 };
    struct wfx f;
    struct mark m[MAX_MARKS];
    char id[32];
    int n, max_parallel = 0, running = 0;

    wfx_start(&f, "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 0.1\n", NULL);
    for (int i = 0; i < EVENTS; i++)
        snprintf(id, sizeof id, "par-%02d", i), wfx_enqueue(&f, "default", id, "{}");
    wfx_worker(&f, (const char *const[]){"-r", "default", "--concurrency", "3", NULL});
    wfx_worker(&f, (const char *const[]){"-r", "default", "--concurrency", "3", NULL});
    WAIT_FOR(wfx_counter(&f, "default", "processed") == EVENTS, 30000);
    n = read_marks(m, MAX_MARKS);
    ASSERT_INT_EQ(n, 2 * EVENTS);
    for (int i = 0; i < EVENTS; i++) {
        int starts = 0, ends = 0;
        long long s = 0, e = 0;
        snprintf(id, sizeof id, "par-%02d", i);
        for (int k = 0; k < n; k++) {
            if (strcmp(m[k].id, id) != 0)
                continue;
            if (m[k].kind[0] == 's')
                starts++, s = m[k].ns;
            else
                ends++, e = m[k].ns;
        }
        ASSERT_INT_EQ(starts, 1); /* the normal path runs an event once */
        ASSERT_INT_EQ(ends, 1);
        ASSERT_INT_OP(s, <=, e);
    }
    /* The file is in time order: count handlers running at once. */
    for (int k = 0; k < n; k++) {
        running += m[k].kind[0] == 's' ? 1 : -1;
        if (running > max_parallel)
            max_parallel = running;
    }
    ASSERT_INT_OP(max_parallel, >=, 2);
    ASSERT_INT_OP(max_parallel, <=, 6);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
}

TEST_T(worker_sigterm_drains, 30)
{
    struct wfx f;
    struct proc *w;
    redisReply *r;

    wfx_start(&f, "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 1\n", NULL);
    w = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    wfx_enqueue(&f, "default", "drain-1", "{}");
    WAIT_FOR(count_marks("start") == 1, 10000);
    wfx_enqueue(&f, "default", "drain-2", "{}"); /* not taken: the only thread is busy */
    ASSERT_INT_EQ(proc_signal(w, SIGTERM), 0);
    ASSERT_INT_EQ(proc_wait(w, 10000), 0);
    ASSERT_INT_EQ(count_marks("end"), 1);
    ASSERT(wfx_state_is(&f, "default", "drain-1", "processed"));
    ASSERT(wfx_state_is(&f, "default", "drain-2", "queued"));
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    /* A clean exit leaves the group: no stale consumer. */
    r = redis_cmd(f.rc, "XINFO CONSUMERS hookd:{default}:stream hookd-workers");
    ASSERT_INT_EQ(r->type, REDIS_REPLY_ARRAY);
    ASSERT_INT_EQ(r->elements, 0);
    freeReplyObject(r);
    /* The next worker takes drain-2. */
    wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    WAIT_FOR(wfx_state_is(&f, "default", "drain-2", "processed"), 10000);
}

TEST_T(worker_survives_redis_restart, 60)
{
    struct redis_opts ro = {.appendonly = 1, .appendfsync_always = 1};
    struct wfx f;
    struct proc *w;

    wfx_start(&f, "[route default]\nhandler = exec:@H@/slow.sh @DIR@ 1.5\n", &ro);
    w = wfx_worker(&f, (const char *const[]){"-r", "default", "--concurrency", "2", NULL});
    wfx_enqueue(&f, "default", "outage-1", "{}");
    WAIT_FOR(count_marks("start") == 1, 10000);
    redis_kill(f.redis); /* while the handler runs */
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"event\":\"redis_unavailable\"", 10000), 0);
    redis_restart(f.redis);
    redisFree(f.rc);
    f.rc = redis_connect(f.redis);
    /* The outcome written after the restart; nothing lost, nothing doubled. */
    WAIT_FOR(wfx_state_is(&f, "default", "outage-1", "processed"), 15000);
    wfx_enqueue(&f, "default", "outage-2", "{}");
    WAIT_FOR(wfx_state_is(&f, "default", "outage-2", "processed"), 15000);
    ASSERT_INT_EQ(count_marks("start"), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    ASSERT(proc_alive(w));
}

/* CPU time (user + system) the process has used, in ms. */
static long long cpu_ms(pid_t pid)
{
    char path[64], *stat, *p;
    unsigned long long ut = 0, stt = 0;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    stat = harness_read_file(path, NULL);
    ASSERT_NOT_NULL(stat);
    p = strrchr(stat, ')'); /* the name may hold spaces; fields 14, 15 follow */
    ASSERT_NOT_NULL(p);
    ASSERT_INT_EQ(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                         &stt),
                  2);
    free(stat);
    return (long long)(ut + stt) * 1000 / sysconf(_SC_CLK_TCK);
}

static const char two_routes[] = "[route default]\nhandler = exec:@H@/record.sh @DIR@\n"
                                 "[route other]\nhandler = exec:@H@/record.sh @DIR@\n";

/* While its Redis cannot be used, a worker just started waits: alive,
 * backing off (not spinning), no group anywhere yet. */
static struct proc *start_worker_waiting(struct wfx *f)
{
    struct proc *w = wfx_worker(f, (const char *const[]){"--concurrency", "2", NULL});
    long long cpu0;

    /* Said once, not once per try. */
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"event\":\"redis_unavailable\"", 5000), 0);
    ASSERT(proc_alive(w));
    cpu0 = cpu_ms(proc_pid(w));
    usleep(3000 * 1000);
    ASSERT(proc_alive(w));
    ASSERT_INT_OP(cpu_ms(proc_pid(w)) - cpu0, <, 600);
    ASSERT_INT_EQ(proc_log_count(w, "\"event\":\"start\""), 0);
    ASSERT_INT_EQ(proc_log_count(w, "waiting for Redis"), 1);
    return w;
}

/* Once Redis is there: both routes' groups, then an event on each, each
 * handled once, nothing left pending. */
static void expect_worker_caught_up(struct wfx *f, struct proc *w)
{
    WAIT_FOR(wfx_pending(f, "default") == 0 && wfx_pending(f, "other") == 0, 15000);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"event\":\"start\"", 5000), 0);
    ASSERT_INT_EQ(proc_log_count(w, "consumer groups ready"), 1);
    wfx_enqueue(f, "default", "late-1", "{}");
    wfx_enqueue(f, "other", "late-2", "{}");
    WAIT_FOR(wfx_state_is(f, "default", "late-1", "processed"), 10000);
    WAIT_FOR(wfx_state_is(f, "other", "late-2", "processed"), 10000);
    ASSERT_INT_EQ(wfx_lines("runs"), 2);
    ASSERT_INT_EQ(wfx_counter(f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(f, "other", "processed"), 1);
    ASSERT_INT_EQ(wfx_pending(f, "default"), 0);
    ASSERT_INT_EQ(wfx_pending(f, "other"), 0);
    ASSERT(proc_alive(w));
    ASSERT_INT_EQ(proc_stop(w), 0);
}

/* Started while nothing listens on Redis's port (connection refused). */
TEST_T(worker_started_before_redis, 40)
{
    struct wfx f;
    struct proc *w;

    wfx_start(&f, two_routes, NULL);
    redisFree(f.rc);
    redis_stop(f.redis);
    w = start_worker_waiting(&f);
    redis_restart(f.redis);
    f.rc = redis_connect(f.redis);
    expect_worker_caught_up(&f, w);
}

/* Started while Redis accepts connections but answers nothing (stopped
 * with SIGSTOP): each try ends at the command timeout, then backs off. */
TEST_T(worker_started_while_redis_hung, 40)
{
    struct wfx f;
    struct proc *w;

    wfx_start(&f, two_routes, NULL);
    ASSERT_INT_EQ(proc_signal(redis_proc(f.redis), SIGSTOP), 0);
    w = start_worker_waiting(&f);
    ASSERT_INT_EQ(proc_signal(redis_proc(f.redis), SIGCONT), 0);
    expect_worker_caught_up(&f, w);
}

TEST_T(worker_sighup_reloads_in_place, 40)
{
    struct wfx f;
    struct proc *w;
    char *conf;

    wfx_start(&f, "[route default]\nhandler = exec:@H@/record.sh @DIR@\n", NULL);
    w = wfx_worker(&f, (const char *const[]){"-r", "default", NULL});
    wfx_enqueue(&f, "default", "hup-1", "{}");
    WAIT_FOR(wfx_state_is(&f, "default", "hup-1", "processed"), 10000);

    /* A broken file: refused, the running config stays. */
    harness_write_file("worker.conf", "[route default]\nhandler = ftp://nowhere\n");
    ASSERT_INT_EQ(proc_signal(w, SIGHUP), 0);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"event\":\"config_reload_failed\"", 5000), 0);
    wfx_enqueue(&f, "default", "hup-2", "{}");
    WAIT_FOR(wfx_state_is(&f, "default", "hup-2", "processed"), 10000);

    /* A good one: drained, re-executed in place (same pid), new handler. */
    conf = wfx_expand(&f, "[route default]\nhandler = exec:@H@/record.sh @DIR@ 65\n");
    char full[2048];
    snprintf(full, sizeof full, "[redis]\nurl = %s\ntimeout = 1s\n%s", redis_url(f.redis), conf);
    harness_write_file("worker.conf", full);
    free(conf);
    ASSERT_INT_EQ(proc_signal(w, SIGHUP), 0);
    ASSERT_INT_EQ(proc_log_wait_for(w, "\"event\":\"config_reload\"", 5000), 0);
    WAIT_FOR(proc_log_count(w, "\"event\":\"start\"") == 2, 10000);
    char pid[32];
    snprintf(pid, sizeof pid, "\"pid\":%d}", (int)proc_pid(w));
    ASSERT_INT_EQ(proc_log_count(w, pid), 2); /* the same process, started twice */
    wfx_enqueue(&f, "default", "hup-3", "{}");
    WAIT_FOR(wfx_state_is(&f, "default", "hup-3", "failed_permanent"), 10000);
    ASSERT_INT_EQ(proc_stop(w), 0);
}
