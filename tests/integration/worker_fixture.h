/*
 * worker_fixture.h — what the worker integration tests share: a private
 * redis-server, a config written from a template, events enqueued through
 * the same atomic step the receiver uses (store_enqueue), hookd-worker
 * processes, and reads of the dedupe record, counters and streams.
 *
 * Template placeholders: @REDIS@ (the server's URL), @H@ (tests/data/handlers,
 * absolute), @DIR@ (the test's temp dir, where handlers write their marks).
 * The template holds the [route ...] sections (and more if it likes); the
 * fixture adds [redis].
 */
#ifndef HOOKD_WORKER_FIXTURE_H
#define HOOKD_WORKER_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "harness.h"
#include "log.h"
#include "store_ingress.h"

struct wfx {
    struct redis_srv *redis;
    redisContext *rc;   /* the test's own connection */
    struct store *st;   /* for store_enqueue */
    const char *config_path;
    const char *dir;    /* = harness_tmpdir() */
};

/* Starts Redis (opts may be NULL) and writes the config from TEMPLATE. */
void wfx_start(struct wfx *f, const char *template_text, const struct redis_opts *opts);
/* TEMPLATE with the placeholders replaced (malloc'd). */
char *wfx_expand(const struct wfx *f, const char *template_text);

/* A store of its own on the fixture's Redis, keys under PREFIX, commands
 * timing out after TIMEOUT_MS: the caller's to store_close. Fails the test
 * if it cannot be opened. */
struct store *wfx_store(const struct wfx *f, const char *prefix, int64_t timeout_ms);

/* hookd-worker -c CONFIG ARGS... (NULL-terminated), log "worker". */
struct proc *wfx_worker(struct wfx *f, const char *const args[]);

/* Enqueues an event as the receiver does; fails the test unless queued.
 * headers_json NULL: "{}". traceparent may be NULL. */
void wfx_enqueue_full(struct wfx *f, const char *route, const char *source, const char *id,
                      const char *type, const char *body, size_t body_len,
                      const char *headers_json, const char *traceparent);
void wfx_enqueue(struct wfx *f, const char *route, const char *id, const char *body);
/* An event "{}" with ORDER_KEY, as the receiver queues it for a route with
 * order_by (it joins the key's order list). */
void wfx_enqueue_keyed(struct wfx *f, const char *route, const char *id, const char *order_key);

/* A field of the dedupe record of (route, "github", id): malloc'd, or NULL. */
char *wfx_seen(struct wfx *f, const char *route, const char *id, const char *field);
/* 1 when the record's state is STATE (for WAIT_FOR). */
int wfx_state_is(struct wfx *f, const char *route, const char *id, const char *state);
/* A counter of the route's counters hash (0 when absent). */
long long wfx_counter(struct wfx *f, const char *route, const char *name);
/* Entries pending in the route's consumer group. */
long long wfx_pending(struct wfx *f, const char *route);
/* Number of lines of tmpdir/NAME (0 when absent). */
int wfx_lines(const char *name);
/* Lines of tmpdir/NAME that start with PREFIX. */
int wfx_lines_with(const char *name, const char *prefix);
/* 1 when process PID is gone, or a zombie waiting for its reaper. */
int wfx_process_gone(pid_t pid);

#endif
