/*
 * replay.c — `hookctl replay ROUTE [--id ID | --all | --since T]
 * [--wait [--timeout D]]`: re-queues dead letters (all of them unless --id
 * names one) or, with --since, every event of the route's stream recorded
 * since T, through common/replay.c, and prints the summary one
 * `name = value` a line (SPEC names first). Events failing their integrity
 * check are named on stderr and not replayed.
 *
 * Exit: 0; 1 when an integrity check failed, --id names no dead letter, or
 * after --wait an event failed again or was still open at the timeout.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "replay.h"

#define DEFAULT_WAIT_TIMEOUT_MS 60000

struct replay_args {
    struct replay_request req;
    bool wait;
    int64_t timeout_ms;
};

static int parse_args(int argc, char **argv, struct replay_args *a)
{
    const char *id = NULL, *since = NULL, *timeout = NULL;
    int selectors = 0;

    for (int i = 0; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--id", &id);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--since", &since);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--timeout", &timeout);
        if (got < 0)
            return CTL_USAGE;
        if (got > 0)
            continue;
        if (strcmp(argv[i], "--all") == 0)
            selectors++;
        else if (strcmp(argv[i], "--wait") == 0)
            a->wait = true;
        else {
            ctl_err("replay: unexpected argument \"%s\"", argv[i]);
            return CTL_USAGE;
        }
    }
    selectors += (id != NULL) + (since != NULL);
    if (selectors > 1) {
        ctl_err("replay: give one of --id, --all, --since");
        return CTL_USAGE;
    }
    a->req.select = id ? REPLAY_DEAD_ONE : since ? REPLAY_SINCE : REPLAY_DEAD_ALL;
    a->req.id = id;
    a->req.id_len = id ? strlen(id) : 0;
    if (since && (a->req.since_ms = ctl_parse_time(since, ctl_now_ms())) < 0) {
        ctl_err("replay: --since wants a duration ago, RFC 3339 time or epoch seconds, got \"%s\"",
                since);
        return CTL_USAGE;
    }
    a->timeout_ms = DEFAULT_WAIT_TIMEOUT_MS;
    if (timeout && (a->timeout_ms = config_parse_duration_ms(timeout, strlen(timeout))) < 0) {
        ctl_err("replay: --timeout wants a duration (30s, 5m), got \"%s\"", timeout);
        return CTL_USAGE;
    }
    a->wait = a->wait || timeout;
    return CTL_OK;
}

static void report_problems(const struct replay_summary *s)
{
    char id[160];

    for (size_t i = 0; i < s->nitems; i++) {
        const struct replay_item *it = &s->items[i];
        ctl_printable(it->event_id, it->event_id_len, id, sizeof id);
        if (it->fate == REPLAY_FATE_INTEGRITY)
            ctl_err("integrity check failed for %s event %s: %s (not replayed)", it->source, id,
                    it->problem);
        else if (s->waited && it->fate == REPLAY_FATE_REPLAYED &&
                 strcmp(it->state, "processed") != 0)
            ctl_err("%s event %s: %s after replay", it->source, id, it->state);
    }
}

static void print_summary(const struct replay_summary *s)
{
    printf("events_scanned = %zu\n", s->events_scanned);
    printf("replayed = %zu\n", s->replayed);
    printf("duplicate_skipped = %zu\n", s->duplicate_skipped);
    printf("processed = %zu\n", s->processed);
    printf("failed_permanent = %zu\n", s->failed_permanent);
    printf("integrity_check = %s\n", s->integrity_ok ? "pass" : "fail");
    printf("in_flight_skipped = %zu\n", s->in_flight_skipped);
    printf("integrity_failed = %zu\n", s->integrity_failed);
    printf("signatures_checked = %zu\n", s->signatures_checked);
    if (s->waited)
        printf("still_pending = %zu\n", s->still_pending);
}

int cmd_replay(struct ctl *c, int argc, char **argv)
{
    struct replay_args a;
    struct replay_summary s;
    int rc, code;

    if (argc < 1 || argv[0][0] == '-') {
        ctl_err("replay: usage: replay ROUTE [--id ID | --all | --since T] [--wait]");
        return CTL_USAGE;
    }
    if (!ctl_route(c, argv[0]))
        return CTL_USAGE;
    memset(&a, 0, sizeof a);
    if ((code = parse_args(argc - 1, argv + 1, &a)) != CTL_OK)
        return code;
    if ((code = ctl_store(c)) != 0)
        return code;
    a.req.route = argv[0];
    rc = replay_run(c->cfg, c->st, &a.req, &s);
    if (rc == HOOKD_ENOT_FOUND) {
        ctl_err("no dead letter \"%s\" in route %s", a.req.id, a.req.route);
        code = CTL_PROBLEM;
        goto out;
    }
    if (rc == 0 && a.wait)
        rc = replay_wait(c->st, a.req.route, &s, a.timeout_ms);
    if (rc < 0) {
        code = ctl_store_failed(rc, "replay");
        goto out;
    }
    report_problems(&s);
    if (c->json) {
        json_t *o = replay_summary_json(&s);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else {
        print_summary(&s);
    }
    code = !s.integrity_ok || (s.waited && (s.failed_permanent || s.still_pending)) ? CTL_PROBLEM
                                                                                   : CTL_OK;
out:
    replay_summary_free(&s);
    return code;
}
