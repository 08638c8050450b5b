/*
 * test_durability.c — what a 2xx promises, against real Redis and real HTTP:
 *
 *   WAIT            the WAIT of wait_replicas runs on the connection that
 *                   took the write: closed in between (faultproxy cutreply,
 *                   what Sentinel's CLIENT KILL does at a failover), the
 *                   event gets 503, and so does its duplicate, until a
 *                   replica really holds the record
 *   one listener    a second receiver on a taken address exits 2 naming it
 */
#define _GNU_SOURCE /* asprintf */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fproxy.h"
#include "ingress_fixture.h"
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

    topo_start_pair(&t, 0);
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
