/*
 * worker.h — the hookd-worker process: what its threads share.
 *
 * Concurrency (why threads): --concurrency N runs N worker threads, each
 * with its own Redis connection (struct store is one connection, one
 * thread), its own curl handle and at most one event in hand, plus one
 * maintenance thread. A handler run blocks its thread (a child process or
 * an HTTP exchange), and a blocking XREADGROUP is the cheapest way for an
 * idle thread to wait; so one thread per event in flight keeps every step a
 * straight line of blocking calls that reads top to bottom, where an event
 * loop would turn each of them into a state machine. N is small (events in
 * flight, not connections), so N threads cost little.
 *
 *   worker thread i (loop.c)                maintenance thread (maint.c)
 *     claim stale entries (XAUTOCLAIM)        every 100 ms: due retries back
 *     else read new + BEGIN, by priority,       into their streams (MOVE_DUE)
 *       round robin over tenants
 *     → event.c: run, classify,               every visibility_timeout / 3:
 *       FINISH | RETRY | DEAD (sent with        heartbeat the entries in hand
 *       the next read + BEGIN), log line
 *
 * inflight[i] is the entry whose handler thread i is running (route,
 * tenant stream, stream id), under inflight_mu, read by the heartbeat.
 * stopping is set once by the signal handling in main.c: threads finish
 * the event in hand and return; the maintenance thread stops last, so
 * heartbeats continue while draining.
 */
#ifndef HOOKD_WORKER_H
#define HOOKD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "runner.h"
#include "store_worker.h"

/* Log event names of the worker (others come from log.h). */
#define EV_WORKER_CLAIMED "claimed_stale"
#define EV_WORKER_LOST "entry_claimed_away"
#define EV_WORKER_RETRIES_MOVED "retries_due"
#define EV_WORKER_GIVE_UP "redis_give_up"

#define WORKER_CONSUMER_MAX 200
#define WORKER_MAX_ROUTES 32
#define WORKER_MAX_CONCURRENCY 256
#define ANTI_STARVATION_EVERY 8 /* every 8th read cycle serves a lower priority first (loop.c) */
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 2000
#define STOP_REDIS_GRACE_MS 10000 /* draining: how long to retry Redis for an outcome */

struct worker_route {
    const struct route_cfg *cfg; /* borrowed from worker.cfg */
    char name[STORE_ROUTE_MAX + 1]; /* the store's name: ROUTE, or ROUTE:LABEL (fan-out) */
    const char *label;           /* NULL for the plain handler; borrowed from cfg */
    struct handler handler;      /* owned */
    const struct runner *runner; /* runner_for(handler, exec_mode) */
};

struct inflight {
    int route; /* index in worker.routes; -1 when the slot is free */
    char tenant[STORE_TENANT_MAX + 1]; /* the entry's stream ("" = P:{ROUTE}:stream) */
    char stream_id[STORE_STREAM_ID_MAX];
    bool lost_logged;
};

struct worker {
    struct config *cfg;          /* owned reference */
    struct worker_route *routes; /* owned; highest priority first, config order within */
    size_t nroutes;
    char consumer[WORKER_CONSUMER_MAX];
    int concurrency;
    int64_t block_ms; /* BLOCK of an idle XREADGROUP, below the Redis timeout */
    atomic_int stopping;
    pthread_mutex_t inflight_mu;
    struct inflight *inflight; /* owned; [concurrency] */
    void *threads;             /* owned pthread_t[concurrency] */
};

/* The next cycle's first read, sent with this cycle's outcome step
 * (event.c): position K in that cycle's order (loop.c), and what it took. */
struct read_ahead {
    bool sent;
    size_t k;
    struct store_taken taken; /* taken.ev owned, begun */
};

/* One worker thread. */
struct slot {
    struct worker *w;
    int index;
    struct store *st; /* owned */
    void *curl;       /* owned CURL *, NULL unless a route has an http handler */
    uint64_t rng;
    unsigned cycles; /* read cycles, for ANTI_STARVATION_EVERY */
    int64_t next_claim_ms;
    struct store_streams streams[WORKER_MAX_ROUTES]; /* per route: tenants, round robin, claims */
    struct read_ahead ahead; /* the next cycle's first read, sent with an outcome step */
};

/* loop.c: a worker thread's body (arg: struct slot *). */
void *loop_thread(void *arg);
/* The next cycle's first read when it can go out with this cycle's outcome
 * step: true with its position K and ROUTE; false when that cycle does
 * something else first (stopping, claims or a pause sample due, every
 * route paused). */
bool loop_read_ahead(const struct slot *s, size_t *k, size_t *route);

#define WORKER_TOKEN_MAX (WORKER_CONSUMER_MAX + 48)
/* event.c: one event from BEGIN (unless T->begun) to its outcome; takes
 * ownership of t->ev. THEN_READ: the outcome step may carry the next
 * cycle's read (loop_read_ahead), whose answer lands in s->ahead. */
void event_handle(struct slot *s, struct store_taken *t, bool then_read);
/* A new start's BEGIN arguments: a token unique to it, in TOKEN. */
void worker_start(struct slot *s, struct store_start *start, char token[WORKER_TOKEN_MAX]);
/* Sleeps the next Redis backoff step (100 ms doubling to 2 s); false when
 * the caller should give up (stopping, and past GIVE_UP_AT if > 0). */
bool worker_redis_wait(struct worker *w, unsigned *tries, int64_t give_up_at);
int worker_route_index(const struct worker *w, const char *route);
bool worker_stopping(struct worker *w);

/* maint.c: the maintenance thread (arg: struct worker *); returns once
 * maint_stop() was called. */
void *maint_thread(void *arg);
void maint_stop(void);

#endif
