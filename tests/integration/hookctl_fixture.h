/*
 * hookctl_fixture.h — a known state for hookctl's tests, built the way
 * production builds it: a private redis-server, the real receiver fed
 * signed POSTs, and real workers running tests/data/handlers/hookctl-outage.sh.
 *
 * Routes: billing (stripe invoice.*) whose downstream is down until
 * hk_fix_billing(); default (everything else) whose downstream works.
 * Both handlers append each event id they process to a run log.
 */
#ifndef HOOKD_HOOKCTL_FIXTURE_H
#define HOOKD_HOOKCTL_FIXTURE_H

#include <stdbool.h>

#include <jansson.h>

#include "ingress_fixture.h"

struct hk {
    struct fixture f; /* redis, its connection, the receiver, the config path */
    const char *billing_flag, *runlog;
    struct proc *workers[2];
};

/* Starts Redis and the receiver; with WORKERS, a worker per route. Skips
 * the test when build/hookd-worker is not built. */
void hk_start(struct hk *h, bool workers);

/* Runs `hookctl -c CONFIG ARGS...` (NULL-terminated); returns its exit code
 * and the combined output in *out (malloc'd; NULL to drop it). */
int hk_ctl(struct hk *h, char **out, ...) __attribute__((sentinel));
/* The same with another config file. */
int hk_ctl_config(const char *config_path, char **out, ...) __attribute__((sentinel));

/* POSTs a Stripe-signed event {"id": ID, "type": TYPE, "data": DATA}
 * (DATA: a JSON value text) and asserts 202. */
void hk_post_stripe(struct hk *h, const char *id, const char *type, const char *data);

/* The billing downstream comes back. */
void hk_fix_billing(struct hk *h);

long long hk_dead_len(struct hk *h, const char *route);
/* Lines of the run log equal to EVENT_ID (how often it was handled); with
 * NULL, all lines. */
int hk_runs(struct hk *h, const char *event_id);
/* The dedupe record's state ("" when absent), into buf. */
const char *hk_state(struct hk *h, const char *route, const char *source, const char *id,
                     char *buf, size_t cap);

/* The integer after "NAME = " on a line of OUT; fails the test if absent. */
long long hk_value(const char *out, const char *name);

#endif
