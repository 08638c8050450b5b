/*
 * test_worker_steps.c — the worker's atomic steps (store_worker.h) driven
 * directly against a real redis-server, for the races a whole worker makes
 * hard to hit on cue: a BEGIN re-sent after a timeout (the first one ran in
 * a Redis that was frozen), a handler that succeeds after another worker
 * already dead-lettered its event, the fair read that also begins the entry
 * it hands out (skips, stray copies, the dedupe record's name), and an
 * outcome step pipelined with the next read, including lost replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "store_admin.h"
#include "store_worker.h"
#include "worker_fixture.h"

static const char config[] = "[route default]\nhandler = exec:/bin/true\n";

/* The next new entry of the default route, read as a worker would. */
static struct store_event *read_one(struct wfx *f, const char *consumer)
{
    struct store_streams s;
    struct store_event *ev = NULL;

    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_group_ensure(f->st, "default"), 0);
    ASSERT_INT_EQ(store_streams_refresh(f->st, &s, true), 0);
    ASSERT_INT_EQ(store_read_fair(f->st, &s, consumer, &ev), 0);
    store_streams_clear(&s);
    ASSERT_NOT_NULL(ev);
    return ev;
}

TEST_T(worker_step_begin_resent_counts_once, 30)
{
    struct store_begin_result b;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "tok-1", "{}");
    struct store_event *ev = read_one(&f, "w1");

    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w1/0/aaaa", &b), 0);
    ASSERT(b.run);
    ASSERT_INT_EQ(b.attempts, 1);
    /* The same start sent again (its reply was lost): still attempt 1. */
    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w1/0/aaaa", &b), 0);
    ASSERT(b.run);
    ASSERT_INT_EQ(b.attempts, 1);
    char *att = wfx_seen(&f, "default", "tok-1", "attempts");
    ASSERT_STR_EQ(att, "1");
    free(att);
    /* A new start (another worker claimed the entry): attempt 2. */
    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w2/0/bbbb", &b), 0);
    ASSERT(b.run);
    ASSERT_INT_EQ(b.attempts, 2);
    store_event_free(ev);
}

TEST_T(worker_step_finish_after_dead_removes_dead_letter, 30)
{
    struct store_begin_result b;
    bool applied = false;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "late-1", "{}");
    struct store_event *ev = read_one(&f, "w1");

    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w1/0/1", &b), 0);
    /* Worker 2 took over the entry and gave up on it... */
    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w2/0/2", &b), 0);
    ASSERT_INT_EQ(store_dead(f.st, ev, "exhausted", "gave up", 2, 3600, NULL, &applied), 0);
    ASSERT(applied);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_permanent"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_now"), 1);
    /* ...while worker 1's handler succeeded after all. */
    ASSERT_INT_EQ(store_finish(f.st, ev, 3600, NULL, &applied), 0);
    ASSERT(applied);
    ASSERT(wfx_state_is(&f, "default", "late-1", "processed"));
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 0);
    /* It was dead-lettered once (a counter never goes back); it is not
     * failed now. */
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_permanent"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_now"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    char *dead_id = wfx_seen(&f, "default", "late-1", "dead_id");
    ASSERT(dead_id == NULL);
    /* A second FINISH changes nothing. */
    ASSERT_INT_EQ(store_finish(f.st, ev, 3600, NULL, &applied), 0);
    ASSERT(!applied);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    store_event_free(ev);
}

/* ---- the fair read that also begins (store_read_begin) ---- */

/* The next new entry of the default route, read and begun as the worker
 * reads it; T->ev may be NULL. */
static void read_begin(struct wfx *f, const char *consumer, const char *token,
                       struct store_taken *t)
{
    struct store_start start = {.ttl_s = 3600, .token = token};
    struct store_streams s;
    size_t n = 0;

    memset(t, 0, sizeof *t);
    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_group_ensure(f->st, "default"), 0);
    ASSERT_INT_EQ(store_streams_refresh(f->st, &s, true), 0);
    ASSERT_INT_EQ(store_read_begin(f->st, &s, consumer, &start, t, 1, &n), 0);
    ASSERT(n == (t->ev ? 1u : 0u));
    store_streams_clear(&s);
}

static long long attempts_of(struct wfx *f, const char *id)
{
    char *a = wfx_seen(f, "default", id, "attempts");
    long long n = a ? strtoll(a, NULL, 10) : -1;

    free(a);
    return n;
}

TEST_T(worker_step_read_begin_starts_then_skips_closed_copy, 30)
{
    struct store_taken t, t2;
    bool applied = false;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "fold-1", "{}");
    read_begin(&f, "w1", "w1/0/1", &t);
    ASSERT_NOT_NULL(t.ev);
    ASSERT(t.begun);
    ASSERT(t.b.run);
    ASSERT_INT_EQ(t.b.attempts, 1);
    ASSERT(wfx_state_is(&f, "default", "fold-1", "processing"));
    char *tok = wfx_seen(&f, "default", "fold-1", "attempt_token");
    ASSERT_STR_EQ(tok, "w1/0/1");
    free(tok);
    ASSERT_INT_OP(redis_int(f.rc, "TTL hookd:{default}:seen:github:fold-1"), >, 0);
    ASSERT_INT_EQ(store_finish(f.st, t.ev, 3600, NULL, &applied), 0);
    ASSERT(applied);
    /* A stray copy of the processed event: acked and counted as a skip. */
    redisReply *r = redis_cmd(f.rc, "XADD hookd:{default}:stream * event_id fold-1 "
                                    "source github attempt 1 body {}");
    freeReplyObject(r);
    read_begin(&f, "w1", "w1/0/2", &t2);
    ASSERT_NOT_NULL(t2.ev);
    ASSERT(t2.begun);
    ASSERT(!t2.b.run);
    ASSERT_STR_EQ(t2.b.state, "processed");
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicate_skipped"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(attempts_of(&f, "fold-1"), 1);
    store_event_free(t.ev);
    store_event_free(t2.ev);
}

TEST_T(worker_step_read_begin_skips_stray_copy_of_open_event, 30)
{
    struct store_taken t, t2;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "open-1", "{}");
    redisReply *r = redis_cmd(f.rc, "XADD hookd:{default}:stream * event_id open-1 "
                                    "source github attempt 1 body {}");
    freeReplyObject(r);
    read_begin(&f, "w1", "w1/0/1", &t);
    ASSERT(t.ev && t.begun && t.b.run);
    /* The copy is not the record's current entry: skipped, its start not counted. */
    read_begin(&f, "w2", "w2/0/1", &t2);
    ASSERT(t2.ev && t2.begun && !t2.b.run);
    ASSERT_STR_EQ(t2.b.state, "processing");
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 1);
    ASSERT_INT_EQ(attempts_of(&f, "open-1"), 1);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "duplicate_skipped"), 1);
    store_event_free(t.ev);
    store_event_free(t2.ev);
}

TEST_T(worker_step_read_begin_resent_counts_once_per_start, 30)
{
    struct store_taken t, t2;
    struct store_begin_result b;
    struct store_streams s;
    struct store_event *ev = NULL;
    bool done = false;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "re-1", "{}");
    wfx_enqueue(&f, "default", "re-2", "{}");
    read_begin(&f, "w1", "w1/0/a", &t);
    ASSERT_STR_EQ(t.ev->event_id, "re-1");
    /* The same step sent again (its reply lost): it takes the next entry;
     * re-1's start stays counted once. */
    read_begin(&f, "w1", "w1/0/a", &t2);
    ASSERT_STR_EQ(t2.ev->event_id, "re-2");
    ASSERT_INT_EQ(attempts_of(&f, "re-1"), 1);
    ASSERT_INT_EQ(attempts_of(&f, "re-2"), 1);
    /* BEGIN re-sent for that start finds its token: still attempt 1. */
    ASSERT_INT_EQ(store_begin(f.st, t.ev, 3600, "w1/0/a", &b), 0);
    ASSERT(b.run);
    ASSERT_INT_EQ(b.attempts, 1);
    /* re-1, left pending, is claimed: a new start, attempt 2. */
    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_claim_next(f.st, &s, "w2", 0, &ev, &done), 0);
    store_streams_clear(&s);
    ASSERT_NOT_NULL(ev);
    ASSERT_STR_EQ(ev->event_id, "re-1");
    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w2/0/b", &b), 0);
    ASSERT(b.run);
    ASSERT_INT_EQ(b.attempts, 2);
    store_event_free(ev);
    store_event_free(t.ev);
    store_event_free(t2.ev);
}

TEST_T(worker_step_read_begin_names_record_as_c_does, 30)
{
    char id[241], key[400];
    struct store_taken t;
    struct wfx f;

    wfx_start(&f, config, NULL);
    /* Another key prefix, and a long id holding key syntax. */
    struct store *other = wfx_store(&f, "pfx:x", 2000);
    for (size_t i = 0; i < sizeof id - 1; i++)
        id[i] = "a{b}:c|"[i % 7];
    id[sizeof id - 1] = '\0';
    struct store *saved = f.st;
    f.st = other;
    wfx_enqueue(&f, "default", id, "{}");
    read_begin(&f, "w1", "w1/0/1", &t);
    f.st = saved;
    ASSERT(t.ev && t.begun && t.b.run);
    snprintf(key, sizeof key, "pfx:x:{default}:seen:github:%s", id);
    char *state = redis_str(f.rc, "HGET %s state", key);
    ASSERT_STR_EQ(state, "processing");
    free(state);
    ASSERT_INT_EQ(redis_int(f.rc, "HEXISTS pfx:x:{default}:counters duplicate_skipped"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:github:%s", id), 0);
    store_event_free(t.ev);
    store_close(other);
}

/* FINISH of E1 and the read that begins E2 over the streams S: RC and
 * READ_RC. In one write when S has several streams (the read script);
 * with one, the read is a plain XREADGROUP after the outcome. */
static void finish_then_read(struct store *st, struct store_streams *s,
                             const struct store_event *e1, bool *applied,
                             struct store_taken *next, int *rc, int *read_rc)
{
    struct store_start start = {.ttl_s = 3600, .token = "w1/0/2"};
    struct store_outcome o = {.kind = STORE_FINISH, .ev = e1, .ttl_s = 3600};
    size_t n = 0;

    memset(next, 0, sizeof *next);
    *rc = store_outcomes_then_read(st, &o, 1, applied, s, "w1", &start, next, 1, &n, read_rc);
}

TEST_T(worker_step_outcome_then_read_in_one_write, 30)
{
    struct store_taken t, next;
    bool applied = false;
    int rc, read_rc;
    struct wfx f;

    wfx_start(&f, config, NULL);
    wfx_enqueue(&f, "default", "p-1", "{}");
    wfx_enqueue(&f, "default", "p-2", "{}");
    read_begin(&f, "w1", "w1/0/1", &t);
    struct store_streams s;
    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    s.checked_ms = 1; /* the default stream only: no refresh needed */
    finish_then_read(f.st, &s, t.ev, &applied, &next, &rc, &read_rc);
    store_streams_clear(&s);
    ASSERT_INT_EQ(rc, 0);
    ASSERT(applied);
    ASSERT_INT_EQ(read_rc, 0);
    ASSERT(next.ev && next.begun && next.b.run);
    ASSERT_STR_EQ(next.ev->event_id, "p-2");
    ASSERT(wfx_state_is(&f, "default", "p-1", "processed"));
    ASSERT(wfx_state_is(&f, "default", "p-2", "processing"));
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 1);
    store_event_free(t.ev);
    store_event_free(next.ev);
}

/* The pipeline (outcome and read script, a route with several streams)
 * ran in Redis but its replies were lost (Redis was frozen
 * past the store's timeout, which drops the connection; it ran the steps
 * when it woke): the outcome goes again alone, and the entry the read took
 * stays pending, begun, until it is claimed: nothing is lost or counted
 * twice. */
TEST_T(worker_step_outcome_then_read_reply_lost, 30)
{
    struct store_taken t, next;
    struct store_begin_result b;
    struct store_streams s;
    struct store_event *ev = NULL;
    bool applied = false, done = false;
    int rc, read_rc;
    struct wfx f;

    wfx_start(&f, config, NULL);
    struct store *st = wfx_store(&f, "hookd", 300);
    wfx_enqueue(&f, "default", "lost-0", "{}");
    wfx_enqueue(&f, "default", "lost-1", "{}");
    wfx_enqueue(&f, "default", "lost-2", "{}");
    /* A second stream (a tenant's, empty): reads go through the read
     * script, in one write with the outcome. */
    ASSERT_INT_EQ(redis_int(f.rc, "SADD hookd:{default}:tenants t"), 1);
    struct store *saved = f.st;
    f.st = st;
    read_begin(&f, "w1", "w1/0/0", &t); /* lost-0: loads the scripts (no NOSCRIPT later) */
    ASSERT_INT_EQ(store_finish(st, t.ev, 3600, NULL, &applied), 0);
    store_event_free(t.ev);
    read_begin(&f, "w1", "w1/0/1", &t);
    f.st = saved;
    ASSERT(t.ev && t.b.run);
    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_streams_refresh(st, &s, true), 0);
    ASSERT_INT_EQ(s.n, 2);
    /* Freeze Redis for 1 s from a connection of its own (reply read later). */
    redisContext *frozen = redis_connect(f.redis);
    ASSERT_INT_EQ(redisAppendCommand(frozen, "DEBUG SLEEP 1"), REDIS_OK);
    int wdone = 0;
    while (!wdone)
        ASSERT_INT_EQ(redisBufferWrite(frozen, &wdone), REDIS_OK);
    usleep(100 * 1000);
    finish_then_read(st, &s, t.ev, &applied, &next, &rc, &read_rc);
    store_streams_clear(&s);
    ASSERT_INT_EQ(rc, HOOKD_EREDIS_TIMEOUT);
    ASSERT_INT_OP(read_rc, <, 0);
    ASSERT(next.ev == NULL);
    void *r = NULL;
    ASSERT_INT_EQ(redisGetReply(frozen, &r), REDIS_OK);
    freeReplyObject(r);
    redisFree(frozen);
    /* Both ran once Redis woke: lost-1 processed, lost-2 begun and pending. */
    WAIT_FOR(wfx_state_is(&f, "default", "lost-1", "processed"), 5000);
    ASSERT(wfx_state_is(&f, "default", "lost-2", "processing"));
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 1);
    /* The worker retries the outcome alone: nothing counted twice. */
    ASSERT_INT_EQ(store_finish(st, t.ev, 3600, NULL, &applied), 0);
    ASSERT(!applied);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 2);
    /* lost-2 is claimed (after visibility_timeout; 0 here): a new start. */
    ASSERT_INT_EQ(store_streams_init(&s, "default"), 0);
    ASSERT_INT_EQ(store_claim_next(f.st, &s, "w2", 0, &ev, &done), 0);
    store_streams_clear(&s);
    ASSERT_NOT_NULL(ev);
    ASSERT_STR_EQ(ev->event_id, "lost-2");
    ASSERT_INT_EQ(store_begin(f.st, ev, 3600, "w2/0/1", &b), 0);
    ASSERT(b.run);
    ASSERT_INT_EQ(b.attempts, 2);
    ASSERT_INT_EQ(store_finish(f.st, ev, 3600, NULL, &applied), 0);
    ASSERT(applied);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "processed"), 3);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "backlog"), 0);
    ASSERT_INT_EQ(wfx_pending(&f, "default"), 0);
    store_event_free(ev);
    store_event_free(t.ev);
    store_close(st);
}

/* Appends ",TENANT" to the buffer ARG; fails (-7) at tenant "stop". */
static int note_stream(struct store *st, const char *route, const char *tenant, void *arg)
{
    char *seen = arg;
    size_t n = strlen(seen);

    snprintf(seen + n, 256 - n, ",%s", tenant);
    return strcmp(tenant, "stop") == 0 ? -7 : 0;
}

/* store_each_stream: the route's own stream first, then each tenant's in
 * name order; a failure stops the walk and is returned. The group steps
 * built on it reach every stream. */
TEST_T(worker_step_each_stream_default_then_tenants, 30)
{
    char seen[256] = "";
    struct wfx f;

    wfx_start(&f, config, NULL);
    freeReplyObject(redis_cmd(f.rc, "SADD hookd:{default}:tenants zeta acme"));
    ASSERT_INT_EQ(store_each_stream(f.st, "default", note_stream, seen), 0);
    ASSERT_STR_EQ(seen, ",,acme,zeta");
    ASSERT_INT_EQ(store_group_ensure(f.st, "default"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:stream:zeta"), 0);
    redisReply *r = redis_cmd(f.rc, "XINFO GROUPS hookd:{default}:stream:zeta");
    ASSERT_INT_EQ(r->type, REDIS_REPLY_ARRAY);
    ASSERT_INT_EQ(r->elements, 1);
    freeReplyObject(r);
    freeReplyObject(redis_cmd(f.rc, "SADD hookd:{default}:tenants stop"));
    seen[0] = '\0';
    ASSERT_INT_EQ(store_each_stream(f.st, "default", note_stream, seen), -7);
    ASSERT_STR_EQ(seen, ",,acme,stop");
}
