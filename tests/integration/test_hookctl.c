/*
 * test_hookctl.c — hookctl's dead-letter, replay and reconcile commands on
 * a state built by the real receiver (signed POSTs) and real workers, with
 * a billing downstream that is down (permanent failures) until fixed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookctl_fixture.h"

#define DEAD_WAIT_MS 20000

static const char *const outage_ids[] = {"evt_out_1", "evt_out_2", "evt_out_3"};

/* Three invoices dead-lettered by the billing outage. */
static void build_outage(struct hk *h)
{
    for (size_t i = 0; i < 3; i++)
        hk_post_stripe(h, outage_ids[i], "invoice.paid", "{\"amount\":100}");
    WAIT_FOR(hk_dead_len(h, "billing") == 3, DEAD_WAIT_MS);
}

TEST_T(hookctl_replay_after_downstream_outage, 90)
{
    struct hk h;
    char *out, state[64];

    hk_start(&h, true);
    build_outage(&h);
    ASSERT_INT_EQ(hk_runs(&h, NULL), 0);
    hk_fix_billing(&h);

    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--all", "--wait", "--timeout", "30s",
                         NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 3);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 3);
    ASSERT_INT_EQ(hk_value(out, "duplicate_skipped"), 0);
    ASSERT_INT_EQ(hk_value(out, "processed"), 3);
    ASSERT_INT_EQ(hk_value(out, "failed_permanent"), 0);
    ASSERT_STR_CONTAINS(out, "\nintegrity_check = pass\n");
    ASSERT_INT_EQ(hk_value(out, "signatures_checked"), 3);
    free(out);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_INT_EQ(hk_runs(&h, outage_ids[i]), 1);
        ASSERT_STR_EQ(hk_state(&h, "billing", "stripe", outage_ids[i], state, sizeof state),
                      "processed");
    }
    /* One stream entry per event: the replay replaced the original. */
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "billing"), 3);

    /* The same dead letters again: every event is already processed. */
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--all", "--wait", NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 3);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 0);
    ASSERT_INT_EQ(hk_value(out, "duplicate_skipped"), 3);
    ASSERT_INT_EQ(hk_value(out, "processed"), 0);
    ASSERT_INT_EQ(hk_value(out, "failed_permanent"), 0);
    ASSERT_STR_CONTAINS(out, "integrity_check = pass");
    free(out);
    ASSERT_INT_EQ(hk_runs(&h, NULL), 3);
    char *replayed = redis_str(h.f.rc, "HGET hookd:{billing}:counters replayed");
    ASSERT_STR_EQ(replayed, "3");
    free(replayed);
}

TEST_T(hookctl_replay_counts_a_permanent_failure, 90)
{
    struct hk h;
    char *out;

    hk_start(&h, true);
    build_outage(&h);
    hk_post_stripe(&h, "evt_poison", "invoice.paid", "{\"note\":\"poison\"}");
    WAIT_FOR(hk_dead_len(&h, "billing") == 4, DEAD_WAIT_MS);
    hk_fix_billing(&h);
    /* The poison event fails again: counted, and the exit status says so. */
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--wait", NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 4);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 4);
    ASSERT_INT_EQ(hk_value(out, "processed"), 3);
    ASSERT_INT_EQ(hk_value(out, "failed_permanent"), 1);
    ASSERT_STR_CONTAINS(out, "evt_poison: failed_permanent after replay");
    free(out);
    /* Its newest dead letter is the one replayed next time, alone. */
    ASSERT_INT_EQ(hk_dead_len(&h, "billing"), 5);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--id", "evt_poison", NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 1);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 1);
    ASSERT_INT_EQ(hk_value(out, "processed"), 0); /* not waited for */
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--id", "evt_nope", NULL), 1);
    ASSERT_STR_CONTAINS(out, "no dead letter \"evt_nope\" in route billing");
    free(out);
}

/* Rewrites the newest dead letter of EVENT_ID with BODY (and, when
 * KEEP_DIGEST is 0, a digest that matches the new body). */
static void tamper(struct hk *h, const char *event_id, const char *body, int keep_digest)
{
    redisReply *r = redis_cmd(h->f.rc, "XREVRANGE hookd:{billing}:dead + -");
    const char *argv[64];
    size_t len[64], n = 0;
    char sha[65];

    sha256_hex(body, strlen(body), sha);
    argv[n] = "XADD", len[n++] = 4;
    argv[n] = "hookd:{billing}:dead", len[n++] = strlen(argv[1]);
    argv[n] = "*", len[n++] = 1;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        int match = 0;
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            match |= strcmp(f->element[k]->str, "event_id") == 0 &&
                     strcmp(f->element[k + 1]->str, event_id) == 0;
        if (!match)
            continue;
        for (size_t k = 0; k + 1 < f->elements && n + 2 < 64; k += 2) {
            const char *name = f->element[k]->str, *value = f->element[k + 1]->str;
            if (strcmp(name, "body") == 0)
                value = body;
            else if (strcmp(name, "body_sha256") == 0 && !keep_digest)
                value = sha;
            argv[n] = name, len[n++] = strlen(name);
            argv[n] = value, len[n++] = strlen(value);
        }
        break;
    }
    redisReply *added = redisCommandArgv(h->f.rc, (int)n, argv, len);
    ASSERT(added && added->type == REDIS_REPLY_STRING);
    freeReplyObject(added);
    freeReplyObject(r);
}

TEST_T(hookctl_replay_refuses_tampered_events, 90)
{
    struct hk h;
    char *out;

    hk_start(&h, true);
    build_outage(&h);
    hk_fix_billing(&h);
    /* Body changed, digest kept: the digest check catches it. */
    tamper(&h, "evt_out_1", "{\"id\":\"evt_out_1\",\"amount\":1000000}", 1);
    /* Body and digest changed together: the signature check catches it. */
    tamper(&h, "evt_out_2", "{\"id\":\"evt_out_2\",\"amount\":1000000}", 0);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--all", "--wait", NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 3);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 1);
    ASSERT_INT_EQ(hk_value(out, "processed"), 1);
    ASSERT_INT_EQ(hk_value(out, "integrity_failed"), 2);
    ASSERT_STR_CONTAINS(out, "integrity_check = fail");
    ASSERT_STR_CONTAINS(out, "evt_out_1: body_digest_mismatch (not replayed)");
    ASSERT_STR_CONTAINS(out, "evt_out_2: signature_mismatch (not replayed)");
    free(out);
    ASSERT_INT_EQ(hk_runs(&h, "evt_out_1"), 0);
    ASSERT_INT_EQ(hk_runs(&h, "evt_out_2"), 0);
    ASSERT_INT_EQ(hk_runs(&h, "evt_out_3"), 1);
}

TEST_T(hookctl_dead_list_show_purge, 90)
{
    struct hk h;
    char *out;

    hk_start(&h, true);
    build_outage(&h);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "list", "billing", NULL), 0);
    ASSERT_STR_CONTAINS(out, "EVENT_ID");
    for (size_t i = 0; i < 3; i++)
        ASSERT_STR_CONTAINS(out, outage_ids[i]);
    ASSERT_STR_CONTAINS(out, "permanent");
    ASSERT_STR_CONTAINS(out, "(3 shown, newest first)");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "list", "billing", "--limit", "1", NULL), 0);
    ASSERT_STR_CONTAINS(out, "(1 shown, newest first)");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "list", "billing", "--json", NULL), 0);
    json_t *list = json_loads(out, 0, NULL);
    ASSERT_INT_EQ(json_array_size(list), 3);
    ASSERT_INT_OP(strcmp(json_string_value(json_object_get(json_array_get(list, 0), "id")),
                         json_string_value(json_object_get(json_array_get(list, 2), "id"))),
                  >, 0); /* newest first */
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(list, 0), "reason")),
                  "permanent");
    ASSERT_NULL(json_object_get(json_array_get(list, 0), "body"));
    json_decref(list);
    free(out);

    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "show", "billing", "evt_out_2", NULL), 0);
    ASSERT_STR_CONTAINS(out, "event_id     = evt_out_2");
    ASSERT_STR_CONTAINS(out, "reason       = permanent");
    ASSERT_STR_CONTAINS(out, "type         = invoice.paid");
    ASSERT_STR_CONTAINS(out, "sig_version  = v1");
    ASSERT_STR_CONTAINS(out, "body (");
    ASSERT_STR_CONTAINS(out, "  \"amount\": 100"); /* pretty-printed JSON */
    free(out);
    /* By the dead stream's entry id too. */
    redisReply *r = redis_cmd(h.f.rc, "XRANGE hookd:{billing}:dead - + COUNT 1");
    ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "show", "billing", r->element[0]->element[0]->str, NULL),
                  0);
    ASSERT_STR_CONTAINS(out, "event_id     = evt_out_1");
    free(out);
    freeReplyObject(r);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "show", "billing", "evt_nope", NULL), 1);
    free(out);

    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "purge", "billing", "--before", "1h", "--yes", NULL), 0);
    ASSERT_STR_CONTAINS(out, "purged 0 dead letters");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "purge", "billing", "--before", "0s", NULL), 2);
    ASSERT_STR_CONTAINS(out, "would purge 3 dead letters");
    free(out);
    ASSERT_INT_EQ(hk_dead_len(&h, "billing"), 3);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "purge", "billing", "--before", "0s", "--yes", NULL), 0);
    ASSERT_STR_CONTAINS(out, "purged 3 dead letters");
    free(out);
    ASSERT_INT_EQ(hk_dead_len(&h, "billing"), 0);
}

static const char provider_log[] =
    "{\"id\":\"evt_ok\",\"type\":\"customer.created\",\"created\":1700000000}\n"
    "{\"id\":\"evt_bad\",\"type\":\"invoice.paid\"}\n"
    "\n"
    "{\"id\":\"evt_never\",\"type\":\"invoice.paid\"}\n";

TEST_T(hookctl_reconcile_finds_missing_and_failed, 90)
{
    struct hk h;
    char *out, state[64];

    hk_start(&h, true);
    hk_post_stripe(&h, "evt_ok", "customer.created", "{}");
    hk_post_stripe(&h, "evt_bad", "invoice.paid", "{}");
    WAIT_FOR(strcmp(hk_state(&h, "default", "stripe", "evt_ok", state, sizeof state),
                    "processed") == 0, DEAD_WAIT_MS);
    WAIT_FOR(hk_dead_len(&h, "billing") == 1, DEAD_WAIT_MS);
    const char *log = harness_write_file("provider.jsonl", provider_log);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "reconcile", "stripe", "--provider-log", log, NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "processed"), 1);
    ASSERT_INT_EQ(hk_value(out, "pending"), 0);
    ASSERT_INT_EQ(hk_value(out, "failed"), 1);
    ASSERT_INT_EQ(hk_value(out, "missing"), 1);
    ASSERT_STR_CONTAINS(out, "evt_ok     processed  default  processed         customer.created");
    ASSERT_STR_CONTAINS(out, "evt_bad    failed     billing  failed_permanent  invoice.paid");
    ASSERT_STR_CONTAINS(out, "evt_never  missing");
    free(out);

    /* Stripe's list format, and --replay for the failed one. */
    hk_fix_billing(&h);
    log = harness_write_file("provider.json",
                             "{\"object\":\"list\",\"data\":[{\"id\":\"evt_ok\"},{\"id\":\"evt_bad\"}],"
                             "\"has_more\":false}");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "reconcile", "stripe", "--provider-log", log, "--replay", NULL),
                  1);
    ASSERT_STR_CONTAINS(out, "replay billing evt_bad: replayed");
    ASSERT_INT_EQ(hk_value(out, "failed"), 1);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 1);
    free(out);
    WAIT_FOR(strcmp(hk_state(&h, "billing", "stripe", "evt_bad", state, sizeof state),
                    "processed") == 0, DEAD_WAIT_MS);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "reconcile", "stripe", "--provider-log", log, NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "processed"), 2);
    free(out);
}

TEST_T(hookctl_replay_since_skips_processed, 90)
{
    struct hk h;
    char *out, state[64];

    hk_start(&h, true);
    hk_post_stripe(&h, "evt_s1", "customer.created", "{}");
    hk_post_stripe(&h, "evt_s2", "customer.updated", "{}");
    WAIT_FOR(strcmp(hk_state(&h, "default", "stripe", "evt_s2", state, sizeof state),
                    "processed") == 0, DEAD_WAIT_MS);
    WAIT_FOR(strcmp(hk_state(&h, "default", "stripe", "evt_s1", state, sizeof state),
                    "processed") == 0, DEAD_WAIT_MS);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "default", "--since", "1h", NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 2);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 0);
    ASSERT_INT_EQ(hk_value(out, "duplicate_skipped"), 2);
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "default", "--since", "2999-01-01T00:00:00Z", NULL),
                  0);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 0);
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "default", "--since", "2000-01-01", NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "events_scanned"), 2);
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "default", "--since", "946684800", NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "duplicate_skipped"), 2);
    free(out);
    ASSERT_INT_EQ(hk_runs(&h, NULL), 2);
}

TEST_T(hookctl_stats_counts_and_consumers, 90)
{
    struct hk h;
    char *out;

    hk_start(&h, true);
    build_outage(&h);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "--json", "stats", NULL), 0);
    json_t *doc = json_loads(out, 0, NULL), *b;
    ASSERT_NOT_NULL(doc);
    b = json_object_get(json_object_get(doc, "routes"), "billing");
    ASSERT_NOT_NULL(b);
    ASSERT_INT_EQ(json_integer_value(json_object_get(b, "stream_length")), 3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(b, "dead")), 3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(b, "pending")), 0);
    ASSERT_INT_EQ(json_integer_value(json_object_get(b, "lag")), 0);
    ASSERT(json_is_true(json_object_get(b, "group_exists")));
    ASSERT_INT_OP(json_array_size(json_object_get(b, "consumers")), >=, 1);
    json_t *cnt = json_object_get(b, "counters");
    ASSERT_INT_EQ(json_integer_value(json_object_get(cnt, "received")), 3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(cnt, "failed_permanent")), 3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(cnt, "processed")), 0);
    ASSERT_NOT_NULL(json_object_get(json_object_get(doc, "sources"), "stripe"));
    json_decref(doc);
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "stats", NULL), 0);
    ASSERT_STR_CONTAINS(out, "ROUTE");
    ASSERT_STR_CONTAINS(out, "billing");
    ASSERT_STR_CONTAINS(out, "consumers (group hookd-workers):");
    free(out);
}

TEST_T(hookctl_replay_wait_times_out_without_workers, 90)
{
    struct hk h;
    char *out;

    hk_start(&h, true);
    build_outage(&h);
    proc_stop(h.workers[0]); /* billing has no worker now */
    hk_fix_billing(&h);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "billing", "--wait", "--timeout", "500ms", NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "replayed"), 3);
    ASSERT_INT_EQ(hk_value(out, "processed"), 0);
    ASSERT_INT_EQ(hk_value(out, "still_pending"), 3);
    ASSERT_STR_CONTAINS(out, "evt_out_1: replayed after replay");
    free(out);
    /* Queued again and not yet taken: a second replay leaves them alone. */
    ASSERT_INT_EQ(hk_ctl(&h, &out, "--json", "replay", "billing", NULL), 0);
    json_t *s = json_loads(out, 0, NULL);
    ASSERT_NOT_NULL(s);
    ASSERT_INT_EQ(json_integer_value(json_object_get(s, "replayed")), 0);
    ASSERT_INT_EQ(json_integer_value(json_object_get(s, "in_flight_skipped")), 3);
    ASSERT_STR_EQ(json_string_value(json_object_get(s, "integrity_check")), "pass");
    json_decref(s);
    free(out);
    /* A worker comes back and finishes them, each once. */
    h.workers[0] = worker_start(h.f.config_path, "billing", NULL);
    WAIT_FOR(hk_runs(&h, NULL) == 3, 20000);
    WAIT_FOR(redis_int(h.f.rc, "HINCRBY hookd:{billing}:counters backlog 0") == 0, 20000);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "stats", "--json", NULL), 0);
    json_t *doc = json_loads(out, 0, NULL);
    json_t *b = json_object_get(json_object_get(doc, "routes"), "billing");
    ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(b, "counters"), "replayed")),
                  3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(b, "counters"), "processed")),
                  3);
    json_decref(doc);
    free(out);
    ASSERT_INT_EQ(hk_runs(&h, NULL), 3);
}
