/*
 * test_enqueue_batch.c — store_enqueue_many, the receiver's group commit,
 * against a real redis-server: every step in a pipelined batch gets the
 * outcome it would have had alone (a repeat inside the same batch is a
 * duplicate), a NOSCRIPT reply is retried with the script text, with
 * Redis gone no step reports success, and a batch whose connection closed
 * after its replies gets no WAIT from another connection (all fail). A
 * batch is one script call per route: the watermark, the paused flag and
 * the counters hold per event inside it, and one event's failed write
 * fails that event alone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fproxy.h"
#include "topology.h"
#include "worker_fixture.h"

#define BATCH 5

static const char config[] = "[route default]\nhandler = exec:/bin/true\n"
                             "[route other]\nmatch = nothing:*\nhandler = exec:/bin/true\n";

struct batch {
    char ids[BATCH][32], reqids[BATCH][40];
    struct store_event_in ev[BATCH];
    struct store_enqueue_job job[BATCH];
    struct store_enqueue_job *jobs[BATCH];
};

/* ids a, b, c, a again, d: the fourth repeats the first within the batch. */
static void batch_init(struct batch *b)
{
    static const char *const names[BATCH] = {"ev-a", "ev-b", "ev-c", "ev-a", "ev-d"};
    static const char sha[] = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    memset(b, 0, sizeof *b);
    for (int i = 0; i < BATCH; i++) {
        snprintf(b->ids[i], sizeof b->ids[i], "%s", names[i]);
        snprintf(b->reqids[i], sizeof b->reqids[i], "req-%d", i);
        b->ev[i] = (struct store_event_in){.event_id = b->ids[i],
                                           .event_id_len = strlen(b->ids[i]),
                                           .source = "github",
                                           .type = "push",
                                           .type_len = 4,
                                           .body = "{}",
                                           .body_len = 2,
                                           .body_sha256 = sha,
                                           .headers_json = "{}",
                                           .sig_version = "v1",
                                           .received_at_ms = 1700000000000,
                                           .request_id = b->reqids[i]};
        b->job[i] = (struct store_enqueue_job){
            .route = "default", .ev = &b->ev[i], .ttl_s = 3600, .watermark = 0};
        b->jobs[i] = &b->job[i];
    }
}

static long long stream_len(struct wfx *f)
{
    redisReply *r = redisCommand(f->rc, "XLEN hookd:{default}:stream");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

TEST_T(enqueue_batch_outcomes_match_one_by_one, 30)
{
    struct wfx f;
    struct batch b;

    wfx_start(&f, config, NULL);
    freeReplyObject(redisCommand(f.rc, "SCRIPT FLUSH")); /* first EVALSHA: NOSCRIPT */
    batch_init(&b);
    store_enqueue_many(f.st, BATCH, b.jobs, 0, 0);
    for (int i = 0; i < BATCH; i++)
        ASSERT_INT_EQ(b.job[i].rc, 0);
    ASSERT_INT_EQ(b.job[0].res.status, ENQ_QUEUED);
    ASSERT_INT_EQ(b.job[1].res.status, ENQ_QUEUED);
    ASSERT_INT_EQ(b.job[2].res.status, ENQ_QUEUED);
    ASSERT_INT_EQ(b.job[3].res.status, ENQ_DUPLICATE);
    ASSERT_STR_EQ(b.job[3].res.prior_state, "queued");
    ASSERT_INT_EQ(b.job[4].res.status, ENQ_QUEUED);
    ASSERT(b.job[0].res.stream_id[0] != '\0');
    ASSERT_INT_EQ(stream_len(&f), 4);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "received"), 4);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicates"), 1);

    /* The same batch again: all duplicates, nothing appended. */
    batch_init(&b);
    store_enqueue_many(f.st, BATCH, b.jobs, 0, 0);
    for (int i = 0; i < BATCH; i++) {
        ASSERT_INT_EQ(b.job[i].rc, 0);
        ASSERT_INT_EQ(b.job[i].res.status, ENQ_DUPLICATE);
    }
    ASSERT_INT_EQ(stream_len(&f), 4);
}

TEST_T(enqueue_batch_redis_gone_reports_no_success, 30)
{
    struct wfx f;
    struct batch b;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "warm", "{}"); /* the store's connection is open */
    redis_stop(f.redis);
    batch_init(&b);
    store_enqueue_many(f.st, BATCH, b.jobs, 0, 0);
    for (int i = 0; i < BATCH; i++)
        ASSERT(b.job[i].rc < 0);
}

/* The batch's replies arrive, then its connection closes (faultproxy's
 * cutreply, as Sentinel's CLIENT KILL at a failover): the WAIT for those
 * writes cannot be sent any more, and one on a new connection would cover
 * nothing and count the stopped replica at once. Every step fails. */
TEST_T(enqueue_batch_wait_never_on_another_connection, 30)
{
    struct topo t;
    struct fproxy fp;
    struct batch b;
    struct redis_cfg rcfg = {.prefix = (char *)"hookd", .timeout_ms = 2000};
    struct store *st;
    char url[64], err[200];

    topo_start_pair(&t, TOPO_FSYNC_ALWAYS);
    fproxy_start(&fp, redis_port(t.primary));
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", fp.port);
    rcfg.url = url;
    ASSERT_NOT_NULL(st = store_open(&rcfg, err, sizeof err));
    batch_init(&b);
    store_enqueue_many(st, BATCH, b.jobs, 1, 2000); /* replica attached: all covered */
    for (int i = 0; i < BATCH; i++)
        ASSERT_INT_EQ(b.job[i].rc, 0);

    /* The replica stays attached but acknowledges nothing. */
    proc_signal(redis_proc(t.replica), SIGSTOP);
    batch_init(&b);
    snprintf(b.ids[1], sizeof b.ids[1], "ev-cut");
    b.ev[1].event_id_len = strlen(b.ids[1]);
    fproxy_cmd(&fp, "cutreply ev-cut");
    store_enqueue_many(st, BATCH, b.jobs, 1, 300);
    /* the proxy logs the cut just after closing: the client may see it first */
    WAIT_FOR(proc_log_count(fp.proc, "cut a connection") == 1, 2000);
    ASSERT_INT_EQ(b.job[1].res.status, ENQ_QUEUED); /* written on the primary ... */
    for (int i = 0; i < BATCH; i++)                  /* ... and no step reports it */
        ASSERT_INT_OP(b.job[i].rc, <, 0);
    proc_signal(redis_proc(t.replica), SIGCONT);
    store_close(st);
}

static long long calls_of(struct wfx *f, const char *cmd)
{
    redisReply *r = redisCommand(f->rc, "INFO commandstats");
    char key[64];
    const char *p;
    long long n = 0;

    snprintf(key, sizeof key, "cmdstat_%s:calls=", cmd);
    if (r && r->type == REDIS_REPLY_STRING && (p = strstr(r->str, key)))
        n = strtoll(p + strlen(key), NULL, 10);
    freeReplyObject(r);
    return n;
}

/* Two routes interleaved, default with watermark 2: one EVALSHA per route;
 * the third new event of default is refused for the backlog the first two
 * made inside the same call, and the repeat is a duplicate. */
TEST_T(enqueue_batch_one_call_per_route_decides_each_event, 30)
{
    static const char *const names[6] = {"d-1", "o-1", "d-2", "o-2", "d-3", "d-1"};
    static const char *const routes[6] = {"default", "other", "default", "other", "default",
                                          "default"};
    static const enum enqueue_status want[6] = {ENQ_QUEUED, ENQ_QUEUED,   ENQ_QUEUED,
                                                ENQ_QUEUED, ENQ_OVERLOAD, ENQ_DUPLICATE};
    struct wfx f;
    struct batch b;
    struct store_enqueue_job *jobs[6];

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "other", "warm", "{}"); /* script loaded, connection open */
    batch_init(&b);
    /* six distinct jobs over five events: the sixth repeats d-1 */
    struct store_enqueue_job six[6];
    for (int i = 0; i < 6; i++) {
        int e = i < BATCH ? i : 0;
        snprintf(b.ids[e], sizeof b.ids[e], "%s", names[e]);
        b.ev[e].event_id_len = strlen(b.ids[e]);
        six[i] = (struct store_enqueue_job){
            .route = routes[i], .ev = &b.ev[e], .ttl_s = 3600,
            .watermark = strcmp(routes[i], "default") == 0 ? 2 : 0};
        jobs[i] = &six[i];
    }
    freeReplyObject(redisCommand(f.rc, "CONFIG RESETSTAT"));
    store_enqueue_many(f.st, 6, jobs, 0, 0);
    ASSERT_INT_EQ(calls_of(&f, "evalsha"), 2);
    for (int i = 0; i < 6; i++) {
        ASSERT_INT_EQ(six[i].rc, 0);
        ASSERT_INT_EQ(six[i].res.status, want[i]);
    }
    ASSERT_INT_EQ(six[2].res.backlog, 2);
    ASSERT_INT_EQ(six[4].res.backlog, 2);
    ASSERT_INT_EQ(stream_len(&f), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "received"), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 2);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "overload_rejected"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicates"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "other", "received"), 3);
    ASSERT_INT_EQ(wfx_counter(&f, "other", "backlog"), 3);
    ASSERT(wfx_state_is(&f, "default", "d-1", "queued"));
    ASSERT(!wfx_state_is(&f, "default", "d-3", "queued"));
}

/* A paused route's events are refused in the same batch where another
 * route's are taken; an event whose XADD fails (its tenant stream's key
 * holds a string) after one was written fails alone: no record, no count,
 * the others stand. First in a call, the same failure is the call's error
 * reply (as READONLY is): every event of the call fails, nothing written. */
TEST_T(enqueue_batch_paused_and_failed_write_stay_per_event, 30)
{
    struct wfx f;
    struct batch b;

    wfx_start(&f, config, NULL);
    freeReplyObject(redisCommand(f.rc, "SET hookd:{other}:paused 1"));
    freeReplyObject(redisCommand(f.rc, "SET hookd:{default}:stream:bad x"));
    batch_init(&b);
    b.ev[0].tenant = "bad", b.ev[0].tenant_len = 3; /* ev-a: its XADD fails */
    store_enqueue_many(f.st, 2, b.jobs, 0, 0);      /* ev-a first: the call fails */
    ASSERT_INT_OP(b.job[0].rc, <, 0);
    ASSERT_INT_OP(b.job[1].rc, <, 0);
    ASSERT(!wfx_state_is(&f, "default", "ev-b", "queued"));
    ASSERT_INT_EQ(stream_len(&f), 0);

    batch_init(&b);
    b.ev[1].tenant = "bad", b.ev[1].tenant_len = 3; /* ev-b: its XADD fails */
    b.job[2].route = "other";                        /* ev-c: paused */
    store_enqueue_many(f.st, 4, b.jobs, 0, 0);      /* ev-a, ev-b, ev-c, ev-a */
    ASSERT_INT_EQ(b.job[0].rc, 0);
    ASSERT_INT_EQ(b.job[0].res.status, ENQ_QUEUED);
    ASSERT_INT_OP(b.job[1].rc, <, 0);
    ASSERT_INT_EQ(b.job[2].rc, 0);
    ASSERT_INT_EQ(b.job[2].res.status, ENQ_PAUSED);
    ASSERT_INT_EQ(b.job[3].rc, 0);
    ASSERT_INT_EQ(b.job[3].res.status, ENQ_DUPLICATE);
    char *rec = wfx_seen(&f, "default", "ev-b", "state");
    ASSERT(rec == NULL || rec[0] == '\0');
    free(rec);
    ASSERT(wfx_state_is(&f, "default", "ev-a", "queued"));
    ASSERT_INT_EQ(stream_len(&f), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "received"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicates"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "other", "received"), 0);
}

/* Entry i of STREAM has exactly the field/value pairs WANT (NULL-ended),
 * in that order; its id is returned in id. */
static void assert_entry(struct wfx *f, const char *stream, size_t i, const char *const *want,
                         char *id, size_t idcap)
{
    redisReply *e = redis_cmd(f->rc, "XRANGE %s - +", stream);
    size_t n = 0;

    ASSERT(e && e->type == REDIS_REPLY_ARRAY && e->elements > i);
    redisReply *fl = e->element[i]->element[1];
    while (want[n])
        n++;
    ASSERT_INT_EQ(fl->elements, n);
    for (size_t k = 0; k < n; k++)
        ASSERT_STR_EQ(fl->element[k]->str, want[k]);
    snprintf(id, idcap, "%s", e->element[i]->element[0]->str);
    freeReplyObject(e);
}

/* The entry's fields are the SPEC's, in its order, with the script's own
 * names: the receiver's event (traceparent its only optional field) and
 * one with a tenant, an order key and order_hold but no traceparent; the
 * records name their entries; verified:SOURCE:VERSION counts both. */
TEST_T(enqueue_batch_entry_fields_as_the_spec_lays_them_out, 30)
{
    static const char tp[] = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01";
    struct wfx f;
    struct batch b;
    char id[64];

    wfx_start(&f, config, NULL);
    batch_init(&b);
    b.ev[0].traceparent = tp;
    b.ev[0].received_at_ms = 1700000000123;
    b.ev[1].tenant = "acme", b.ev[1].tenant_len = 4;
    b.ev[1].order_key = "k-1", b.ev[1].order_key_len = 3, b.ev[1].order_hold = true;
    b.ev[1].sig_version = "v2";
    store_enqueue_many(f.st, 2, b.jobs, 0, 0);
    ASSERT_INT_EQ(b.job[0].rc, 0);
    ASSERT_INT_EQ(b.job[1].rc, 0);
    ASSERT_INT_EQ(b.job[0].res.backlog, 1);
    ASSERT_INT_EQ(b.job[1].res.backlog, 2);
    const char *const plain[] = {
        "event_id", "ev-a", "source", "github", "route", "default", "type", "push", "body", "{}",
        "body_sha256", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "headers", "{}", "sig_version", "v1", "received_at", "1700000000123", "request_id",
        "req-0", "traceparent", tp, "attempt", "1", NULL};
    assert_entry(&f, "hookd:{default}:stream", 0, plain, id, sizeof id);
    ASSERT_STR_EQ(id, b.job[0].res.stream_id);
    char *rec = wfx_seen(&f, "default", "ev-a", "updated_at");
    ASSERT_STR_EQ(rec, "1700000000123");
    free(rec);
    const char *const full[] = {
        "event_id", "ev-b", "source", "github", "route", "default", "type", "push", "body", "{}",
        "body_sha256", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "headers", "{}", "sig_version", "v2", "received_at", "1700000000000", "request_id",
        "req-1", "tenant", "acme", "order_key", "k-1", "attempt", "1", NULL};
    assert_entry(&f, "hookd:{default}:stream:acme", 0, full, id, sizeof id);
    ASSERT_STR_EQ(id, b.job[1].res.stream_id);
    rec = wfx_seen(&f, "default", "ev-b", "stream_id");
    ASSERT_STR_EQ(rec, id);
    free(rec);
    rec = wfx_seen(&f, "default", "ev-b", "order_list");
    ASSERT_STR_EQ(rec, "hookd:{default}:order:k-1");
    free(rec);
    rec = wfx_seen(&f, "default", "ev-b", "order_hold");
    ASSERT_STR_EQ(rec, "1");
    free(rec);
    ASSERT_INT_EQ(redis_int(f.rc, "SISMEMBER hookd:{default}:tenants acme"), 1);
    ASSERT_INT_EQ(redis_int(f.rc, "LLEN hookd:{default}:order:k-1"), 1);
    long long ttl = redis_int(f.rc, "TTL hookd:{default}:seen:github:ev-b");
    ASSERT(ttl > 3500 && ttl <= 3600);
    ttl = redis_int(f.rc, "TTL hookd:{default}:order:k-1");
    ASSERT(ttl > 3500 && ttl <= 3600);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "verified:github:v1"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "verified:github:v2"), 1);
}

/* One record already there (ev-b), a new event twice in the call (ev-c):
 * the call's first test finds a duplicate, so each event is tested alone,
 * and the repeat is a duplicate of the entry made just before it. The
 * backlog each event reports counts what was queued before it. */
TEST_T(enqueue_batch_old_and_new_duplicates_in_one_call, 30)
{
    static const char *const names[BATCH] = {"ev-a", "ev-b", "ev-c", "ev-c", "ev-d"};
    static const enum enqueue_status want[BATCH] = {ENQ_QUEUED, ENQ_DUPLICATE, ENQ_QUEUED,
                                                    ENQ_DUPLICATE, ENQ_QUEUED};
    static const int64_t backlog[BATCH] = {2, 2, 3, 3, 4};
    struct wfx f;
    struct batch b;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "ev-b", "{}");
    batch_init(&b);
    for (int i = 0; i < BATCH; i++) {
        snprintf(b.ids[i], sizeof b.ids[i], "%s", names[i]);
        b.ev[i].event_id_len = strlen(b.ids[i]);
    }
    store_enqueue_many(f.st, BATCH, b.jobs, 0, 0);
    for (int i = 0; i < BATCH; i++) {
        ASSERT_INT_EQ(b.job[i].rc, 0);
        ASSERT_INT_EQ(b.job[i].res.status, want[i]);
        ASSERT_INT_EQ(b.job[i].res.backlog, backlog[i]);
    }
    ASSERT_STR_EQ(b.job[3].res.prior_state, "queued");
    ASSERT_INT_EQ(stream_len(&f), 4);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "received"), 4);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 4);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicates"), 2);
}

/* The paused flag and the records share the call's first EXISTS: on a
 * paused route a redelivery is still a duplicate and a new event paused;
 * resumed, the same call queues the new one. */
TEST_T(enqueue_batch_paused_route_still_answers_duplicates, 30)
{
    struct wfx f;
    struct batch b;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "ev-a", "{}");
    freeReplyObject(redisCommand(f.rc, "SET hookd:{default}:paused 1"));
    batch_init(&b);
    store_enqueue_many(f.st, 2, b.jobs, 0, 0); /* ev-a (seen), ev-b (new) */
    ASSERT_INT_EQ(b.job[0].rc, 0);
    ASSERT_INT_EQ(b.job[0].res.status, ENQ_DUPLICATE);
    ASSERT_INT_EQ(b.job[0].res.backlog, 1);
    ASSERT_INT_EQ(b.job[1].rc, 0);
    ASSERT_INT_EQ(b.job[1].res.status, ENQ_PAUSED);
    ASSERT_INT_EQ(stream_len(&f), 1);
    freeReplyObject(redisCommand(f.rc, "DEL hookd:{default}:paused"));
    batch_init(&b);
    store_enqueue_many(f.st, 2, b.jobs + 1, 0, 0); /* ev-b, ev-c: both new */
    ASSERT_INT_EQ(b.job[1].res.status, ENQ_QUEUED);
    ASSERT_INT_EQ(b.job[2].res.status, ENQ_QUEUED);
    ASSERT_INT_EQ(b.job[2].res.backlog, 3);
    ASSERT_INT_EQ(stream_len(&f), 3);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicates"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "received"), 3);
}
