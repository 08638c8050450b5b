/*
 * replay.h — putting stored events back through a route, the operator's way
 * out of a downstream outage; shared by `hookctl replay`, `hookctl
 * reconcile --replay` and the admin API (POST /api/replay/ROUTE).
 *
 * A replay selects events (one dead letter, every dead letter, or every
 * event of the route's stream since a time), checks each stored copy's
 * integrity (the body against the SHA-256 recorded at ingress; the
 * signature against the recorded secret version when that version is still
 * configured, timestamp tolerance not applied), and hands those that pass
 * to store_replay_event(), which skips events already processed or still in
 * flight and otherwise re-queues them with the attempt count reset and the
 * state "replayed". Replaying the same dead letters twice never runs an
 * event twice: the second time they are processed, so skipped.
 *
 * Ownership: a struct replay_summary owns its items; replay_summary_free.
 */
#ifndef HOOKD_REPLAY_H
#define HOOKD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "store_admin.h"

#define REPLAY_MAX_EVENTS 100000 /* events one replay looks at, at most */

enum replay_select {
    REPLAY_DEAD_ONE, /* the dead letter named by id (event id or entry id) */
    REPLAY_DEAD_ALL, /* every dead letter of the route (the newest per event) */
    REPLAY_SINCE,    /* every event in the route's stream recorded since since_ms */
};

struct replay_request {
    const char *route;
    enum replay_select select;
    const char *id; /* REPLAY_DEAD_ONE; borrowed */
    size_t id_len;
    int64_t since_ms; /* REPLAY_SINCE: epoch milliseconds */
};

enum replay_fate {
    REPLAY_FATE_REPLAYED,
    REPLAY_FATE_DUPLICATE, /* already processed */
    REPLAY_FATE_IN_FLIGHT, /* queued, processing or retry scheduled: left alone */
    REPLAY_FATE_INTEGRITY, /* integrity check failed: not replayed */
};

struct replay_item {
    char *source;   /* owned */
    char *event_id; /* owned; event_id_len bytes plus a NUL */
    size_t event_id_len;
    enum replay_fate fate;
    const char *problem;   /* static integrity failure reason, or NULL */
    bool signature_checked;
    char state[STORE_STREAM_ID_MAX]; /* last state seen (after replay_wait: how it ended) */
};

struct replay_summary {
    size_t events_scanned, replayed, duplicate_skipped, processed, failed_permanent;
    size_t in_flight_skipped, integrity_failed, signatures_checked, still_pending;
    bool integrity_ok; /* false when any scanned event failed its check */
    bool waited, timed_out;
    struct replay_item *items; /* one per scanned event, in scan order */
    size_t nitems, cap;
};

/*
 * Checks one stored event (a stream entry or a dead letter) against
 * SRC (NULL when the source is no longer configured: digest only).
 * Returns NULL when it passes, else a static reason: "malformed_entry",
 * "body_digest_mismatch", "headers_unreadable", "signature_mismatch".
 * *sig_checked tells whether the signature could be re-verified.
 */
const char *replay_check_integrity(const struct source_cfg *src, const struct store_entry *e,
                                   bool *sig_checked);

/*
 * Runs a replay; fills *out (zeroed first). Returns 0, HOOKD_ENOT_FOUND for
 * REPLAY_DEAD_ONE when no dead letter has that id, HOOKD_ECONFIG for a
 * route CFG does not have, or a store error (the summary then holds what
 * was done before it). Events whose integrity fails are counted and not
 * replayed; the call still returns 0.
 */
int replay_run(const struct config *cfg, struct store *st, const struct replay_request *req,
               struct replay_summary *out);

/*
 * Polls the dedupe records of the events S replayed until each one is
 * processed or failed_permanent, or TIMEOUT_MS passes; counts them into
 * s->processed / s->failed_permanent and the rest into s->still_pending.
 */
int replay_wait(struct store *st, const char *route, struct replay_summary *s,
                int64_t timeout_ms);

/* New reference: the SPEC summary names, plus in_flight_skipped,
 * integrity_failed, signatures_checked, and after a wait still_pending. */
json_t *replay_summary_json(const struct replay_summary *s);

void replay_summary_free(struct replay_summary *s);

#endif
