/*
 * main.c — hookctl, the operator CLI: global options, config loading, the
 * Redis connection and dispatch to one command file per group.
 *
 *   hookctl -c FILE [--json] COMMAND ...
 *
 * Every failure is one line on stderr and an exit code from ctl.h: 0 ok,
 * 1 problem found, 2 usage or config error, 3 Redis unreachable, 4 a provider's
 * API failed (reconcile --api). The store's
 * own log lines (JSON, for daemons) are muted below errors: a CLI speaks in
 * sentences.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "log.h"

static const char usage_text[] =
    "usage: hookctl -c FILE [--json] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  stats                                   per-route queues, workers, counters;\n"
    "                                          per-source rejected signatures\n"
    "  dead list ROUTE [--limit N] [--state S] newest dead letters first, each with\n"
    "                                          its event's state now (filter: --state)\n"
    "  dead show ROUTE ID                      one dead letter, all fields (ID: event id\n"
    "                                          or dead-letter entry id)\n"
    "  dead purge ROUTE --before T [--yes]     delete dead letters older than T\n"
    "  dead purge ROUTE --resolved [--yes]     delete those whose event was processed since\n"
    "  replay ROUTE [--id ID | --all | --since T] [--wait [--timeout D]]\n"
    "                                          re-queue dead letters (default: all) or,\n"
    "                                          with --since, every event since T\n"
    "  reconcile SOURCE --provider-log FILE [--replay]\n"
    "                                          compare a provider's event log with hookd\n"
    "  reconcile SOURCE --api --since T [--redeliver | --enqueue [--undelivered]] [--replay]\n"
    "                                          the same, reading GitHub's or Stripe's API;\n"
    "                                          recover missing events\n"
    "  verify SOURCE --headers FILE --body FILE [--at T]\n"
    "                                          diagnose a captured request's signature\n"
    "  sign SOURCE --body FILE [--type T] [--id ID] [--version V] [--url URL]\n"
    "                                          print a curl that sends FILE signed with\n"
    "                                          the source's secret (try a handler)\n"
    "  pause ROUTE | resume ROUTE              stop / restart ingress (503) and workers\n"
    "                                          for a route, at run time\n"
    "  throttle [SOURCE RATE]                  override a source's rate_limit at run time\n"
    "                                          (RATE: 50/s, 300/m, 0, off); alone: list\n"
    "\n"
    "T: a duration ago (90s, 2h, 7d), RFC 3339 time, or epoch seconds.\n"
    "-c defaults to $HOOKD_CONFIG. Exit: 0 ok, 1 problem found, 2 usage or config\n"
    "error, 3 Redis unreachable, 4 provider API failed. See docs/hookctl.md.\n";

void ctl_err(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hookctl: %s\n", msg);
}

/* The store ctl_store opened, for ctl_store_failed's messages. */
static const struct store *opened;

int ctl_store(struct ctl *c)
{
    char err[256];
    int rc;

    if (!c->st && !(c->st = store_open(&c->cfg->redis, err, sizeof err))) {
        ctl_err("%s: [redis] %s", c->config_path, err);
        return CTL_USAGE;
    }
    opened = c->st;
    if ((rc = store_ping(c->st)) < 0) {
        ctl_err("Redis unreachable: %s ([redis] url in %s)",
                store_last_error(c->st)[0] ? store_last_error(c->st) : hookd_strerror(rc),
                c->config_path);
        return CTL_REDIS;
    }
    return 0;
}

int ctl_store_failed(int rc, const char *what)
{
    if ((rc == HOOKD_EREDIS_CONN || rc == HOOKD_EREDIS_TIMEOUT || rc == HOOKD_EREDIS_REPLY) &&
        opened && store_last_error(opened)[0])
        ctl_err("%s: %s: %s", what, hookd_strerror(rc), store_last_error(opened));
    else
        ctl_err("%s: %s", what, hookd_strerror(rc));
    if (rc == HOOKD_EREDIS_CONN || rc == HOOKD_EREDIS_TIMEOUT)
        return CTL_REDIS;
    return CTL_PROBLEM;
}

const struct route_cfg *ctl_route(const struct ctl *c, const char *name)
{
    const struct route_cfg *r = config_route_handler(c->cfg, name);

    if (!r) {
        char list[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < c->cfg->nroutes && len < sizeof list; i++) {
            int n = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                             c->cfg->routes[i].name);
            len += n > 0 ? (size_t)n : 0;
        }
        ctl_err("unknown route \"%s\" (routes in %s: %s)", name, c->config_path, list);
    }
    return r;
}

static int dispatch(struct ctl *c, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct ctl *, int, char **);
    } cmds[] = {
        {"stats", cmd_stats},         {"dead", cmd_dead},         {"replay", cmd_replay},
        {"reconcile", cmd_reconcile}, {"verify", cmd_verify},     {"pause", cmd_pause},
        {"resume", cmd_resume},       {"throttle", cmd_throttle}, {"sign", cmd_sign},
    };

    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            return cmds[i].fn(c, argc - 1, argv + 1);
    ctl_err("unknown command \"%s\" (try hookctl --help)", argv[0]);
    return CTL_USAGE;
}

/* Only commands that check or make signatures read the sources' secrets:
 * the others run with the config alone (and Redis's password). */
static bool needs_secrets(const char *cmd)
{
    return strcmp(cmd, "verify") == 0 || strcmp(cmd, "replay") == 0 ||
           strcmp(cmd, "reconcile") == 0 || strcmp(cmd, "sign") == 0;
}

/* Global options before the command; returns the command's index or -1. */
static int parse_globals(struct ctl *c, int argc, char **argv, int *exit_code)
{
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        int got = ctl_opt_value(argc, argv, &i, "-c", &c->config_path);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--config", &c->config_path);
        if (got < 0)
            goto usage;
        if (got > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            *exit_code = CTL_OK;
            return -1;
        } else {
            ctl_err("unknown option \"%s\" (try hookctl --help)", argv[i]);
            goto usage;
        }
    }
    if (i < argc)
        return i;
    fputs(usage_text, stderr);
usage:
    *exit_code = CTL_USAGE;
    return -1;
}

/* --json may also follow the command's words. */
static int strip_json_flag(struct ctl *c, int argc, char **argv)
{
    int n = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c->json = true;
        else
            argv[n++] = argv[i];
    }
    return n;
}

int main(int argc, char **argv)
{
    struct ctl c = {0};
    char err[2048];
    int code = CTL_USAGE, first;

    log_set_level(LOG_ERROR + 1);
    if ((first = parse_globals(&c, argc, argv, &code)) < 0)
        return code;
    if (!c.config_path)
        c.config_path = getenv("HOOKD_CONFIG");
    if (!c.config_path || !c.config_path[0]) {
        ctl_err("no config: give -c FILE (or set HOOKD_CONFIG)");
        return CTL_USAGE;
    }
    if (!(c.cfg = config_load_opts(c.config_path, needs_secrets(argv[first]) ? 0 : CONFIG_SKIP_SECRETS,
                                   err, sizeof err))) {
        ctl_err("%s", err);
        return CTL_USAGE;
    }
    code = dispatch(&c, strip_json_flag(&c, argc - first, argv + first), argv + first);
    store_close(c.st);
    config_release(c.cfg);
    return code;
}
