/*
 * store_enqueue.h — the durable step of ingress (store_enqueue.c): the
 * dedupe record and the stream entry of one event, atomically. The
 * receiver runs it for every accepted request; hookctl reconcile
 * --enqueue runs the same step for events read from a provider's API, so
 * that both pass one dedupe boundary. Included by store_shared.h.
 */
#ifndef HOOKD_STORE_ENQUEUE_H
#define HOOKD_STORE_ENQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One event as queued; all views borrowed from the caller. */
struct store_event_in {
    const char *event_id;
    size_t event_id_len;
    const char *source;
    const char *type;
    size_t type_len;
    const char *tenant; /* may be NULL */
    size_t tenant_len;
    const char *body;
    size_t body_len;
    const char *body_sha256; /* 64 hex chars */
    const char *headers_json;
    const char *sig_version;
    int64_t received_at_ms;
    const char *request_id;
    const char *traceparent; /* may be NULL */
    const char *order_key;   /* the route's order_by value; NULL: unordered */
    size_t order_key_len;
    bool order_hold;         /* order_on_dead = hold: a dead event keeps its key held */
};

enum enqueue_status {
    ENQ_QUEUED,    /* new: dedupe record created and event appended */
    ENQ_DUPLICATE, /* dedupe record exists: nothing written */
    ENQ_OVERLOAD,  /* route backlog at or over the given watermark: nothing written */
    ENQ_PAUSED,    /* route paused by an operator: nothing written */
};

struct enqueue_result {
    enum enqueue_status status;
    char stream_id[STORE_STREAM_ID_MAX]; /* when QUEUED */
    char prior_state[32];                /* when DUPLICATE */
    int64_t backlog;                     /* route backlog after the step */
};

/*
 * The durable step, one atomic Lua call: if P:{ROUTE}:seen:SOURCE:ID does
 * not exist and the route is neither paused nor over WATERMARK, create it
 * (TTL ttl_s) and XADD the event — to P:{ROUTE}:stream:TENANT when it has
 * a tenant (registered in P:{ROUTE}:tenants, at most STORE_TENANTS_MAX per
 * route), else to P:{ROUTE}:stream; else report why not. WATERMARK <= 0
 * disables the check. Returns 0 with *out filled, or a negative code (Redis
 * down/timeout/reply error): the caller must then answer 503, never 2xx.
 */
int store_enqueue(struct store *st, const char *route, const struct store_event_in *ev,
                  int64_t ttl_s, int64_t watermark, int wait_replicas, int64_t wait_timeout_ms,
                  struct enqueue_result *out);

/* One enqueue of a batch: inputs, then rc (0 or a negative code) and res. */
struct store_enqueue_job {
    const char *route;
    const struct store_event_in *ev;
    int64_t ttl_s, watermark;
    int rc;
    struct enqueue_result res;
};

/*
 * The same step for n events at once, pipelined on one connection (group
 * commit: one round trip, and with wait_replicas > 0 one WAIT, for all of
 * them). Each job gets the outcome store_enqueue would have given it; no job
 * reports success unless its own reply said so.
 */
void store_enqueue_many(struct store *st, size_t n, struct store_enqueue_job *const *jobs,
                        int wait_replicas, int64_t wait_timeout_ms);

#endif
