/*
 * test_replication.c — durability and failover of the receiver's write:
 *
 *   wait_replicas   a replica attached → 202; replica stopped → 503 with
 *                   Retry-After within wait_timeout; the provider's retry
 *                   after the replica is back → 200 duplicate
 *   latency         the cost of WAIT: p50/p99 with and without it (printed;
 *                   the figures in docs/deployment.md come from here)
 *   READONLY        a master demoted to replica answers -READONLY: 503, and
 *                   the receiver reconnects once it is a master again
 *   Sentinel        primary killed: 503s while Sentinel fails over, then 202
 *                   from the promoted replica, no restart; every event that
 *                   got a 2xx is on the new master
 *   the window      the same, and the new master stalls 1.5 s right after
 *                   the old primary returns: nothing acknowledged is lost
 *                   (the topology's persistence and Sentinel timings:
 *                   topology.h)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingress_fixture.h"
#include "topology.h"

#define SECRET "gh-secret-one"
#define LATENCY_REQUESTS 400
#define FAILOVER_BUDGET_MS 30000
#define STALL_MS 1500 /* the new master's stall in the window test */

/* A receiver on redis srv with the topology template and redis_extra. */
static void start_receiver(struct fixture *f, struct redis_srv *srv, const char *redis_extra)
{
    char *tpl = topo_receiver_conf(redis_extra, NULL);

    memset(f, 0, sizeof *f);
    f->redis = srv;
    f->port = harness_free_port();
    f->admin_port = harness_free_port();
    fixture_rewrite_config(f, tpl);
    f->receiver = receiver_start(f->config_path, f->admin_port);
    free(tpl);
}

static int post(struct fixture *f, const char *id, struct http_response *resp)
{
    char body[128];

    snprintf(body, sizeof body, "{\"delivery\":\"%s\"}", id);
    return fixture_post_github(f, SECRET, id, "push", body, resp);
}

TEST(replication_wait_replicas_202_then_503)
{
    struct topo t;
    struct fixture f;
    struct http_response resp = {0};
    int64_t start, elapsed;

    topo_start_pair(&t, TOPO_FSYNC_ALWAYS);
    start_receiver(&f, t.primary, "wait_replicas = 1\nwait_timeout = 300ms");
    ASSERT_INT_EQ(post(&f, "wr-1", NULL), 202);

    redis_stop(t.replica);
    start = harness_now_ms();
    ASSERT_INT_EQ(post(&f, "wr-2", &resp), 503);
    elapsed = harness_now_ms() - start;
    ASSERT_NOT_NULL(http_header(&resp, "Retry-After"));
    ASSERT_INT_OP(elapsed, >=, 250);
    ASSERT_INT_OP(elapsed, <, 1500);
    http_response_free(&resp);

    /* The provider's retry finds the record, but only on the primary: a
     * 200 would be a promise no replica holds yet. */
    ASSERT_INT_EQ(post(&f, "wr-2", NULL), 503);

    /* The write stayed on the primary; once a replica has it, the
     * provider's retry is a duplicate and a new event is queued again. */
    redis_restart(t.replica);
    topo_wait_replicas(redis_port(t.primary), 1, TOPO_SYNC_TIMEOUT_MS);
    ASSERT_INT_EQ(post(&f, "wr-2", NULL), 200);
    ASSERT_INT_EQ(post(&f, "wr-3", NULL), 202);
    f.rc = redis_connect(t.replica);
    WAIT_FOR(fixture_stream_len(&f, "default") == 3, 5000);
    redisFree(f.rc);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void percentiles(double *v, size_t n, double *p50, double *p99)
{
    qsort(v, n, sizeof *v, cmp_double);
    *p50 = v[n * 50 / 100];
    *p99 = v[n * 99 / 100];
}

/* One signed POST on a kept-alive connection; its latency in ms. */
static double timed_post(struct http_conn *c, const char *id)
{
    char body[128], sig[SIG_BUF_SIZE], h1[300], h2[300];
    struct http_response resp = {0};
    struct timespec t0, t1;

    snprintf(body, sizeof body, "{\"delivery\":\"%s\"}", id);
    github_signature(SECRET, body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", id);
    const char *headers[] = {h1, h2, "X-GitHub-Event: push", "Content-Type: application/json",
                             NULL};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_INT_EQ(http_conn_request(c, "POST", "/hooks/github", headers, body, strlen(body), &resp),
                  0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ASSERT_INT_EQ(resp.status, 202);
    http_response_free(&resp);
    return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* Three set-ups measured side by side: AOF everysec (deploy/redis/redis.conf)
 * without and with WAIT for one replica, and a lone server with appendfsync
 * always, the alternative for a deployment without replicas. */
TEST_T(replication_wait_latency_figures, 120)
{
    static double lat[3][LATENCY_REQUESTS];
    static const char *const label[3] = {"everysec, wait_replicas = 0",
                                         "everysec, wait_replicas = 1",
                                         "always,   no replica       "};
    struct redis_opts always = {.appendonly = 1, .appendfsync_always = 1};
    struct topo t;
    struct fixture f[3];
    struct http_conn *c[3];
    char id[64];

    topo_start_pair(&t, TOPO_FSYNC_EVERYSEC);
    start_receiver(&f[0], t.primary, "wait_replicas = 0");
    start_receiver(&f[1], t.primary, "wait_replicas = 1\nwait_timeout = 1s");
    start_receiver(&f[2], redis_start(&always), "wait_replicas = 0");
    for (int k = 0; k < 3; k++)
        ASSERT_NOT_NULL(c[k] = http_conn_open(f[k].port));
    /* Interleaved, so all see the same machine load. */
    for (int i = 0; i < LATENCY_REQUESTS; i++)
        for (int k = 0; k < 3; k++) {
            snprintf(id, sizeof id, "lat-%d-%d", k, i);
            lat[k][i] = timed_post(c[k], id);
        }
    printf("    ingress latency, %d signed POSTs each, keep-alive, loopback (ms):\n",
           LATENCY_REQUESTS);
    for (int k = 0; k < 3; k++) {
        double p50, p99;
        http_conn_close(c[k]);
        percentiles(lat[k], LATENCY_REQUESTS, &p50, &p99);
        printf("      appendfsync %s  p50 %.3f  p99 %.3f\n", label[k], p50, p99);
    }
}

TEST(replication_readonly_master_answers_503_then_recovers)
{
    struct redis_srv *a = redis_start(NULL), *b = redis_start(NULL);
    struct fixture f;
    redisContext *ca;

    start_receiver(&f, a, NULL);
    ASSERT_INT_EQ(post(&f, "ro-1", NULL), 202);
    ca = redis_connect(a);
    freeReplyObject(redis_cmd(ca, "REPLICAOF 127.0.0.1 %d", redis_port(b)));
    /* A is a replica now: never a 2xx for a new event. */
    WAIT_FOR(post(&f, "ro-2", NULL) == 503, 5000);
    ASSERT_INT_OP(proc_log_count(f.receiver, "READONLY"), >=, 1);
    freeReplyObject(redis_cmd(ca, "REPLICAOF NO ONE"));
    WAIT_FOR(post(&f, "ro-3", NULL) == 202, 5000);
    redisFree(ca);
}

/* A provider: sends numbered events, re-sending each one until it gets a
 * 2xx. Counts the 503s; any other status fails the test. */
struct sender {
    struct fixture *f;
    int next;          /* number of the next new event */
    int acked;         /* events acknowledged (202 or 200) */
    int unavailable;   /* 503 answers */
    int pending;       /* -1, or the event being re-sent */
    char ids[512][32]; /* acknowledged ids */
};

/* Sends the pending or the next event once; returns the status. */
static int send_one(struct sender *s)
{
    char id[32];
    int n = s->pending >= 0 ? s->pending : s->next++, status;

    snprintf(id, sizeof id, "fo-%d", n);
    status = post(s->f, id, NULL);
    if (status == 503) {
        s->unavailable++;
        s->pending = n;
        return status;
    }
    if (status != 202 && status != 200)
        test_fail(__FILE__, __LINE__, "event %s: status %d during failover", id, status);
    s->pending = -1;
    ASSERT_INT_OP(s->acked, <, 512);
    memcpy(s->ids[s->acked++], id, sizeof id);
    return status;
}

/* Sends until n more events are acknowledged, within budget_ms. */
static void send_acked(struct sender *s, int n, int budget_ms)
{
    int64_t deadline = harness_now_ms() + budget_ms;

    for (int goal = s->acked + n; s->acked < goal; harness_backoff(3))
        if (send_one(s) == 503)
            ASSERT_INT_OP(harness_now_ms(), <, deadline);
}

/* Kills the primary and sends until Sentinel names another master, then
 * restarts the old primary, as systemd would: Sentinel turns it into a
 * replica of the new master, and with wait_replicas = 1 writes resume once
 * it has synced. Returns the new master's port. */
static int kill_primary(struct topo *t, struct sender *s, int64_t *killed, int64_t *promoted)
{
    int old_port = redis_port(t->primary), new_port = 0;

    redis_kill(t->primary);
    *killed = harness_now_ms();
    while (!new_port || new_port == old_port) {
        ASSERT_INT_OP(harness_now_ms() - *killed, <, FAILOVER_BUDGET_MS);
        if (send_one(s) == 503)
            harness_backoff(5);
        new_port = topo_master_port(t);
    }
    *promoted = harness_now_ms();
    redis_restart(t->primary);
    return new_port;
}

/* Sends until a new event gets 202: writes have resumed. (A 200 duplicate
 * is no proof: its WAIT covers no new write.) */
static int64_t until_resumed(struct sender *s, int64_t since)
{
    for (;;) {
        ASSERT_INT_OP(harness_now_ms() - since, <, FAILOVER_BUDGET_MS);
        int status = send_one(s);
        if (status == 202)
            return harness_now_ms();
        if (status == 503)
            harness_backoff(5);
    }
}

/* Every acknowledged event is on the master the Sentinels name once the
 * topology has settled (that master has its replica back). */
static void check_nothing_lost(const struct topo *t, const struct sender *s)
{
    int port = topo_master_port(t);
    redisContext *c;

    ASSERT_INT_OP(port, >, 0);
    topo_wait_replicas(port, 1, TOPO_SYNC_TIMEOUT_MS);
    c = redis_connect(topo_server(t, port));
    for (int i = 0; i < s->acked; i++)
        ASSERT_INT_EQ(redis_int(c, "EXISTS hookd:{default}:seen:github:%s", s->ids[i]), 1);
    redisFree(c);
}

/* The topology, a receiver following it with wait_replicas = 1, and 20
 * events acknowledged before anything fails. */
static void failover_start(struct topo *t, struct fixture *f, struct sender *s)
{
    char extra[256];

    topo_start_pair(t, TOPO_FSYNC_ALWAYS);
    topo_start_sentinels(t, TOPO_DOWN_AFTER_MS);
    snprintf(extra, sizeof extra,
             "sentinels = %s\nmaster_name = %s\nwait_replicas = 1\nwait_timeout = 300ms",
             t->sentinels, TOPO_MASTER_NAME);
    start_receiver(f, t->primary, extra);
    memset(s, 0, sizeof *s);
    s->f = f, s->pending = -1;
    send_acked(s, 20, 5000);
    ASSERT_INT_EQ(s->unavailable, 0);
}

TEST_T(replication_sentinel_failover_without_restart, 90)
{
    static struct sender s;
    struct topo t;
    struct fixture f;
    int64_t killed, promoted, resumed;

    failover_start(&t, &f, &s);
    kill_primary(&t, &s, &killed, &promoted);
    resumed = until_resumed(&s, killed);
    send_acked(&s, 20, 10000);
    printf("    sentinel failover: promoted after %lld ms, writes resumed after %lld ms, "
           "%d answers 503, %d events acknowledged\n",
           (long long)(promoted - killed), (long long)(resumed - killed), s.unavailable, s.acked);
    check_nothing_lost(&t, &s);
}

/*
 * The window after a failover: the old primary has just come back (empty,
 * were it without persistence) and is not yet a replica, and the new
 * master stalls for STALL_MS, longer than Sentinel's own one-second ping
 * period. With down-after-milliseconds at that period, this stall alone
 * started a second failover that could promote the returned primary and
 * resync the replica holding every acknowledged event to nothing. With AOF
 * on every node and several seconds of down-after-milliseconds, nothing
 * acknowledged may be lost, whichever node ends up master.
 */
TEST_T(replication_failover_new_master_stalls_after_old_primary_returns, 90)
{
    static struct sender s;
    struct topo t;
    struct fixture f;
    struct proc *master;
    int64_t killed, promoted, stalled, resumed;

    failover_start(&t, &f, &s);
    master = redis_proc(topo_server(&t, kill_primary(&t, &s, &killed, &promoted)));
    ASSERT_INT_EQ(proc_signal(master, SIGSTOP), 0);
    for (stalled = harness_now_ms(); harness_now_ms() - stalled < STALL_MS; harness_backoff(5))
        send_one(&s); /* 503 or a duplicate's 200: a stalled master acknowledges nothing new */
    ASSERT_INT_EQ(proc_signal(master, SIGCONT), 0);
    resumed = until_resumed(&s, killed);
    send_acked(&s, 20, 10000);
    printf("    failover, new master stopped %d ms after the old primary returned: writes resumed "
           "after %lld ms, %d answers 503, %d events acknowledged\n",
           STALL_MS, (long long)(resumed - killed), s.unavailable, s.acked);
    check_nothing_lost(&t, &s);
}
