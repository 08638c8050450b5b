/*
 * reconcile.c — `hookctl reconcile SOURCE --provider-log FILE [--replay]`,
 * and the comparison every form of reconcile shares (reconcile.h): a
 * provider's own list of events against hookd's dedupe records.
 *
 * FILE holds JSON lines, each an object with at least "id" (optionally
 * "type" and "created", epoch seconds or RFC 3339), or one JSON document: a
 * Stripe-style {"data": [...]} list or a plain array. Each id is looked up
 * in every route of the config (the route of an event never received is
 * unknown) and reported as processed, pending (queued, processing, retry
 * scheduled, held, replayed), failed (failed_permanent) or missing. With
 * --replay, the failed ones are replayed from their dead letters. With
 * --api instead of a file, reconcile_api.c reads the provider's API.
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
#include "reconcile.h"
#include "replay.h"

#define PROVIDER_LOG_MAX_BYTES (64u << 20)

const char *const recon_status_names[RECON_NSTATUS] = {"processed", "pending", "failed",
                                                        "missing", "dropped"};

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

static enum recon_status classify(const char *route, const struct store_seen *seen)
{
    if (!route)
        return RECON_MISSING;
    if (strcmp(seen->state, "processed") == 0)
        return RECON_PROCESSED;
    if (strcmp(seen->state, "failed_permanent") == 0)
        return RECON_FAILED;
    return RECON_PENDING;
}

/* Replays the failed event ID of ROUTE from its dead letter and prints
 * how it went (text output only): 1 replayed, 0 not, or a connection error. */
static int replay_failed(struct recon *r, const char *route, const char *id)
{
    struct replay_request req = {.route = route, .select = REPLAY_DEAD_ONE, .id = id,
                                 .id_len = strlen(id)};
    struct replay_summary s;
    int rc = replay_run(r->c->cfg, r->c->st, &req, &s);
    const char *how = rc == HOOKD_ENOT_FOUND ? "no dead letter (purged?)"
                      : rc < 0              ? hookd_strerror(rc)
                      : s.replayed          ? "replayed"
                      : s.integrity_failed  ? "integrity check failed, not replayed"
                      : s.duplicate_skipped ? "already processed"
                                            : "in flight, left alone";

    if (!r->c->json)
        printf("replay %s %s: %s\n", route, id, how);
    bool replayed = rc == 0 && s.replayed;
    replay_summary_free(&s);
    if (rc == HOOKD_EREDIS_CONN || rc == HOOKD_EREDIS_TIMEOUT)
        return rc;
    return replayed;
}

void recon_init(struct recon *r, struct ctl *c, const char *source)
{
    static const char *const head[] = {"EVENT_ID", "STATUS", "ROUTE", "STATE", "TYPE", "NOTE",
                                       NULL};

    memset(r, 0, sizeof *r);
    r->c = c;
    r->source = source;
    ctl_table_init(&r->table, head);
    if (c->json)
        r->events = json_array();
}

void recon_free(struct recon *r)
{
    ctl_table_free(&r->table);
    json_decref(r->events);
    r->events = NULL;
}

int recon_check(struct recon *r, struct recon_event *ev, struct extract_ctx *x)
{
    int rc = lookup(r->c, r->source, ev->id, &ev->route, &ev->seen);
    struct extract_ctx none;

    if (rc < 0)
        return rc;
    ev->status = classify(ev->route, &ev->seen);
    if (ev->status == RECON_MISSING) {
        extract_init(&none, r->source, NULL, NULL, 0);
        const struct route_cfg *rt =
            config_route_for(r->c->cfg, r->source, ev->type ? ev->type : "", x ? x : &none);
        extract_release(&none);
        if (rt->drop)
            ev->status = RECON_DROPPED, ev->route = rt->name;
    }
    r->counts[ev->status]++;
    r->scanned++;
    return 0;
}

bool recon_expired(const struct recon *r, const struct recon_event *ev)
{
    int64_t ttl_ms = r->c->cfg->redis.dedupe_ttl_s * 1000;

    return ev->status == RECON_MISSING && ev->created_ms > 0 &&
           ev->created_ms < ctl_now_ms() - ttl_ms;
}

int recon_report(struct recon *r, const struct recon_event *ev, const char *note)
{
    const char *state = ev->route ? ev->seen.state : NULL;
    char shown[96];
    int rc;

    if (!note || !note[0])
        note = recon_expired(r, ev) ? "older than dedupe_ttl" : NULL;
    if (!(r->problems_only && (ev->status == RECON_PROCESSED || ev->status == RECON_DROPPED))) {
        ctl_printable(ev->id, strlen(ev->id), shown, sizeof shown);
        const char *row[] = {shown, recon_status_names[ev->status], ev->route, state, ev->type,
                             note};
        if (r->events)
            json_array_append_new(r->events,
                                  json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "id", ev->id,
                                            "status", recon_status_names[ev->status], "route",
                                            ev->route, "state", state, "type", ev->type, "note",
                                            note));
        else
            ctl_table_row(&r->table, row);
    }
    if (ev->status == RECON_FAILED && r->replay) {
        if ((rc = replay_failed(r, ev->route, ev->id)) < 0)
            return rc;
        r->replayed += (size_t)rc;
    }
    return 0;
}

/* One entry of a provider log file. */
static int reconcile_one(struct recon *r, json_t *obj)
{
    json_t *idv = json_object_get(obj, "id");
    struct recon_event ev = {.id = json_string_value(idv),
                             .type = json_string_value(json_object_get(obj, "type")),
                             .created_ms = created_ms(obj)};
    char num[32];
    int rc;

    if (json_is_integer(idv)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(idv));
        ev.id = num;
    }
    if (!ev.id || !ev.id[0]) {
        ctl_err("provider log: an event without an \"id\" was skipped");
        return 0;
    }
    char *body = json_dumps(obj, JSON_COMPACT);
    struct extract_ctx x;
    extract_init(&x, r->source, NULL, body, body ? strlen(body) : 0);
    rc = recon_check(r, &ev, &x);
    extract_release(&x);
    free(body);
    return rc < 0 ? rc : recon_report(r, &ev, NULL);
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

void recon_print(struct recon *r, const char *const *names, const size_t *values)
{
    json_t *doc;

    if (!r->c->json) {
        ctl_table_print(&r->table);
        printf("\nscanned = %zu\n", r->scanned);
        for (int k = 0; k < RECON_NSTATUS; k++)
            printf("%s = %zu\n", recon_status_names[k], r->counts[k]);
        for (size_t k = 0; names && names[k]; k++)
            printf("%s = %zu\n", names[k], values[k]);
        return;
    }
    doc = json_pack("{s:s, s:I}", "source", r->source, "scanned", (json_int_t)r->scanned);
    for (int k = 0; doc && k < RECON_NSTATUS; k++)
        json_object_set_new(doc, recon_status_names[k], json_integer((json_int_t)r->counts[k]));
    for (size_t k = 0; doc && names && names[k]; k++)
        json_object_set_new(doc, names[k], json_integer((json_int_t)values[k]));
    if (doc)
        json_object_set(doc, "events", r->events ? r->events : json_array());
    if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2)) < 0)
        ctl_err("out of memory");
    putchar('\n');
    json_decref(doc);
}

int recon_exit_code(const struct recon *r)
{
    return r->counts[RECON_MISSING] || r->counts[RECON_FAILED] ? CTL_PROBLEM : CTL_OK;
}

int cmd_reconcile(struct ctl *c, int argc, char **argv)
{
    struct recon r;
    const char *log = NULL;
    bool replay = false;
    json_t *list, *ev;
    size_t i;
    int code, rc = 0;

    if (argc < 1 || argv[0][0] == '-') {
        ctl_err("reconcile: usage: reconcile SOURCE --provider-log FILE [--replay] | "
                "reconcile SOURCE --api --since T [--redeliver | --enqueue] [--replay]");
        return CTL_USAGE;
    }
    for (int k = 1; k < argc; k++)
        if (strcmp(argv[k], "--api") == 0)
            return reconcile_api(c, argc, argv);
    if ((code = parse_args(argc, argv, &log, &replay)) != CTL_OK)
        return code;
    if (!config_source(c->cfg, argv[0], strlen(argv[0]))) {
        ctl_err("unknown source \"%s\" in %s", argv[0], c->config_path);
        return CTL_USAGE;
    }
    if (!(list = load_provider_log(log))) {
        ctl_err("cannot read provider log %s (JSON lines, or {\"data\": [...]})", log);
        return CTL_USAGE;
    }
    recon_init(&r, c, argv[0]);
    r.replay = replay;
    if ((code = ctl_store(c)) != 0)
        goto out;
    json_array_foreach(list, i, ev) {
        if (rc == 0)
            rc = reconcile_one(&r, ev);
    }
    if (rc < 0) {
        code = ctl_store_failed(rc, "reconcile");
        goto out;
    }
    recon_print(&r, (const char *const[]){replay ? "replayed" : NULL, NULL}, &r.replayed);
    code = recon_exit_code(&r);
out:
    recon_free(&r);
    json_decref(list);
    return code;
}
