/*
 * runtime.c — see runtime.h. The config pointer is guarded by a mutex held
 * only to copy the pointer and bump its refcount: nanoseconds next to the
 * Redis round trip every request makes anyway.
 */
#include "runtime.h"
#include "clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define RUNTIME_MAX_STORES 1024
#define RUNTIME_MAX_ROUTES 256

atomic_uint runtime_inflight;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *current;                   /* owns one reference */
static struct store *stores[RUNTIME_MAX_STORES]; /* every thread's connection */
static size_t nstores;
static _Thread_local struct store *thread_store;

static struct {
    char name[CONFIG_NAME_MAX + 1];
    bool over;
    int64_t since_ms; /* monotonic, when over last became true */
} overload[RUNTIME_MAX_ROUTES];
static size_t noverload;

void runtime_init(struct config *cfg)
{
    current = cfg;
}

void runtime_swap_config(struct config *cfg)
{
    struct config *old;

    pthread_mutex_lock(&lock);
    old = current;
    current = cfg;
    pthread_mutex_unlock(&lock);
    config_release(old);
}

struct config *runtime_config(void)
{
    struct config *cfg;

    pthread_mutex_lock(&lock);
    cfg = config_ref(current);
    pthread_mutex_unlock(&lock);
    return cfg;
}

struct store *runtime_store(void)
{
    char err[256];
    struct config *cfg;

    if (thread_store)
        return thread_store;
    cfg = runtime_config();
    thread_store = store_open(&cfg->redis, err, sizeof err);
    config_release(cfg);
    if (!thread_store) {
        log_msg(LOG_ERROR, EV_ERROR, "cannot open Redis handle: %s", err);
        return NULL;
    }
    pthread_mutex_lock(&lock);
    if (nstores < RUNTIME_MAX_STORES)
        stores[nstores++] = thread_store;
    pthread_mutex_unlock(&lock);
    return thread_store;
}

void runtime_shutdown(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nstores; i++)
        store_close(stores[i]);
    nstores = 0;
    config_release(current);
    current = NULL;
    pthread_mutex_unlock(&lock);
}

int64_t runtime_route_overloaded_for_ms(const char *route)
{
    int64_t for_ms = -1;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < noverload; i++)
        if (strcmp(overload[i].name, route) == 0) {
            if (overload[i].over)
                for_ms = clock_mono_ms() - overload[i].since_ms;
            break;
        }
    pthread_mutex_unlock(&lock);
    return for_ms;
}

void runtime_set_route_overloaded(const char *route, bool over)
{
    size_t i;

    pthread_mutex_lock(&lock);
    for (i = 0; i < noverload; i++)
        if (strcmp(overload[i].name, route) == 0)
            break;
    if (i == noverload && noverload < RUNTIME_MAX_ROUTES && strlen(route) <= CONFIG_NAME_MAX)
        memcpy(overload[noverload++].name, route, strlen(route) + 1);
    if (i < noverload) {
        if (over && !overload[i].over)
            overload[i].since_ms = clock_mono_ms();
        overload[i].over = over;
    }
    pthread_mutex_unlock(&lock);
}
