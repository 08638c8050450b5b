/*
 * test_ordering.c — per-key ordering (route order_by) through a real
 * receiver, redis-server and four hookd-worker processes: 2,000 events
 * over 50 keys sent interleaved at random, handlers failing at random,
 * and every key's sequence reaching the handler strictly in order; the
 * same load on a route without order_by does get reordered (the check can
 * fail). Then the hostile keys: absent, not a string, very long, a body
 * that is not JSON. The crash case (a worker killed mid-event) is in
 * test_worker_crash.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingress_fixture.h"

#define NKEYS 50

static const char ordering_conf[] = "[receiver]\n"
                                    "listen = 127.0.0.1:@PORT@\n"
                                    "admin_listen = 127.0.0.1:@ADMIN@\n"
                                    "admin_token = test-admin-token\n"
                                    "threads = 2\n"
                                    "max_body = 64k\n"
                                    "[redis]\n"
                                    "url = @REDIS@\n"
                                    "timeout = 2s\n"
                                    "[source github]\n"
                                    "scheme = github\n"
                                    "secret.v1 = gh-secret-one\n"
                                    "[route ordered]\n"
                                    "match = github:ordered\n"
                                    "order_by = json:/key\n"
                                    "handler = exec:@HANDLER@ @DIR@/ordered.d @FAIL@\n"
                                    "exec_mode = persistent\n"
                                    "retry_schedule = 0s, 20ms, 50ms\n"
                                    "max_attempts = 200\n"
                                    "[route unordered]\n"
                                    "match = github:unordered\n"
                                    "handler = exec:@HANDLER@ @DIR@/unordered.d @FAIL@\n"
                                    "exec_mode = persistent\n"
                                    "retry_schedule = 0s, 20ms, 50ms\n"
                                    "max_attempts = 200\n"
                                    "[route default]\n"
                                    "handler = exec:/bin/true\n";

static void start(struct fixture *f, const char *fail)
{
    const char *vars[] = {"@HANDLER@", harness_bin("tools/order_handler"), "@DIR@",
                          harness_tmpdir(), "@FAIL@", fail, NULL};
    char *conf = harness_expand(ordering_conf, vars);

    harness_write_file("ordered.d/.keep", "");
    harness_write_file("unordered.d/.keep", "");
    fixture_start(f, conf);
    free(conf);
}

static long long counter(struct fixture *f, const char *route, const char *name)
{
    return redis_num(f->rc, "HGET hookd:{%s}:counters %s", route, name);
}

/* Sends N events of TYPE over NKEYS keys, interleaved at random, each
 * key's seq counting 1, 2, ...; sent[k] = how many key k got. */
static void send_shuffled(struct fixture *f, const char *type, int n, int sent[NKEYS],
                          unsigned *seed)
{
    char body[128], id[64];

    memset(sent, 0, NKEYS * sizeof *sent);
    for (int i = 0; i < n; i++) {
        int k = (int)(rand_r(seed) % NKEYS);
        snprintf(body, sizeof body, "{\"key\":\"k%02d\",\"seq\":%d}", k, ++sent[k]);
        snprintf(id, sizeof id, "%s-%d", type, i);
        ASSERT_INT_EQ(fixture_post_github(f, "gh-secret-one", id, type, body, NULL), 202);
        if (rand_r(seed) % 16 == 0) /* gaps: keys arrive in bursts and trickles */
            usleep(rand_r(seed) % 3000);
    }
}

/* Reads DIR/NAME.d/ordered; returns how many lines break a key's order
 * (a seq not above the one before it) and checks each key's count. */
static int order_breaks(const char *name, const int sent[NKEYS], int *lines)
{
    char path[600];
    int last[NKEYS] = {0}, got[NKEYS] = {0}, breaks = 0;
    char *text, *p;

    snprintf(path, sizeof path, "%s/%s.d/ordered", harness_tmpdir(), name);
    text = harness_read_file(path, NULL);
    ASSERT_NOT_NULL(text);
    *lines = 0;
    for (p = text; *p;) {
        int k, seq;
        ASSERT_INT_EQ(sscanf(p, "k%d %d", &k, &seq), 2);
        ASSERT(k >= 0 && k < NKEYS);
        breaks += seq <= last[k];
        last[k] = seq, got[k]++, (*lines)++;
        p = strchr(p, '\n');
        ASSERT_NOT_NULL(p);
        p++;
    }
    for (int k = 0; k < NKEYS; k++)
        ASSERT_INT_EQ(got[k], sent[k]);
    free(text);
    return breaks;
}

TEST_T(ordering_2000_events_4_workers_each_key_in_order, 150)
{
    struct fixture f;
    int sent[NKEYS], usent[NKEYS], lines;
    unsigned seed = (unsigned)getpid();
    struct proc *w[4];

    start(&f, "10");
    for (int i = 0; i < 4; i++) {
        const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, "-r", "ordered",
                              "-r", "unordered", NULL};
        w[i] = proc_start(argv, NULL, "worker");
    }
    send_shuffled(&f, "ordered", 2000, sent, &seed);
    send_shuffled(&f, "unordered", 400, usent, &seed);
    WAIT_FOR(counter(&f, "ordered", "processed") == 2000 &&
                 counter(&f, "unordered", "processed") == 400,
             100000);
    ASSERT_INT_EQ(order_breaks("ordered", sent, &lines), 0);
    ASSERT_INT_EQ(lines, 2000);
    /* The mechanism was exercised: later events were held behind retries. */
    ASSERT_INT_OP(counter(&f, "ordered", "held"), >, 0);
    ASSERT_INT_OP(counter(&f, "ordered", "retried"), >, 0);
    ASSERT_INT_EQ(counter(&f, "ordered", "backlog"), 0);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{ordered}:order:k00 hookd:{ordered}:order:k01"), 0);
    /* Without order_by the same load is reordered: the check above can fail. */
    ASSERT_INT_OP(order_breaks("unordered", usent, &lines), >, 0);
    for (int i = 0; i < 4; i++)
        proc_stop(w[i]);
}

TEST_T(ordering_hostile_keys, 40)
{
    struct fixture f;
    char *big = malloc(6000), *log = NULL, *v;
    int n;

    ASSERT_NOT_NULL(big);
    start(&f, "0");
    /* Absent, null, an object, a body that is not JSON: accepted, unordered. */
    const char *bodies[] = {"{\"seq\":1}", "{\"key\":null,\"seq\":1}",
                            "{\"key\":{\"a\":1},\"seq\":1}", "key=k01"};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "h-%d", i);
        ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", id, "ordered", bodies[i], NULL),
                      202);
        v = redis_str(f.rc, "HGET hookd:{ordered}:seen:github:%s order_list", id);
        ASSERT_NULL(v);
    }
    /* A very long key stands for itself by its SHA-256: still ordered. */
    n = snprintf(big, 6000, "{\"seq\":1,\"key\":\"");
    memset(big + n, 'x', 5000);
    memcpy(big + n + 5000, "\"}", 3);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "h-long", "ordered", big, NULL), 202);
    v = redis_str(f.rc, "HGET hookd:{ordered}:seen:github:h-long order_list");
    ASSERT_NOT_NULL(v);
    ASSERT_STR_CONTAINS(v, "hookd:{ordered}:order:sha256:");
    ASSERT_INT_EQ(strlen(v), strlen("hookd:{ordered}:order:sha256:") + 64);
    ASSERT_INT_EQ(redis_int(f.rc, "LLEN %s", v), 1);
    /* The request log says why an event went unordered. */
    WAIT_FOR((free(log), log = proc_log(f.receiver),
              log && strstr(log, "\"order_key_error\":\"body_not_json\"") &&
                  strstr(log, "\"order_key_error\":\"invalid_field\"") &&
                  strstr(log, "\"order_key_error\":\"missing_field\"")),
             5000);
    free(log);
    /* A worker runs all five; the long key's list is gone with its event. */
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, "-r", "ordered",
                          NULL};
    struct proc *w = proc_start(argv, NULL, "worker");
    WAIT_FOR(counter(&f, "ordered", "processed") == 5, 10000);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS %s", v), 0);
    free(v);
    free(big);
    proc_stop(w);
}

static const char dead_conf[] = "[receiver]\n"
                                "listen = 127.0.0.1:@PORT@\n"
                                "admin_listen = 127.0.0.1:@ADMIN@\n"
                                "admin_token = test-admin-token\n"
                                "[redis]\n"
                                "url = @REDIS@\n"
                                "[source github]\n"
                                "scheme = github\n"
                                "secret.v1 = gh-secret-one\n"
                                "[route cont]\n"
                                "match = github:cont\n"
                                "order_by = json:/key\n"
                                "handler = exec:@DIR@/h.sh\n"
                                "[route hold]\n"
                                "match = github:hold\n"
                                "order_by = json:/key\n"
                                "order_on_dead = hold\n"
                                "handler = exec:@DIR@/h.sh\n"
                                "[route default]\n"
                                "handler = exec:/bin/true\n";

static int state_is(struct fixture *f, const char *route, const char *id, const char *want)
{
    char *v = redis_str(f->rc, "HGET hookd:{%s}:seen:github:%s state", route, id);
    int ok = v && strcmp(v, want) == 0;

    free(v);
    return ok;
}

/* A dead event releases its key (order_on_dead = continue, the default), or
 * holds it until a replay of it finishes (hold). */
TEST_T(ordering_on_dead_continue_or_hold, 40)
{
    char script[300], *out = NULL;
    const char *vars[] = {"@DIR@", harness_tmpdir(), NULL};
    char *conf = harness_expand(dead_conf, vars);
    struct fixture f;

    snprintf(script, sizeof script,
             "#!/bin/sh\ncase \"$(cat)\" in *bad*) [ -e %s/fixed ] || exit 65;; esac\n"
             "echo \"$HOOKD_ROUTE $HOOKD_EVENT_ID\" >> %s/runs\n",
             harness_tmpdir(), harness_tmpdir());
    harness_write_file("h.sh", script);
    ASSERT_INT_EQ(chmod(harness_path("h.sh"), 0755), 0);
    fixture_start(&f, conf);
    free(conf);
    const char *types[] = {"cont", "hold"};
    for (int i = 0; i < 2; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s-1", types[i]);
        ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", id, types[i],
                                          "{\"key\":\"k\",\"bad\":1}", NULL),
                      202);
        snprintf(id, sizeof id, "%s-2", types[i]);
        ASSERT_INT_EQ(
            fixture_post_github(&f, "gh-secret-one", id, types[i], "{\"key\":\"k\"}", NULL), 202);
    }
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f.config_path, NULL};
    struct proc *w = proc_start(argv, NULL, "worker");
    WAIT_FOR(state_is(&f, "cont", "cont-2", "processed"), 10000);
    ASSERT(state_is(&f, "cont", "cont-1", "failed_permanent"));
    WAIT_FOR(state_is(&f, "hold", "hold-1", "failed_permanent") &&
                 state_is(&f, "hold", "hold-2", "held"),
             10000);
    usleep(300000); /* held stays held: nothing releases it */
    ASSERT(state_is(&f, "hold", "hold-2", "held"));
    ASSERT_INT_EQ(redis_int(f.rc, "LLEN hookd:{hold}:order:k"), 2);
    /* Nothing in flight keeps a held event alive: no TTL while it waits. */
    ASSERT_INT_EQ(redis_int(f.rc, "TTL hookd:{hold}:seen:github:hold-2"), -1);
    ASSERT_INT_EQ(redis_int(f.rc, "TTL hookd:{hold}:order:k"), -1);
    /* Operators see it: hookctl stats counts the hold. */
    const char *stats[] = {harness_bin("hookctl"), "-c", f.config_path, "stats", "--json", NULL};
    ASSERT_INT_EQ(harness_run(stats, &out, 20000), 0);
    ASSERT_STR_CONTAINS(out, "\"held\": 1");
    free(out);
    stats[4] = NULL;
    ASSERT_INT_EQ(harness_run(stats, &out, 20000), 0);
    ASSERT_STR_CONTAINS(out, "REPLAYED  HELD  BACKLOG");
    free(out);
    /* The fix, then the replay: the dead event runs first, then the held one. */
    harness_write_file("fixed", "");
    const char *replay[] = {harness_bin("hookctl"), "-c", f.config_path, "replay", "hold", "--all",
                            NULL};
    ASSERT_INT_EQ(harness_run(replay, &out, 20000), 0);
    free(out);
    WAIT_FOR(state_is(&f, "hold", "hold-2", "processed"), 10000);
    ASSERT_INT_OP(redis_int(f.rc, "TTL hookd:{hold}:seen:github:hold-2"), >, 0);
    out = harness_read_file(harness_path("runs"), NULL);
    ASSERT_NOT_NULL(out);
    ASSERT_STR_CONTAINS(out, "hold hold-1\nhold hold-2\n");
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{hold}:order:k hookd:{cont}:order:k"), 0);
    free(out);
    proc_stop(w);
}
