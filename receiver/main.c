/*
 * main.c — hookd-receiver: flags, signals, lifecycle.
 *
 *   hookd-receiver -c FILE [--check]
 *
 * Signals are blocked in every thread and taken here with sigwait():
 * SIGHUP re-reads the config and swaps it atomically (a bad file is logged
 * and the old config stays); SIGTERM/SIGINT stop accepting, let requests in
 * flight finish (bounded by DRAIN_TIMEOUT_S), and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "durable.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "pipeline.h"
#include "runtime.h"
#include "store_ingress.h"

#define DRAIN_TIMEOUT_S 30

static void usage(FILE *to)
{
    fprintf(to, "usage: hookd-receiver -c FILE [--check]\n"
                "  -c FILE   config file (INI; see receiver.conf.example)\n"
                "  --check   validate the config and exit (0 ok, 2 invalid)\n");
}

static void apply_log_level(const struct config *cfg)
{
    int lvl = log_level_parse(cfg->receiver.log_level);
    log_set_level(lvl < 0 ? LOG_INFO : (enum log_level)lvl);
}

/* Listener addresses, threads and Redis settings are read once at start. */
static void warn_restart_only(const struct config *old, const struct config *neu)
{
    if (strcmp(old->receiver.listen, neu->receiver.listen) != 0 ||
        strcmp(old->receiver.admin_listen, neu->receiver.admin_listen) != 0 ||
        old->receiver.threads != neu->receiver.threads || strcmp(old->redis.url, neu->redis.url) != 0 ||
        strcmp(old->redis.prefix, neu->redis.prefix) != 0)
        log_msg(LOG_WARN, EV_RELOAD,
                "listen addresses, threads and [redis] settings change only on restart");
}

static void reload(const char *path)
{
    char err[2048];
    struct config *neu = config_load_opts(path, CONFIG_RELOAD, err, sizeof err), *old;

    if (!neu) {
        log_msg(LOG_ERROR, EV_RELOAD_FAILED, "%s; keeping the running config", err);
        return;
    }
    old = runtime_config();
    warn_restart_only(old, neu);
    config_release(old);
    apply_log_level(neu);
    runtime_swap_config(neu);
    log_msg(LOG_INFO, EV_RELOAD, "config reloaded from %s: %zu sources, %zu routes", path,
            neu->nsources, neu->nroutes);
}

/* At start, one line on where Redis is and whether it answers (with the
 * cause when not): a receiver that will answer 503 says why at once. */
static void log_redis_at_start(const struct config *cfg)
{
    char err[256], addr[128];
    struct store *st = store_open(&cfg->redis, err, sizeof err);

    if (!st)
        return; /* the url passed the config's check: only memory can fail */
    store_address(st, addr, sizeof addr);
    if (store_ping(st) == 0)
        log_msg(LOG_INFO, EV_REDIS_UP, "Redis at %s answers", addr);
    else
        log_msg(LOG_WARN, EV_REDIS_DOWN, "Redis unreachable: %s; ingress answers 503 until it is back",
                store_last_error(st));
    store_close(st);
}

static void drain(struct http_server *srv)
{
    time_t deadline = time(NULL) + DRAIN_TIMEOUT_S;

    http_quiesce(srv);
    while (atomic_load(&runtime_inflight) > 0 && time(NULL) < deadline)
        usleep(10000);
}

/* Started as root with `user =`: give up root after binding the ports. */
static int drop_privileges(const char *user)
{
    struct passwd *pw;

    if (!user || geteuid() != 0)
        return 0;
    if (!(pw = getpwnam(user))) {
        fprintf(stderr, "hookd-receiver: unknown user \"%s\"\n", user);
        return HOOKD_ENOT_FOUND;
    }
    if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
        int rc = -errno;
        fprintf(stderr, "hookd-receiver: cannot drop privileges to %s: %s\n", user,
                hookd_strerror(rc));
        return rc;
    }
    return 0;
}

/* Parses the flags; false: exit with *code. */
static bool parse_args(int argc, char **argv, const char **path, bool *check, int *code)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;

    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': *path = optarg; break;
        case 'k': *check = true; break;
        case 'h': usage(stdout); *code = 0; return false;
        default: usage(stderr); *code = 2; return false;
        }
    }
    if (!*path || optind != argc) {
        usage(stderr);
        *code = 2;
        return false;
    }
    return true;
}

/* Takes SIGHUP/SIGTERM/SIGINT until a stop signal arrives. */
static void serve_signals(const char *path, sigset_t *set)
{
    int sig;

    while (sigwait(set, &sig) == 0) {
        if (sig == SIGHUP) {
            reload(path);
            continue;
        }
        log_msg(LOG_INFO, EV_STOP, "signal %d: draining requests in flight", sig);
        break;
    }
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    bool check = false;
    char err[2048];
    struct config *cfg;
    struct http_server *srv;
    sigset_t set;
    int code = 0;

    if (!parse_args(argc, argv, &path, &check, &code))
        return code;
    if (!(cfg = config_load(path, err, sizeof err))) {
        fprintf(stderr, "hookd-receiver: %s\n", err);
        return 2;
    }
    if (check) {
        config_release(cfg);
        printf("%s: ok\n", path);
        return 0;
    }
    apply_log_level(cfg);
    /* Every thread inherits this mask; signals arrive only at sigwait(). */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP), sigaddset(&set, SIGTERM), sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    runtime_init(cfg);
    if (durable_start(cfg) < 0) {
        runtime_shutdown();
        return 1;
    }
    pipeline_start();
    if ((code = http_start(cfg, &srv, err, sizeof err)) < 0) {
        fprintf(stderr, "hookd-receiver: %s\n", err);
        pipeline_stop();
        durable_stop();
        runtime_shutdown();
        return code == -EADDRINUSE ? 2 : 1; /* SPEC: a taken address is a usage error */
    }
    code = 0;
    if (drop_privileges(cfg->receiver.user) < 0) {
        pipeline_stop();
        http_stop(srv);
        durable_stop();
        runtime_shutdown();
        return 1;
    }
    log_msg(LOG_INFO, EV_START, "hookd-receiver listening on %s (admin %s), pid %d",
            cfg->receiver.listen, cfg->receiver.admin_listen, (int)getpid());
    log_redis_at_start(cfg);
    serve_signals(path, &set);
    drain(srv);
    pipeline_stop(); /* every suspended request resumed: MHD may stop */
    http_stop(srv);
    durable_stop();
    runtime_shutdown();
    log_msg(LOG_INFO, EV_STOP, "stopped");
    return 0;
}
