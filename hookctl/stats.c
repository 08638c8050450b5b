/*
 * stats.c — `hookctl stats [--json]`: per route the stream, the consumer
 * group (pending, lag, consumers and their idle time), scheduled retries,
 * dead letters and the counters; per source the rejected signatures by
 * reason and by secret version tried; then paused routes, tenant streams
 * and throttle overrides when there are any. The document comes from
 * store_stats_json() (the admin API serves the same); this file prints it.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "store_admin.h"

static void num(json_t *obj, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lld", (long long)json_integer_value(json_object_get(obj, key)));
}

static void print_routes(json_t *routes)
{
    /* The words of README's "Words": queued (not yet handed to a worker),
     * in flight (handed out, no outcome yet), retry scheduled, failed (for
     * good, now); DEAD_LETTERED counts every dead-lettering. */
    static const char *const head[] = {"ROUTE",       ">STREAM",      ">QUEUED",    ">IN_FLIGHT",
                                       ">WORKERS",    ">RETRY_SCHED", ">FAILED",    ">DEAD_LETTERS",
                                       ">RECEIVED",   ">DUPLICATES",  ">PROCESSED", ">RETRIED",
                                       ">DEAD_LETTERED", ">REPLAYED", ">HELD",      ">BACKLOG", NULL};
    static const char *const counters[] = {"received", "duplicates",       "processed",
                                           "retried",  "failed_permanent", "replayed",
                                           "held",     "backlog"};
    enum { NCOUNTERS = sizeof counters / sizeof counters[0], NCELLS = 8 + NCOUNTERS };
    char cells[NCELLS][32];
    const char *row[NCELLS];
    struct ctl_table t;
    const char *name;
    json_t *r;

    ctl_table_init(&t, head);
    json_object_foreach(routes, name, r)
    {
        json_t *cnt = json_object_get(r, "counters");
        snprintf(cells[0], sizeof cells[0], "%s", name);
        num(r, "stream_length", cells[1], sizeof cells[1]);
        num(r, "queued", cells[2], sizeof cells[2]);
        num(r, "in_flight", cells[3], sizeof cells[3]);
        snprintf(cells[4], sizeof cells[4], "%zu",
                 json_array_size(json_object_get(r, "consumers")));
        num(r, "retry_scheduled", cells[5], sizeof cells[5]);
        num(cnt, "failed_now", cells[6], sizeof cells[6]);
        num(r, "dead", cells[7], sizeof cells[7]);
        for (size_t k = 0; k < NCOUNTERS; k++)
            num(cnt, counters[k], cells[8 + k], sizeof cells[8 + k]);
        for (size_t k = 0; k < NCELLS; k++)
            row[k] = cells[k];
        ctl_table_row(&t, row);
    }
    ctl_table_print(&t);
}

static void print_consumers(json_t *routes)
{
    static const char *const head[] = {"ROUTE", "CONSUMER", ">IN_FLIGHT", ">IDLE", NULL};
    char pending[24], idle[24];
    struct ctl_table t;
    const char *name;
    json_t *r, *c;
    size_t i, rows = 0;

    bool labelled = false;
    json_object_foreach(routes, name, r)
    {
        if (strchr(name, ':'))
            labelled = true;
    }
    /* A labelled handler (ROUTE:LABEL) reads in a group of its own. */
    printf("\nconsumers (group hookd-workers%s):\n",
           labelled ? "; of ROUTE:LABEL, hookd-workers:LABEL" : "");
    ctl_table_init(&t, head);
    json_object_foreach(routes, name, r)
    {
        json_array_foreach(json_object_get(r, "consumers"), i, c)
        {
            num(c, "pending", pending, sizeof pending);
            ctl_format_duration(json_integer_value(json_object_get(c, "idle_ms")), idle,
                                sizeof idle);
            const char *row[] = {name, json_string_value(json_object_get(c, "name")), pending,
                                 idle};
            ctl_table_row(&t, row);
            rows++;
        }
    }
    ctl_table_print(&t);
    if (!rows)
        printf("(none: no worker has read from these routes)\n");
}

/* "no_match=2,timestamp_too_old=1" from {"no_match":2,...}. */
static void pairs(json_t *obj, char *buf, size_t cap)
{
    size_t len = 0;
    const char *k;
    json_t *v;

    buf[0] = '\0';
    json_object_foreach(obj, k, v)
    {
        int n = snprintf(buf + len, cap - len, "%s%s=%lld", len ? "," : "", k,
                         (long long)json_integer_value(v));
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

/* Per source: the requests each secret version verified (all receivers,
 * since the counters began: a version at 0 while its successor counts up
 * can be retired) and the rejected ones from the capped stream. */
static void print_sources(json_t *sources)
{
    static const char *const head[] = {"SOURCE", "VERIFIED_BY_VERSION", ">REJECTED", "BY_REASON",
                                       "BY_VERSION_TRIED", NULL};
    char total[24], verified[512], reasons[512], versions[512], src[64];
    struct ctl_table t;
    const char *name;
    json_t *s;

    printf("\nsignatures per source (verified: counters; rejected: capped stream):\n");
    ctl_table_init(&t, head);
    json_object_foreach(sources, name, s)
    {
        ctl_printable(name, strlen(name), src, sizeof src);
        num(s, "total", total, sizeof total);
        pairs(json_object_get(s, "verified_by_version"), verified, sizeof verified);
        pairs(json_object_get(s, "by_reason"), reasons, sizeof reasons);
        pairs(json_object_get(s, "by_version_tried"), versions, sizeof versions);
        const char *row[] = {src, verified, total, reasons, versions};
        ctl_table_row(&t, row);
    }
    ctl_table_print(&t);
}

/* Operators' brakes and the tenants' streams, when there are any. */
static void print_controls(json_t *doc)
{
    static const char *const head[] = {"ROUTE", "TENANT", ">STREAM", ">IN_FLIGHT", ">QUEUED", NULL};
    json_t *routes = json_object_get(doc, "routes"), *r, *t, *rate;
    char cells[3][24];
    const char *name, *tenant;
    struct ctl_table tab;
    size_t rows = 0, throttled = 0;

    json_object_foreach(routes, name, r)
    {
        if (json_is_true(json_object_get(r, "paused")))
            printf("\nroute %s is PAUSED (hookctl resume %s): ingress answers 503, workers wait\n",
                   name, name);
    }
    ctl_table_init(&tab, head);
    json_object_foreach(routes, name, r)
    {
        json_object_foreach(json_object_get(r, "tenants"), tenant, t)
        {
            num(t, "stream_length", cells[0], sizeof cells[0]);
            num(t, "pending", cells[1], sizeof cells[1]);
            num(t, "lag", cells[2], sizeof cells[2]);
            const char *row[] = {name, tenant, cells[0], cells[1], cells[2]};
            if (!rows++)
                printf("\ntenant streams (round robin within each route):\n");
            ctl_table_row(&tab, row);
        }
    }
    if (rows)
        ctl_table_print(&tab);
    else
        ctl_table_free(&tab); /* no tenant streams: no header either */
    json_object_foreach(json_object_get(doc, "throttle"), name, rate)
    {
        if (!throttled++)
            printf("\nthrottle overrides (hookctl throttle SOURCE off to remove):\n");
        printf("  %s %g/s\n", name, json_number_value(rate));
    }
}

int cmd_stats(struct ctl *c, int argc, char **argv)
{
    json_t *doc;
    int rc;

    if (argc > 0) {
        ctl_err("stats: unexpected argument \"%s\"", argv[0]);
        return CTL_USAGE;
    }
    if ((rc = ctl_store(c)) != 0)
        return rc;
    if ((rc = store_stats_json(c->st, c->cfg, &doc)) < 0)
        return ctl_store_failed(rc, "stats");
    if (c->json) {
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_routes(json_object_get(doc, "routes"));
        print_consumers(json_object_get(doc, "routes"));
        print_sources(json_object_get(doc, "sources"));
        print_controls(doc);
    }
    json_decref(doc);
    return CTL_OK;
}
