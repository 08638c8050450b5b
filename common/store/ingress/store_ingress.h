/*
 * store_ingress.h — the receiver's writes (store_ingress.c): the atomic
 * enqueue of an event (dedupe record + stream entry, the enqueue script of
 * store_scripts.c), singly or as a batch (the committer's group commit),
 * and the capped stream of rejected requests. The receiver's request path
 * includes this header only; store_shared.h (throttle overrides, pause)
 * and store.h (the handle) come with it.
 */
#ifndef HOOKD_STORE_INGRESS_H
#define HOOKD_STORE_INGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "store_shared.h"

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

/* Diagnostics of a rejected request, as field/value pairs (NULL-terminated
 * array of 2n strings), appended to P:rejected capped at ~maxlen.
 * Best effort: returns 0 or a negative code, never blocks the answer long. */
int store_reject(struct store *st, const char *const *fields, size_t maxlen);
/* The same for n records in one pipeline; rcs[i] is record i's outcome. */
void store_reject_many(struct store *st, size_t n, const char *const *const *records,
                       size_t maxlen, int *rcs);

#endif
