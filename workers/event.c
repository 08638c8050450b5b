/*
 * event.c — a batch of events of one route, each from its stream entry to
 * its outcome, on one worker thread (called by loop.c with the entries just
 * read, claimed or waited for):
 *
 *   BEGIN ──closed / stray copy──▶ acked, logged "skipped_duplicate"
 *     │  ──an earlier event of its order key open──▶ acked, logged "held"
 *     │    (the step that closes that event puts this one back; store_scripts.c)
 *     │ state processing, attempts + 1 = n
 *     ├── n > max_attempts (earlier attempts ended with no outcome: their
 *     │   workers died) ──▶ DEAD "exhausted", handler not run again
 *     ▼
 *   run the handler (attempt n) ─▶ classify (classify.c)
 *     ok ─────────────────────────▶ FINISH (processed + XACK, one step)
 *     permanent ──────────────────▶ DEAD "permanent"
 *     transient, n >= max_attempts ▶ DEAD "exhausted"
 *     transient ──────────────────▶ RETRY, due now + retry_delay_ms (retry.c)
 *
 * Batches: a fair read hands a thread up to worker_batch entries of one
 * route at once, begun by the read script (store_read_begin); claimed
 * entries, the idle wait's and the rare entry the script cannot name (see
 * SCRIPT_READ) get BEGIN here. Their handlers run one after another; each
 * outcome waits in s->pending, and the batch's outcomes go to Redis in one
 * step (SCRIPT_OUTCOMES: one call, the counters and the handler-duration
 * histogram counted once), which carries the next cycle's fair read in the
 * same write when loop.c says which route that read is (loop_read_ahead:
 * not when stopping, claims or a refresh are due); its answer waits in
 * s->ahead, and loop.c handles those entries first thing next cycle. So a
 * busy thread makes one round trip per batch besides the handlers.
 *
 * How many entries a read takes: as many as the thread's recent handler
 * runs (s->ewma_us) get through in BATCH_BUDGET_US (times the threads per
 * CPU when there are more threads than CPUs: w->budget_us), within worker_batch —
 * a slow handler (a process per event) reads one entry at a time, as
 * before batches. Every entry
 * in hand is in inflight[] and heartbeated until its outcome step is sent,
 * so an entry that waits behind a handler that turned slow is not claimed
 * by another worker; and outcomes are sent early once the oldest waiting
 * one is older than that budget, so a slow batch does not hold finished
 * events (nor their order keys) back. A worker killed mid-batch leaves
 * every entry without a recorded outcome pending in its list: each is
 * claimed after visibility_timeout and runs again (its BEGIN counted one
 * attempt; those whose handler had not started yet count one without a
 * run, as when a worker dies after BEGIN). If an outcome step fails, it
 * is retried alone with backoff while the entries read ahead wait in
 * s->ahead (pending, not yet heartbeated, as any entry before its batch
 * starts); if the read's reply is lost, its entries are claimed after
 * visibility_timeout, their attempts already counted.
 *
 * One JSON line per attempt (event "attempt"). Redis errors never lose the
 * event: each step is retried with backoff (100 ms doubling to 2 s) until it
 * goes through; the entry stays in this consumer's pending list meanwhile,
 * kept alive by the heartbeat. We give up only when stopping (BEGIN at once,
 * an outcome after STOP_REDIS_GRACE_MS), or when Redis keeps answering a
 * step with an error for about a minute (a wrong key type, say: retrying
 * forever would hold this thread): the entry then stays pending and is
 * claimed again after visibility_timeout — the handler may run again, which
 * is why handlers get an idempotency key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "clock.h"
#include "log.h"
#include "retry.h"
#include "store_worker.h"
#include "worker.h"

#define LOG_OUTPUT_MAX 1024  /* handler output bytes in the attempt line */
#define REPLY_ERROR_TRIES 30 /* ~1 min of error replies (e.g. READONLY in a failover) */

struct redis_retry {
    unsigned tries;
    unsigned reply_errors; /* Redis answered, with an error: not an outage */
    int64_t grace_ms;      /* once stopping, how long to keep trying */
    int64_t give_up_at;
};

bool worker_stopping(struct worker *w)
{
    return atomic_load(&w->stopping) != 0;
}

int worker_route_index(const struct worker *w, const char *route)
{
    for (size_t i = 0; i < w->nroutes; i++)
        if (strcmp(w->routes[i].name, route) == 0)
            return (int)i;
    return HOOKD_ENOT_FOUND;
}

bool worker_redis_wait(struct worker *w, unsigned *tries, int64_t give_up_at)
{
    int64_t delay = REDIS_BACKOFF_MIN_MS << (*tries < 5 ? *tries : 5);
    struct timespec ts;

    if (worker_stopping(w) && (give_up_at <= 0 || clock_mono_ms() >= give_up_at))
        return false;
    if (delay > REDIS_BACKOFF_MAX_MS)
        delay = REDIS_BACKOFF_MAX_MS;
    (*tries)++;
    ts.tv_sec = delay / 1000, ts.tv_nsec = (delay % 1000) * 1000000;
    nanosleep(&ts, NULL);
    return true;
}

/* After a failed step: true to try again. */
static bool again(struct slot *s, struct redis_retry *rr, int rc, const char *step,
                  const struct store_event *ev)
{
    bool hopeless = rc == HOOKD_ETOO_LARGE || rc == HOOKD_ENOMEM ||
                    (rc == HOOKD_EREDIS_REPLY && ++rr->reply_errors > REPLY_ERROR_TRIES);

    if (!hopeless) {
        if (worker_stopping(s->w) && !rr->give_up_at)
            rr->give_up_at = clock_mono_ms() + (rr->grace_ms > 0 ? rr->grace_ms : 1);
        if (worker_redis_wait(s->w, &rr->tries, rr->give_up_at))
            return true;
    }
    struct logline l;
    if (log_begin(&l, LOG_ERROR, EV_WORKER_GIVE_UP)) {
        log_str(&l, "route", ev->route);
        log_strn(&l, "event_id", ev->event_id, ev->event_id_len);
        log_str(&l, "stream_id", ev->stream_id);
        log_str(&l, "step", step);
        log_str(&l, "error", hookd_strerror(rc));
        log_str(&l, "request_id", ev->request_id);
        log_str(&l, "traceparent", ev->traceparent);
        log_str(&l, "msg", "left pending: another worker claims it after visibility_timeout");
        log_end(&l);
    }
    return false;
}

/* The slot's inflight entries are [index * batch, + batch): entry J of the
 * batch in hand is the J-th. */
static struct inflight *inflight_of(struct slot *s, size_t j)
{
    return &s->w->inflight[(size_t)s->index * (size_t)s->w->batch + j];
}

static void inflight_set(struct slot *s, int route, const struct store_taken *t, size_t n)
{
    pthread_mutex_lock(&s->w->inflight_mu);
    for (size_t j = 0; j < (size_t)s->w->batch; j++) {
        struct inflight *f = inflight_of(s, j);
        f->route = j < n ? route : -1;
        if (j >= n)
            continue;
        snprintf(f->tenant, sizeof f->tenant, "%s", t[j].ev->stream_tenant);
        snprintf(f->stream_id, sizeof f->stream_id, "%s", t[j].ev->stream_id);
        f->lost_logged = false;
    }
    pthread_mutex_unlock(&s->w->inflight_mu);
}

static void inflight_done(struct slot *s, size_t j)
{
    pthread_mutex_lock(&s->w->inflight_mu);
    inflight_of(s, j)->route = -1;
    pthread_mutex_unlock(&s->w->inflight_mu);
}

/* ---- the attempt log line -------------------------------------------------- */

struct attempt {
    int n;
    const char *outcome;          /* processed, retry_scheduled, dead, skipped_duplicate */
    const char *classification;   /* ok, transient, permanent, exhausted; NULL for a skip */
    const char *reason;           /* dead letters: permanent | exhausted */
    const struct run_result *res; /* NULL when the handler did not run */
    int64_t next_in_ms;           /* retries: the delay chosen */
    bool applied;                 /* false: the step found the event closed or superseded */
    const char *prior_state;      /* skips: the state found */
};

static void log_result(struct logline *l, const struct run_result *r)
{
    log_int(l, "duration_ms", r->duration_ms);
    if (r->status == RUN_EXITED)
        log_int(l, "exit_code", r->code);
    else if (r->status == RUN_SIGNALED)
        log_int(l, "signal", r->code);
    else if (r->status == RUN_HTTP_STATUS)
        log_int(l, "http_status", r->code);
    if (r->status == RUN_TIMEOUT)
        log_bool(l, "timeout", true);
    if (r->retry_after_ms >= 0)
        log_int(l, "retry_after_ms", r->retry_after_ms);
    log_str(l, "error", r->status == RUN_EXITED && r->code == 0 ? NULL : r->what);
}

static void log_attempt(const struct slot *s, const struct store_event *ev, const struct attempt *a)
{
    enum log_level lvl = a->reason ? LOG_ERROR : a->next_in_ms >= 0 ? LOG_WARN : LOG_INFO;
    const struct route_cfg *rt = s->w->routes[worker_route_index(s->w, ev->route)].cfg;
    struct logline l;

    if (!log_begin(&l, lvl, EV_ATTEMPT))
        return;
    log_str(&l, "route", ev->route);
    log_strn(&l, "event_id", ev->event_id, ev->event_id_len);
    log_str(&l, "source", ev->source);
    log_str(&l, "type", ev->type);
    log_str(&l, "stream_id", ev->stream_id);
    if (a->n > 0)
        log_int(&l, "attempt", a->n), log_int(&l, "max_attempts", rt->max_attempts);
    log_str(&l, "outcome", a->outcome);
    log_str(&l, "classification", a->classification);
    log_str(&l, "reason", a->reason);
    log_str(&l, "prior_state", a->prior_state);
    if (a->next_in_ms >= 0)
        log_int(&l, "next_attempt_in_ms", a->next_in_ms);
    if (!a->applied)
        log_bool(&l, "applied", false);
    log_str(&l, "request_id", ev->request_id);
    log_str(&l, "traceparent", ev->traceparent);
    if (a->res) {
        log_result(&l, a->res);
        if (a->res->output_len) /* last: a long output truncates nothing else */
            log_strn(&l, "output", a->res->output,
                     a->res->output_len < LOG_OUTPUT_MAX ? a->res->output_len : LOG_OUTPUT_MAX);
    }
    log_end(&l);
}

/* ---- the steps --------------------------------------------------------------- */

void worker_start(struct slot *s, struct store_start *start, char token[WORKER_TOKEN_MAX])
{
    /* Unique to this start: consumer (host, pid), slot, a random number. */
    snprintf(token, WORKER_TOKEN_MAX, "%s/%d/%016llx", s->w->consumer, s->index,
             (unsigned long long)retry_random(&s->rng));
    start->ttl_s = s->w->cfg->redis.dedupe_ttl_s;
    start->token = token;
}

/* BEGIN, retried; false when we gave up (stopping). */
static bool begin(struct slot *s, const struct store_event *ev, struct store_begin_result *b)
{
    struct redis_retry rr = {0};
    char token[WORKER_TOKEN_MAX];
    struct store_start start;
    int rc;

    worker_start(s, &start, token);
    while ((rc = store_begin(s->st, ev, start.ttl_s, token, b)) < 0)
        if (!again(s, &rr, rc, "begin", ev))
            return false;
    return true;
}

/* An outcome waiting for its batch's step: what the step needs and what
 * the attempt's log line says once the step has answered. */
struct pending {
    size_t j; /* its entry's place in the batch in hand */
    struct store_outcome o;
    struct attempt a;
    struct store_handler_sample smp;
    struct run_result res;
    char last_error[RUN_WHAT_MAX + RUN_OUTPUT_MAX + 16];
};

int event_slot_init(struct slot *s)
{
    s->pending = calloc((size_t)s->w->batch, sizeof *s->pending);
    s->ewma_us = s->w->budget_us; /* one entry per read until a handler has run */
    return s->pending ? 0 : HOOKD_ENOMEM;
}

void event_slot_free(struct slot *s)
{
    free(s->pending);
    s->pending = NULL;
}

size_t event_batch_cap(const struct slot *s, size_t route)
{
    int64_t fit = s->w->budget_us / (s->ewma_us > 0 ? s->ewma_us : 1);
    size_t cap = (size_t)s->w->routes[route].cfg->worker_batch;

    if (cap > (size_t)s->w->batch)
        cap = (size_t)s->w->batch;
    return fit < 1 ? 1 : (size_t)fit < cap ? (size_t)fit : cap;
}

/* The pending outcomes with the next cycle's read (position K, route I)
 * in the same write; the read's answer is kept in s->ahead for that cycle. */
static int outcomes_then_read(struct slot *s, const struct store_outcome *o, size_t n,
                              bool *applied, size_t k, size_t i, size_t cap)
{
    char token[WORKER_TOKEN_MAX];
    struct store_start start;
    int rc, read_rc;

    worker_start(s, &start, token);
    rc = store_outcomes_then_read(s->st, o, n, applied, &s->streams[i], s->w->consumer, &start,
                                  s->ahead.taken, cap, &s->ahead.n, &read_rc);
    s->ahead.sent = read_rc == 0, s->ahead.k = k;
    return rc;
}

/* Records the pending outcomes (FINISH, RETRY, DEAD) in one step, retried,
 * then logs their attempts. THEN_READ: the first try carries the next
 * cycle's read when loop.c says which; a retry goes alone (the entries
 * that read took wait in s->ahead, pending in our list, and are handled
 * right after). */
static void flush(struct slot *s, bool then_read)
{
    struct redis_retry rr = {.grace_ms = STOP_REDIS_GRACE_MS};
    struct store_outcome o[WORKER_BATCH_MAX];
    bool applied[WORKER_BATCH_MAX];
    size_t n = s->npending, k, i, cap;
    bool ahead = then_read && loop_read_ahead(s, &k, &i, &cap);
    int rc;

    if (n == 0)
        return;
    s->npending = 0;
    for (size_t j = 0; j < n; j++) {
        o[j] = s->pending[j].o;
        inflight_done(s, s->pending[j].j); /* before the step acks: see event_batch */
    }
    for (;;) {
        if (ahead)
            rc = outcomes_then_read(s, o, n, applied, k, i, cap), ahead = false;
        else
            rc = store_outcomes(s->st, o, n, applied);
        if (rc == 0)
            break;
        if (!again(s, &rr, rc, s->pending[0].a.outcome, o[0].ev))
            return;
    }
    for (size_t j = 0; j < n; j++) {
        s->pending[j].a.applied = applied[j];
        log_attempt(s, o[j].ev, &s->pending[j].a);
    }
}

/* Queues the outcome of attempt A of entry J, EV (RES NULL: the handler
 * did not run; else its sample is counted under the verdict WORD). */
static void add_pending(struct slot *s, size_t j, const struct store_event *ev,
                        const struct attempt *a, const char *last_error, int64_t due_ms,
                        const struct run_result *res, const char *word)
{
    struct pending *p = &s->pending[s->npending++];

    p->j = j, p->a = *a;
    p->a.res = NULL;
    if (res) {
        p->res = *res;
        p->a.res = &p->res;
        store_handler_sample(&p->smp, word, (double)res->duration_ms / 1000.0);
    }
    snprintf(p->last_error, sizeof p->last_error, "%s", last_error);
    p->o = (struct store_outcome){.kind = a->reason            ? STORE_DEAD
                                          : a->next_in_ms >= 0 ? STORE_RETRY
                                                               : STORE_FINISH,
                                  .ev = ev,
                                  .ttl_s = s->w->cfg->redis.dedupe_ttl_s,
                                  .smp = res ? &p->smp : NULL,
                                  .due_ms = due_ms,
                                  .reason = a->reason,
                                  .last_error = p->last_error,
                                  .attempts = a->n};
}

static void run_handler(struct slot *s, const struct worker_route *wr, const struct store_event *ev,
                        int attempt, struct run_result *res)
{
    struct run_input in = {.ev = ev,
                           .route = wr->cfg->name,
                           .handler = wr->label ? wr->label : "default",
                           .attempt = attempt,
                           .timeout_ms = wr->cfg->handler_timeout_ms,
                           .cfg = s->w->cfg};
    int64_t t0 = clock_mono_us(), d;

    wr->runner->run(wr->runner->needs_curl ? s->curl : NULL, &wr->handler, &in, res);
    d = clock_mono_us() - t0;
    s->ewma_us = (3 * s->ewma_us + d) / 4; /* sizes the next reads (event_batch_cap) */
}

/* Classifies RES of entry J and queues what follows from it. */
static void conclude(struct slot *s, const struct worker_route *wr, size_t j,
                     const struct store_event *ev, int n, const struct run_result *res)
{
    char last_error[RUN_WHAT_MAX + RUN_OUTPUT_MAX + 16];
    enum verdict v = classify(wr->cfg, res);
    struct attempt a = {.n = n, .res = res, .next_in_ms = -1, .classification = verdict_name(v)};
    int64_t due = 0;

    run_last_error(res, last_error, sizeof last_error);
    if (v == VERDICT_OK) {
        a.outcome = "processed";
    } else if (v == VERDICT_PERMANENT) {
        a.outcome = "dead", a.reason = "permanent";
    } else if (n >= wr->cfg->max_attempts) {
        a.outcome = "dead", a.reason = "exhausted", a.classification = "exhausted";
    } else {
        a.outcome = "retry_scheduled";
        a.next_in_ms = retry_delay_ms(wr->cfg, n, res->retry_after_ms, &s->rng);
        due = clock_wall_ms() + a.next_in_ms;
    }
    add_pending(s, j, ev, &a, last_error, due, res, verdict_name(v));
}

/* Entry J of a batch: BEGIN unless begun, then skip, dead-letter or run. */
static void event_one(struct slot *s, int ri, size_t j, struct store_taken *t)
{
    const struct worker_route *wr = &s->w->routes[ri];
    struct store_event *ev = t->ev;
    struct store_begin_result *b = &t->b;
    struct run_result res;

    if (!t->begun && !begin(s, ev, b)) {
        inflight_done(s, j); /* left pending: claimed after visibility_timeout */
        return;
    }
    if (!b->run) {
        /* "held": an earlier event of its order key is still open; the entry
         * was acknowledged and comes back when that one is done. */
        bool held = strcmp(b->state, "held") == 0;
        struct attempt a = {.outcome = held ? "held" : "skipped_duplicate",
                            .prior_state = held ? NULL : b->state,
                            .next_in_ms = -1,
                            .applied = true};
        inflight_done(s, j);
        log_attempt(s, ev, &a);
    } else if (b->attempts > wr->cfg->max_attempts) {
        struct attempt a = {.n = b->attempts,
                            .outcome = "dead",
                            .reason = "exhausted",
                            .classification = "exhausted",
                            .next_in_ms = -1};
        add_pending(s, j, ev, &a,
                    "attempts exhausted: earlier attempts ended without an outcome "
                    "(their worker died or lost Redis)",
                    0, NULL, NULL);
    } else {
        run_handler(s, wr, ev, b->attempts, &res);
        conclude(s, wr, j, ev, b->attempts, &res);
    }
}

void event_batch(struct slot *s, struct store_taken *t, size_t n, bool then_read)
{
    int ri = n > 0 ? worker_route_index(s->w, t[0].ev->route) : -1;
    int64_t first = 0;

    if (n > (size_t)s->w->batch) { /* s->pending and inflight[] hold w->batch */
        event_batch(s, t, (size_t)s->w->batch, false);
        event_batch(s, t + s->w->batch, n - (size_t)s->w->batch, then_read);
        return;
    }
    /* Every entry in hand is heartbeated until its outcome step is sent
     * (flush clears them first, so the heartbeat never mistakes an entry we
     * just acknowledged for one claimed away): a batch's later entries wait
     * for the earlier handlers, possibly past visibility_timeout. */
    if (ri >= 0)
        inflight_set(s, ri, t, n);
    for (size_t j = 0; ri >= 0 && j < n; j++) {
        /* An outcome waits for the batch's step about the batch's budget
         * (and one handler run): a slower batch sends what it has. */
        if (s->npending > 0 && clock_mono_us() - first > s->w->budget_us)
            flush(s, false);
        if (s->npending == 0)
            first = clock_mono_us();
        event_one(s, ri, j, &t[j]);
    }
    flush(s, then_read);
    for (size_t j = 0; j < n; j++) {
        store_event_free(t[j].ev);
        t[j].ev = NULL;
    }
}
