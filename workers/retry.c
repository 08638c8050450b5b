/*
 * retry.c — the retry delay: schedule, full jitter, cap and Retry-After
 * floor (see retry.h). Pure functions apart from the seed; unit-tested in
 * tests/unit/test_worker_retry.c.
 */
#include "retry.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t retry_seed(void)
{
    uint64_t seed = 0;
    struct timespec ts;

    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed && seed)
        return seed;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
           (uint64_t)(uintptr_t)&seed;
}

uint64_t retry_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int64_t retry_delay_ms(const struct route_cfg *rt, int attempt, int64_t retry_after_ms,
                       uint64_t *rng)
{
    int64_t cap = rt->max_backoff_ms > 0 ? rt->max_backoff_ms : INT64_MAX;
    int64_t base = 0, delay = 0;

    if (rt->nschedule > 0) {
        size_t i = attempt < 1 ? 0 : (size_t)(attempt - 1);
        base = rt->retry_schedule_ms[i < rt->nschedule ? i : rt->nschedule - 1];
    }
    if (base > cap)
        base = cap;
    if (base > 0)
        delay = (int64_t)(retry_random(rng) % ((uint64_t)base + 1));
    if (retry_after_ms > 0) {
        int64_t floor_ms = retry_after_ms < cap ? retry_after_ms : cap;
        if (delay < floor_ms)
            delay = floor_ms;
    }
    return delay;
}
