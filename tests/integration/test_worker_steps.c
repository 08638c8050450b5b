/*
 * test_worker_steps.c — the worker's atomic steps (store_worker.h) driven
 * directly against a real redis-server, for the races a whole worker makes
 * hard to hit on cue: a BEGIN re-sent after a timeout (the first one ran in
 * a Redis that was frozen) and a handler that succeeds after another worker
 * already dead-lettered its event.
 */
#include <stdlib.h>
#include <string.h>

#include "store_streams.h"
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
    /* ...while worker 1's handler succeeded after all. */
    ASSERT_INT_EQ(store_finish(f.st, ev, 3600, NULL, &applied), 0);
    ASSERT(applied);
    ASSERT(wfx_state_is(&f, "default", "late-1", "processed"));
    ASSERT_INT_EQ(redis_int(f.rc, "XLEN hookd:{default}:dead"), 0);
    ASSERT_INT_EQ(wfx_counter(&f, "default", "failed_permanent"), 0);
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
