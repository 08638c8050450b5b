/*
 * maint.c — the worker's maintenance thread, one per process, with its own
 * Redis connection:
 *
 *   every MAINT_TICK_MS   move this process's routes' due retries back into
 *                         their streams (store_move_due: one Lua step per
 *                         event, ZREM decides when several workers race, so
 *                         an event is never lost nor doubled)
 *   every visibility/3    heartbeat: reset the idle time of the entries in
 *                         hand here (a batch's, until its outcome step), so that a handler longer
 *                         than visibility_timeout is not claimed by another
 *                         worker while it is alive. An entry found claimed by
 *                         someone else is logged once (entry_claimed_away):
 *                         its handler may now run twice.
 *
 * It stops last (main.c), so heartbeats go on while the threads drain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "clock.h"
#include "worker.h"

#define MAINT_TICK_MS 100
#define MOVE_BATCH 100
#define MOVE_BATCHES_PER_TICK 10

static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv = PTHREAD_COND_INITIALIZER;
static bool stop_flag;

void maint_stop(void)
{
    pthread_mutex_lock(&stop_mu);
    stop_flag = true;
    pthread_cond_signal(&stop_cv);
    pthread_mutex_unlock(&stop_mu);
}

/* Waits one tick; false once maint_stop() was called. */
static bool tick(void)
{
    struct timespec until;
    bool stop;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += MAINT_TICK_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&stop_mu);
    while (!stop_flag && pthread_cond_timedwait(&stop_cv, &stop_mu, &until) == 0)
        ;
    stop = stop_flag;
    pthread_mutex_unlock(&stop_mu);
    return !stop;
}

static void move_due(struct worker *w, struct store *st)
{
    for (size_t i = 0; i < w->nroutes; i++) {
        size_t moved = MOVE_BATCH, total = 0;
        for (int b = 0; b < MOVE_BATCHES_PER_TICK && moved == MOVE_BATCH; b++) {
            if (store_move_due(st, w->routes[i].name, clock_wall_ms(), MOVE_BATCH, &moved) < 0)
                return; /* Redis trouble: next tick */
            total += moved;
        }
        if (total > 0 && log_enabled(LOG_DEBUG))
            log_msg(LOG_DEBUG, EV_WORKER_RETRIES_MOVED, "route %s: %zu due retries queued",
                    w->routes[i].name, total);
    }
}

static size_t inflight_count(const struct worker *w)
{
    return (size_t)w->concurrency * (size_t)w->batch;
}

/* Logs, once per run, an entry of ours that another consumer now owns. */
static void note_lost(struct worker *w, int route, const char *id)
{
    bool log_it = false;

    pthread_mutex_lock(&w->inflight_mu);
    for (size_t k = 0; k < inflight_count(w); k++) {
        struct inflight *f = &w->inflight[k];
        if (f->route == route && strcmp(f->stream_id, id) == 0 && !f->lost_logged)
            f->lost_logged = log_it = true;
    }
    pthread_mutex_unlock(&w->inflight_mu);
    if (log_it)
        log_msg(LOG_WARN, EV_WORKER_LOST,
                "route %s: entry %s was claimed by another worker while its handler runs here "
                "(no heartbeat for visibility_timeout): the event may be handled twice",
                w->routes[route].name, id);
}

/* Heartbeats the entries in hand of one stream (ROUTE, TENANT). */
static void heartbeat_stream(struct worker *w, struct store *st, int route, const char *tenant)
{
    size_t cap = inflight_count(w), n = 0;
    char(*ids)[STORE_STREAM_ID_MAX] = malloc(cap * sizeof *ids);
    const char **views = malloc(cap * sizeof *views);
    bool *owned = malloc(cap * sizeof *owned);

    if (!ids || !views || !owned)
        goto out; /* next time */
    pthread_mutex_lock(&w->inflight_mu);
    for (size_t k = 0; k < cap; k++)
        if (w->inflight[k].route == route && strcmp(w->inflight[k].tenant, tenant) == 0) {
            memcpy(ids[n], w->inflight[k].stream_id, STORE_STREAM_ID_MAX);
            views[n] = ids[n];
            n++;
        }
    pthread_mutex_unlock(&w->inflight_mu);
    if (n == 0 ||
        store_heartbeat(st, w->routes[route].name, tenant, w->consumer, views, n, owned) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (!owned[i])
            note_lost(w, route, ids[i]);
out:
    free(ids), free(views), free(owned);
}

/* One heartbeat per stream of ROUTE with entries in hand (tenants have a
 * stream each, and XCLAIM works on one stream). */
static void heartbeat_route(struct worker *w, struct store *st, int route)
{
    size_t cap = inflight_count(w), nt = 0;
    char(*tenants)[STORE_TENANT_MAX + 1] = malloc(cap * sizeof *tenants);

    if (!tenants)
        return;
    pthread_mutex_lock(&w->inflight_mu);
    for (size_t k = 0; k < cap; k++) {
        const struct inflight *f = &w->inflight[k];
        size_t i = 0;
        if (f->route != route)
            continue;
        while (i < nt && strcmp(tenants[i], f->tenant) != 0)
            i++;
        if (i == nt)
            memcpy(tenants[nt++], f->tenant, sizeof tenants[0]);
    }
    pthread_mutex_unlock(&w->inflight_mu);
    for (size_t i = 0; i < nt; i++)
        heartbeat_stream(w, st, route, tenants[i]);
    free(tenants);
}

void *maint_thread(void *arg)
{
    struct worker *w = arg;
    int64_t next_hb[WORKER_MAX_ROUTES] = {0};
    char err[200];
    struct store *st = store_open(&w->cfg->redis, err, sizeof err);

    if (!st) {
        log_msg(LOG_ERROR, EV_ERROR, "maintenance thread: %s", err);
        return NULL;
    }
    do {
        move_due(w, st);
        for (size_t i = 0; i < w->nroutes; i++) {
            int64_t now = clock_mono_ms(), every = w->routes[i].cfg->visibility_timeout_ms / 3;
            if (now < next_hb[i])
                continue;
            heartbeat_route(w, st, (int)i);
            next_hb[i] = now + (every > MAINT_TICK_MS ? every : MAINT_TICK_MS);
        }
    } while (tick());
    store_close(st);
    return NULL;
}
