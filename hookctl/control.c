/*
 * control.c — `hookctl pause ROUTE`, `resume ROUTE` and `throttle SOURCE
 * RATE`: the operator's run-time brakes, kept in Redis (store_shared.h) so
 * that every receiver and worker obeys them without a restart.
 *
 *   pause ROUTE      P:{ROUTE}:paused set: the enqueue step answers 503 +
 *                    Retry-After for the route's events (checked inside the
 *                    atomic step, so at once on every receiver); workers
 *                    take nothing more from it (their fair read checks the
 *                    flag; an idle wait notices within about a second).
 *                    Events in hand finish; nothing queued is dropped.
 *   resume ROUTE     the flag removed: ingress accepts, workers drain.
 *   throttle SOURCE RATE
 *                    P:throttle[SOURCE] = events per second, overriding the
 *                    source's rate_limit on every receiver within a second
 *                    (429 + Retry-After beyond it); 0 refuses everything
 *                    with 429; "off" removes the override.
 *   throttle         lists the overrides in force.
 *
 * Exit codes as everywhere in hookctl (ctl.h); --json prints the result as
 * one object.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "store_admin.h"

#define THROTTLE_LIST_MAX 256

static void print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

/* pause / resume: one route, one flag. */
static int set_paused(struct ctl *c, int argc, char **argv, bool paused)
{
    const char *word = paused ? "pause" : "resume";
    int rc;

    if (argc != 1) {
        ctl_err("usage: hookctl %s ROUTE", word);
        return CTL_USAGE;
    }
    /* The flag is the route's (ingress and every handler of it): a
     * ROUTE:LABEL would pause them all while saying it paused one. */
    const char *colon = strchr(argv[0], ':');
    if (colon) {
        ctl_err("%s: %s is one handler of route %.*s; %s acts on the whole route (ingress and "
                "every handler): hookctl %s %.*s",
                word, argv[0], (int)(colon - argv[0]), argv[0], word, word,
                (int)(colon - argv[0]), argv[0]);
        return CTL_USAGE;
    }
    if (!ctl_route(c, argv[0]))
        return CTL_USAGE;
    if ((rc = ctl_store(c)) != 0)
        return rc;
    if ((rc = store_route_pause(c->st, argv[0], paused)) < 0)
        return ctl_store_failed(rc, word);
    if (c->json)
        print_json(json_pack("{s:s, s:b}", "route", argv[0], "paused", paused));
    else if (paused)
        printf("route %s paused: ingress answers 503 + Retry-After for its events, workers take "
               "no new ones (events in hand finish; nothing queued is dropped)\n",
               argv[0]);
    else
        printf("route %s resumed: ingress accepts its events, workers drain its backlog\n",
               argv[0]);
    return CTL_OK;
}

int cmd_pause(struct ctl *c, int argc, char **argv)
{
    return set_paused(c, argc, argv, true);
}

int cmd_resume(struct ctl *c, int argc, char **argv)
{
    return set_paused(c, argc, argv, false);
}

/* "50", "50/s", "300/m", "0", "off" (-1); -2 when malformed. */
static double parse_rate(const char *s)
{
    char *end;
    double v;

    if (strcmp(s, "off") == 0)
        return -1;
    if (*s < '0' || *s > '9')
        return -2;
    errno = 0;
    v = strtod(s, &end);
    if (errno || v < 0 || v > 1e9)
        return -2;
    if (*end == '\0' || strcmp(end, "/s") == 0)
        return v;
    if (strcmp(end, "/m") == 0)
        return v / 60;
    return -2;
}

static int list_throttles(struct ctl *c)
{
    struct store_throttle t[THROTTLE_LIST_MAX];
    size_t n = 0;
    int rc;

    if ((rc = ctl_store(c)) != 0)
        return rc;
    if ((rc = store_throttle_list(c->st, t, THROTTLE_LIST_MAX, &n)) < 0)
        return ctl_store_failed(rc, "throttle");
    if (c->json) {
        json_t *o = json_object();
        for (size_t i = 0; i < n; i++)
            json_object_set_new(o, t[i].source, json_real(t[i].rate));
        print_json(o);
        return CTL_OK;
    }
    if (n == 0)
        printf("no throttle overrides: every source runs at its configured rate_limit\n");
    for (size_t i = 0; i < n; i++)
        printf("%s %g/s\n", t[i].source, t[i].rate);
    return CTL_OK;
}

int cmd_throttle(struct ctl *c, int argc, char **argv)
{
    const struct source_cfg *src;
    double rate;
    int rc;

    if (argc == 0)
        return list_throttles(c);
    if (argc != 2) {
        ctl_err("usage: hookctl throttle SOURCE RATE (RATE: 50/s, 300/m, 0, or off)");
        return CTL_USAGE;
    }
    if (!(src = config_source(c->cfg, argv[0], strlen(argv[0])))) {
        ctl_err("unknown source \"%s\" (not in %s)", argv[0], c->config_path);
        return CTL_USAGE;
    }
    if ((rate = parse_rate(argv[1])) < -1) {
        ctl_err("throttle: bad rate \"%s\" (expected 50/s, 300/m, 0, or off)", argv[1]);
        return CTL_USAGE;
    }
    if ((rc = ctl_store(c)) != 0)
        return rc;
    if ((rc = store_throttle_set(c->st, src->name, rate)) < 0)
        return ctl_store_failed(rc, "throttle");
    if (c->json)
        print_json(rate < 0 ? json_pack("{s:s, s:n}", "source", src->name, "rate")
                            : json_pack("{s:s, s:f}", "source", src->name, "rate", rate));
    else if (rate < 0 && src->rate_limit > 0)
        printf("source %s: override removed, its rate_limit applies again (%g/s)\n", src->name,
               src->rate_limit);
    else if (rate < 0)
        printf("source %s: override removed (no rate_limit configured)\n", src->name);
    else if (rate == 0)
        printf("source %s throttled to 0: every receiver answers 429 within a second\n", src->name);
    else
        printf("source %s throttled to %g/s on every receiver (429 + Retry-After beyond it)\n",
               src->name, rate);
    return CTL_OK;
}
