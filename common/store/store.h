/*
 * store.h — everything hookd keeps in Redis goes through this module.
 *
 * Key layout (prefix "hookd" by default; every key of a route carries the
 * hash tag {ROUTE} so a route's atomic steps touch one cluster slot):
 *
 *   P:{ROUTE}:stream                  stream of queued events (no tenant)
 *   P:{ROUTE}:stream:TENANT           stream of one tenant's queued events
 *   P:{ROUTE}:tenants                 set: the TENANT names that have a stream
 *   P:{ROUTE}:seen:SOURCE:EVENT_ID    hash: dedupe record and event state
 *   P:{ROUTE}:retry                   zset: stream ids scored by due time (ms)
 *   P:{ROUTE}:dead                    stream of dead letters
 *   P:{ROUTE}:counters                hash: received, duplicates, processed, ...
 *   P:{ROUTE}:paused                  string: present while the route is paused
 *   P:rejected                        capped stream of rejected requests
 *
 * Key names are built only in store_keys.c and Lua scripts live only in
 * store_scripts.c. A struct store is one Redis connection: not thread-safe,
 * use one per thread. It reconnects by itself (at most every
 * STORE_RECONNECT_MIN_MS) after any connection or timeout error.
 */
#ifndef HOOKD_STORE_H
#define HOOKD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STORE_GROUP "hookd-workers"
#define STORE_RECONNECT_MIN_MS 100
#define STORE_STREAM_ID_MAX 48
#define STORE_TENANT_MAX 64     /* a tenant's name in key names */
#define STORE_TENANTS_MAX 1000  /* tenant streams per route; later tenants share P:{ROUTE}:stream */

struct store;

/*
 * A tenant value as it appears in key names (P:{ROUTE}:stream:NAME): the
 * value itself when it is 1..64 characters of [A-Za-z0-9_.-]; otherwise at
 * most 40 of its characters with every other byte as '_', a '.', and 16
 * hex digits of its SHA-256, so two values never share a name by accident.
 * Returns the name's length (out holds it, NUL-terminated), or -1 for an
 * empty value (no tenant).
 */
int store_tenant_name(const char *tenant, size_t len, char out[STORE_TENANT_MAX + 1]);

/* Opens a connection handle (connecting lazily; never fails for an
 * unreachable Redis). Copies what it needs from cfg. NULL on bad URL or
 * memory, with a sentence in err. Free with store_close. */
struct store *store_open(const struct redis_cfg *cfg, char *err, size_t errlen);
void store_close(struct store *st);

/* 0 when Redis answers PING, else a negative code. */
int store_ping(struct store *st);

/* True while the last operation failed for connection reasons. */
bool store_is_down(const struct store *st);

/* Milliseconds the last round trip took (for metrics). */
double store_last_rtt_ms(const struct store *st);

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
