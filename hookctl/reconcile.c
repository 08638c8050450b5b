/*
 * reconcile.c — `hookctl reconcile SOURCE --provider-log FILE [--replay]`:
 * compares a provider's own list of events with hookd's dedupe records.
 *
 * FILE holds JSON lines, each an object with at least "id" (optionally
 * "type" and "created", epoch seconds or RFC 3339), or one JSON document: a
 * Stripe-style {"data": [...]} list or a plain array. Each id is looked up
 * in every route of the config (the route of an event never received is
 * unknown) and reported as processed, pending (queued, processing, retry
 * scheduled, replayed), failed (failed_permanent) or missing. With
 * --replay, the failed ones are replayed from their dead letters.
 *
 * Exit 1 when anything is missing or failed (before any replay), so it can
 * run from cron; 0 when every event was received and none failed.
 * Dedupe records expire after [redis] dedupe_ttl: older events show as
 * missing, flagged "older than dedupe_ttl".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "replay.h"

#define PROVIDER_LOG_MAX_BYTES (64u << 20)

enum status { ST_PROCESSED, ST_PENDING, ST_FAILED, ST_MISSING, ST_COUNT_ };
static const char *const status_names[ST_COUNT_] = {"processed", "pending", "failed", "missing"};

/* JSON lines, or one document with a list under "data", or an array. */
static json_t *load_provider_log(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr), *list;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;

    if (doc) {
        list = json_is_array(doc) ? json_incref(doc) : json_incref(json_object_get(doc, "data"));
        if (!list && json_object_get(doc, "id"))
            list = json_pack("[O]", doc); /* a single JSON line */
        json_decref(doc);
        return json_is_array(list) ? list : (json_decref(list), NULL);
    }
    if (!(f = fopen(path, "r")) || !(list = json_array())) {
        if (f)
            fclose(f);
        return NULL;
    }
    for (long no = 1; getline(&line, &cap, f) >= 0; no++) {
        json_t *o;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (!(o = json_loads(line, 0, &jerr)) || !json_is_object(o)) {
            ctl_err("%s:%ld: not a JSON object: %s", path, no, o ? "wrong type" : jerr.text);
            json_decref(o), json_decref(list);
            list = NULL;
            break;
        }
        json_array_append_new(list, o);
    }
    free(line);
    fclose(f);
    return list;
}

/* The event's "created" as epoch ms (number of seconds, or RFC 3339). */
static int64_t created_ms(json_t *ev)
{
    json_t *c = json_object_get(ev, "created");

    if (json_is_integer(c))
        return (int64_t)json_integer_value(c) * 1000;
    if (json_is_string(c))
        return ctl_parse_time(json_string_value(c), 0);
    return -1;
}

/* Finds ID's dedupe record in any route: *route NULL when none has it. */
static int lookup(struct ctl *c, const char *source, const char *id, const char **route,
                  struct store_seen *seen)
{
    *route = NULL;
    for (size_t i = 0; i < c->cfg->nroutes; i++) {
        int rc = store_seen_get(c->st, c->cfg->routes[i].name, source, id, strlen(id), seen);
        if (rc == HOOKD_ENOT_FOUND)
            continue;
        if (rc == 0)
            *route = c->cfg->routes[i].name;
        return rc;
    }
    return 0;
}

static enum status classify(const char *route, const struct store_seen *seen)
{
    if (!route)
        return ST_MISSING;
    if (strcmp(seen->state, "processed") == 0)
        return ST_PROCESSED;
    if (strcmp(seen->state, "failed_permanent") == 0)
        return ST_FAILED;
    return ST_PENDING;
}

/* Replays the failed event ID of ROUTE from its dead letter and prints
 * how it went: 1 replayed, 0 not, or a connection error. */
static int replay_failed(struct ctl *c, const char *route, const char *id)
{
    struct replay_request req = {.route = route, .select = REPLAY_DEAD_ONE, .id = id,
                                 .id_len = strlen(id)};
    struct replay_summary s;
    int rc = replay_run(c->cfg, c->st, &req, &s);
    const char *how = rc == HOOKD_ENOT_FOUND ? "no dead letter (purged?)"
                      : rc < 0              ? hookd_strerror(rc)
                      : s.replayed          ? "replayed"
                      : s.integrity_failed  ? "integrity check failed, not replayed"
                      : s.duplicate_skipped ? "already processed"
                                            : "in flight, left alone";

    printf("replay %s %s: %s\n", route, id, how);
    bool replayed = rc == 0 && s.replayed;
    replay_summary_free(&s);
    if (rc == HOOKD_EREDIS_CONN || rc == HOOKD_EREDIS_TIMEOUT)
        return rc;
    return replayed;
}

struct recon {
    struct ctl *c;
    const char *source;
    bool replay;
    size_t counts[ST_COUNT_], replayed;
    struct ctl_table table;
};

static int reconcile_one(struct recon *r, json_t *ev)
{
    json_t *idv = json_object_get(ev, "id");
    const char *id = json_string_value(idv), *route;
    const char *type = json_string_value(json_object_get(ev, "type"));
    char num[32];
    int64_t created = created_ms(ev), ttl_ms = r->c->cfg->redis.dedupe_ttl_s * 1000;
    struct store_seen seen;
    char shown[96];
    int rc;

    if (json_is_integer(idv)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(idv));
        id = num;
    }
    if (!id || !id[0]) {
        ctl_err("provider log: an event without an \"id\" was skipped");
        return 0;
    }
    if ((rc = lookup(r->c, r->source, id, &route, &seen)) < 0)
        return rc;
    enum status st = classify(route, &seen);
    r->counts[st]++;
    ctl_printable(id, strlen(id), shown, sizeof shown);
    const char *note = st == ST_MISSING && created > 0 && created < ctl_now_ms() - ttl_ms
                           ? "older than dedupe_ttl"
                           : "";
    const char *row[] = {shown, status_names[st], route, route ? seen.state : "", type, note};
    ctl_table_row(&r->table, row);
    if (st == ST_FAILED && r->replay) {
        if ((rc = replay_failed(r->c, route, id)) < 0)
            return rc;
        r->replayed += (size_t)rc;
    }
    return 0;
}

static int parse_args(int argc, char **argv, const char **log, bool *replay)
{
    for (int i = 1; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--provider-log", log);
        if (got < 0)
            return CTL_USAGE;
        if (got == 0 && strcmp(argv[i], "--replay") == 0)
            *replay = true;
        else if (got == 0) {
            ctl_err("reconcile: unexpected argument \"%s\"", argv[i]);
            return CTL_USAGE;
        }
    }
    if (!*log) {
        ctl_err("reconcile: usage: reconcile SOURCE --provider-log FILE [--replay]");
        return CTL_USAGE;
    }
    return CTL_OK;
}

int cmd_reconcile(struct ctl *c, int argc, char **argv)
{
    static const char *const head[] = {"EVENT_ID", "STATUS", "ROUTE", "STATE", "TYPE", "NOTE",
                                       NULL};
    struct recon r = {.c = c};
    const char *log = NULL;
    json_t *list, *ev;
    size_t i;
    int code, rc = 0;

    if (argc < 1 || argv[0][0] == '-') {
        ctl_err("reconcile: usage: reconcile SOURCE --provider-log FILE [--replay]");
        return CTL_USAGE;
    }
    if ((code = parse_args(argc, argv, &log, &r.replay)) != CTL_OK)
        return code;
    if (!config_source(c->cfg, argv[0], strlen(argv[0]))) {
        ctl_err("unknown source \"%s\" in %s", argv[0], c->config_path);
        return CTL_USAGE;
    }
    if (!(list = load_provider_log(log))) {
        ctl_err("cannot read provider log %s (JSON lines, or {\"data\": [...]})", log);
        return CTL_USAGE;
    }
    if ((code = ctl_store(c)) != 0)
        goto out;
    r.source = argv[0];
    ctl_table_init(&r.table, head);
    json_array_foreach(list, i, ev) {
        if (rc == 0)
            rc = reconcile_one(&r, ev);
    }
    ctl_table_print(&r.table);
    if (rc < 0) {
        code = ctl_store_failed(rc, "reconcile");
        goto out;
    }
    putchar('\n');
    for (int k = 0; k < ST_COUNT_; k++)
        printf("%s = %zu\n", status_names[k], r.counts[k]);
    if (r.replay)
        printf("replayed = %zu\n", r.replayed);
    code = r.counts[ST_MISSING] || r.counts[ST_FAILED] ? CTL_PROBLEM : CTL_OK;
out:
    json_decref(list);
    return code;
}
