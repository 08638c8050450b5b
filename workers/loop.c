/*
 * loop.c — a worker thread: find the next event and hand it to event.c.
 *
 * Each cycle, in this order:
 *   0. an entry read ahead (below): handled first, as step 2 would have
 *      (it is already begun and in our pending list).
 *   1. stale entries — every claim interval (visibility_timeout / 4, within
 *      100 ms..5 s), XAUTOCLAIM one entry per route idle for at least that
 *      route's visibility_timeout: its worker died, hung or lost Redis. Each
 *      route's streams (one per tenant) have their pending lists walked in
 *      turn (store_claim_next).
 *   2. new entries by priority — one fair read per route, highest priority
 *      first (config order within a level); the first route that has an
 *      entry wins and the cycle ends. A fair read (store_read_begin) is one
 *      Lua step (with one stream, a plain XREADGROUP and one BEGIN call):
 *      nothing if the route is paused, else a batch of entries
 *      taken round robin over the route's streams — P:{ROUTE}:stream and
 *      one per tenant, one entry per stream per pass — so a tenant with a
 *      deep backlog cannot hold back the others; the same step runs BEGIN
 *      on them. Anti-starvation: every
 *      ANTI_STARVATION_EVERY-th cycle starts with a
 *      route below the highest, each of them in turn, lowest first: with R
 *      routes a flooded high-priority route still leaves every other route
 *      the first pick of at least 1 cycle in 8 × (R - 1) (1/8 with two
 *      routes), whatever the routes between them hold.
 *   3. nothing anywhere — a blocking XREADGROUP over the streams of one route
 *      not known to be paused (rotating by thread and cycle, so N threads
 *      cover N routes) for block_ms; every route paused: sleep block_ms.
 * One route per command: routes hash to different cluster slots (a route's
 * streams share its {ROUTE} slot).
 *
 * Reading ahead: one decision (next_read) picks the routes of a cycle, in
 * priority order past those known to be paused. When the next cycle's
 * first read needs nothing from Redis before it (no claim pass or pause
 * sample due), event.c sends it with this cycle's outcome step
 * (loop_read_ahead); its answer is the next cycle's step 0 (an entry) or
 * stands for that route's read in step 2 (none, or paused).
 *
 * Paused routes: the flag and the tenant list are sampled at most once a
 * second (store_streams_refresh), and the fair read's script checks the
 * flag exactly, so workers take nothing from a paused route, and a paused
 * route costs no round trip per cycle until the next sample.
 *
 * A thread holds one batch (a fair read takes up to loop_read_cap entries:
 * what its recent handler runs get through in BATCH_BUDGET_US, at most the
 * route's worker_batch; event.c), plus the batch read ahead while an
 * outcome step is retried. The anti-starvation turn counts entries, not
 * calls: each entry read is one cycle, and a read never takes more entries
 * than cycles remain before the next turn, so batches change how many
 * round trips the order costs, not the order. On SIGTERM it finishes the
 * batch in hand (and one read ahead, already begun), then
 * returns; a blocked read returns within block_ms. Redis errors: back off
 * (100 ms doubling to 2 s) and retry; the consumer groups are re-created in
 * case a stream was deleted meanwhile.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "clock.h"
#include "worker.h"

#define CLAIM_INTERVAL_MIN_MS 100
#define CLAIM_INTERVAL_MAX_MS 5000
#define WAIT_MAX_EVENTS                                                                            \
    64 /* entries one idle wait may hand out (one per stream); more stay pending */

static int64_t claim_interval_ms(const struct worker *w)
{
    int64_t iv = CLAIM_INTERVAL_MAX_MS;

    for (size_t i = 0; i < w->nroutes; i++)
        if (w->routes[i].cfg->visibility_timeout_ms / 4 < iv)
            iv = w->routes[i].cfg->visibility_timeout_ms / 4;
    return iv < CLAIM_INTERVAL_MIN_MS ? CLAIM_INTERVAL_MIN_MS : iv;
}

static void log_claimed(const struct store_event *ev)
{
    struct logline l;

    if (log_begin(&l, LOG_WARN, EV_WORKER_CLAIMED)) {
        log_str(&l, "route", ev->route);
        log_strn(&l, "event_id", ev->event_id, ev->event_id_len);
        log_str(&l, "stream_id", ev->stream_id);
        log_str(&l, "request_id", ev->request_id);
        log_str(&l, "traceparent", ev->traceparent);
        log_str(&l, "msg", "entry idle past visibility_timeout taken over");
        log_end(&l);
    }
}

/* Step 1: 1 when an event was handled, 0 if none, < 0 on a Redis error. */
static int claim_stale(struct slot *s)
{
    struct worker *w = s->w;
    struct store_event *ev = NULL;
    int64_t now = clock_mono_ms();
    bool more = false, done;

    if (now < s->next_claim_ms)
        return 0;
    for (size_t i = 0; i < w->nroutes; i++) {
        /* A paused route's entries wait for resume, a dead worker's too. */
        int rc = store_streams_refresh(s->st, &s->streams[i], false);
        if (rc < 0)
            return rc;
        if (s->streams[i].paused)
            continue;
        rc = store_claim_next(s->st, &s->streams[i], w->consumer,
                              w->routes[i].cfg->visibility_timeout_ms, &ev, &done);
        if (rc < 0)
            return rc;
        more = more || !done;
        if (ev) {
            struct store_taken t = {.ev = ev};
            log_claimed(ev);
            event_batch(s, &t, 1, false); /* the next cycle claims again: no read ahead */
            return 1;                     /* come back at once: there may be more */
        }
    }
    if (!more) /* a full pass over every pending list found nothing */
        s->next_claim_ms = now + claim_interval_ms(w);
    return 0;
}

/* Step 2 for route I: 1 when an event was handled, 0 if none, < 0. */
static int read_route(struct slot *s, size_t i)
{
    struct store_streams *ss = &s->streams[i];
    char token[WORKER_TOKEN_MAX];
    struct store_start start;
    size_t n = 0;
    int rc = 0;

    if ((rc = store_streams_refresh(s->st, ss, false)) == 0 && !ss->paused) {
        worker_start(s, &start, token);
        rc = store_read_begin(s->st, ss, s->w->consumer, &start, s->batch,
                              loop_read_cap(s, s->cycles, i), &n);
    }
    s->cycle_n = (unsigned)n;
    if (n > 0)
        event_batch(s, s->batch, n, true);
    return rc < 0 ? rc : n > 0;
}

/* Step 3: block on one route not known to be paused (rotating by thread
 * and cycle, so N threads cover N routes); every route paused: sleep. */
static int wait_any(struct slot *s)
{
    _Static_assert(WAIT_MAX_EVENTS <= WORKER_BATCH_MAX, "a wait's entries fit in s->batch");
    struct store_event *evs[WAIT_MAX_EVENTS];
    size_t nr = s->w->nroutes, n = 0;

    for (size_t k = 0; k < nr; k++) {
        size_t i = (s->cycles + (unsigned)s->index + k) % nr;
        if (s->streams[i].paused)
            continue;
        int rc = store_read_wait(s->st, &s->streams[i], s->w->consumer, s->w->block_ms, evs,
                                 WAIT_MAX_EVENTS, &n);
        for (size_t j = 0; j < n; j++) /* event_batch splits what exceeds w->batch */
            s->batch[j] = (struct store_taken){.ev = evs[j]};
        event_batch(s, s->batch, n, false);
        return rc < 0 ? rc : n > 0;
    }
    struct timespec ts = {s->w->block_ms / 1000, (s->w->block_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    return 0;
}

/* The route read first in cycle CYCLE: the highest, except every
 * ANTI_STARVATION_EVERY-th cycle, which goes in turn to each route below
 * the highest, lowest first (routes are sorted highest priority first). */
static size_t first_route(const struct slot *s, unsigned cycle)
{
    size_t nr = s->w->nroutes;
    unsigned j = cycle / ANTI_STARVATION_EVERY;

    if (nr < 2 || cycle % ANTI_STARVATION_EVERY != ANTI_STARVATION_EVERY - 1)
        return 0;
    return nr - 1 - j % (nr - 1);
}

/* The read decision of cycle CYCLE, shared by the cycle itself and its
 * read ahead: routes in the order from first_route down the priorities
 * (wrapping), skipping those known to be paused. From position K on, the
 * position of the next route to read (its pause sample may be due: then
 * the read asks Redis first), or nroutes when none is left. */
static size_t next_read(const struct slot *s, unsigned cycle, size_t k, size_t *route)
{
    size_t nr = s->w->nroutes, first = first_route(s, cycle);

    for (; k < nr; k++) {
        const struct store_streams *ss = &s->streams[(first + k) % nr];
        *route = (first + k) % nr;
        if (!store_streams_fresh(ss) || !ss->paused)
            break;
    }
    return k;
}

/* How many cycles from CYCLE on start with the same route as CYCLE. */
static size_t cycles_alike(const struct slot *s, unsigned cycle)
{
    unsigned c = cycle % ANTI_STARVATION_EVERY;

    if (s->w->nroutes < 2)
        return WORKER_BATCH_MAX;
    return c == ANTI_STARVATION_EVERY - 1 ? 1 : ANTI_STARVATION_EVERY - 1 - c;
}

size_t loop_read_cap(const struct slot *s, unsigned cycle, size_t route)
{
    size_t cap = event_batch_cap(s, route), alike = cycles_alike(s, cycle);

    return cap < alike ? cap : alike;
}

bool loop_read_ahead(const struct slot *s, size_t *k, size_t *route, size_t *cap)
{
    unsigned next = s->cycles + (s->cycle_n ? s->cycle_n : 1);

    if (worker_stopping(s->w) || clock_mono_ms() >= s->next_claim_ms)
        return false;
    *k = next_read(s, next, 0, route);
    /* A due pause sample asks Redis first: no read goes ahead of it. */
    if (*k >= s->w->nroutes || !store_streams_fresh(&s->streams[*route]) ||
        s->streams[*route].n > STORE_READ_WINDOW)
        return false;
    *cap = loop_read_cap(s, next, *route);
    return true;
}

/* Step 2, then step 3. DONE: the position whose read went ahead with the
 * previous outcome step and found nothing (its answer stands for that
 * read), or nroutes. */
static int read_by_priority(struct slot *s, size_t done)
{
    size_t i, k = 0;
    int rc;

    for (; (k = next_read(s, s->cycles, k, &i)) < s->w->nroutes; k++)
        if (k != done && (rc = read_route(s, i)) != 0)
            return rc;
    return wait_any(s);
}

static void recover(struct slot *s)
{
    for (size_t i = 0; i < s->w->nroutes; i++)
        if (store_group_ensure(s->st, s->w->routes[i].name) < 0)
            return;
}

void *loop_thread(void *arg)
{
    struct slot *s = arg;
    unsigned tries = 0;

    while (!worker_stopping(s->w)) {
        struct read_ahead a = s->ahead; /* the previous outcome step's read */
        int rc = 0;

        s->ahead.sent = false, s->ahead.n = 0;
        s->cycle_n = (unsigned)a.n;
        if (a.n > 0) /* step 0: already begun, pending in our list */
            event_batch(s, a.taken, a.n, true), rc = 1;
        else
            rc = claim_stale(s);
        if (rc == 0)
            rc = read_by_priority(s, a.sent ? a.k : s->w->nroutes);
        s->cycles += s->cycle_n ? s->cycle_n : 1; /* a cycle per event read */
        if (rc >= 0) {
            tries = 0;
            continue;
        }
        if (!worker_redis_wait(s->w, &tries, 0))
            break;
        recover(s);
    }
    if (s->ahead.n > 0) /* begun just before the stop: finish them too */
        event_batch(s, s->ahead.taken, s->ahead.n, false);
    return NULL;
}
