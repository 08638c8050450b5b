/*
 * chaos_verify.c — the end-of-run checks of the chaos tests (chaos_verify
 * in chaos_fixture.h): after faults, every event that got a 2xx is settled
 * in exactly one of processed / dead, appears at most once in the stream,
 * and was seen by its handler at least once. Prints the run's figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_fixture.h"

struct tally {
    int stream, dead, runs;
    char state[24];
};

static int index_of(const struct chaos *c, const char *id, size_t len)
{
    for (int i = 0; i < c->nev; i++)
        if (strlen(c->ev[i].id) == len && memcmp(c->ev[i].id, id, len) == 0)
            return i;
    return -1;
}

/* Reads every event's state; returns how many acked ones are not settled. */
static int read_states(struct chaos *c, struct tally *t)
{
    int unsettled = 0;

    for (int i = 0; i < c->nev; i++) {
        redisReply *r =
            redisCommand(c->rc, "HGET hookd:{default}:seen:github:%s state", c->ev[i].id);
        t[i].state[0] = '\0';
        if (r && r->type == REDIS_REPLY_STRING)
            snprintf(t[i].state, sizeof t[i].state, "%s", r->str);
        if (r)
            freeReplyObject(r);
        else
            chaos_reconnect(c);
        int settled = !strcmp(t[i].state, "processed") || !strcmp(t[i].state, "failed_permanent");
        unsettled += atomic_load(&c->ev[i].acked) && !settled;
    }
    return unsettled;
}

/* Counts, per event, the entries of a stream whose event_id field is its id. */
static void count_stream(struct chaos *c, const char *key, struct tally *t, int dead)
{
    redisReply *r = redis_cmd(c->rc, "XRANGE %s - +", key);

    ASSERT_INT_EQ(r->type, REDIS_REPLY_ARRAY);
    for (size_t e = 0; e < r->elements; e++) {
        redisReply *f = r->element[e]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "event_id") != 0)
                continue;
            int i = index_of(c, f->element[k + 1]->str, f->element[k + 1]->len);
            if (i < 0)
                test_fail(__FILE__, __LINE__, "%s holds an event nobody sent: %s", key,
                          f->element[k + 1]->str);
            if (dead)
                t[i].dead++;
            else
                t[i].stream++;
        }
    }
    freeReplyObject(r);
}

static void count_runs(const struct chaos *c, struct tally *t)
{
    char *text = harness_read_file(harness_path("runs"), NULL);

    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = strcspn(line, " \n");
        int i = index_of(c, line, len);
        if (i >= 0)
            t[i].runs++;
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

/* Handler runs an event needs by design (its deliberate failures). */
static int expected_runs(const char *id)
{
    static const struct {
        const char *suffix;
        int runs;
    } kinds[] = {{"-hang", 2}, {"-crash", 2}, {"-fail", 3}, {"-perm", 1}, {"-killworker", 2}};
    size_t n = strlen(id);

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t s = strlen(kinds[k].suffix);
        if (n > s && strcmp(id + n - s, kinds[k].suffix) == 0)
            return kinds[k].runs;
    }
    return 1;
}

static int sum_sends(const struct chaos *c)
{
    int n = 0;
    for (int i = 0; i < c->nev; i++)
        n += atomic_load(&c->ev[i].sends);
    return n;
}

static void assert_no_secret(struct proc *p)
{
    char *log = proc_log(p);
    if (strstr(log, CHAOS_SECRET))
        test_fail(__FILE__, __LINE__, "the secret is in %s's log", proc_name(p));
    free(log);
}

void chaos_verify(struct chaos *c, const char *label)
{
    struct tally *t = calloc((size_t)c->nev, sizeof *t);
    int processed = 0, dead = 0, lost = 0, runs = 0, dups = 0, acked = chaos_acked(c);

    ASSERT_NOT_NULL(t);
    int64_t deadline = harness_now_ms() + CHAOS_SETTLE_TIMEOUT_MS;
    for (unsigned k = 0; (chaos_supervise(c), read_states(c, t)) > 0; k++) {
        if (harness_now_ms() > deadline)
            break; /* counted as lost below */
        harness_backoff(k + 4);
    }
    count_stream(c, "hookd:{default}:stream", t, 0);
    count_stream(c, "hookd:{default}:dead", t, 1);
    count_runs(c, t);
    for (int i = 0; i < c->nev; i++) {
        const char *id = c->ev[i].id;
        int is_processed = !strcmp(t[i].state, "processed");
        int is_dead = !strcmp(t[i].state, "failed_permanent");
        runs += t[i].runs;
        if (t[i].runs > expected_runs(id))
            dups += t[i].runs - expected_runs(id);
        if (!atomic_load(&c->ev[i].acked))
            continue;
        processed += is_processed, dead += is_dead;
        lost += !is_processed && !is_dead;
        if (t[i].stream > 1)
            test_fail(__FILE__, __LINE__, "%s: %s is %d times in the stream", label, id,
                      t[i].stream);
        if ((is_processed && t[i].dead != 0) || (is_dead && t[i].dead != 1))
            test_fail(__FILE__, __LINE__, "%s: %s is %s with %d dead letters", label, id,
                      t[i].state, t[i].dead);
        if (t[i].runs < 1)
            test_fail(__FILE__, __LINE__, "%s: the handler never saw %s", label, id);
    }
    fprintf(stderr,
            "    chaos %s: events sent %d, acked %d, processed %d, dead %d, lost %d, "
            "handler runs %d, duplicate runs %d, deliveries %d, worker restarts %d\n",
            label, c->nev, acked, processed, dead, lost, runs, dups, sum_sends(c),
            c->worker_restarts);
    ASSERT_INT_EQ(lost, 0);
    if (c->ordered) { /* nothing held for ever: every key's list ran dry */
        redisReply *r = redis_cmd(c->rc, "KEYS hookd:{default}:order:*");
        ASSERT_INT_EQ(r->elements, 0);
        freeReplyObject(r);
        char *held = redis_str(c->rc, "HGET hookd:{default}:counters held");
        fprintf(stderr, "    chaos %s: held %s times behind an earlier event of their key\n",
                label, held ? held : "0");
        free(held);
    }
    ASSERT_INT_EQ(acked, c->nev);
    assert_no_secret(c->receiver);
    for (int i = 0; i < c->nworkers; i++)
        assert_no_secret(c->workers[i]);
    free(t);
}
