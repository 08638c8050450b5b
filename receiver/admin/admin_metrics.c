/*
 * admin_metrics.c — see admin_metrics.h. Redis is read first (each route's
 * stats and handler histogram; the time it took is itself recorded as
 * hookd_redis_roundtrip_seconds{op="scrape"}), then everything is written
 * family by family, every route's sample under one HELP/TYPE pair.
 *
 * Why Redis-backed worker figures rather than a listener per worker: the
 * counters are already kept atomically with each state change by the
 * store's scripts, they survive worker restarts, and one scrape target sees
 * every worker of every route without service discovery.
 */
#include "admin_metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "ingress_metrics.h"
#include "store_admin.h"

/* How long one receiver stays the exporter of the route figures without
 * being scraped (store_metrics_lease): longer than any sane scrape
 * interval, short enough that another takes over soon after it is gone. */
#define ROUTE_EXPORT_LEASE_MS 60000

/* What one route's reads produced. */
struct route_figures {
    const char *route;   /* borrowed from the config */
    const char *handler; /* a handler.LABEL's label (fan-out); NULL: the plain handler */
    char name[160];      /* the store's name: ROUTE or ROUTE:LABEL */
    bool ok;
    struct store_route_stats stats;
    struct store_handler_hist hist[STORE_HANDLER_MAX_RESULTS];
    size_t nhist;
};

struct gauge {
    const char *name, *help;
    size_t offset; /* of an int64_t in struct store_route_stats */
};

static const struct gauge gauges[] = {
    {"hookd_route_stream_entries", "Entries in the route's stream (XLEN), acknowledged ones included.",
     offsetof(struct store_route_stats, stream_length)},
    {"hookd_route_in_flight", "Entries delivered to a worker and not yet acknowledged (pending).",
     offsetof(struct store_route_stats, pending)},
    {"hookd_route_queued", "Events queued: in the stream, not yet handed to a worker.",
     offsetof(struct store_route_stats, lag)},
    {"hookd_route_retry_scheduled", "Events waiting for a delayed retry.",
     offsetof(struct store_route_stats, retry_scheduled)},
    {"hookd_route_dead_letters", "Entries in the route's dead-letter stream.",
     offsetof(struct store_route_stats, dead)},
};

struct counter {
    enum store_counter which;
    const char *name, *help;
    const char *type;
};

static const struct counter counters[] = {
    {STORE_C_BACKLOG, "hookd_route_backlog", "Events accepted and not yet processed or dead-lettered.", "gauge"},
    {STORE_C_RECEIVED, "hookd_route_received_total", "Events queued by any receiver.", "counter"},
    {STORE_C_DUPLICATES, "hookd_route_duplicates_total", "Deliveries answered as duplicates at ingress, all receivers.", "counter"},
    {STORE_C_OVERLOAD, "hookd_route_overload_rejected_total", "Events refused because the backlog was over its watermark.", "counter"},
    {STORE_C_PROCESSED, "hookd_route_processed_total", "Events whose handler succeeded.", "counter"},
    {STORE_C_RETRIED, "hookd_route_retried_total", "Transient failures scheduled for a retry.", "counter"},
    {STORE_C_FAILED, "hookd_route_failed_permanent_total", "Times an event was dead-lettered (permanent failure or attempts exhausted); never goes down.", "counter"},
    {STORE_C_FAILED_NOW, "hookd_route_failed_now", "Events failed for good now: dead-lettered and not replayed or processed since.", "gauge"},
    {STORE_C_DUP_SKIPPED, "hookd_route_duplicate_skipped_total", "Deliveries of already processed events, skipped by workers.", "counter"},
    {STORE_C_REPLAYED, "hookd_route_replayed_total", "Events put back by an operator's replay.", "counter"},
    {STORE_C_HELD, "hookd_route_held_total", "Events held behind an earlier open event of their order key (order_by).", "counter"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool read_route(struct store *st, struct route_figures *f)
{
    double t0 = now_s();

    f->ok = store_route_stats(st, f->name, &f->stats) == 0 &&
            store_handler_hist_read(st, f->name, f->hist, STORE_HANDLER_MAX_RESULTS, &f->nhist) == 0;
    ingress_metrics_redis("scrape", now_s() - t0);
    return f->ok;
}

/* The labels of F's samples: route, and handler for a labelled handler
 * only, so that a route's plain series are those it had before fan-out.
 * LAST (the histogram's result, or NULL) goes after them. */
struct sample_labels {
    const char *names[4], *values[3];
};

static const struct sample_labels *labels_of(const struct route_figures *f, const char *last,
                                             struct sample_labels *l)
{
    size_t k = 0;

    l->names[k] = "route", l->values[k++] = f->route;
    if (f->handler)
        l->names[k] = "handler", l->values[k++] = f->handler;
    if (last)
        l->names[k] = "result", l->values[k++] = last;
    l->names[k] = NULL;
    return l;
}

static void write_route_families(const struct route_figures *f, size_t n, struct metrics_buf *out)
{
    struct sample_labels l;

    for (size_t g = 0; g < N(gauges); g++) {
        metrics_write_header(out, gauges[g].name, gauges[g].help, "gauge");
        for (size_t i = 0; i < n; i++) {
            if (!f[i].ok)
                continue;
            int64_t v;
            memcpy(&v, (const char *)&f[i].stats + gauges[g].offset, sizeof v);
            labels_of(&f[i], NULL, &l);
            metrics_write_sample(out, gauges[g].name, l.names, l.values, (double)v);
        }
    }
    metrics_write_header(out, "hookd_route_consumers", "Workers in the route's consumer group.", "gauge");
    for (size_t i = 0; i < n; i++) {
        labels_of(&f[i], NULL, &l);
        if (f[i].ok)
            metrics_write_sample(out, "hookd_route_consumers", l.names, l.values,
                                 (double)f[i].stats.nconsumers);
    }
    for (size_t c = 0; c < N(counters); c++) {
        metrics_write_header(out, counters[c].name, counters[c].help, counters[c].type);
        for (size_t i = 0; i < n; i++) {
            labels_of(&f[i], NULL, &l);
            if (f[i].ok)
                metrics_write_sample(out, counters[c].name, l.names, l.values,
                                     (double)f[i].stats.counters[counters[c].which]);
        }
    }
}

static void write_handler_hist(const struct route_figures *f, size_t n, struct metrics_buf *out)
{
    struct sample_labels l;

    metrics_write_header(out, "hookd_handler_duration_seconds",
                         "Handler run time, by the worker's verdict (ok, transient, permanent).",
                         "histogram");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; f[i].ok && k < f[i].nhist; k++) {
            labels_of(&f[i], f[i].hist[k].result, &l);
            metrics_write_histogram(out, "hookd_handler_duration_seconds", l.names, l.values,
                                    store_handler_bounds_s, STORE_HANDLER_NBOUNDS,
                                    f[i].hist[k].counts, f[i].hist[k].sum_s);
        }
}

/* This process's name in the exporter lease: host, pid, start time. */
static const char *lease_holder(void)
{
    static char holder[128];

    if (!holder[0]) {
        char host[64] = "?";
        gethostname(host, sizeof host - 1);
        snprintf(holder, sizeof holder, "%s:%d:%lld", host, (int)getpid(), (long long)time(NULL));
    }
    return holder;
}

void admin_metrics_render(const struct config *cfg, struct store *st, struct metrics_buf *out)
{
    size_t nf = 0;
    for (size_t i = 0; i < cfg->nroutes; i++)
        nf += 1 + cfg->routes[i].nhandlers; /* each handler's own figures (fan-out) */
    struct route_figures *f = calloc(nf ? nf : 1, sizeof *f);
    bool up = st != NULL, exporter = false;

    if (!f) {
        out->truncated = true;
        return;
    }
    /* The lease first: a receiver that does not export the route figures
     * has no use for them, and reading them costs Redis a few commands per
     * route at every scrape. */
    if (up && store_metrics_lease(st, lease_holder(), ROUTE_EXPORT_LEASE_MS, &exporter) < 0)
        up = false;
    for (size_t i = 0, j = 0; exporter && i < cfg->nroutes; i++)
        for (size_t k = 0; k <= cfg->routes[i].nhandlers; k++, j++) {
            f[j].route = cfg->routes[i].name;
            f[j].handler = k ? cfg->routes[i].handlers[k - 1].label : NULL;
            config_handler_name(&cfg->routes[i], k, f[j].name, sizeof f[j].name);
            if (up) /* after one failure the rest would only wait for timeouts */
                up = read_route(st, &f[j]);
        }
    exporter = exporter && up;
    metrics_render(ingress_metrics(), out);
    metrics_write_header(out, "hookd_redis_up", "1 when this scrape could read Redis, else 0.", "gauge");
    metrics_write_sample(out, "hookd_redis_up", NULL, NULL, up ? 1 : 0);
    metrics_write_header(out, "hookd_redis_durable",
                         "1 when Redis logs writes to its AOF (INFO persistence, read every "
                         "durable_check_interval), 0 when off or not read yet.",
                         "gauge");
    metrics_write_sample(out, "hookd_redis_durable", NULL, NULL,
                         durable_state() == DURABLE_ON ? 1 : 0);
    metrics_write_header(out, "hookd_route_exporter",
                         "1 when this receiver exports the Redis-wide hookd_route_* and "
                         "hookd_handler_duration_seconds series (one receiver at a time).",
                         "gauge");
    metrics_write_sample(out, "hookd_route_exporter", NULL, NULL, exporter ? 1 : 0);
    if (exporter) { /* sum() over receivers then counts each figure once */
        write_route_families(f, nf, out);
        write_handler_hist(f, nf, out);
    }
    for (size_t i = 0; i < nf; i++)
        store_route_stats_free(&f[i].stats);
    free(f);
}
