/*
 * dead.c — `hookctl dead list|show|purge`: the dead letters of a route.
 *
 *   dead list ROUTE [--limit N]          newest first (default 50)
 *   dead show ROUTE ID                   every field; the body pretty-printed
 *                                        when it is JSON, raw otherwise
 *   dead purge ROUTE --before T [--yes]  without --yes: counts, deletes
 *                                        nothing, exits 2
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

static void print_list(const struct store_entry *v, size_t n)
{
    static const char *const head[] = {"ID", "EVENT_ID", "SOURCE", "TYPE", "REASON",
                                       ">ATTEMPTS", "FAILED_AT", "LAST_ERROR", NULL};
    char c[8][LAST_ERROR_CELL_MAX];
    struct ctl_table t;

    ctl_table_init(&t, head);
    for (size_t i = 0; i < n; i++) {
        snprintf(c[0], CELL_MAX, "%s", v[i].id);
        cell(&v[i], "event_id", c[1], CELL_MAX);
        cell(&v[i], "source", c[2], CELL_MAX);
        cell(&v[i], "type", c[3], CELL_MAX);
        cell(&v[i], "reason", c[4], CELL_MAX);
        cell(&v[i], "attempts", c[5], CELL_MAX);
        time_cell(&v[i], "failed_at", c[6], CELL_MAX);
        cell(&v[i], "last_error", c[7], sizeof c[7]);
        const char *row[] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
        ctl_table_row(&t, row);
    }
    ctl_table_print(&t);
    printf("(%zu shown, newest first)\n", n);
}

static int dead_list(struct ctl *c, const char *route, int argc, char **argv)
{
    const char *limit_s = NULL;
    int64_t limit = DEFAULT_LIST_LIMIT;
    struct store_entry *v;
    size_t n;
    int rc;

    for (int i = 0; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--limit", &limit_s);
        if (got <= 0) {
            if (got == 0)
                ctl_err("dead list: unexpected argument \"%s\"", argv[i]);
            return CTL_USAGE;
        }
        if ((limit = ctl_parse_count(limit_s)) <= 0) {
            ctl_err("dead list: --limit wants a positive number, got \"%s\"", limit_s);
            return CTL_USAGE;
        }
    }
    if ((rc = ctl_store(c)) != 0)
        return rc;
    if (c->json) {
        json_t *arr;
        if ((rc = store_dead_list_json(c->st, route, (size_t)limit, &arr)) < 0)
            return ctl_store_failed(rc, "dead list");
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
        return CTL_OK;
    }
    if ((rc = store_dead_list(c->st, route, (size_t)limit, &v, &n)) < 0)
        return ctl_store_failed(rc, "dead list");
    print_list(v, n);
    store_entries_free(v, n);
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

static int dead_purge(struct ctl *c, const char *route, int argc, char **argv)
{
    const char *before_s = NULL;
    bool yes = false;
    int64_t before, count;
    char when[40];
    int rc;

    for (int i = 0; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--before", &before_s);
        if (got < 0)
            return CTL_USAGE;
        if (got == 0 && strcmp(argv[i], "--yes") == 0)
            yes = true;
        else if (got == 0) {
            ctl_err("dead purge: unexpected argument \"%s\"", argv[i]);
            return CTL_USAGE;
        }
    }
    if (!before_s) {
        ctl_err("dead purge: --before T is required (T: 7d, RFC 3339 time or epoch seconds)");
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
