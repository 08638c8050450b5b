/*
 * replay.c — selection, integrity checks and waiting for a replay; see
 * replay.h. The atomic part (skip processed / in-flight events, re-queue,
 * reset attempts, mark "replayed") is SCRIPT_REPLAY via store_replay_event.
 *
 *   dead letters (newest first) ─┐
 *   or stream entries since T ───┴─> one per event ─> integrity ─fail─> counted, left
 *                                                        │ pass
 *                                                        v
 *                                   store_replay_event ─> replayed | duplicate | in flight
 *
 * Scans have fixed bounds taken at the start (the dead stream is read from
 * its newest entry downwards; each stream — the route's and its tenants' —
 * up to its last entry at the start), so entries the replay itself appends
 * are never scanned again.
 */
#include "replay.h"
#include "clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "err.h"
#include "headers.h"
#include "verify.h"

#define SCAN_PAGE 200
#define WAIT_POLL_MS 100
#define MAX_REQUEUE_FIELDS 16

/* The stream fields an event is queued with (store_enqueue.c); a dead
 * letter's own fields (reason, last_error, attempts, failed_at) are left. */
static const char *const event_fields[] = {
    "event_id",    "source",      "route",      "type",        "body",   "body_sha256", "headers",
    "sig_version", "received_at", "request_id", "traceparent", "tenant", "attempt",     NULL,
};

struct run {
    const struct config *cfg;
    struct store *st;
    const struct replay_request *req;
    struct replay_summary *sum;
    json_t *done; /* set of "SOURCE\nEVENT_ID" already handled in this run */
};

/* ---- integrity ---- */

/* Views into the stored headers JSON (kept alive by the caller's json_t). */
static int headers_from_json(json_t *obj, struct headers *h)
{
    const char *name;
    json_t *v;

    h->n = 0;
    if (!json_is_object(obj))
        return HOOKD_EPARSE;
    json_object_foreach(obj, name, v)
    {
        if (!json_is_string(v) ||
            headers_add(h, name, strlen(name), json_string_value(v), json_string_length(v)) < 0)
            return HOOKD_EPARSE;
    }
    return 0;
}

/* The source restricted to the key VERSION, or false when it is gone. */
static bool source_with_version(const struct source_cfg *src, const char *version,
                                struct source_cfg *out)
{
    for (size_t i = 0; version[0] && i < src->keys.n; i++)
        if (strcmp(src->keys.keys[i].version, version) == 0) {
            *out = *src;
            out->keys.keys[0] = src->keys.keys[i];
            out->keys.n = 1;
            return true;
        }
    return false;
}

static const char *check_signature(const struct source_cfg *src, const struct store_entry *e,
                                   bool *sig_checked)
{
    const struct store_field *hf = store_entry_get(e, "headers"),
                             *body = store_entry_get(e, "body");
    struct source_cfg one;
    struct headers *h = NULL;
    struct verify_result vr;
    json_t *obj = NULL;
    const char *problem = NULL;

    if (!src || !source_with_version(src, store_entry_str(e, "sig_version"), &one))
        return NULL; /* retired version or source: the digest is all we can check */
    if (verify_needs_request_line(src))
        return NULL; /* the URL it signed is not stored: likewise */
    if (!hf || !(obj = json_loadb(hf->value, hf->value_len, 0, NULL)) || !(h = malloc(sizeof *h)) ||
        headers_from_json(obj, h) < 0) {
        problem = "headers_unreadable";
        goto out;
    }
    verify_request(&one, h, body->value, body->value_len, time(NULL), false, &vr);
    if (vr.status == VERIFY_MISSING)
        goto out; /* headers not kept (too large): cannot tell */
    *sig_checked = true;
    if (vr.status != VERIFY_OK)
        problem = "signature_mismatch";
out:
    free(h);
    json_decref(obj);
    return problem;
}

const char *replay_check_integrity(const struct source_cfg *src, const struct store_entry *e,
                                   bool *sig_checked)
{
    const struct store_field *body = store_entry_get(e, "body");
    const char *want = store_entry_str(e, "body_sha256");
    char got[CODEC_SHA256_HEX_LEN + 1];

    *sig_checked = false;
    if (!body || !store_entry_get(e, "event_id") || !store_entry_get(e, "source"))
        return "malformed_entry";
    codec_sha256_hex(body->value, body->value_len, got);
    if (strcmp(got, want) != 0)
        return "body_digest_mismatch";
    return check_signature(src, e, sig_checked);
}

/* ---- one event ---- */

/* True the first time this run meets SOURCE/ID. */
static bool first_time(struct run *r, const struct store_field *source,
                       const struct store_field *id)
{
    size_t n = source->value_len + 1 + id->value_len;
    char *key = malloc(n);
    bool first = false;

    if (!key)
        return true;
    memcpy(key, source->value, source->value_len);
    key[source->value_len] = '\n';
    memcpy(key + source->value_len + 1, id->value, id->value_len);
    if (!json_object_getn(r->done, key, n)) {
        first = true;
        json_object_setn_new_nocheck(r->done, key, n, json_true());
    }
    free(key);
    return first;
}

static struct replay_item *add_item(struct replay_summary *s, const struct store_entry *e)
{
    const struct store_field *src = store_entry_get(e, "source"),
                             *id = store_entry_get(e, "event_id");
    struct replay_item *it;

    if (s->nitems == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct replay_item *v = realloc(s->items, cap * sizeof *v);
        if (!v)
            return NULL;
        s->items = v, s->cap = cap;
    }
    it = &s->items[s->nitems];
    memset(it, 0, sizeof *it);
    it->source = strdup(src ? src->value : "");
    it->event_id = id ? malloc(id->value_len + 1) : strdup(e->id);
    if (!it->source || !it->event_id) {
        free(it->source), free(it->event_id);
        return NULL;
    }
    if (id) {
        memcpy(it->event_id, id->value, id->value_len + 1);
        it->event_id_len = id->value_len;
    } else {
        it->event_id_len = strlen(it->event_id);
    }
    s->nitems++;
    return it;
}

/* The event's fields to queue again; views borrow from E. */
static size_t requeue_fields(const struct store_entry *e, struct store_field *out)
{
    static char attempt_name[] = "attempt", attempt_one[] = "1";
    size_t n = 0;

    for (size_t k = 0; event_fields[k] && n < MAX_REQUEUE_FIELDS - 1; k++) {
        const struct store_field *f = store_entry_get(e, event_fields[k]);
        if (f)
            out[n++] = *f;
    }
    if (!store_entry_get(e, "attempt"))
        out[n++] = (struct store_field){attempt_name, attempt_one, 1};
    return n;
}

static int requeue(struct run *r, const struct store_entry *e, bool from_stream,
                   struct replay_item *it)
{
    struct store_field fields[MAX_REQUEUE_FIELDS];
    struct store_replay_result res;
    struct store_seen seen = {0};
    const char *old = from_stream ? e->id : "";
    int rc;

    if (!from_stream) { /* the event's entry in the stream, to be replaced */
        rc =
            store_seen_get(r->st, r->req->route, it->source, it->event_id, it->event_id_len, &seen);
        if (rc < 0 && rc != HOOKD_ENOT_FOUND)
            return rc;
        old = seen.stream_id;
    }
    rc = store_replay_event(r->st, r->req->route, it->source, it->event_id, it->event_id_len, old,
                            fields, requeue_fields(e, fields), r->cfg->redis.dedupe_ttl_s, &res);
    if (rc < 0)
        return rc;
    switch (res.status) {
    case STORE_REPLAYED:
        it->fate = REPLAY_FATE_REPLAYED, r->sum->replayed++;
        snprintf(it->state, sizeof it->state, "replayed");
        break;
    case STORE_REPLAY_DUPLICATE:
        it->fate = REPLAY_FATE_DUPLICATE, r->sum->duplicate_skipped++;
        snprintf(it->state, sizeof it->state, "%s", res.detail);
        break;
    case STORE_REPLAY_IN_FLIGHT:
        it->fate = REPLAY_FATE_IN_FLIGHT, r->sum->in_flight_skipped++;
        snprintf(it->state, sizeof it->state, "%s", res.detail);
        break;
    }
    return 0;
}

static int handle_entry(struct run *r, const struct store_entry *e, bool from_stream)
{
    const struct store_field *src = store_entry_get(e, "source"),
                             *id = store_entry_get(e, "event_id");
    struct replay_item *it;

    if (src && id && !first_time(r, src, id))
        return 0; /* an older dead letter of an event already handled */
    if (r->sum->events_scanned >= REPLAY_MAX_EVENTS)
        return HOOKD_ETOO_LARGE;
    if (!(it = add_item(r->sum, e)))
        return HOOKD_ENOMEM;
    r->sum->events_scanned++;
    it->problem = replay_check_integrity(
        src ? config_source(r->cfg, src->value, src->value_len) : NULL, e, &it->signature_checked);
    if (it->signature_checked)
        r->sum->signatures_checked++;
    if (it->problem) {
        it->fate = REPLAY_FATE_INTEGRITY;
        r->sum->integrity_failed++;
        r->sum->integrity_ok = false;
        return 0;
    }
    return requeue(r, e, from_stream, it);
}

/* ---- selections ---- */

static int scan_dead(struct run *r)
{
    char hi[STORE_STREAM_ID_MAX + 1] = "+";
    struct store_entry *v;
    size_t n;
    int rc;

    do {
        rc =
            store_log_range(r->st, r->req->route, STORE_LOG_DEAD, "-", hi, SCAN_PAGE, true, &v, &n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = handle_entry(r, &v[i], false);
        if (n)
            snprintf(hi, sizeof hi, "(%s", v[n - 1].id);
        store_entries_free(v, n);
    } while (rc == 0 && n == SCAN_PAGE);
    return rc;
}

/* Every entry of one stream of the route (TENANT "" is P:{ROUTE}:stream)
 * recorded since since_ms, up to its newest entry at the start. ARG: the
 * struct run. */
static int scan_one_stream(struct store *st, const char *route, const char *tenant, void *arg)
{
    struct run *r = arg;
    char lo[STORE_STREAM_ID_MAX + 1], hi[STORE_STREAM_ID_MAX];
    struct store_entry *v;
    size_t n;
    int rc;

    rc = store_stream_range(st, route, tenant, "-", "+", 1, true, &v, &n);
    if (rc < 0 || n == 0) {
        store_entries_free(v, n);
        return rc;
    }
    snprintf(hi, sizeof hi, "%s", v[0].id);
    store_entries_free(v, n);
    snprintf(lo, sizeof lo, "%lld-0", (long long)(r->req->since_ms > 0 ? r->req->since_ms : 0));
    do {
        rc = store_stream_range(st, route, tenant, lo, hi, SCAN_PAGE, false, &v, &n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = handle_entry(r, &v[i], true);
        if (n)
            snprintf(lo, sizeof lo, "(%s", v[n - 1].id);
        store_entries_free(v, n);
    } while (rc == 0 && n == SCAN_PAGE);
    return rc;
}

static int replay_one(struct run *r)
{
    struct store_entry e;
    int rc = store_dead_find(r->st, r->req->route, r->req->id, r->req->id_len, &e);

    if (rc < 0)
        return rc;
    rc = handle_entry(r, &e, false);
    store_entry_clear(&e);
    return rc;
}

int replay_run(const struct config *cfg, struct store *st, const struct replay_request *req,
               struct replay_summary *out)
{
    struct run r = {cfg, st, req, out, json_object()};
    int rc;

    memset(out, 0, sizeof *out);
    out->integrity_ok = true;
    if (!r.done)
        return HOOKD_ENOMEM;
    if (!req->route || !config_route_handler(cfg, req->route))
        rc = HOOKD_ECONFIG;
    else if (req->select == REPLAY_DEAD_ONE)
        rc = replay_one(&r);
    else if (req->select == REPLAY_DEAD_ALL)
        rc = scan_dead(&r);
    else /* the route's stream, then each tenant's */
        rc = store_each_stream(r.st, req->route, scan_one_stream, &r);
    json_decref(r.done);
    return rc;
}

/* ---- waiting ---- */

static bool terminal(const char *state)
{
    return strcmp(state, "processed") == 0 || strcmp(state, "failed_permanent") == 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* One pass over the open items; *open counts those still not terminal. */
static int poll_items(struct store *st, const char *route, struct replay_summary *s, size_t *open)
{
    *open = 0;
    for (size_t i = 0; i < s->nitems; i++) {
        struct replay_item *it = &s->items[i];
        struct store_seen seen;
        int rc;
        if (it->fate != REPLAY_FATE_REPLAYED || terminal(it->state))
            continue;
        rc = store_seen_get(st, route, it->source, it->event_id, it->event_id_len, &seen);
        if (rc < 0 && rc != HOOKD_ENOT_FOUND)
            return rc;
        if (rc == 0)
            snprintf(it->state, sizeof it->state, "%s", seen.state);
        if (!terminal(it->state))
            (*open)++;
    }
    return 0;
}

int replay_wait(struct store *st, const char *route, struct replay_summary *s, int64_t timeout_ms)
{
    int64_t t0 = clock_mono_ms();
    size_t open = 0;
    int rc;

    s->waited = true;
    for (;;) {
        if ((rc = poll_items(st, route, s, &open)) < 0)
            return rc;
        if (open == 0 || clock_mono_ms() - t0 >= timeout_ms)
            break;
        sleep_ms(WAIT_POLL_MS);
    }
    s->processed = s->failed_permanent = 0;
    for (size_t i = 0; i < s->nitems; i++) {
        if (s->items[i].fate != REPLAY_FATE_REPLAYED)
            continue;
        if (strcmp(s->items[i].state, "processed") == 0)
            s->processed++;
        else if (strcmp(s->items[i].state, "failed_permanent") == 0)
            s->failed_permanent++;
    }
    s->still_pending = open;
    s->timed_out = open > 0;
    return 0;
}

/* ---- output ---- */

json_t *replay_summary_json(const struct replay_summary *s)
{
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I}", "events_scanned",
        (json_int_t)s->events_scanned, "replayed", (json_int_t)s->replayed, "duplicate_skipped",
        (json_int_t)s->duplicate_skipped, "processed", (json_int_t)s->processed, "failed_permanent",
        (json_int_t)s->failed_permanent, "integrity_check", s->integrity_ok ? "pass" : "fail",
        "in_flight_skipped", (json_int_t)s->in_flight_skipped, "integrity_failed",
        (json_int_t)s->integrity_failed, "signatures_checked", (json_int_t)s->signatures_checked);

    if (o && s->waited)
        json_object_set_new(o, "still_pending", json_integer((json_int_t)s->still_pending));
    return o;
}

void replay_summary_free(struct replay_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nitems; i++) {
        free(s->items[i].source);
        free(s->items[i].event_id);
    }
    free(s->items);
    s->items = NULL;
    s->nitems = s->cap = 0;
}
