/*
 * test_redis_errors.c — when Redis cannot be used, every program says
 * where it tried and why: refused, timed out, auth failed, READONLY. The
 * receiver says it at start (and its /readyz), the worker while it waits,
 * hookctl in its one line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char conf_tpl[] = "[receiver]\nlisten = 127.0.0.1:@PORT@\n"
                               "admin_listen = 127.0.0.1:@ADMIN@\nadmin_token = tok\n"
                               "threads = 1\n"
                               "[redis]\nurl = @URL@\ntimeout = 300ms\n@PASSWORD@\n"
                               "[source gh]\nscheme = github\nsecret.v1 = s\n"
                               "[route default]\nhandler = exec:/bin/true\n";

static const char *write_conf(const char *name, const char *url, const char *password_line,
                              int port, int admin)
{
    char p[16], a[16];
    snprintf(p, sizeof p, "%d", port);
    snprintf(a, sizeof a, "%d", admin);
    char *text = harness_expand(conf_tpl, (const char *const[]){"@PORT@", p, "@ADMIN@", a, "@URL@",
                                                                url, "@PASSWORD@", password_line,
                                                                NULL});
    const char *path = harness_write_file(name, text);
    free(text);
    return path;
}

static char *hookctl(const char *conf)
{
    char *out = NULL;
    const char *argv[] = {harness_bin("hookctl"), "-c", conf, "stats", NULL};

    ASSERT_INT_EQ(harness_run(argv, &out, 20000), 3);
    return out;
}

TEST(redis_errors_name_address_and_cause)
{
    int dead_port = harness_free_port(), port = harness_free_port(), admin = harness_free_port();
    char url[64], where[96], *out;
    struct http_response r = {0};

    /* Refused: nothing listens there. The receiver says so at start. */
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", dead_port);
    const char *conf = write_conf("refused.conf", url, "", port, admin);
    snprintf(where, sizeof where, "127.0.0.1:%d: Connection refused", dead_port);
    out = hookctl(conf);
    ASSERT_STR_CONTAINS(out, where);
    free(out);
    struct proc *rcv = receiver_start(conf, admin);
    ASSERT_INT_EQ(proc_log_wait_for(rcv, where, 5000), 0);
    ASSERT_INT_EQ(proc_log_count(rcv, "thread pool"), 0); /* threads = 1: no MHD warning */
    const char *h[] = {"Authorization: Bearer tok", NULL};
    ASSERT_INT_EQ(http_request(admin, "GET", "/readyz", h, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 503);
    ASSERT_STR_CONTAINS(r.body, where);
    http_response_free(&r);
    struct proc *w = worker_start(conf, "default", NULL);
    ASSERT_INT_EQ(proc_log_wait_for(w, where, 5000), 0);

    /* Auth failed: a Redis with a password, the wrong one configured. */
    struct redis_srv *locked = redis_start(NULL);
    redisContext *admin_rc = redis_connect(locked);
    freeReplyObject(redis_cmd(admin_rc, "CONFIG SET requirepass right-pw"));
    conf = write_conf("auth.conf", redis_url(locked), "password = wrong-pw", port, admin);
    out = hookctl(conf);
    snprintf(where, sizeof where, "127.0.0.1:%d: auth failed (WRONGPASS", redis_port(locked));
    ASSERT_STR_CONTAINS(out, where);
    ASSERT(strstr(out, "wrong-pw") == NULL && strstr(out, "right-pw") == NULL);
    free(out);

    /* Timed out: a Redis that accepts but does not answer. */
    struct redis_srv *frozen = redis_start(NULL);
    conf = write_conf("frozen.conf", redis_url(frozen), "", port, admin);
    ASSERT_INT_EQ(proc_signal(redis_proc(frozen), SIGSTOP), 0);
    out = hookctl(conf);
    snprintf(where, sizeof where, "127.0.0.1:%d: ", redis_port(frozen));
    ASSERT_STR_CONTAINS(out, where);
    ASSERT(strstr(out, "timed out") || strstr(out, "Resource temporarily unavailable"));
    free(out);
    proc_signal(redis_proc(frozen), SIGCONT);

    /* READONLY: a replica. */
    struct redis_srv *primary = redis_start(NULL), *replica;
    char replica_conf[128];
    snprintf(replica_conf, sizeof replica_conf, "replicaof 127.0.0.1 %d\n", redis_port(primary));
    replica = redis_start(&(struct redis_opts){.extra_conf = replica_conf});
    conf = write_conf("replica.conf", redis_url(replica), "", harness_free_port(),
                      harness_free_port());
    const char *argv[] = {harness_bin("hookctl"), "-c", conf, "pause", "default", NULL};
    ASSERT(harness_run(argv, &out, 20000) != 0);
    ASSERT_STR_CONTAINS(out, "READONLY");
    free(out);
}
