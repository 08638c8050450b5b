/*
 * chaos_fixture.h — end-to-end chaos runs: a redis-server with AOF and
 * appendfsync always, a receiver (optionally through faultproxy to Redis),
 * workers on route "default" running a shell handler that records every run
 * in tmpdir/runs and misbehaves as the event id asks, and concurrent senders
 * that behave like a provider: each re-sends whatever did not get a 2xx
 * until it does (or the run's deadline passes).
 *
 * Event id suffixes select the handler's behaviour (see chaos_fixture.c):
 *   -hang (attempt 1 outlives handler_timeout), -crash (attempt 1 is killed
 *   by SIGKILL), -fail (exit 1 on attempts 1-2), -perm (exit 65, dead at
 *   once), -slow (0.3 s), -killworker (attempt 1 kills its worker with -9
 *   after doing its work, before the worker records success).
 *
 * chaos_verify checks what the SPEC promises after any of this: every event
 * that got a 2xx ends in exactly one of processed / dead, is in the stream
 * at most once, and its handler ran at least once; in an ordered run, no
 * key is left wedged (no event held, no order list left). It prints the
 * figures.
 */
#ifndef HOOKD_CHAOS_FIXTURE_H
#define HOOKD_CHAOS_FIXTURE_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>

#include "fproxy.h"
#include "harness.h"

#define CHAOS_MAX_EVENTS 400
#define CHAOS_MAX_WORKERS 4
#define CHAOS_MAX_SENDERS 8
#define CHAOS_SECRET "chaos-secret"   /* the github key; never in any log */
#define CHAOS_SETTLE_TIMEOUT_MS 45000 /* for every acked event to be processed or dead */

struct chaos_event {
    char id[64];
    atomic_int acked; /* got a 2xx */
    atomic_int sends;
};

struct chaos_opts {
    int workers;      /* worker processes (>= 1) */
    int proxy;        /* 1: the receiver reaches Redis through faultproxy */
    int max_attempts; /* route default (0: 4) */
    int ordered;      /* 1: route default has order_by = json:/key, events CHAOS_KEYS keys */
};

#define CHAOS_KEYS 6 /* order keys of an ordered run: event i has key "k(i % 6)" */

struct chaos {
    struct redis_srv *redis;
    redisContext *rc; /* the test's own connection (reconnect after a restart) */
    struct proc *receiver;
    struct fproxy proxy; /* with opts.proxy */
    struct proc *workers[CHAOS_MAX_WORKERS];
    int nworkers, worker_restarts;
    int ordered;
    int port, admin_port;
    const char *receiver_conf, *worker_conf;
    struct chaos_event ev[CHAOS_MAX_EVENTS];
    int nev;
    pthread_t senders[CHAOS_MAX_SENDERS];
    int nsenders;
    int64_t deadline_ms; /* senders give up after it */
};

void chaos_start(struct chaos *c, const struct chaos_opts *o);

/* Adds n events "PREFIX-i" (with suffix kind(i), "" for a plain one). */
void chaos_events(struct chaos *c, const char *prefix, int n, const char *(*kind)(int i));

/* Starts nsenders threads sharing the events; they stop when all are acked
 * or after timeout_ms. chaos_send_wait joins them, supervising workers. */
void chaos_send_start(struct chaos *c, int nsenders, int timeout_ms);
void chaos_send_wait(struct chaos *c);

int chaos_acked(struct chaos *c);
/* Waits (supervising workers) until at least n events are acked. */
void chaos_wait_acked(struct chaos *c, int n, int timeout_ms);
/* Restarts any worker that has died, as systemd would. */
void chaos_supervise(struct chaos *c);

void chaos_restart_receiver(struct chaos *c); /* after it was killed */
void chaos_reconnect(struct chaos *c);        /* after Redis restarted */
/* Sends one faultproxy command ("pass", "delay 800", "drop", ...). */
void chaos_proxy(struct chaos *c, const char *cmd);

/* Waits for every acked event to settle, checks the promises, prints the
 * figures under LABEL. Fails the test on any broken promise. */
void chaos_verify(struct chaos *c, const char *label);

#endif
