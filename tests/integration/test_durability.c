/*
 * test_durability.c — what a 2xx promises, against real Redis and real HTTP:
 *
 *   WAIT            the WAIT of wait_replicas runs on the connection that
 *                   took the write: closed in between (faultproxy cutreply,
 *                   what Sentinel's CLIENT KILL does at a failover), the
 *                   event gets 503, and so does its duplicate, until a
 *                   replica really holds the record
 *   one listener    a second receiver on a taken address exits 2 naming it
 *   persistence     AOF off: redis_not_durable logged, hookd_redis_durable 0;
 *                   with require_durable = yes, 503 and /readyz failing
 *                   until AOF is on
 */
#define _GNU_SOURCE /* asprintf */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fproxy.h"
#include "ingress_fixture.h"
#include "prom_parse.h"
#include "topology.h"

#define SECRET "gh-secret-one"

/* A receiver (topology template, redis_extra) reaching srv through the
 * proxy fp when fp is not NULL. */
static void start_receiver(struct fixture *f, struct redis_srv *srv, const struct fproxy *fp,
                           const char *redis_extra)
{
    char *tpl = topo_receiver_conf(redis_extra, NULL), *at, *text = NULL;

    memset(f, 0, sizeof *f);
    f->redis = srv;
    f->port = harness_free_port();
    f->admin_port = harness_free_port();
    if (fp && (at = strstr(tpl, "@REDIS@"))) {
        if (asprintf(&text, "%.*sredis://127.0.0.1:%d/0%s", (int)(at - tpl), tpl, fp->port,
                     at + strlen("@REDIS@")) < 0)
            test_fail(__FILE__, __LINE__, "out of memory");
        free(tpl);
        tpl = text;
    }
    fixture_rewrite_config(f, tpl);
    f->receiver = receiver_start(f->config_path, f->admin_port);
    free(tpl);
}

static int post(struct fixture *f, const char *id)
{
    char body[128];

    snprintf(body, sizeof body, "{\"delivery\":\"%s\"}", id);
    return fixture_post_github(f, SECRET, id, "push", body, NULL);
}

TEST_T(durability_wait_only_on_the_writing_connection, 40)
{
    struct topo t;
    struct fproxy fp;
    struct fixture f;
    redisContext *c;

    topo_start_pair(&t, TOPO_FSYNC_ALWAYS);
    fproxy_start(&fp, redis_port(t.primary));
    start_receiver(&f, t.primary, &fp, "wait_replicas = 1\nwait_timeout = 300ms");
    ASSERT_INT_EQ(post(&f, "vw-0"), 202);

    /* The replica stays attached but acknowledges nothing: a WAIT that
     * covers a write times out; one on a fresh connection covers none and
     * answers 1 at once. */
    proc_signal(redis_proc(t.replica), SIGSTOP);
    fproxy_cmd(&fp, "cutreply vw-1");
    ASSERT_INT_EQ(post(&f, "vw-1"), 503);
    WAIT_FOR(proc_log_count(fp.proc, "cut a connection") == 1, 2000);
    ASSERT_INT_EQ(proc_log_count(f.receiver, "closed before its WAIT"), 1);
    /* The provider's retries find the record (on the primary only): a 200
     * needs the same WAIT, on its own connection. They are answered 503
     * until one of them has had its connection cut the same way (the first
     * ones may come before the receiver reconnects). */
    fproxy_cmd(&fp, "cutreply vw-1");
    for (int64_t end = harness_now_ms() + 5000; proc_log_count(fp.proc, "cut a connection") < 2;) {
        ASSERT_INT_EQ(post(&f, "vw-1"), 503);
        ASSERT_INT_OP(harness_now_ms(), <, end);
    }
    WAIT_FOR(proc_log_count(f.receiver, "closed before its WAIT") == 2, 2000);

    /* Once the replica has the record, the retry is a 200 (503s until the
     * receiver has reconnected; a 202 would fail too). */
    proc_signal(redis_proc(t.replica), SIGCONT);
    topo_wait_replicas(redis_port(t.primary), 1, TOPO_SYNC_TIMEOUT_MS);
    WAIT_FOR(post(&f, "vw-1") == 200, 5000);
    c = redis_connect(t.replica);
    ASSERT_INT_EQ(redis_int(c, "EXISTS hookd:{default}:seen:github:vw-1"), 1);
    redisFree(c);
}

/* A second receiver on the address of a running one (started by mistake,
 * say with a stale secret) exits 2 naming the address: it never shares the
 * port, and the first one keeps answering every request. */
TEST_T(durability_one_listener_per_address, 30)
{
    struct fixture f;
    char *out = NULL, addr[64], *tpl = topo_receiver_conf(NULL, NULL);
    const char *argv[4] = {harness_bin("hookd-receiver"), "-c", NULL, NULL};
    int code;

    fixture_start(&f, tpl);
    free(tpl);
    argv[2] = f.config_path;
    code = harness_run(argv, &out, 10000);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", f.port);
    ASSERT_INT_EQ(code, 2);
    ASSERT_NOT_NULL(out);
    ASSERT_NOT_NULL(strstr(out, addr));
    ASSERT_NOT_NULL(strstr(out, "already in use"));
    free(out);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "one-%d", i);
        ASSERT_INT_EQ(post(&f, id), 202);
    }

    /* The admin address alone taken: the same. */
    fixture_rewrite_config(&f, "[receiver]\nlisten = 127.0.0.1:0\n"
                               "admin_listen = 127.0.0.1:@ADMIN@\n"
                               "[redis]\nurl = @REDIS@\n"
                               "[source github]\nscheme = github\nsecret.v1 = x\n"
                               "[route default]\nhandler = exec:/bin/true\n");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", f.admin_port);
    code = harness_run(argv, &out, 10000);
    ASSERT_INT_EQ(code, 2);
    ASSERT_NOT_NULL(strstr(out, addr));
    free(out);
}

/* GET on the admin listener with the token; the status. */
static int admin_get(const struct fixture *f, const char *path, struct http_response *resp)
{
    const char *const headers[] = {"Authorization: Bearer test-admin-token", NULL};

    ASSERT_INT_EQ(http_request(f->admin_port, "GET", path, headers, NULL, 0, resp), 0);
    return resp->status;
}

/* hookd_redis_durable from a strict parse of /metrics. */
static double durable_gauge(const struct fixture *f)
{
    struct http_response resp = {0};
    struct prom_doc doc;
    char err[200];
    size_t found = 0;
    double v;

    ASSERT_INT_EQ(admin_get(f, "/metrics", &resp), 200);
    if (prom_parse(resp.body, resp.body_len, &doc, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "/metrics: %s", err);
    v = prom_sum(&doc, "hookd_redis_durable", &found, NULL);
    ASSERT_INT_EQ(found, 1);
    prom_doc_free(&doc);
    http_response_free(&resp);
    return v;
}

static int readyz(const struct fixture *f)
{
    struct http_response resp = {0};
    int status = admin_get(f, "/readyz", &resp);

    if (status == 503)
        ASSERT_NOT_NULL(strstr(resp.body, "not durable"));
    http_response_free(&resp);
    return status;
}

/* Redis without persistence: logged and exported by every receiver; with
 * require_durable = yes, 503 and /readyz failing until AOF is on, and again
 * once it is turned off. */
TEST_T(durability_require_durable_until_aof_is_on, 40)
{
    struct fixture strict, lax;
    struct redis_srv *srv = redis_start(NULL); /* no AOF, no RDB */
    redisContext *c = redis_connect(srv);
    struct http_response resp = {0};
    char id[32];
    int n = 0;

    start_receiver(&strict, srv, NULL, "require_durable = yes\ndurable_check_interval = 200ms");
    start_receiver(&lax, srv, NULL, "durable_check_interval = 200ms");
    ASSERT_INT_EQ(proc_log_count(strict.receiver, "\"event\":\"redis_not_durable\""), 1);
    ASSERT_INT_EQ(proc_log_count(lax.receiver, "\"event\":\"redis_not_durable\""), 1);
    ASSERT_INT_EQ(post(&lax, "lax-1"), 202); /* warned, not refused */
    ASSERT_INT_EQ(fixture_post_github(&strict, SECRET, "rd-1", "push", "{}", &resp), 503);
    ASSERT_NOT_NULL(http_header(&resp, "Retry-After"));
    http_response_free(&resp);
    ASSERT_INT_EQ(readyz(&strict), 503);
    ASSERT_INT_EQ(readyz(&lax), 200);
    ASSERT(durable_gauge(&strict) == 0 && durable_gauge(&lax) == 0);
    ASSERT_INT_EQ(redis_int(c, "EXISTS hookd:{default}:seen:github:rd-1"), 0);

    freeReplyObject(redis_cmd(c, "CONFIG SET appendonly yes"));
    do
        snprintf(id, sizeof id, "rd-%d", ++n);
    while (post(&strict, id) == 503 && n < 200 && (harness_backoff(5), 1));
    ASSERT_INT_EQ(post(&strict, "rd-on"), 202);
    ASSERT_INT_EQ(readyz(&strict), 200);
    WAIT_FOR(durable_gauge(&lax) == 1, 5000);
    ASSERT(durable_gauge(&strict) == 1);
    ASSERT_INT_EQ(proc_log_count(strict.receiver, "\"event\":\"redis_durable\""), 1);

    freeReplyObject(redis_cmd(c, "CONFIG SET appendonly no"));
    WAIT_FOR(readyz(&strict) == 503, 5000);
    ASSERT_INT_EQ(post(&strict, "rd-off"), 503);
    ASSERT_INT_EQ(proc_log_count(strict.receiver, "\"event\":\"redis_not_durable\""), 2);
    redisFree(c);
}
