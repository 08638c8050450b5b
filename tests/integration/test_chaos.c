/*
 * test_chaos.c — hookd end to end under faults, with real processes: a
 * provider-like load (several senders, each re-sending whatever got no 2xx)
 * while the receiver, a worker or Redis is killed -9, Redis is frozen past
 * the receiver's timeout, handlers hang, crash, fail or crawl, a worker dies
 * between its handler's success and recording it, and the network between
 * receiver and Redis drops, stalls or half-closes (tests/tools/faultproxy).
 *
 * After each: every event that got a 2xx is processed or dead (exactly one),
 * at most once in the stream, and seen by a handler at least once; the
 * figures are printed (chaos_verify); an ordered run also leaves no key
 * wedged. Windows that give a second handler
 * run: a worker killed after its handler succeeded and before the success
 * was recorded, and a handler outliving visibility_timeout.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chaos_fixture.h"

#define LOAD_TIMEOUT_MS 40000

static const char *mixed_kind(int i)
{
    static const char *const kinds[] = {"", "",     "slow", "",      "fail",
                                        "", "hang", "",     "crash", "perm"};
    return kinds[i % 10];
}

TEST_T(chaos_receiver_killed_mid_load, 90)
{
    struct chaos c;

    chaos_start(&c, &(struct chaos_opts){.workers = 2});
    chaos_events(&c, "rk", 160, NULL);
    chaos_send_start(&c, 4, LOAD_TIMEOUT_MS);
    chaos_wait_acked(&c, 40, 20000);
    proc_kill(c.receiver); /* kill -9 with requests in flight */
    usleep(300 * 1000);
    chaos_restart_receiver(&c);
    chaos_wait_acked(&c, 100, 20000);
    proc_kill(c.receiver);
    chaos_restart_receiver(&c);
    chaos_send_wait(&c);
    chaos_verify(&c, "receiver kill -9 x2");
}

TEST_T(chaos_worker_killed_mid_handler, 90)
{
    struct chaos c;

    chaos_start(&c, &(struct chaos_opts){.workers = 2});
    chaos_events(&c, "wk", 60, NULL);
    chaos_events(&c, "wks", 20, mixed_kind); /* some slow ones, held by handlers */
    chaos_events(&c, "wkk", 4, NULL);
    /* Handlers that succeed, then kill their worker before it records it. */
    for (int i = 0; i < 4; i++)
        strncat(c.ev[c.nev - 1 - i].id, "-killworker", sizeof c.ev[0].id - strlen(c.ev[0].id) - 1);
    chaos_send_start(&c, 4, LOAD_TIMEOUT_MS);
    chaos_wait_acked(&c, 30, 20000);
    for (int k = 0; k < 3; k++) { /* kill -9 a worker, whatever it is doing */
        usleep(200 * 1000);
        proc_kill(c.workers[k % c.nworkers]);
        chaos_supervise(&c);
    }
    chaos_send_wait(&c);
    chaos_verify(&c, "worker kill -9");
    ASSERT_INT_OP(c.worker_restarts, >=, 3);
}

TEST_T(chaos_redis_killed_and_restarted, 90)
{
    struct chaos c;

    chaos_start(&c, &(struct chaos_opts){.workers = 2});
    chaos_events(&c, "rd", 160, NULL);
    chaos_send_start(&c, 4, LOAD_TIMEOUT_MS);
    chaos_wait_acked(&c, 50, 20000);
    redis_kill(c.redis); /* no shutdown: only the AOF (fsync always) survives */
    usleep(500 * 1000);
    redis_restart(c.redis);
    chaos_reconnect(&c);
    chaos_send_wait(&c);
    chaos_verify(&c, "redis kill -9");
}

TEST_T(chaos_redis_frozen_past_timeout, 90)
{
    struct chaos c;

    chaos_start(&c, &(struct chaos_opts){.workers = 2});
    chaos_events(&c, "rf", 120, NULL);
    chaos_send_start(&c, 4, LOAD_TIMEOUT_MS);
    chaos_wait_acked(&c, 30, 20000);
    proc_signal(redis_proc(c.redis), SIGSTOP); /* 4x the receiver's 500 ms */
    usleep(2000 * 1000);
    proc_signal(redis_proc(c.redis), SIGCONT);
    chaos_send_wait(&c);
    chaos_verify(&c, "redis SIGSTOP 2s");
    ASSERT(proc_alive(c.receiver));
}

TEST_T(chaos_handlers_hang_crash_fail_slow, 90)
{
    struct chaos c;

    chaos_start(&c, &(struct chaos_opts){.workers = 2, .max_attempts = 4});
    chaos_events(&c, "hd", 80, mixed_kind);
    chaos_send_start(&c, 4, LOAD_TIMEOUT_MS);
    chaos_send_wait(&c);
    chaos_verify(&c, "handlers hang/crash/fail/slow/permanent");
}

/* Per-key ordering under the same faults: workers killed -9 (also between a
 * handler's success and its record), handlers that hang, crash, fail, crawl
 * or fail for good, over six keys. Nothing lost, and no key wedged: every
 * held event was put back and settled. */
TEST_T(chaos_ordered_keys_worker_kills_and_bad_handlers, 90)
{
    struct chaos c;

    chaos_start(&c, &(struct chaos_opts){.workers = 2, .max_attempts = 4, .ordered = 1});
    chaos_events(&c, "ok", 60, mixed_kind);
    chaos_events(&c, "okk", 3, NULL);
    for (int i = 0; i < 3; i++)
        strncat(c.ev[c.nev - 1 - i].id, "-killworker", sizeof c.ev[0].id - strlen(c.ev[0].id) - 1);
    chaos_send_start(&c, 4, LOAD_TIMEOUT_MS);
    chaos_wait_acked(&c, 20, 20000);
    for (int k = 0; k < 2; k++) {
        usleep(300 * 1000);
        proc_kill(c.workers[k % c.nworkers]);
        chaos_supervise(&c);
    }
    chaos_send_wait(&c);
    chaos_verify(&c, "ordered keys, worker kill -9, bad handlers");
}

/* Faults on the receiver's link to Redis; the workers' link is direct. */
TEST_T(chaos_network_faults_receiver_to_redis, 120)
{
    struct chaos c;
    static const char *const faults[] = {"delay 1500", "blackhole", "drop", "halfclose"};

    chaos_start(&c, &(struct chaos_opts){.workers = 1, .proxy = 1});
    chaos_events(&c, "nf", 160, NULL);
    chaos_send_start(&c, 4, 60000);
    pid_t receiver_pid = proc_pid(c.receiver);
    for (size_t f = 0; f < sizeof faults / sizeof faults[0]; f++) {
        chaos_wait_acked(&c, 20 + 30 * (int)f, 20000);
        chaos_proxy(&c, faults[f]);
        usleep(1500 * 1000);
        chaos_proxy(&c, "pass");
    }
    chaos_send_wait(&c);
    chaos_verify(&c, "network delay/blackhole/drop/half-close");
    /* Recovered by itself: the same receiver process serves again. */
    ASSERT(proc_alive(c.receiver));
    ASSERT_INT_EQ(proc_pid(c.receiver), receiver_pid);
}
