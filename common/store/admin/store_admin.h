/*
 * store_admin.h — operator operations on what hookd keeps in Redis, shared
 * by hookctl and the receiver's admin listener (API and dashboard): route
 * statistics, the rejected-signature summary, dead letters, dedupe-record
 * lookups and the replay step. Nothing here prints: results are structs or
 * jansson values. Key names stay in store_keys.c, scripts in store_scripts.c.
 *
 * Stream entries (struct store_entry) and raw range reads are in
 * store_entry.h, included here.
 *
 * Functions return 0 or a negative code from err.h (HOOKD_EREDIS_CONN /
 * HOOKD_EREDIS_TIMEOUT when Redis is unreachable, HOOKD_EREDIS_REPLY on a
 * reply of the wrong type, HOOKD_ENOT_FOUND when asked for what is absent).
 * The replay policy (integrity checks, selection, waiting) is in replay.h.
 */
#ifndef HOOKD_STORE_ADMIN_H
#define HOOKD_STORE_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "store_shared.h"
#include "store_entry.h"

/* The route's backlog counter (accepted, not yet processed or dead). */
int store_route_backlog(struct store *st, const char *route, int64_t *out);

/* ---- dead letters ---- */

/* The LIMIT newest dead letters, newest first. */
int store_dead_list(struct store *st, const char *route, size_t limit, struct store_entry **out,
                    size_t *n);
/* The state now of E's event (its dedupe record's), "expired" when gone. */
int store_dead_state(struct store *st, const char *route, const struct store_entry *e,
                     char state[32]);
/* The dead letters whose event has been processed since: counts them when
 * DRY_RUN, else deletes them (XDEL). *count: how many. */
int store_dead_purge_resolved(struct store *st, const char *route, bool dry_run, int64_t *count);
/* The dead letter whose entry id is ID, else the newest whose event_id is
 * ID; HOOKD_ENOT_FOUND if none. *out is cleared by store_entry_clear. */
int store_dead_find(struct store *st, const char *route, const char *id, size_t id_len,
                    struct store_entry *out);
/* Dead letters written before BEFORE_MS (epoch ms): counts them when
 * DRY_RUN, else deletes them (XTRIM MINID). *count: how many. */
int store_dead_purge(struct store *st, const char *route, int64_t before_ms, bool dry_run,
                     int64_t *count);

/* ---- dedupe records ---- */

struct store_seen {
    char state[32]; /* queued, processing, retry_scheduled, processed, failed_permanent, ... */
    char stream_id[STORE_STREAM_ID_MAX];
    int64_t attempts;
    int64_t updated_at_ms;
};

/* HOOKD_ENOT_FOUND when the record does not exist (never seen or expired). */
int store_seen_get(struct store *st, const char *route, const char *source, const char *event_id,
                   size_t event_id_len, struct store_seen *out);

/* ---- the replay step ---- */

enum store_replay_status {
    STORE_REPLAYED,         /* appended again; state "replayed", attempts reset */
    STORE_REPLAY_DUPLICATE, /* already processed: nothing written */
    STORE_REPLAY_IN_FLIGHT, /* queued, processing or scheduled: nothing written */
};

struct store_replay_result {
    enum store_replay_status status;
    char detail[STORE_STREAM_ID_MAX]; /* the new stream id, or the state that stopped it */
};

/*
 * One atomic SCRIPT_REPLAY: unless the event's dedupe record says processed
 * or in flight, XADDs FIELDS (the event's stream fields; "attempt" is reset
 * to 1) to the route's stream — its tenant's stream when the "tenant" field
 * names one that P:{ROUTE}:tenants holds — deletes the event's entry
 * OLD_STREAM_ID (NULL or "" for none) from the stream that holds it, marks
 * the record "replayed" with attempts 0 and TTL ttl_s, and counts it. A
 * record that expired is created again.
 */
int store_replay_event(struct store *st, const char *route, const char *source,
                       const char *event_id, size_t event_id_len, const char *old_stream_id,
                       const struct store_field *fields, size_t nfields, int64_t ttl_s,
                       struct store_replay_result *out);

/* ---- statistics ---- */

#define STORE_COUNTERS(X)                                                                          \
    X(RECEIVED, "received") X(DUPLICATES, "duplicates") X(OVERLOAD, "overload_rejected")           \
    X(BACKLOG, "backlog") X(PROCESSED, "processed") X(RETRIED, "retried")                          \
    X(FAILED, "failed_permanent") X(DUP_SKIPPED, "duplicate_skipped") X(REPLAYED, "replayed")  \
    X(HELD, "held") X(FAILED_NOW, "failed_now")

enum store_counter {
#define STORE_COUNTER_ENUM_(id, name) STORE_C_##id,
    STORE_COUNTERS(STORE_COUNTER_ENUM_)
#undef STORE_COUNTER_ENUM_
        STORE_NCOUNTERS
};


struct store_consumer {
    char name[128];
    int64_t pending; /* entries delivered to it, not yet acknowledged */
    int64_t idle_ms; /* since its last attempted interaction */
};

/* One tenant's stream, P:{ROUTE}:stream:NAME. */
struct store_tenant_stats {
    char name[STORE_TENANT_MAX + 1];
    int64_t stream_length, pending, lag;
};

/* Stream figures are sums over the route's streams (its own and each
 * tenant's); consumers are merged by name (pending summed, idle the least). */
struct store_route_stats {
    int64_t stream_length, pending, lag, retry_scheduled, dead;
    bool group_exists; /* false until a worker created the consumer group */
    bool paused;       /* P:{ROUTE}:paused exists */
    struct store_consumer *consumers; /* owned; store_route_stats_free */
    size_t nconsumers;
    struct store_tenant_stats *tenants; /* owned; sorted by name */
    size_t ntenants;
    int64_t counters[STORE_NCOUNTERS]; /* absent fields read as 0 */
    json_t *verified; /* {SOURCE: {VERSION: N}}: requests verified (owned) */
};

int store_route_stats(struct store *st, const char *route, struct store_route_stats *out);
void store_route_stats_free(struct store_route_stats *s);
/* New reference; the schema is documented in docs/hookctl.md ("stats"). */
json_t *store_route_stats_json(const struct store_route_stats *s);

/* New reference in *out: {SOURCE: {"total": N, "by_reason": {REASON: N},
 * "by_version_tried": {VERSION: N}}} over the whole capped rejected stream. */
int store_rejected_summary(struct store *st, json_t **out);

/* New reference in *out: the whole stats document of `hookctl stats --json`
 * and the admin API: {"generated_at", "routes": {ROUTE: ...}, "sources":
 * {SOURCE: ...}, "throttle": {SOURCE: RATE}} for every route and source of
 * CFG; throttle lists the operators' run-time rate overrides (P:throttle). */
int store_stats_json(struct store *st, const struct config *cfg, json_t **out);

#endif
