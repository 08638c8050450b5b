/*
 * durable.c — see durable.h. The thread owns its own struct store (a store
 * is not thread-safe) and sleeps on a condition variable between checks, so
 * durable_stop() wakes it at once.
 *
 * Why a thread and not a check per request: INFO costs Redis a few
 * microseconds and the answer changes only when an operator changes the
 * config or a failover names another master; the request path pays one
 * atomic load.
 */
#include "durable.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "store_ingress.h"

#define DURABLE_RETRY_MS 1000 /* while Redis does not answer */

static atomic_int state = DURABLE_UNKNOWN;
static atomic_bool require;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool running, stopping;
static pthread_t thread;
static struct store *st; /* owned by the thread once started */
static int64_t interval_ms;

enum durable_state durable_state(void)
{
    return (enum durable_state)atomic_load_explicit(&state, memory_order_relaxed);
}

bool durable_refusing(void)
{
    return atomic_load_explicit(&require, memory_order_relaxed) && durable_state() != DURABLE_ON;
}

/* One INFO persistence; logs a change. False when Redis did not answer
 * (the state stays what it was: a failover's new master is read on the
 * next try). */
static bool check(void)
{
    bool on = false;
    enum durable_state now, before;

    int rc = store_aof_enabled(st, &on);

    if (rc == HOOKD_EREDIS_REPLY) /* answered, but not INFO as Redis gives it */
        return true;
    if (rc < 0)
        return false;
    now = on ? DURABLE_ON : DURABLE_OFF;
    before = (enum durable_state)atomic_exchange(&state, now);
    if (now == before)
        return true;
    if (now == DURABLE_OFF)
        log_msg(LOG_WARN, EV_REDIS_NOT_DURABLE,
                "Redis persistence is off (appendonly no): a restart of Redis loses every event "
                "acknowledged so far%s",
                atomic_load(&require) ? "; answering 503 until AOF is on (require_durable = yes)"
                                      : "");
    else
        log_msg(LOG_INFO, EV_REDIS_DURABLE, "Redis persistence: AOF on");
    return true;
}

static void *run(void *arg)
{
    bool ok = true;

    pthread_mutex_lock(&lock);
    while (!stopping) {
        struct timespec until;
        int64_t ms = ok ? interval_ms : DURABLE_RETRY_MS;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000)
            until.tv_sec++, until.tv_nsec -= 1000000000;
        while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) == 0)
            ;
        if (stopping)
            break;
        pthread_mutex_unlock(&lock);
        ok = check();
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return arg;
}

int durable_start(const struct config *cfg)
{
    pthread_condattr_t attr;
    char err[256];
    int rc;

    atomic_store(&require, cfg->redis.require_durable);
    interval_ms = cfg->redis.durable_check_ms;
    if (!(st = store_open(&cfg->redis, err, sizeof err))) {
        log_msg(LOG_ERROR, EV_ERROR, "durability check: %s", err);
        return -1;
    }
    if (!check() && cfg->redis.require_durable)
        log_msg(LOG_WARN, EV_REDIS_NOT_DURABLE,
                "Redis persistence not known yet (Redis does not answer): answering 503 until AOF "
                "is seen on (require_durable = yes)");
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&wake);
    pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
    stopping = false;
    if ((rc = pthread_create(&thread, NULL, run, NULL)) != 0) {
        store_close(st);
        st = NULL;
        return -1;
    }
    running = true;
    return 0;
}

void durable_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
    store_close(st);
    st = NULL;
}
