/*
 * ratelimit.c — token buckets by source name (see ratelimit.h). A bucket
 * survives config reloads (looked up by name); a mutex guards the table:
 * the critical section is a few arithmetic operations.
 */
#include "ratelimit.h"
#include "clock.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "store_ingress.h"

#define MAX_BUCKETS 256

struct bucket {
    char source[CONFIG_NAME_MAX + 1];
    double tokens;
    int64_t last_ms;
    double override_rate; /* < 0: none */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[MAX_BUCKETS];
static size_t nbuckets;
static int64_t overrides_fetched_ms = -RATELIMIT_REFRESH_MS;
static bool refreshing;

static struct bucket *find(const char *source, bool create)
{
    for (size_t i = 0; i < nbuckets; i++)
        if (strcmp(buckets[i].source, source) == 0)
            return &buckets[i];
    if (!create || nbuckets >= MAX_BUCKETS || strlen(source) > CONFIG_NAME_MAX)
        return NULL;
    struct bucket *b = &buckets[nbuckets++];
    memcpy(b->source, source, strlen(source) + 1);
    b->tokens = -1; /* filled on first use */
    b->override_rate = -1;
    return b;
}

/* Pulls operators' overrides from Redis, one thread at a time, ~1/s. */
static void refresh_overrides(struct store *st, int64_t now)
{
    struct store_throttle t[MAX_BUCKETS];
    size_t n = 0;

    pthread_mutex_lock(&lock);
    if (refreshing || now - overrides_fetched_ms < RATELIMIT_REFRESH_MS || !st) {
        pthread_mutex_unlock(&lock);
        return;
    }
    refreshing = true;
    pthread_mutex_unlock(&lock);
    int rc = store_throttle_list(st, t, MAX_BUCKETS, &n);
    pthread_mutex_lock(&lock);
    refreshing = false;
    overrides_fetched_ms = now;
    if (rc == 0) {
        for (size_t i = 0; i < nbuckets; i++)
            buckets[i].override_rate = -1;
        for (size_t i = 0; i < n; i++) {
            struct bucket *b = find(t[i].source, true);
            if (b)
                b->override_rate = t[i].rate;
        }
    }
    pthread_mutex_unlock(&lock);
}

static double rate_of(const struct source_cfg *src, const struct bucket *b)
{
    return b && b->override_rate >= 0 ? b->override_rate : src->rate_limit;
}

double ratelimit_rate(const struct source_cfg *src)
{
    double r;

    pthread_mutex_lock(&lock);
    r = rate_of(src, find(src->name, false));
    pthread_mutex_unlock(&lock);
    return r;
}

int64_t ratelimit_check(const struct source_cfg *src, struct store *st)
{
    int64_t now = clock_mono_ms(), wait_s = 0;

    refresh_overrides(st, now);
    pthread_mutex_lock(&lock);
    struct bucket *b = find(src->name, true);
    double rate = rate_of(src, b);
    if (b && rate > 0) {
        double burst = src->burst > 0 ? src->burst : (rate < 1 ? 1 : rate);
        if (b->tokens < 0)
            b->tokens = burst, b->last_ms = now;
        b->tokens = fmin(burst, b->tokens + rate * (double)(now - b->last_ms) / 1000.0);
        b->last_ms = now;
        if (b->tokens >= 1)
            b->tokens -= 1;
        else
            wait_s = (int64_t)ceil((1 - b->tokens) / rate);
    } else if (b && rate == 0 && b->override_rate == 0) {
        wait_s = 60; /* throttled to zero by an operator: come back later */
    }
    pthread_mutex_unlock(&lock);
    return wait_s < 0 ? 1 : wait_s;
}
