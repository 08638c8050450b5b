/*
 * durable.h — is the Redis behind the receiver persisting what it
 * acknowledges? A thread reads INFO persistence at start and every
 * [redis] durable_check_interval (30 s; every second while Redis does not
 * answer), logs redis_not_durable when AOF turns (or is found) off and
 * redis_durable when it turns on. With [redis] require_durable = yes, the
 * request path answers 503 and /readyz fails until AOF is known to be on.
 *
 * Callers: main.c (start, stop), ingress.c (durable_refusing, per request:
 * one atomic load), admin/ (/readyz, the hookd_redis_durable gauge).
 */
#ifndef HOOKD_DURABLE_H
#define HOOKD_DURABLE_H

#include <stdbool.h>

#include "config.h"

enum durable_state {
    DURABLE_UNKNOWN, /* not read yet: Redis has not answered since start */
    DURABLE_OFF,     /* appendonly no: a restart of Redis loses acknowledged events */
    DURABLE_ON,      /* AOF on */
};

/* Reads the state once (at most the Redis timeout), then starts the thread.
 * The [redis] settings are read here only (restart-only, like the rest of
 * [redis]). 0, or -1 when the thread cannot start. */
int durable_start(const struct config *cfg);
/* Stops the thread and closes its connection; durable_stop() without a
 * start does nothing. */
void durable_stop(void);

enum durable_state durable_state(void);
/* True when require_durable is set and AOF is not known to be on. */
bool durable_refusing(void);

#endif
