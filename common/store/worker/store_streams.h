/*
 * store_streams.h — how a worker thread reads one route: fairly across its
 * streams, and never while the route is paused.
 *
 * A route's events live in P:{ROUTE}:stream (events without a tenant) and
 * in one P:{ROUTE}:stream:TENANT per tenant, whose names the receiver
 * registers in the set P:{ROUTE}:tenants. A struct store_streams is one
 * thread's view of them: the list of streams (re-read at most every
 * STORE_STREAMS_REFRESH_MS; the group is created on each newly found
 * stream before it is read), a round-robin position, the paused flag as
 * last seen, and the walk over the pending lists for stale entries.
 *
 *   store_read_fair   one Lua step (SCRIPT_READ): paused? else XREADGROUP
 *                     COUNT 1 on each stream in turn from the round-robin
 *                     position, first entry wins; the position moves past
 *                     it. A tenant with 100 000 entries waiting is read as
 *                     often as one with a single entry.
 *   store_read_begin  the same step for up to CAP entries (one per stream
 *                     per pass, round robin), which also runs BEGIN on the
 *                     entries it hands out (the worker's read: one round
 *                     trip less, and one call for a batch); a route with
 *                     one stream: a plain XREADGROUP COUNT CAP, then one
 *                     BEGIN call over the entries (store_streams.c).
 *   store_outcomes_then_read  a batch of outcome steps (store_outcomes) and
 *                     the next store_read_begin in one write: one round
 *                     trip for both.
 *   store_read_wait   nothing anywhere: one blocking XREADGROUP COUNT 1 over
 *                     every stream of the route (may hand out one entry per
 *                     stream that received one meanwhile; usually one).
 *   store_claim_next  XAUTOCLAIM COUNT 1 on one stream's pending list,
 *                     moving on to the next stream when a pass over it ends.
 *
 * Not thread-safe: one per thread and route, with that thread's store.
 * Events returned are the caller's (store_event_free); each knows its
 * stream (store_event.stream_tenant) for the steps that follow.
 */
#ifndef HOOKD_STORE_STREAMS_H
#define HOOKD_STORE_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_worker.h"

#define STORE_STREAMS_REFRESH_MS 1000 /* tenants list and paused flag re-read at most this often */
#define STORE_READ_WINDOW 64          /* streams tried by one SCRIPT_READ call */
#define STORE_READ_MAX 64             /* entries one read of a one-stream route takes at most */

struct store_streams {
    char route[STORE_ROUTE_MAX + 1];
    char (*tenants)[STORE_TENANT_MAX + 1]; /* owned; [0] = "" is P:{ROUTE}:stream */
    size_t n;
    size_t next;        /* the stream a fair read tries first */
    int64_t checked_ms; /* monotonic ms of the last refresh; 0: never */
    bool paused;        /* P:{ROUTE}:paused, as last seen */
    size_t claim_at;    /* the stream whose pending list is being walked */
    char claim_cursor[STORE_STREAM_ID_MAX];
};

/* Sets up S for ROUTE (just the default stream until the first refresh).
 * 0, or HOOKD_ENOMEM / HOOKD_ETOO_LARGE. */
int store_streams_init(struct store_streams *s, const char *route);
void store_streams_clear(struct store_streams *s); /* frees; S can be initialised again */

/* Re-reads the tenants set and the paused flag when FORCE or when the last
 * refresh is older than STORE_STREAMS_REFRESH_MS; creates the group on each
 * new stream. 0 or a store error (S keeps what it knew). */
int store_streams_refresh(struct store *st, struct store_streams *s, bool force);

/* One new entry, round robin over the streams: *out is the event or NULL
 * when there is none or the route is paused (s->paused then says so). */
int store_read_fair(struct store *st, struct store_streams *s, const char *consumer,
                    struct store_event **out);

/* What BEGIN needs to start an entry (store_begin's ttl_s and token). */
struct store_start {
    int64_t ttl_s;
    const char *token; /* names this one start */
};

/* An entry taken by a read; ev NULL when there was none. */
struct store_taken {
    struct store_event *ev; /* the caller's */
    bool begun;             /* b is BEGIN's answer for ev; false: run store_begin */
    struct store_begin_result b;
};

/* Up to CAP entries, round robin over the streams (one per stream per
 * pass), into OUT[0..*n), with BEGIN (START) on each in the same step; an
 * entry BEGIN cannot name (see SCRIPT_READ) comes back not begun. *n 0:
 * none, or the route is paused (s->paused then says so). */
int store_read_begin(struct store *st, struct store_streams *s, const char *consumer,
                     const struct store_start *start, struct store_taken *out, size_t cap,
                     size_t *n);

/* True when S's tenants and paused flag are recent enough that
 * store_streams_refresh would not ask Redis (a read now uses them as is). */
bool store_streams_fresh(const struct store_streams *s);

/* The outcome steps O[0..no) (store_outcomes), then store_read_begin on S
 * for up to CAP entries, pipelined (S must have at most STORE_READ_WINDOW
 * streams). Returns the outcomes' result, as store_outcomes; *read_rc is
 * the read's (0: NEXT[0..*nnext) is its answer, and s->paused says when
 * the route was found paused). The read runs even when the outcomes failed:
 * its entries are then the caller's all the same. A route with one stream
 * reads after the outcome step, not in its write (store_streams.c). */
int store_outcomes_then_read(struct store *st, const struct store_outcome *o, size_t no,
                             bool *applied, struct store_streams *s, const char *consumer,
                             const struct store_start *start, struct store_taken *next,
                             size_t cap, size_t *nnext, int *read_rc);

/* Blocks up to BLOCK_MS (> 0, below the store timeout) for new entries on
 * any of the route's streams; up to CAP events into OUT, *n of them. */
int store_read_wait(struct store *st, struct store_streams *s, const char *consumer,
                    int64_t block_ms, struct store_event **out, size_t cap, size_t *n);

/* XAUTOCLAIM of at most one entry idle for MIN_IDLE_MS on the stream being
 * walked; *out NULL when none. *pass_done: the walk has just covered every
 * stream's pending list once (start over after a pause). */
int store_claim_next(struct store *st, struct store_streams *s, const char *consumer,
                     int64_t min_idle_ms, struct store_event **out, bool *pass_done);

#endif
