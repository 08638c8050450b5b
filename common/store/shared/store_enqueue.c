/*
 * store_enqueue.c — the atomic enqueue (dedupe record + stream entry, see
 * the enqueue script of store_scripts.c), singly or as a batch: the
 * receiver's group commit, and hookctl reconcile --enqueue, which queues
 * events read from a provider's API through the very same step. An event
 * with a tenant goes to P:{ROUTE}:stream:NAME (NAME from
 * store_tenant_name), one without to P:{ROUTE}:stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "log.h"
#include "store_enqueue.h"
#include "store_internal.h"

#define STORE_CONN_WAITED UINT64_MAX /* a job whose connection's WAIT is done */

/* V in decimal into buf (24 bytes at least): snprintf's cost per event was
 * a tenth of the step's client instructions. */
static void put_i64(char *buf, int64_t v)
{
    char digits[24], *end = digits + sizeof digits;
    char *d = codec_dec_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);

    if (v < 0)
        *buf++ = '-';
    memcpy(buf, d, (size_t)(end - d));
    buf[end - d] = '\0';
}

/*
 * Appends the stream entry's values to argv: now_ms, flags, the eight
 * fields every event has, then the optional ones the flags name, in
 * their order (the enqueue script's ARGV, store_scripts.c; the field
 * names and route are the script's and the call's).
 */
static void add_event_values(const char **argv, size_t *len, int *n_io,
                             const struct store_event_in *ev, const char *tenant_name,
                             char *now, char *flags)
{
    int n = *n_io, nf = 0;

    put_i64(now, ev->received_at_ms);
    if (ev->traceparent)
        flags[nf++] = 'p';
    if (ev->tenant)
        flags[nf++] = 'n';
    if (ev->order_key)
        flags[nf++] = 'o';
    if (tenant_name[0])
        flags[nf++] = 't';
    if (ev->order_hold)
        flags[nf++] = 'h';
    flags[nf] = '\0';
    ADD_STR(now), ADD_STR(flags);
    store_arg_add(argv, len, &n, ev->event_id, ev->event_id_len);
    ADD_STR(ev->source);
    store_arg_add(argv, len, &n, ev->type, ev->type_len);
    store_arg_add(argv, len, &n, ev->body ? ev->body : "", ev->body_len);
    ADD_STR(ev->body_sha256), ADD_STR(ev->headers_json);
    ADD_STR(ev->sig_version ? ev->sig_version : ""), ADD_STR(ev->request_id);
    if (ev->traceparent)
        ADD_STR(ev->traceparent);
    if (ev->tenant)
        store_arg_add(argv, len, &n, ev->tenant, ev->tenant_len);
    if (ev->order_key)
        store_arg_add(argv, len, &n, ev->order_key, ev->order_key_len);
    if (tenant_name[0])
        ADD_STR(tenant_name);
    *n_io = n;
}

/* One event's pair (word, detail) of the reply; *backlog is the route's
 * backlog so far in the call, one more after a queued event. */
static int parse_enqueue_pair(const redisReply *w, const redisReply *d, int64_t *backlog,
                              struct enqueue_result *out)
{
    char word[16];

    if (!store_reply_text(w, word, sizeof word))
        return HOOKD_EREDIS_REPLY;
    out->backlog = *backlog;
    if (strcmp(word, "queued") == 0) {
        out->status = ENQ_QUEUED;
        out->backlog = ++*backlog;
        return store_reply_text(d, out->stream_id, sizeof out->stream_id) ? 0
                                                                          : HOOKD_EREDIS_REPLY;
    }
    if (strcmp(word, "duplicate") == 0) {
        out->status = ENQ_DUPLICATE;
        if (!store_reply_text(d, out->prior_state, sizeof out->prior_state))
            out->prior_state[0] = '\0';
        return 0;
    }
    if (strcmp(word, "overload") == 0) {
        out->status = ENQ_OVERLOAD;
        return 0;
    }
    out->backlog = 0;
    if (strcmp(word, "paused") == 0) {
        out->status = ENQ_PAUSED;
        return 0;
    }
    if (strcmp(word, "error") == 0 && d->type == REDIS_REPLY_STRING)
        log_msg(LOG_WARN, EV_ERROR, "enqueue step: %.200s", d->str);
    return HOOKD_EREDIS_REPLY;
}

/* WAIT numreplicas timeout on connection conn, the one that took the
 * writes: 0 when enough replicas acknowledged them. */
static int wait_for_replicas(struct store *st, uint64_t conn, int replicas, int64_t timeout_ms)
{
    char nrep[16], tmo[24];
    const char *argv[3] = {"WAIT", nrep, tmo};
    size_t len[3] = {4};
    int rc;
    redisReply *r;

    len[1] = (size_t)snprintf(nrep, sizeof nrep, "%d", replicas);
    len[2] = (size_t)snprintf(tmo, sizeof tmo, "%lld", (long long)timeout_ms);
    r = store_command_on(st, conn, 3, argv, len, &rc);
    if (!r)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER && r->integer >= replicas ? 0 : HOOKD_EREDIS_TIMEOUT;
    freeReplyObject(r);
    return rc;
}

/* One event's share of its route's call: its seen key, its order list and
 * tenant stream when it has them (keys[1], keys[2]: the script's KEYS in
 * the order of its flags 'o', 't'),
 * and its ARGV (see add_event_values), built in buffers of its own. */
#define EV_KEYS 3
#define EV_ARGV_MAX 16
#define EV_FLAGS 5 /* p n o t h */

struct event_args {
    char keys[EV_KEYS][STORE_KEY_MAX], tenant[STORE_TENANT_MAX + 1];
    char now[24], flags[EV_FLAGS + 1];
    const char *argv[EV_ARGV_MAX];
    size_t len[EV_ARGV_MAX], klen[EV_KEYS];
    int argc;
};

static int event_args(struct store *st, const char *route, const struct store_event_in *ev,
                      struct event_args *a)
{
    int n = 0;
    int sl = store_key_seen(st, a->keys[0], STORE_KEY_MAX, route, ev->source, ev->event_id,
                            ev->event_id_len);
    int ol = ev->order_key ? store_key_order(st, a->keys[1], STORE_KEY_MAX, route, ev->order_key,
                                             ev->order_key_len)
                           : 0;

    if (!ev->tenant || store_tenant_name(ev->tenant, ev->tenant_len, a->tenant) < 0)
        a->tenant[0] = '\0';
    if (sl < 0 || ol < 0 ||
        (a->tenant[0] && store_key_stream(st, a->keys[2], STORE_KEY_MAX, route, a->tenant) < 0))
        return HOOKD_ETOO_LARGE;
    a->klen[0] = (size_t)sl, a->klen[1] = (size_t)ol;
    a->klen[2] = a->tenant[0] ? strlen(a->keys[2]) : 0;
    add_event_values(a->argv, a->len, &n, ev, a->tenant, a->now, a->flags);
    a->argc = n;
    return 0;
}

/* The jobs of one route (and ttl and watermark) in a batch: one call. */
#define ROUTE_KEYS 4
#define ROUTE_ARGS 5

struct route_call {
    const struct store_enqueue_job *first; /* route, ttl_s, watermark */
    size_t n, *jobs;                       /* indexes into the batch, in order */
    char keys[ROUTE_KEYS][STORE_KEY_MAX], ttl[24], wm[24], tmax[16], nev[24];
    const char **argv;                     /* owned: the whole command */
    size_t *len;
    int argc, nkeys;
};

static bool same_route(const struct store_enqueue_job *a, const struct store_enqueue_job *b)
{
    return strcmp(a->route, b->route) == 0 && a->ttl_s == b->ttl_s &&
           a->watermark == b->watermark;
}

/* The command of call c: EVALSHA (3 reserved), its KEYS, then its ARGV. */
static int route_command(struct store *st, struct route_call *c, const struct event_args *ev)
{
    const char *route = c->first->route;
    size_t total = 3 + ROUTE_KEYS + ROUTE_ARGS;
    int n = 3;

    for (size_t i = 0; i < c->n; i++)
        total += EV_KEYS + (size_t)ev[c->jobs[i]].argc;
    if (store_key_route(st, c->keys[0], STORE_KEY_MAX, route, "counters") < 0 ||
        store_key_route(st, c->keys[1], STORE_KEY_MAX, route, "paused") < 0 ||
        store_key_stream(st, c->keys[2], STORE_KEY_MAX, route, NULL) < 0 ||
        store_key_route(st, c->keys[3], STORE_KEY_MAX, route, "tenants") < 0)
        return HOOKD_ETOO_LARGE;
    if (!(c->argv = malloc(total * sizeof *c->argv)) || !(c->len = malloc(total * sizeof *c->len)))
        return HOOKD_ENOMEM;
    const char **argv = c->argv;
    size_t *len = c->len;
    for (int k = 0; k < ROUTE_KEYS; k++)
        ADD_STR(c->keys[k]);
    for (size_t i = 0; i < c->n; i++) /* the seen keys, then the others, in order */
        store_arg_add(argv, len, &n, ev[c->jobs[i]].keys[0], ev[c->jobs[i]].klen[0]);
    for (size_t i = 0; i < c->n; i++)
        for (int k = 1; k < EV_KEYS; k++)
            if (ev[c->jobs[i]].klen[k])
                store_arg_add(argv, len, &n, ev[c->jobs[i]].keys[k], ev[c->jobs[i]].klen[k]);
    c->nkeys = n - 3;
    snprintf(c->ttl, sizeof c->ttl, "%lld", (long long)c->first->ttl_s);
    snprintf(c->wm, sizeof c->wm, "%lld", (long long)c->first->watermark);
    snprintf(c->tmax, sizeof c->tmax, "%d", STORE_TENANTS_MAX);
    snprintf(c->nev, sizeof c->nev, "%zu", c->n);
    ADD_STR(c->ttl), ADD_STR(c->wm), ADD_STR(c->tmax), ADD_STR(route), ADD_STR(c->nev);
    for (size_t i = 0; i < c->n; i++)
        for (int k = 0; k < ev[c->jobs[i]].argc; k++)
            store_arg_add(argv, len, &n, ev[c->jobs[i]].argv[k], ev[c->jobs[i]].len[k]);
    c->argc = n;
    return 0;
}

/* Each job of call c its outcome from reply r (one element per job). */
static void route_outcome(struct route_call *c, struct store_enqueue_job *const *jobs,
                          const redisReply *r, int rc)
{
    bool whole = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 + 2 * c->n &&
                 r->element[0]->type == REDIS_REPLY_INTEGER;
    int64_t backlog = whole ? r->element[0]->integer : 0;

    if (r && !whole)
        log_msg(LOG_WARN, EV_ERROR, "enqueue step: %.200s",
                r->type == REDIS_REPLY_ERROR ? r->str : "a reply of the wrong shape");
    for (size_t i = 0; i < c->n; i++) {
        struct store_enqueue_job *j = jobs[c->jobs[i]];
        j->rc = !r       ? rc
                : !whole ? HOOKD_EREDIS_REPLY
                         : parse_enqueue_pair(r->element[1 + 2 * i], r->element[2 + 2 * i],
                                              &backlog, &j->res);
    }
}

/* What a 2xx will stand for must be on wait_replicas replicas first: a new
 * event, and a duplicate too (its record may so far exist only on the
 * primary: an earlier attempt wrote it, then got 503 from its WAIT). */
static bool needs_wait(const struct store_enqueue_job *j)
{
    return j->rc == 0 && (j->res.status == ENQ_QUEUED || j->res.status == ENQ_DUPLICATE);
}

/*
 * WAIT covers only the writes made before it on its own connection. The
 * replies of a batch may come over more than one (the connection closed
 * and a NOSCRIPT or redirected step ran again on a new one), and a closed
 * connection's writes can be covered by nothing: a WAIT on a new one would
 * answer at once with the replicas' count (what Sentinel's CLIENT KILL at
 * a failover causes). So one WAIT per connection that took a write, on
 * that connection only; its jobs fail (503) when it has closed since.
 *
 *   EVALSHA enqueue ×n ──▶ replies, each with its connection's serial
 *   per serial:  WAIT on that connection ──▶ enough replicas: 2xx
 *                connection gone or too few ──▶ its jobs 503
 */
static void wait_each_conn(struct store *st, size_t m, struct store_enqueue_job *const *jobs,
                           const size_t *which, uint64_t *conns, int replicas, int64_t timeout_ms)
{
    for (size_t k = 0; k < m; k++) {
        uint64_t conn = conns[k];
        int rc = HOOKD_EREDIS_CONN;

        if (!needs_wait(jobs[which[k]]) || conn == STORE_CONN_WAITED)
            continue;
        if (conn != 0)
            rc = wait_for_replicas(st, conn, replicas, timeout_ms);
        if (rc == HOOKD_EREDIS_CONN)
            log_msg(LOG_WARN, EV_REDIS_DOWN,
                    "the connection that took a write closed before its WAIT: answered 503");
        for (size_t e = k; e < m; e++) {
            if (conns[e] != conn)
                continue;
            if (rc < 0 && needs_wait(jobs[which[e]]))
                jobs[which[e]]->rc = rc;
            conns[e] = STORE_CONN_WAITED;
        }
    }
}

int store_enqueue(struct store *st, const char *route, const struct store_event_in *ev,
                  int64_t ttl_s, int64_t watermark, int wait_replicas, int64_t wait_timeout_ms,
                  struct enqueue_result *out)
{
    struct store_enqueue_job job = {
        .route = route, .ev = ev, .ttl_s = ttl_s, .watermark = watermark};
    struct store_enqueue_job *one = &job;

    store_enqueue_many(st, 1, &one, wait_replicas, wait_timeout_ms);
    *out = job.res;
    return job.rc;
}

/* Groups the jobs whose arguments were built (ev[i], route_of[i] set by
 * the caller's loop) into calls, first-seen order, members in batch order:
 * the members of call c are at members[c's offset ...]. Returns nc. */
static size_t group_by_route(struct store *st, size_t n, struct store_enqueue_job *const *jobs,
                             struct event_args *ev, struct route_call *calls, size_t *members,
                             size_t *route_of)
{
    size_t nc = 0;

    for (size_t i = 0; i < n; i++) {
        if ((jobs[i]->rc = event_args(st, jobs[i]->route, jobs[i]->ev, &ev[i])) < 0) {
            route_of[i] = SIZE_MAX;
            continue;
        }
        size_t c = 0;
        while (c < nc && !same_route(calls[c].first, jobs[i]))
            c++;
        if (c == nc) /* not zeroed whole: its key buffers are 4 KiB */
            calls[nc].first = jobs[i], calls[nc].n = 0, calls[nc].argv = NULL,
            calls[nc++].len = NULL;
        route_of[i] = c, calls[c].n++;
    }
    for (size_t c = 0, off = 0; c < nc; off += calls[c].n, calls[c].n = 0, c++)
        calls[c].jobs = members + off;
    for (size_t i = 0; i < n; i++)
        if (route_of[i] != SIZE_MAX)
            calls[route_of[i]].jobs[calls[route_of[i]].n++] = i;
    return nc;
}

/*
 * The batch as one call per route (see the enqueue script), all of them
 * pipelined: one round trip, and one script run per route, for the batch.
 *
 *   jobs ──▶ per-event KEYS/ARGV ──▶ grouped by route (first-seen order)
 *        ──▶ EVALSHA enqueue ×routes ──▶ one reply element per job
 *        ──▶ WAIT per connection that took a write (wait_each_conn)
 */
void store_enqueue_many(struct store *st, size_t n, struct store_enqueue_job *const *jobs,
                        int wait_replicas, int64_t wait_timeout_ms)
{
    struct event_args *ev = n ? malloc(n * sizeof *ev) : NULL;
    struct route_call *calls = n ? malloc(n * sizeof *calls) : NULL;
    size_t *members = n ? malloc(n * sizeof *members) : NULL, m = 0, nc = 0;
    size_t *route_of = n ? malloc(n * sizeof *route_of) : NULL;
    size_t *which = n ? malloc(n * sizeof *which) : NULL;
    struct store_argv *cmds = n ? malloc(n * sizeof *cmds) : NULL;
    redisReply **replies = n ? calloc(n, sizeof *replies) : NULL;
    int *rcs = n ? malloc(n * sizeof *rcs) : NULL, *nkeys = n ? malloc(n * sizeof *nkeys) : NULL;
    uint64_t *conns = n ? calloc(n, sizeof *conns) : NULL;
    uint64_t *job_conns = n ? calloc(n, sizeof *job_conns) : NULL;
    enum store_script *scripts = n ? malloc(n * sizeof *scripts) : NULL;

    for (size_t i = 0; i < n; i++) {
        memset(&jobs[i]->res, 0, sizeof jobs[i]->res);
        jobs[i]->rc = HOOKD_ENOMEM;
    }
    if (!ev || !calls || !members || !route_of || !which || !cmds || !replies || !rcs || !nkeys ||
        !conns || !job_conns || !scripts)
        goto out;
    nc = group_by_route(st, n, jobs, ev, calls, members, route_of);
    for (size_t c = 0; c < nc; c++) {
        int rc = route_command(st, &calls[c], ev);
        if (rc < 0) {
            route_outcome(&calls[c], jobs, NULL, rc);
            continue;
        }
        cmds[m] = (struct store_argv){calls[c].argc, calls[c].argv, calls[c].len};
        scripts[m] = SCRIPT_ENQUEUE, nkeys[m] = calls[c].nkeys, which[m++] = c;
    }
    store_scripts_pipeline(st, m, scripts, nkeys, cmds, replies, rcs, conns);
    for (size_t k = 0; k < m; k++) {
        struct route_call *c = &calls[which[k]];
        route_outcome(c, jobs, replies[k], rcs[k]);
        for (size_t i = 0; i < c->n; i++)
            job_conns[c->jobs[i]] = conns[k];
    }
    for (size_t i = 0; i < n; i++)
        which[i] = i;
    if (wait_replicas > 0)
        wait_each_conn(st, n, jobs, which, job_conns, wait_replicas, wait_timeout_ms);
out:
    for (size_t k = 0; replies && k < n; k++)
        freeReplyObject(replies[k]);
    for (size_t c = 0; calls && c < nc; c++)
        free(calls[c].argv), free(calls[c].len);
    free(ev), free(calls), free(members), free(route_of), free(which), free(cmds), free(replies);
    free(rcs), free(nkeys), free(conns), free(job_conns), free(scripts);
}
