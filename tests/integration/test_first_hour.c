/*
 * test_first_hour.c — a new user's first hour, as the README tells it:
 * `make run` (scripts/run.sh, on free ports and a private run dir), then
 * only what its banner prints: the signed curl, `export HOOKD_CONFIG=…` and
 * hookctl in a shell without any secret variable, a failed event, its dead
 * letter, the fix and the replay; then `make stop`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "harness.h"

#define RUN_TIMEOUT_MS 60000

struct demo {
    struct proc *run;
    char run_dir[4096], conf[4096];
    char env_dir[4200], env_port[64], env_admin[64], env_redis[64], env_build[4200];
    const char *env[12];
};

static void demo_env(struct demo *d)
{
    int port = harness_free_port(), admin = harness_free_port(), redis = harness_free_port();

    snprintf(d->run_dir, sizeof d->run_dir, "%s", harness_path("run"));
    snprintf(d->env_dir, sizeof d->env_dir, "HOOKD_RUN_DIR=%s", d->run_dir);
    snprintf(d->env_port, sizeof d->env_port, "HOOKD_RUN_PORT=%d", port);
    snprintf(d->env_admin, sizeof d->env_admin, "HOOKD_RUN_ADMIN_PORT=%d", admin);
    snprintf(d->env_redis, sizeof d->env_redis, "HOOKD_RUN_REDIS_PORT=%d", redis);
    snprintf(d->env_build, sizeof d->env_build, "BUILD=%s", harness_build_dir());
    const char *env[] = {d->env_dir, d->env_port, d->env_admin, d->env_redis, d->env_build,
                         /* a fresh shell: none of the example's variables */
                         "HOOKD_ADMIN_TOKEN", "GITHUB_WEBHOOK_SECRET_V1",
                         "STRIPE_WEBHOOK_SECRET_V1", "HOOKD_CONFIG", NULL};
    memcpy(d->env, env, sizeof env);
}

/* The text of the banner's line that starts with PREFIX (after spaces),
 * up to the end of the line, into out. */
static void banner_value(const char *log, const char *prefix, char *out, size_t cap)
{
    const char *p = strstr(log, prefix);

    if (!p)
        test_fail(__FILE__, __LINE__, "banner has no \"%s\":\n%s", prefix, log);
    p += strlen(prefix);
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Runs a shell command line as the user would paste it, in the repo,
 * with HOOKD_CONFIG exported as the banner says. */
static int user_sh(struct demo *d, const char *line, char **out)
{
    char conf_env[4200];
    const char *argv[] = {"sh", "-c", line, NULL};

    snprintf(conf_env, sizeof conf_env, "HOOKD_CONFIG=%s", d->conf);
    const char *env[] = {conf_env, "HOOKD_ADMIN_TOKEN", "GITHUB_WEBHOOK_SECRET_V1",
                         "STRIPE_WEBHOOK_SECRET_V1", NULL};
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", harness_repo_dir(), line);
    argv[2] = cmd;
    return harness_run_env(argv, env, NULL, 0, out, RUN_TIMEOUT_MS);
}

/* `hookctl ARGS` as typed in that shell (HOOKD_CONFIG exported). */
static int ctl(struct demo *d, const char *args, char **out)
{
    char line[8192];

    snprintf(line, sizeof line, "%s/hookctl %s", harness_build_dir(), args);
    return user_sh(d, line, out);
}

static long long json_stat(struct demo *d, const char *route, const char *counter)
{
    char *out = NULL;
    long long v = -1;

    if (ctl(d, "--json stats", &out) == 0) {
        json_t *j = json_loads(out, 0, NULL);
        json_t *c = json_object_get(json_object_get(json_object_get(json_object_get(j, "routes"),
                                                                    route), "counters"), counter);
        v = json_is_integer(c) ? json_integer_value(c) : -1;
        json_decref(j);
    }
    free(out);
    return v;
}

static void demo_start(struct demo *d)
{
    char script[4200];
    const char *argv[] = {"sh", script, NULL};
    char *log;

    demo_env(d);
    snprintf(script, sizeof script, "%s/scripts/run.sh", harness_repo_dir());
    d->run = proc_start(argv, d->env, "make-run");
    if (proc_log_wait_for(d->run, "Ctrl-C stops everything", RUN_TIMEOUT_MS) < 0)
        test_fail(__FILE__, __LINE__, "scripts/run.sh printed no banner");
    log = proc_log(d->run);
    banner_value(log, "export HOOKD_CONFIG=", d->conf, sizeof d->conf);
    free(log);
}

TEST(first_hour_make_run_banner_to_replay)
{
    struct demo d;
    char *log, *out = NULL, curl[8192], line[8192];
    struct stat st;

    demo_start(&d);
    /* The run config: mode 600, secrets as files under run/. */
    ASSERT_INT_EQ(stat(d.conf, &st), 0);
    ASSERT_INT_EQ(st.st_mode & 077, 0);
    log = harness_read_file(d.conf, NULL);
    ASSERT_STR_CONTAINS(log, "admin_token = file:");
    ASSERT(strstr(log, "\nsecret.v1 = env:") == NULL); /* comments may still say env: */
    ASSERT_STR_CONTAINS(log, "\nsecret.v1 = file:");
    free(log);

    /* The printed curl, pasted as is: 202 queued. */
    log = proc_log(d.run);
    const char *c = strstr(log, "curl -i -X POST");
    ASSERT_NOT_NULL(c);
    const char *end = strstr(c, "--data-binary");
    ASSERT_NOT_NULL(end);
    end += strcspn(end, "\n");
    snprintf(curl, sizeof curl, "%.*s -s", (int)(end - c), c);
    free(log);
    ASSERT_INT_EQ(user_sh(&d, curl, &out), 0);
    ASSERT_STR_CONTAINS(out, "HTTP/1.1 202");
    ASSERT_STR_CONTAINS(out, "\"status\":\"queued\"");
    free(out);
    WAIT_FOR(json_stat(&d, "default", "processed") == 1, 20000);

    /* hookctl with only HOOKD_CONFIG, no secret in the environment. */
    ASSERT_INT_EQ(ctl(&d, "stats", &out), 0);
    ASSERT_STR_CONTAINS(out, "default");
    free(out);

    /* A failure, as the banner shows it: dead letter, fix, replay. */
    log = proc_log(d.run);
    banner_value(log, "eval \"", line, sizeof line);
    free(log);
    line[strlen(line) - 1] = '\0'; /* the closing quote */
    snprintf(curl, sizeof curl, "eval \"%s\"", line);
    ASSERT_INT_EQ(user_sh(&d, curl, &out), 0);
    ASSERT_STR_CONTAINS(out, "HTTP/1.1 202");
    free(out);
    WAIT_FOR(json_stat(&d, "default", "failed_permanent") == 1, 20000);
    ASSERT_INT_EQ(ctl(&d, "dead list default", &out), 0);
    ASSERT_STR_CONTAINS(out, "permanent");
    ASSERT_STR_CONTAINS(out, "failed_permanent"); /* STATE_NOW */
    free(out);
    snprintf(line, sizeof line, "touch '%s/downstream-fixed' && %s/hookctl replay default --all --wait",
             d.run_dir, harness_build_dir());
    ASSERT_INT_EQ(user_sh(&d, line, &out), 0);
    free(out);
    ASSERT_INT_EQ(json_stat(&d, "default", "processed"), 2);
    /* The dead letter stays, showing its event processed now; purged as
     * resolved. */
    ASSERT_INT_EQ(ctl(&d, "--json dead list default", &out), 0);
    json_t *arr = json_loads(out, 0, NULL);
    ASSERT_INT_EQ(json_array_size(arr), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(arr, 0), "state")), "processed");
    ASSERT(json_is_integer(json_object_get(json_array_get(arr, 0), "attempts")));
    ASSERT(json_is_integer(json_object_get(json_array_get(arr, 0), "failed_at")));
    json_decref(arr);
    free(out);
    ASSERT_INT_EQ(ctl(&d, "dead list default --state failed_permanent", &out), 0);
    ASSERT_STR_CONTAINS(out, "(0 shown");
    free(out);
    ASSERT_INT_EQ(ctl(&d, "dead purge default --resolved", &out), 2);
    ASSERT_STR_CONTAINS(out, "would purge 1 dead letters");
    free(out);
    ASSERT_INT_EQ(ctl(&d, "dead purge default --resolved --yes", &out), 0);
    ASSERT_STR_CONTAINS(out, "purged 1 dead letters");
    free(out);
    ASSERT_INT_EQ(ctl(&d, "dead list default", &out), 0);
    ASSERT_STR_CONTAINS(out, "(0 shown");
    free(out);
    /* Dead-lettered once, ever; failed now, no more. */
    ASSERT_INT_EQ(json_stat(&d, "default", "failed_permanent"), 1);
    ASSERT_INT_EQ(json_stat(&d, "default", "failed_now"), 0);

    /* make stop: everything it started is gone. */
    char script[4200];
    snprintf(script, sizeof script, "%s/scripts/run.sh", harness_repo_dir());
    const char *stop[] = {"sh", script, "stop", NULL};
    ASSERT_INT_EQ(harness_run_env(stop, d.env, NULL, 0, NULL, RUN_TIMEOUT_MS), 0);
    ASSERT(proc_wait(d.run, 10000) >= 0 || proc_stop(d.run) >= 0);
    snprintf(line, sizeof line, "%s/receiver.pid", d.run_dir);
    ASSERT(stat(line, &st) != 0);
}
