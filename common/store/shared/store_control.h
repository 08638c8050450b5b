/*
 * store_control.h — operators' run-time controls, kept in Redis so every
 * receiver and worker sees them without a restart:
 *
 *   P:{ROUTE}:paused     string, present while the route is paused: ingress
 *                        answers 503 + Retry-After (checked inside the
 *                        enqueue script), workers take nothing from it
 *   P:throttle           hash SOURCE -> events per second, overriding the
 *                        config's rate_limit (0 = refuse everything)
 */
#ifndef HOOKD_STORE_CONTROL_H
#define HOOKD_STORE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "store.h"

struct store_throttle {
    char source[CONFIG_NAME_MAX + 1];
    double rate;
};

int store_route_pause(struct store *st, const char *route, bool paused);
/* *paused set to whether the route is paused. */
int store_route_paused(struct store *st, const char *route, bool *paused);

/* rate < 0 removes the override. */
int store_throttle_set(struct store *st, const char *source, double rate);
/* Up to cap overrides into out; *n their count. */
int store_throttle_list(struct store *st, struct store_throttle *out, size_t cap, size_t *n);

#endif
