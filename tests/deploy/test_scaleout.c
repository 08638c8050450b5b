/*
 * test_scaleout.c — the deployment of docs/deployment.md on loopback, end to
 * end (make test-deploy):
 *
 *   provider ──HTTPS──▶ nginx (deploy/nginx/hookd.conf, self-signed cert)
 *                         ├──▶ receiver 1 ─┐
 *                         └──▶ receiver 2 ─┤        Sentinel ×3
 *                                          ▼        (down-after 1000 ms)
 *                      Redis primary ──replica──▶ Redis replica
 *                                          │
 *          worker(billing), worker(default), worker(billing + default)
 *                                          │
 *                             counting handler → handled.log
 *
 * Phases: signed events through nginx; the Redis primary is killed and
 * Sentinel promotes the replica while the provider keeps sending (it
 * re-sends whatever did not get a 2xx); the old primary comes back as a
 * replica; one receiver is stopped and nginx routes around it. At the end
 * every acknowledged event must have been handled exactly once. The figures
 * are printed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_util.h"
#include "../lib/topology.h"

#define PHASE_EVENTS 60
#define FAILOVER_BUDGET_MS 60000
#define DRAIN_TIMEOUT_MS 60000

static const char *type_of(int n) { return n % 2 ? "billing.paid" : "push"; }

static const char *write_config(const char *name, const struct topo *t, int port, int admin,
                                const char *handler)
{
    static const char route_tail[] =
        "retry_schedule = 0s,1s,2s\nhandler_timeout = 5s\nvisibility_timeout = 5s\n";
    char *text = NULL;
    const char *path;

    if (asprintf(&text,
                 "[receiver]\nlisten = 127.0.0.1:%d\nadmin_listen = 127.0.0.1:%d\n"
                 "admin_token = test-admin-token\nthreads = 4\nconnection_timeout = 10s\n"
                 "retry_after = 1s\ntrusted_proxies = 127.0.0.1\n"
                 "[redis]\nurl = %s\nsentinels = %s\nmaster_name = %s\ntimeout = 500ms\n"
                 "wait_replicas = 1\nwait_timeout = 500ms\n"
                 "[source github]\nscheme = github\nsecret.v1 = %s\n"
                 "[route billing]\nmatch = github:billing.*\nhandler = %s\n%s"
                 "[route default]\nhandler = %s\n%s",
                 port, admin, redis_url(t->primary), t->sentinels, TOPO_MASTER_NAME,
                 DEPLOY_SECRET, handler, route_tail, handler, route_tail) < 0)
        test_fail(__FILE__, __LINE__, "out of memory");
    path = harness_write_file(name, text);
    free(text);
    return path;
}

static void start_workers(const char *conf)
{
    const char *both[] = {harness_bin("hookd-worker"), "-c", conf, "-r", "billing",
                          "-r", "default", NULL};

    worker_start(conf, "billing", NULL);
    worker_start(conf, "default", NULL);
    proc_start(both, NULL, "worker-both");
}

static int access_log_has(const char *needle)
{
    char *log = deploy_nginx_access_log();
    int found = strstr(log, needle) != NULL;

    free(log);
    return found;
}

/* X-Request-Id and X-Forwarded-For as the receiver sees them, and the
 * admin API not reachable through nginx. */
static void check_proxy_headers(int https, struct proc *rx1, struct proc *rx2)
{
    char rid[64], needle[128];

    ASSERT_INT_EQ(deploy_post(https, "hdr-1", "push", "X-Forwarded-For: 203.0.113.9", rid), 202);
    ASSERT_INT_EQ(strlen(rid), 32); /* nginx's $request_id */
    snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", rid);
    WAIT_FOR(proc_log_count(rx1, needle) + proc_log_count(rx2, needle) == 1, 5000);
    /* The client is the address nginx saw (the right-most entry that is not
     * a trusted proxy), not the spoofed first entry; nginx is the peer. */
    ASSERT_INT_EQ(proc_log_count(rx1, "203.0.113.9") + proc_log_count(rx2, "203.0.113.9"), 0);
    snprintf(needle, sizeof needle, "\"client\":\"%s\",\"peer\":\"127.0.0.1\"",
             DEPLOY_PROVIDER_ADDR);
    ASSERT_INT_OP(proc_log_count(rx1, needle) + proc_log_count(rx2, needle), >=, 1);
    snprintf(needle, sizeof needle, "rid=%s", rid);
    WAIT_FOR(access_log_has(needle), 5000);
}

static void check_admin_hidden(int https)
{
    char url[128], out[8];
    const char *argv[] = {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                          "--cacert", deploy_cert_path(), url, NULL};
    char *got = NULL;
    const char *paths[] = {"/metrics", "/healthz", "/api/counts", "/"};

    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(url, sizeof url, "https://127.0.0.1:%d%s", https, paths[i]);
        ASSERT_INT_EQ(harness_run(argv, &got, 10000), 0);
        snprintf(out, sizeof out, "%.3s", got ? got : "");
        ASSERT_STR_EQ(out, "404");
        free(got);
    }
}

struct failover_figures {
    int64_t promoted_ms, resumed_ms;
    int unavailable;
};

/* Kills the primary and keeps sending until writes resume on the new one. */
static void fail_over(struct topo *t, struct deploy_sender *s, struct failover_figures *fig)
{
    int old_port = redis_port(t->primary), before = s->unavailable;
    int64_t killed, promoted = 0, resumed = 0;

    redis_kill(t->primary);
    killed = harness_now_ms();
    while (!resumed) {
        int status = deploy_send_one(s), port;
        ASSERT_INT_OP(harness_now_ms() - killed, <, FAILOVER_BUDGET_MS);
        if (!promoted && (port = topo_master_port(t)) && port != old_port) {
            promoted = harness_now_ms();
            /* Back as systemd would restart it; Sentinel demotes it to a
             * replica of the new primary, and wait_replicas = 1 is met again. */
            redis_restart(t->primary);
        }
        if (promoted && status == 202)
            resumed = harness_now_ms();
        else if (status != 200)
            harness_backoff(4);
    }
    fig->promoted_ms = promoted - killed;
    fig->resumed_ms = resumed - killed;
    fig->unavailable = s->unavailable - before;
}

/* Upstream addresses in nginx's access log after line `from`: how many
 * requests were retried on another receiver, and whether any went to port. */
static void upstream_use(int from, int stopped_port, int *retried, int *to_stopped_only)
{
    char *log = deploy_nginx_access_log(), stopped[32];
    int line = 0;

    snprintf(stopped, sizeof stopped, "up=127.0.0.1:%d ", stopped_port);
    *retried = *to_stopped_only = 0;
    for (char *p = log; *p; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (line >= from) {
            *retried += strstr(p, "up=127.0.0.1:") && strstr(p, ", 127.0.0.1:") ? 1 : 0;
            *to_stopped_only += strstr(p, stopped) ? 1 : 0;
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    free(log);
}

static int access_log_lines(void)
{
    char *log = deploy_nginx_access_log();
    int n = 0;

    for (char *p = log; (p = strchr(p, '\n')); p++)
        n++;
    free(log);
    return n;
}

TEST_T(deploy_scaleout_nginx_sentinel_failover, 240)
{
    static struct deploy_sender s;
    struct topo t;
    struct failover_figures fig;
    int rport[2], admin[2], https, lost, dups, retried, to_stopped, from;
    const char *conf[2], *handler;
    struct proc *rx[2];

    deploy_require_tools();
    deploy_make_cert();
    topo_start_pair(&t, TOPO_FSYNC_ALWAYS);
    topo_start_sentinels(&t, TOPO_DOWN_AFTER_MS);
    handler = deploy_counting_handler();
    for (int i = 0; i < 2; i++) {
        char name[32];
        rport[i] = harness_free_port(), admin[i] = harness_free_port();
        snprintf(name, sizeof name, "receiver-%d.conf", i + 1);
        conf[i] = write_config(name, &t, rport[i], admin[i], handler);
        rx[i] = receiver_start(conf[i], admin[i]);
    }
    start_workers(conf[0]);
    https = deploy_nginx_start(rport, 2);
    check_proxy_headers(https, rx[0], rx[1]);
    check_admin_hidden(https);

    s.https_port = https, s.type_of = type_of, s.pending = -1;
    deploy_send_acked(&s, PHASE_EVENTS, 20000);
    ASSERT_INT_EQ(s.unavailable + s.other, 0);

    fail_over(&t, &s, &fig);
    deploy_send_acked(&s, PHASE_EVENTS, 30000);

    from = access_log_lines();
    int before = s.unavailable + s.other;
    proc_stop(rx[0]);
    deploy_send_acked(&s, PHASE_EVENTS, 20000);
    ASSERT_INT_EQ(s.unavailable + s.other, before); /* nginx hid the stopped receiver */
    upstream_use(from, rport[0], &retried, &to_stopped);
    ASSERT_INT_EQ(to_stopped, 0);

    deploy_check_handled(&s, DRAIN_TIMEOUT_MS, &lost, &dups);
    printf("    scale-out figures (2 receivers behind nginx/TLS, 3 workers, 2 routes, "
           "primary + replica + 3 sentinels, wait_replicas = 1):\n"
           "      events acknowledged      %d\n"
           "      lost                     %d\n"
           "      handled twice            %d\n"
           "      503s during failover     %d\n"
           "      failover time            %lld ms (kill -9 -> Sentinel names the replica)\n"
           "      writes resumed after     %lld ms (new primary has its replica back)\n"
           "      receiver stopped: %d requests after, all 2xx, %d retried by nginx on the other\n",
           s.acked, lost, dups, fig.unavailable, (long long)fig.promoted_ms,
           (long long)fig.resumed_ms, PHASE_EVENTS, retried);
    ASSERT_INT_EQ(lost, 0);
    ASSERT_INT_EQ(dups, 0);
    ASSERT_INT_EQ(s.other, 0);
}
