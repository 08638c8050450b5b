/*
 * store_worker.h — the worker side of the event state machine in Redis
 * (see the diagram in store_scripts.c): consumer groups, the atomic
 * BEGIN / FINISH / RETRY / DEAD steps, moving due retries back into their
 * streams, and the heartbeat that keeps a long handler's entry from being
 * claimed by another worker. Reading and claiming entries across a route's
 * streams (one per tenant) is in store_streams.h, which comes with this
 * header: the workers include this one only.
 *
 * Every call takes the caller's struct store (one connection, one thread).
 * Calls return 0 or a negative code from err.h; a connection error leaves
 * the connection marked for reconnection (store.h) and the caller retries.
 * Replies are type-checked: a wrong type is HOOKD_EREDIS_REPLY, never a crash.
 */
#ifndef HOOKD_STORE_WORKER_H
#define HOOKD_STORE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_shared.h"

#define STORE_EVENT_MAX_FIELDS 32 /* field/value pairs kept from one entry */
#define STORE_ROUTE_MAX 97        /* CONFIG_NAME_MAX, or ROUTE:LABEL (fan-out) */

/* Log event names of this module. */
#define EV_ENTRY_MALFORMED "entry_malformed"
#define EV_RETRY_LOST "retry_entry_missing"

/*
 * One stream entry, owning copies of all its fields. names[i] and values[i]
 * are NUL-terminated copies (a value may also contain NULs: value_lens[i] is
 * its length). The named views point into values[] and are NULL when the
 * entry lacks the field. Free with store_event_free.
 */
struct store_event {
    char route[STORE_ROUTE_MAX + 1];
    char stream_tenant[STORE_TENANT_MAX + 1]; /* its stream's tenant; "" = P:{ROUTE}:stream */
    char stream_id[STORE_STREAM_ID_MAX];
    size_t nfields;
    char *names[STORE_EVENT_MAX_FIELDS];
    char *values[STORE_EVENT_MAX_FIELDS];
    size_t value_lens[STORE_EVENT_MAX_FIELDS];

    const char *event_id; /* length-delimited: may hold any byte */
    size_t event_id_len;
    const char *source;
    const char *type;
    const char *body; /* raw bytes, exactly as received */
    size_t body_len;
    const char *headers; /* JSON object of the kept provider headers */
    const char *request_id;
    const char *traceparent; /* NULL when the request had none */
    const char *tenant;
    int attempt; /* the entry's attempt field; 0 when absent */
};

void store_event_free(struct store_event *ev); /* NULL: no-op */
/* True when the entry names its event (event_id and source present). */
bool store_event_valid(const struct store_event *ev);
/* A field's value by name (borrowed), or NULL. */
const char *store_event_field(const struct store_event *ev, const char *name, size_t *len);

/* XGROUP CREATE stream hookd-workers 0 MKSTREAM for P:{ROUTE}:stream and
 * every tenant stream of P:{ROUTE}:tenants; an existing group is fine.
 * Id 0: events queued before the first worker ever started are delivered.
 * Reading and claiming: store_streams.h. */
int store_group_ensure(struct store *st, const char *route);
/* The same for one stream (TENANT NULL or "": P:{ROUTE}:stream). */
int store_group_ensure_stream(struct store *st, const char *route, const char *tenant);

struct store_begin_result {
    bool run;       /* false: closed event or stray copy, acked and skipped */
    int attempts;   /* this attempt's number (1 for the first) when run */
    char state[32]; /* the state found, when skipped */
};

/* SCRIPT_BEGIN: processing, attempts + 1; or the duplicate skip. TOKEN
 * names this start: a retry of the call with the same TOKEN (after a
 * timeout) returns the same attempt instead of counting a new one. */
int store_begin(struct store *st, const struct store_event *ev, int64_t ttl_s, const char *token,
                struct store_begin_result *out);
/* The outcome steps also count the handler run's duration sample SMP into
 * P:{ROUTE}:handler_hist (store_shared.h) in the same call; SMP NULL when
 * the handler did not run. */
struct store_handler_sample;
enum store_outcome_kind { STORE_FINISH, STORE_RETRY, STORE_DEAD };
struct store_outcome {
    enum store_outcome_kind kind;
    const struct store_event *ev;
    int64_t ttl_s;
    const struct store_handler_sample *smp;
    int64_t due_ms;         /* RETRY: epoch ms */
    const char *reason;     /* DEAD: "permanent" or "exhausted" */
    const char *last_error; /* RETRY, DEAD */
    int attempts;           /* DEAD */
};
/* SCRIPT_OUTCOMES, one step: FINISH: processed + XACK; *applied false: it
 * already was. RETRY: XACK + retry zset at due_ms + last_error. DEAD:
 * XACK + dead letter. RETRY and DEAD: *applied false when the event was
 * closed or superseded meanwhile (only acked). */
int store_outcome(struct store *st, const struct store_outcome *o, bool *applied);
/* N outcome steps of one route in one call, each decided as if alone, in
 * order; the counters and the samples' histogram fields are counted once
 * per call. applied[i] as store_outcome's for o[i]. */
int store_outcomes(struct store *st, const struct store_outcome *o, size_t n, bool *applied);
int store_finish(struct store *st, const struct store_event *ev, int64_t ttl_s,
                 const struct store_handler_sample *smp, bool *applied);
int store_retry(struct store *st, const struct store_event *ev, int64_t due_ms,
                const char *last_error, int64_t ttl_s, const struct store_handler_sample *smp,
                bool *applied);
int store_dead(struct store *st, const struct store_event *ev, const char *reason,
               const char *last_error, int attempts, int64_t ttl_s,
               const struct store_handler_sample *smp, bool *applied);
/* Plain XACK (an entry that cannot be handled at all) on a stream of ROUTE. */
int store_ack(struct store *st, const char *route, const char *tenant, const char *stream_id);

/* Moves up to LIMIT of ROUTE's retries due at NOW_MS (epoch ms) back into
 * the stream, one SCRIPT_MOVE_DUE each; *moved counts those this call moved
 * (a member another worker moved first is not counted). */
int store_move_due(struct store *st, const char *route, int64_t now_ms, size_t limit,
                   size_t *moved);

/*
 * The heartbeat: resets the idle time of the entries IDS[0..n) of ROUTE's
 * stream TENANT ("" or NULL: P:{ROUTE}:stream) that CONSUMER still owns (XPENDING for the owner,
 * then XCLAIM min-idle 0 JUSTID, which neither copies the entry nor counts a delivery). owned[i]
 * says whether ids[i] was still ours: false means another worker claimed
 * it (our handler outlived visibility_timeout without a heartbeat) or it
 * was acknowledged meanwhile. Called every visibility_timeout / 3.
 */
int store_heartbeat(struct store *st, const char *route, const char *tenant, const char *consumer,
                    const char *const *ids, size_t n, bool *owned);

/* Removes CONSUMER from the group of each of ROUTE's streams where it has
 * no pending entries (a clean shutdown), so XINFO CONSUMERS lists live
 * workers only. */
int store_consumer_retire(struct store *st, const char *route, const char *consumer);
/* Joins CONSUMER to the group of each of ROUTE's streams at start (XGROUP
 * CREATECONSUMER): an idle route lists its workers before any event. */
int store_consumer_join(struct store *st, const char *route, const char *consumer);

#include "store_streams.h" /* the read side of the same API */

#endif
