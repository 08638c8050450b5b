/*
 * admin_api.c — the admin listener's JSON API; see admin_api.h and
 * docs/admin-api.md. Reads go through store_admin.h (the same figures as
 * `hookctl stats` and `hookctl dead list`); replays through replay_run()
 * (the same path as `hookctl replay`: integrity check, idempotency skip).
 *
 * Everything that comes from Redis is data (event ids and errors are chosen
 * by whoever sent the request or wrote the handler): it leaves here only as
 * JSON strings, and the page renders them as text, never as markup.
 */
#include "admin_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "ingress_metrics.h"
#include "log.h"
#include "replay.h"
#include "store_admin.h"

#define EV_ADMIN_REPLAY "admin_replay"
#define REPLAY_BODY_MAX 4096
#define ADMIN_THROTTLE_MAX 256 /* overrides shown at most */

/* Takes over O (a new reference; NULL means out of memory). */
static void reply_json(struct admin_reply *out, int status, json_t *o)
{
    out->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!out->body) {
        out->status = 500;
        out->body = strdup("{\"error\":\"out of memory\"}");
    } else {
        out->status = status;
    }
    out->len = out->body ? strlen(out->body) : 0;
}

void admin_api_error(struct admin_reply *out, int status, const char *message)
{
    reply_json(out, status, json_pack("{s:s}", "error", message));
}

/* 503 for Redis trouble, 500 for anything else. */
static void store_error(struct admin_reply *out, int rc)
{
    bool redis = rc == HOOKD_EREDIS_CONN || rc == HOOKD_EREDIS_TIMEOUT;
    admin_api_error(out, redis ? 503 : 500, hookd_strerror(rc));
}

static void now_iso8601(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- GET /api/counts ---- */

/* [{"tenant", "queued", "in_flight", "stream_entries"}] of the route's
 * tenant streams (store_route_stats sorts them by name). */
static json_t *tenant_counts(const struct store_route_stats *s)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < s->ntenants; i++)
        json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I}", "tenant", s->tenants[i].name,
                                           "queued", (json_int_t)s->tenants[i].lag, "in_flight",
                                           (json_int_t)s->tenants[i].pending, "stream_entries",
                                           (json_int_t)s->tenants[i].stream_length));
    return a;
}

static json_t *route_counts(const char *route, const struct store_route_stats *s)
{
    const int64_t *c = s->counters;

    return json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}",
        "route",
        route, "queued", (json_int_t)s->lag, "in_flight", (json_int_t)s->pending,
        "retry_scheduled", (json_int_t)s->retry_scheduled, "processed",
        (json_int_t)c[STORE_C_PROCESSED], "duplicate_skipped", (json_int_t)c[STORE_C_DUP_SKIPPED],
        "replayed", (json_int_t)c[STORE_C_REPLAYED], "held", (json_int_t)c[STORE_C_HELD],
        "failed_permanent", (json_int_t)c[STORE_C_FAILED], "failed_now",
        (json_int_t)c[STORE_C_FAILED_NOW], "dead_letters", (json_int_t)s->dead, "backlog",
        (json_int_t)c[STORE_C_BACKLOG], "received", (json_int_t)c[STORE_C_RECEIVED], "duplicates",
        (json_int_t)c[STORE_C_DUPLICATES], "stream_entries", (json_int_t)s->stream_length,
        "consumers", (json_int_t)s->nconsumers, "paused", s->paused, "tenants", tenant_counts(s));
}

/* {SOURCE: events per second} of the operators' overrides (hookctl throttle). */
static int throttle_counts(struct store *st, json_t **out)
{
    struct store_throttle t[ADMIN_THROTTLE_MAX];
    size_t n = 0;
    int rc = store_throttle_list(st, t, ADMIN_THROTTLE_MAX, &n);

    *out = rc == 0 ? json_object() : NULL;
    for (size_t i = 0; *out && i < n; i++)
        json_object_set_new(*out, t[i].source, json_real(t[i].rate));
    return rc;
}

void admin_api_counts(const struct config *cfg, struct store *st, struct admin_reply *out)
{
    char now[32];
    json_t *routes = json_array(), *throttle = NULL;
    int rc = 0;

    for (size_t i = 0; routes && i < cfg->nroutes && rc == 0; i++)
        for (size_t k = 0; rc == 0 && k <= cfg->routes[i].nhandlers; k++) { /* fan-out */
            struct store_route_stats s;
            char name[160];
            config_handler_name(&cfg->routes[i], k, name, sizeof name);
            if ((rc = store_route_stats(st, name, &s)) == 0)
                json_array_append_new(routes, route_counts(name, &s));
            store_route_stats_free(&s);
        }
    if (rc == 0)
        rc = throttle_counts(st, &throttle);
    if (rc < 0) {
        json_decref(routes);
        store_error(out, rc);
        return;
    }
    now_iso8601(now, sizeof now);
    reply_json(out, 200,
               json_pack("{s:s, s:o, s:o, s:o}", "generated_at", now, "routes", routes, "throttle",
                         throttle, "signatures", ingress_metrics_signatures_json()));
}

/* ---- GET /api/rejected ---- */

void admin_api_rejected(const struct config *cfg, struct store *st, struct admin_reply *out)
{
    json_t *summary = NULL, *recent;
    struct store_entry *v = NULL;
    size_t n = 0;
    int rc;

    if ((rc = store_rejected_summary(st, &summary)) < 0 ||
        (rc = store_rejected_range(st, "-", "+", ADMIN_RECENT_REJECTED, true, &v, &n)) < 0) {
        json_decref(summary);
        store_error(out, rc);
        return;
    }
    recent = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(recent, store_entry_json(&v[i], false));
    store_entries_free(v, n);
    reply_json(out, 200, json_pack("{s:o, s:o}", "by_source", summary, "recent", recent));
}

/* ---- GET /api/dead/ROUTE ---- */

/* The dead letter as JSON, with the current state of its event (null
 * once its record expired). */
static json_t *dead_json(struct store *st, const char *route, const struct store_entry *e)
{
    json_t *o = store_entry_json(e, false);
    char state[32];

    if (o && store_dead_state(st, route, e, state) == 0 && strcmp(state, "expired") != 0)
        json_object_set_new(o, "state", json_string(state));
    else if (o)
        json_object_set_new(o, "state", json_null());
    return o;
}

void admin_api_dead(const struct config *cfg, struct store *st, const char *route,
                    const char *limit, struct admin_reply *out)
{
    long want = ADMIN_DEAD_DEFAULT;
    struct store_entry *v = NULL;
    size_t n = 0;
    int64_t total = 0;
    json_t *list;
    int rc;

    if (!config_route_handler(cfg, route)) {
        admin_api_error(out, 404, "unknown route");
        return;
    }
    if (limit) {
        char *end;
        want = strtol(limit, &end, 10);
        if (*end || want < 1 || want > ADMIN_DEAD_MAX) {
            admin_api_error(out, 400, "limit must be 1..500");
            return;
        }
    }
    if ((rc = store_log_len(st, route, STORE_LOG_DEAD, &total)) < 0 ||
        (rc = store_dead_list(st, route, (size_t)want, &v, &n)) < 0) {
        store_error(out, rc);
        return;
    }
    list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, dead_json(st, route, &v[i]));
    store_entries_free(v, n);
    reply_json(
        out, 200,
        json_pack("{s:s, s:I, s:o}", "route", route, "total", (json_int_t)total, "dead", list));
}

void admin_api_dead_one(const struct config *cfg, struct store *st, const char *route,
                        const char *id, struct admin_reply *out)
{
    struct store_entry e;
    char state[32];
    json_t *o;
    int rc;

    if (!config_route_handler(cfg, route)) {
        admin_api_error(out, 404, "unknown route");
        return;
    }
    if ((rc = store_dead_find(st, route, id, strlen(id), &e)) == HOOKD_ENOT_FOUND) {
        admin_api_error(out, 404, "no such dead letter");
        return;
    }
    if (rc < 0) {
        store_error(out, rc);
        return;
    }
    if ((rc = store_dead_state(st, route, &e, state)) < 0) {
        store_entry_clear(&e);
        store_error(out, rc);
        return;
    }
    o = store_entry_json(&e, true);
    store_entry_clear(&e);
    if (o)
        json_object_set_new(o, "state", json_string(state));
    reply_json(out, 200, o);
}

/* ---- POST /api/purge/ROUTE ---- */

/*
 * A POST body names only the keys its action reads: a filter the API does
 * not know ({"all": true, "since": "1h"}) must not be dropped silently and
 * widen the action. Writes a 400 naming the key and returns false.
 */
static bool only_keys(json_t *req, const char *const *keys, struct admin_reply *out)
{
    const char *k;
    json_t *v;
    char msg[160];

    json_object_foreach(req, k, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i]) {
            snprintf(msg, sizeof msg, "unknown key \"%.60s\" in the request body", k);
            admin_api_error(out, 400, msg);
            return false;
        }
    }
    return true;
}

void admin_api_purge(const struct config *cfg, struct store *st, const char *route,
                     const char *body, size_t len, const char *client, struct admin_reply *out)
{
    json_t *req = json_loadb(body ? body : "", len, 0, NULL);
    int64_t n = 0;
    int rc;

    static const char *const keys[] = {"resolved", NULL};

    if (!config_route_handler(cfg, route)) {
        admin_api_error(out, 404, "unknown route");
    } else if (json_is_object(req) && !only_keys(req, keys, out)) {
        /* the 400 is written */
    } else if (!json_is_true(json_object_get(req, "resolved"))) {
        admin_api_error(out, 400, "body must be {\"resolved\": true}");
    } else if ((rc = store_dead_purge_resolved(st, route, false, &n)) < 0) {
        store_error(out, rc);
    } else {
        log_msg(LOG_INFO, EV_ADMIN_REPLAY, "dead letters of route %s purged as resolved: %lld (by %s)",
                route, (long long)n, client);
        reply_json(out, 200, json_pack("{s:s, s:I}", "route", route, "purged", (json_int_t)n));
    }
    json_decref(req);
}

/* ---- POST /api/replay/ROUTE ---- */

/* {"id": "..."} or {"all": true}; false (and a 400 in out) otherwise. */
static bool parse_replay(json_t *req, struct replay_request *rq, struct admin_reply *out)
{
    static const char *const keys[] = {"id", "all", NULL};
    json_t *id = json_object_get(req, "id"), *all = json_object_get(req, "all");

    if (json_is_object(req) && !only_keys(req, keys, out))
        return false;
    if (json_is_object(req) && json_is_string(id) && !all && json_string_length(id) > 0) {
        rq->select = REPLAY_DEAD_ONE;
        rq->id = json_string_value(id);
        rq->id_len = json_string_length(id);
        return true;
    }
    if (json_is_object(req) && json_is_true(all) && !id) {
        rq->select = REPLAY_DEAD_ALL;
        return true;
    }
    admin_api_error(out, 400, "body must be {\"id\": \"EVENT_OR_ENTRY_ID\"} or {\"all\": true}");
    return false;
}

static void log_replay(const struct replay_request *rq, const struct replay_summary *s, int rc,
                       const char *client)
{
    struct logline l;

    if (!log_begin(&l, rc < 0 ? LOG_WARN : LOG_INFO, EV_ADMIN_REPLAY))
        return;
    log_str(&l, "route", rq->route);
    log_str(&l, "select", rq->select == REPLAY_DEAD_ONE ? "id" : "all");
    if (rq->select == REPLAY_DEAD_ONE)
        log_strn(&l, "id", rq->id, rq->id_len);
    log_int(&l, "events_scanned", (int64_t)s->events_scanned);
    log_int(&l, "replayed", (int64_t)s->replayed);
    log_int(&l, "duplicate_skipped", (int64_t)s->duplicate_skipped);
    log_int(&l, "integrity_failed", (int64_t)s->integrity_failed);
    if (rc < 0)
        log_str(&l, "error", hookd_strerror(rc));
    log_str(&l, "client", client);
    log_end(&l);
}

void admin_api_replay(const struct config *cfg, struct store *st, const char *route,
                      const char *body, size_t len, const char *client, struct admin_reply *out)
{
    struct replay_request rq = {.route = route};
    struct replay_summary sum;
    json_t *req;
    int rc;

    if (!config_route_handler(cfg, route)) {
        admin_api_error(out, 404, "unknown route");
        return;
    }
    req = len <= REPLAY_BODY_MAX ? json_loadb(body ? body : "", len, 0, NULL) : NULL;
    if (!parse_replay(req, &rq, out)) {
        json_decref(req);
        return;
    }
    rc = replay_run(cfg, st, &rq, &sum);
    log_replay(&rq, &sum, rc, client);
    json_decref(req); /* rq.id pointed into it */
    if (rc == HOOKD_ENOT_FOUND)
        admin_api_error(out, 404, "no dead letter with that id");
    else if (rc < 0)
        store_error(out, rc);
    else
        reply_json(out, 200, replay_summary_json(&sum));
    replay_summary_free(&sum);
}
