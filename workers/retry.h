/*
 * retry.h — when a transiently failed event runs again.
 *
 * delay(attempt) = uniform random in [0, min(schedule[attempt-1], max_backoff)]
 * ("full jitter": retries of many events that failed together spread over
 * the whole window instead of arriving in waves), where schedule[i] past the
 * end of retry_schedule is its last entry. An HTTP handler's Retry-After is
 * a floor: the delay is at least min(Retry-After, max_backoff).
 */
#ifndef HOOKD_WORKER_RETRY_H
#define HOOKD_WORKER_RETRY_H

#include <stdint.h>

#include "config.h"

/* A seed for retry_random (from getrandom, or time and pid as a fallback). */
uint64_t retry_seed(void);

/* Next value of a small per-thread PRNG (splitmix64) kept in *state. */
uint64_t retry_random(uint64_t *state);

/* The delay in ms before the attempt after ATTEMPT (1-based) failed.
 * retry_after_ms < 0: none given. */
int64_t retry_delay_ms(const struct route_cfg *rt, int attempt, int64_t retry_after_ms,
                       uint64_t *rng);

#endif
