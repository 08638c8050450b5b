/*
 * test_configs.c — the files in deploy/ are accepted by the programs that
 * read them (make test-deploy): redis-server loads deploy/redis/redis.conf
 * and deploy/redis/sentinel.conf (only paths and the port overridden on the
 * command line), and systemd-analyze verify accepts the units (ExecStart
 * pointed at this build), and hookd-receiver --check accepts
 * deploy/hookd/hookd.conf. nginx -t on deploy/nginx/hookd.conf runs in
 * deploy_nginx_start, used by test_scaleout.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy_util.h"

static const char *repo_file(const char *rel)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof path[0], "%s/%s", harness_repo_dir(), rel);
    return p;
}

/* Element 1 of the array that `CMD SUB ARG` answers (CONFIG GET, SENTINEL
 * get-master-addr-by-name), or NULL. */
static char *second_element(int port, const char *cmd, const char *sub, const char *arg)
{
    struct timeval tv = {0, 300000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = NULL;
    char *out = NULL;

    if (c && !c->err) {
        redisSetTimeout(c, tv);
        r = redisCommand(c, "%s %s %s", cmd, sub, arg);
    }
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        out = strdup(r->element[1]->str);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return out;
}

static int answers(int port, const char *cmd, const char *sub, const char *arg,
                   const char *want)
{
    char *v = second_element(port, cmd, sub, arg);
    int ok = v && strcmp(v, want) == 0;

    free(v);
    return ok;
}

TEST(deploy_redis_conf_loads_with_aof)
{
    char port_s[16];
    int port = harness_free_port();
    const char *dir = harness_path("redis-conf");
    const char *argv[] = {"redis-server", repo_file("deploy/redis/redis.conf"),
                          "--port", port_s, "--dir", dir, "--logfile", "",
                          "--pidfile", harness_path("redis-conf/redis.pid"),
                          "--unixsocket", harness_path("redis-conf/redis.sock"), NULL};

    snprintf(port_s, sizeof port_s, "%d", port);
    harness_write_file("redis-conf/.keep", "");
    proc_start(argv, NULL, "redis-conf");
    WAIT_FOR(answers(port, "CONFIG", "GET", "appendonly", "yes"), 10000);
    ASSERT(answers(port, "CONFIG", "GET", "appendfsync", "everysec"));
    ASSERT(answers(port, "CONFIG", "GET", "maxmemory-policy", "noeviction"));
    ASSERT(answers(port, "CONFIG", "GET", "min-replicas-to-write", "1"));
}

TEST(deploy_sentinel_conf_loads)
{
    char port_s[16], *text = harness_read_file(repo_file("deploy/redis/sentinel.conf"), NULL);
    int port = harness_free_port();
    const char *copy, *dir = harness_path("sentinel-conf");

    ASSERT_NOT_NULL(text);
    copy = harness_write_file("sentinel-conf/sentinel.conf", text); /* Sentinel rewrites it */
    free(text);
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv[] = {"redis-server", copy, "--sentinel", "--port", port_s, "--dir", dir,
                          "--logfile", "", "--pidfile", harness_path("sentinel-conf/s.pid"),
                          NULL};
    proc_start(argv, NULL, "sentinel-conf");
    WAIT_FOR(answers(port, "SENTINEL", "get-master-addr-by-name", "hookd-master", "6379"), 10000);
}

TEST(deploy_systemd_units_verify)
{
    static const char *const units[][2] = {
        {"deploy/systemd/hookd-receiver.service", "units/hookd-receiver.service"},
        {"deploy/systemd/hookd-worker@.service", "units/hookd-worker@billing.service"},
    };
    char bin[4096], *out = NULL;

    if (access("/usr/bin/systemd-analyze", X_OK) != 0)
        SKIP("systemd-analyze not installed");
    snprintf(bin, sizeof bin, "%s/", harness_build_dir());
    for (size_t i = 0; i < 2; i++) {
        char *text = harness_read_file(repo_file(units[i][0]), NULL);
        ASSERT_NOT_NULL(text);
        deploy_replace_all(&text, "/usr/local/bin/", bin);
        harness_write_file(units[i][1], text);
        free(text);
    }
    const char *argv[] = {"systemd-analyze", "verify", harness_path(units[0][1]),
                          harness_path(units[1][1]), NULL};
    const char *env[] = {"SYSTEMD_LOG_LEVEL=warning", NULL};
    int rc = harness_run_env(argv, env, NULL, 0, &out, 30000);
    if (rc != 0 || (out && out[0]))
        test_fail(__FILE__, __LINE__, "systemd-analyze verify (exit %d): %s", rc, out ? out : "");
    free(out);
}

/* deploy/hookd/hookd.conf passes the receiver's own --check, secrets given
 * as the units give them (EnvironmentFile), and ships require_durable. */
TEST(deploy_hookd_conf_checks)
{
    const char *conf = repo_file("deploy/hookd/hookd.conf");
    const char *argv[] = {harness_bin("hookd-receiver"), "-c", conf, "--check", NULL};
    const char *env[] = {"HOOKD_ADMIN_TOKEN=deploy-test-token", "HOOKD_REDIS_PASSWORD=pw",
                         "GITHUB_WEBHOOK_SECRET_V1=gh-secret", NULL};
    char *out = NULL, *text = harness_read_file(conf, NULL);
    int rc = harness_run_env(argv, env, NULL, 0, &out, 10000);

    if (rc != 0)
        test_fail(__FILE__, __LINE__, "hookd-receiver --check (exit %d): %s", rc, out ? out : "");
    ASSERT_NOT_NULL(text);
    ASSERT_NOT_NULL(strstr(text, "\nrequire_durable = yes"));
    free(text);
    free(out);
}
