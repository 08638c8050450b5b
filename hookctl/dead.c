/*
 * dead.c — `hookctl dead list|show|purge`: the dead letters of a route.
 *
 *   dead list ROUTE [--limit N] [--state S]  newest first (default 50), each
 *                                        with its event's state now; --state:
 *                                        only those (processed, failed_permanent,
 *                                        expired, ...)
 *   dead show ROUTE ID                   every field; the body pretty-printed
 *                                        when it is JSON, raw otherwise
 *   dead purge ROUTE --before T [--yes]  without --yes: counts, deletes
 *                                        nothing, exits 2
 *   dead purge ROUTE --resolved [--yes]  the letters of events processed since
 *
 * A purge only removes dead letters; the events' dedupe records stay (in
 * state failed_permanent) until their TTL, so a provider's redelivery is
 * still answered as a duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "store_admin.h"

#define DEFAULT_LIST_LIMIT 50
#define CELL_MAX 64
#define LAST_ERROR_CELL_MAX 72

/* What --state may name: an event's states (README, Redis layout) and
 * "expired", a dead letter whose dedupe record is gone. */
static const char *const event_states[] = {"queued",           "processing", "retry_scheduled",
                                           "processed",        "replayed",   "held",
                                           "failed_permanent", "expired",    NULL};

static bool known_state(const char *s)
{
    for (size_t i = 0; event_states[i]; i++)
        if (strcmp(s, event_states[i]) == 0)
            return true;
    return false;
}

/* A field of E as a terminal-safe cell. */
static void cell(const struct store_entry *e, const char *name, char *buf, size_t cap)
{
    const struct store_field *f = store_entry_get(e, name);
    ctl_printable(f ? f->value : "", f ? f->value_len : 0, buf, cap);
}

static void time_cell(const struct store_entry *e, const char *name, char *buf, size_t cap)
{
    ctl_format_time(strtoll(store_entry_str(e, name), NULL, 10), buf, cap);
}

#define DEAD_PAGE 200

/* Calls FN for each dead letter of ROUTE, newest first, with its event's
 * state now, until FN returns false. 0 or a store error. */
static int each_dead(struct ctl *c, const char *route,
                     bool (*fn)(void *arg, const struct store_entry *e, const char *state),
                     void *arg)
{
    char hi[STORE_STREAM_ID_MAX + 2] = "+", state[32];
    bool go = true;
    int rc = 0;

    while (go) {
        struct store_entry *v;
        size_t n;
        if ((rc = store_log_range(c->st, route, STORE_LOG_DEAD, "-", hi, DEAD_PAGE, true, &v,
                                  &n)) < 0)
            return rc;
        for (size_t i = 0; go && i < n; i++) {
            if ((rc = store_dead_state(c->st, route, &v[i], state)) < 0)
                go = false;
            else
                go = fn(arg, &v[i], state);
        }
        if (n)
            snprintf(hi, sizeof hi, "(%s", v[n - 1].id);
        go = go && n == DEAD_PAGE; /* a short page was the last */
        store_entries_free(v, n);
    }
    return rc;
}

struct list_ctx {
    const char *want;   /* --state, or NULL */
    size_t limit, n;
    struct ctl_table t; /* text */
    json_t *arr;        /* --json */
};

/* A dead letter as JSON: numbers as numbers, its event's state now. */
static json_t *dead_json(const struct store_entry *e, const char *state)
{
    static const char *const numeric[] = {"attempts", "attempt", "failed_at", "received_at"};
    json_t *o = store_entry_json(e, false);

    for (size_t k = 0; o && k < sizeof numeric / sizeof numeric[0]; k++) {
        const char *v = json_string_value(json_object_get(o, numeric[k]));
        char *end;
        long long n = v && *v ? strtoll(v, &end, 10) : 0;
        if (v && *v && !*end)
            json_object_set_new(o, numeric[k], json_integer(n));
    }
    if (o)
        json_object_set_new(o, "state", json_string(state));
    return o;
}

static bool list_one(void *arg, const struct store_entry *e, const char *state)
{
    struct list_ctx *l = arg;
    char c[9][LAST_ERROR_CELL_MAX];

    if (l->want && strcmp(l->want, state) != 0)
        return true;
    if (l->arr) {
        json_array_append_new(l->arr, dead_json(e, state));
    } else {
        snprintf(c[0], CELL_MAX, "%s", e->id);
        cell(e, "event_id", c[1], CELL_MAX);
        cell(e, "source", c[2], CELL_MAX);
        cell(e, "type", c[3], CELL_MAX);
        cell(e, "reason", c[4], CELL_MAX);
        cell(e, "attempts", c[5], CELL_MAX);
        time_cell(e, "failed_at", c[6], CELL_MAX);
        snprintf(c[7], CELL_MAX, "%s", state);
        cell(e, "last_error", c[8], sizeof c[8]);
        const char *row[] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]};
        ctl_table_row(&l->t, row);
    }
    return ++l->n < l->limit;
}

static int dead_list(struct ctl *c, const char *route, int argc, char **argv)
{
    static const char *const head[] = {"ID", "EVENT_ID", "SOURCE", "TYPE", "REASON", ">ATTEMPTS",
                                       "FAILED_AT", "STATE_NOW", "LAST_ERROR", NULL};
    const char *limit_s = NULL;
    struct list_ctx l = {.limit = DEFAULT_LIST_LIMIT};
    int rc;

    for (int i = 0; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--limit", &limit_s);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--state", &l.want);
        if (got <= 0) {
            if (got == 0)
                ctl_err("dead list: unexpected argument \"%s\"", argv[i]);
            return CTL_USAGE;
        }
        if (limit_s && ctl_parse_count(limit_s) <= 0) {
            ctl_err("dead list: --limit wants a positive number, got \"%s\"", limit_s);
            return CTL_USAGE;
        }
        if (l.want && !known_state(l.want)) {
            ctl_err("dead list: --state wants an event state (queued, processing, "
                    "retry_scheduled, processed, replayed, held, failed_permanent, expired), "
                    "got \"%s\"",
                    l.want);
            return CTL_USAGE;
        }
    }
    if (limit_s)
        l.limit = (size_t)ctl_parse_count(limit_s);
    if ((rc = ctl_store(c)) != 0)
        return rc;
    if (c->json && !(l.arr = json_array()))
        return CTL_PROBLEM;
    if (!c->json)
        ctl_table_init(&l.t, head);
    if ((rc = each_dead(c, route, list_one, &l)) < 0) {
        json_decref(l.arr);
        if (!c->json)
            ctl_table_free(&l.t);
        return ctl_store_failed(rc, "dead list");
    }
    if (c->json) {
        json_dumpf(l.arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(l.arr);
    } else {
        ctl_table_print(&l.t);
        printf("(%zu shown, newest first%s%s)\n", l.n, l.want ? ", state now " : "",
               l.want ? l.want : "");
    }
    return CTL_OK;
}

/* A JSON text pretty-printed, or the bytes as they are. */
static void print_blob(const char *label, const struct store_field *f)
{
    json_t *doc = f ? json_loadb(f->value, f->value_len, JSON_DECODE_ANY, NULL) : NULL;

    if (!f) {
        printf("%s: (absent)\n", label);
        return;
    }
    printf("%s (%zu bytes, %s):\n", label, f->value_len, doc ? "JSON" : "raw");
    if (doc) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
        putchar('\n');
        json_decref(doc);
    } else {
        fwrite(f->value, 1, f->value_len, stdout);
        if (f->value_len && f->value[f->value_len - 1] != '\n')
            putchar('\n');
    }
}

static void print_entry(const struct store_entry *e)
{
    static const char *const times[] = {"failed_at", "received_at", NULL};
    char value[512], when[40];

    printf("%-12s = %s\n", "dead_id", e->id);
    for (size_t i = 0; i < e->nfields; i++) {
        const struct store_field *f = &e->fields[i];
        if (strcmp(f->name, "body") == 0 || strcmp(f->name, "headers") == 0)
            continue;
        ctl_printable(f->value, f->value_len, value, sizeof value);
        printf("%-12s = %s", f->name, value);
        for (size_t k = 0; times[k]; k++)
            if (strcmp(f->name, times[k]) == 0) {
                ctl_format_time(strtoll(f->value, NULL, 10), when, sizeof when);
                printf(" (%s)", when);
            }
        putchar('\n');
    }
    print_blob("headers", store_entry_get(e, "headers"));
    print_blob("body", store_entry_get(e, "body"));
}

static int dead_show(struct ctl *c, const char *route, int argc, char **argv)
{
    struct store_entry e;
    int rc;

    if (argc != 1) {
        ctl_err("dead show: usage: dead show ROUTE ID");
        return CTL_USAGE;
    }
    if ((rc = ctl_store(c)) != 0)
        return rc;
    rc = store_dead_find(c->st, route, argv[0], strlen(argv[0]), &e);
    if (rc == HOOKD_ENOT_FOUND) {
        ctl_err("no dead letter \"%s\" in route %s", argv[0], route);
        return CTL_PROBLEM;
    }
    if (rc < 0)
        return ctl_store_failed(rc, "dead show");
    if (c->json) {
        json_t *o = store_entry_json(&e, true);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else {
        print_entry(&e);
    }
    store_entry_clear(&e);
    return CTL_OK;
}

/* dead purge ROUTE --resolved [--yes]: the letters of events processed
 * since (after a replay); those still failed or expired stay. */
static int purge_resolved(struct ctl *c, const char *route, bool yes)
{
    int64_t count = 0;
    int rc;

    if ((rc = ctl_store(c)) != 0)
        return rc;
    if ((rc = store_dead_purge_resolved(c->st, route, !yes, &count)) < 0)
        return ctl_store_failed(rc, "dead purge");
    printf("%s %lld dead letters of route %s whose event was processed since\n",
           yes ? "purged" : "would purge", (long long)count, route);
    if (!yes)
        printf("nothing deleted: add --yes to purge\n");
    return yes ? CTL_OK : CTL_USAGE;
}

static int dead_purge(struct ctl *c, const char *route, int argc, char **argv)
{
    const char *before_s = NULL;
    bool yes = false, resolved = false;
    int64_t before, count;
    char when[40];
    int rc;

    for (int i = 0; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--before", &before_s);
        if (got < 0)
            return CTL_USAGE;
        if (got == 0 && strcmp(argv[i], "--yes") == 0)
            yes = true;
        else if (got == 0 && strcmp(argv[i], "--resolved") == 0)
            resolved = true;
        else if (got == 0) {
            ctl_err("dead purge: unexpected argument \"%s\"", argv[i]);
            return CTL_USAGE;
        }
    }
    if (resolved && !before_s)
        return purge_resolved(c, route, yes);
    if (!before_s || resolved) {
        ctl_err("dead purge: give --before T (T: 7d, RFC 3339 time or epoch seconds) or "
                "--resolved, one of them");
        return CTL_USAGE;
    }
    if ((before = ctl_parse_time(before_s, ctl_now_ms())) <= 0) {
        ctl_err("dead purge: cannot parse --before \"%s\" (want a duration ago such as 7d, an "
                "RFC 3339 time or epoch seconds)", before_s);
        return CTL_USAGE;
    }
    if ((rc = ctl_store(c)) != 0)
        return rc;
    if ((rc = store_dead_purge(c->st, route, before, !yes, &count)) < 0)
        return ctl_store_failed(rc, "dead purge");
    ctl_format_time(before, when, sizeof when);
    if (!yes) {
        printf("would purge %lld dead letters of route %s written before %s\n"
               "nothing deleted: add --yes to purge\n", (long long)count, route, when);
        return CTL_USAGE;
    }
    printf("purged %lld dead letters of route %s written before %s\n", (long long)count, route,
           when);
    return CTL_OK;
}

int cmd_dead(struct ctl *c, int argc, char **argv)
{
    if (argc < 2) {
        ctl_err("dead: usage: dead list|show|purge ROUTE ...");
        return CTL_USAGE;
    }
    if (!ctl_route(c, argv[1]))
        return CTL_USAGE;
    if (strcmp(argv[0], "list") == 0)
        return dead_list(c, argv[1], argc - 2, argv + 2);
    if (strcmp(argv[0], "show") == 0)
        return dead_show(c, argv[1], argc - 2, argv + 2);
    if (strcmp(argv[0], "purge") == 0)
        return dead_purge(c, argv[1], argc - 2, argv + 2);
    ctl_err("dead: unknown subcommand \"%s\" (list, show, purge)", argv[0]);
    return CTL_USAGE;
}
