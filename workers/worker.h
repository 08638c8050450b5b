/*
 * worker.h — the hookd-worker process: what its threads share.
 *
 * Concurrency (why threads): --concurrency N runs N worker threads, each
 * with its own Redis connection (struct store is one connection, one
 * thread), its own curl handle and one handler running at a time (a batch
 * of up to worker_batch entries in hand, run in turn), plus one
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
 * inflight[i * batch + j] is entry j of the batch thread i holds (route,
 * tenant stream, stream id) until its outcome step is sent, under
 * inflight_mu, read by the heartbeat.
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
#define ANTI_STARVATION_EVERY 8 /* every 8th cycle serves a lower priority first (loop.c) */
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 2000
#define STOP_REDIS_GRACE_MS 10000 /* draining: how long to retry Redis for an outcome */
#define WORKER_BATCH_MAX 64 /* entries one read may hand a thread (route worker_batch) */
/* A read takes what recent handler runs get through in BATCH_BUDGET_US
 * (1..worker_batch); an outcome waits for its batch's step about as long
 * (plus the run in progress). Both grow with the threads per CPU. */
#define BATCH_BUDGET_US 5000

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
    int batch; int64_t budget_us; /* largest worker_batch; BATCH_BUDGET_US x threads/CPU */
    struct worker_route *routes; /* owned; highest priority first, config order within */
    size_t nroutes;
    char consumer[WORKER_CONSUMER_MAX];
    int concurrency;
    int64_t block_ms; /* BLOCK of an idle XREADGROUP, below the Redis timeout */
    atomic_int stopping;
    pthread_mutex_t inflight_mu;
    struct inflight *inflight; /* owned; [concurrency * batch]: thread i's from i * batch */
    void *threads;             /* owned pthread_t[concurrency] */
};

/* The next cycle's first read, sent with this cycle's outcome step
 * (event.c): position K in that cycle's order (loop.c), and what it took. */
struct read_ahead {
    bool sent;
    size_t k, n;
    struct store_taken taken[WORKER_BATCH_MAX]; /* [0..n): ev owned, begun */
};

struct pending; /* an outcome waiting for its batch's step (event.c) */

/* One worker thread. */
struct slot {
    struct worker *w;
    int index;
    struct store *st; /* owned */
    void *curl;       /* owned CURL *, NULL unless a route has an http handler */
    uint64_t rng;
    unsigned cycles, cycle_n; /* read cycles (one per entry read), this cycle's entries */
    int64_t next_claim_ms;
    struct store_streams streams[WORKER_MAX_ROUTES]; /* per route: tenants, round robin, claims */
    struct read_ahead ahead; /* the next cycle's first read, sent with an outcome step */
    struct store_taken batch[WORKER_BATCH_MAX]; /* a read's entries (loop.c) */
    struct pending *pending; size_t npending; /* owned; [w->batch], npending queued */
    int64_t ewma_us; /* recent handler run time, µs (event_batch_cap) */
};

/* loop.c: a worker thread's body (arg: struct slot *). */
void *loop_thread(void *arg);
/* The next cycle's first read when it can go with this cycle's outcome
 * step: true with its position K, ROUTE and the entries it may take; false
 * when that cycle does something else first (stopping, claims or a pause
 * sample due, every route paused). */
bool loop_read_ahead(const struct slot *s, size_t *k, size_t *route, size_t *cap);
/* Entries a read of ROUTE in CYCLE may take: event_batch_cap, and no more
 * than the cycles up to the next anti-starvation turn. */
size_t loop_read_cap(const struct slot *s, unsigned cycle, size_t route);

#define WORKER_TOKEN_MAX (WORKER_CONSUMER_MAX + 48)
/* event.c: the N entries T[0..n) of one route, from BEGIN (unless begun)
 * to their outcomes, run in turn, recorded in one step (flush); frees T's
 * events. THEN_READ: that step may carry the next cycle's read
 * (loop_read_ahead), whose answer lands in s->ahead. */
void event_batch(struct slot *s, struct store_taken *t, size_t n, bool then_read);
size_t event_batch_cap(const struct slot *s, size_t route); /* entries a read may take now */
int event_slot_init(struct slot *s); /* s->pending; HOOKD_ENOMEM */
void event_slot_free(struct slot *s);
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
