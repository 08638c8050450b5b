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

#include "err.h"
#include "log.h"
#include "store_enqueue.h"
#include "store_internal.h"

#define ENQ_MAX_FIELDS 15 /* field/value pairs of one stream entry */
#define ENQ_KEYS 7        /* KEYS of SCRIPT_ENQUEUE */
#define STORE_CONN_WAITED UINT64_MAX /* a job whose connection's WAIT is done */

/* Appends the stream entry's fields (SPEC order) to argv. */
static void add_event_fields(const char **argv, size_t *len, int *n_io,
                             const struct store_event_in *ev, const char *route, char *received,
                             size_t rcap)
{
    int n = *n_io;

    snprintf(received, rcap, "%lld", (long long)ev->received_at_ms);
    ADD_STR("event_id"), store_arg_add(argv, len, &n, ev->event_id, ev->event_id_len);
    ADD_STR("source"), ADD_STR(ev->source);
    ADD_STR("route"), ADD_STR(route);
    ADD_STR("type"), store_arg_add(argv, len, &n, ev->type, ev->type_len);
    ADD_STR("body"), store_arg_add(argv, len, &n, ev->body ? ev->body : "", ev->body_len);
    ADD_STR("body_sha256"), ADD_STR(ev->body_sha256);
    ADD_STR("headers"), ADD_STR(ev->headers_json);
    ADD_STR("sig_version"), ADD_STR(ev->sig_version ? ev->sig_version : "");
    ADD_STR("received_at"), ADD_STR(received);
    ADD_STR("request_id"), ADD_STR(ev->request_id);
    if (ev->traceparent)
        ADD_STR("traceparent"), ADD_STR(ev->traceparent);
    if (ev->tenant)
        ADD_STR("tenant"), store_arg_add(argv, len, &n, ev->tenant, ev->tenant_len);
    if (ev->order_key)
        ADD_STR("order_key"), store_arg_add(argv, len, &n, ev->order_key, ev->order_key_len);
    ADD_STR("attempt"), ADD_STR("1");
    *n_io = n;
}

static int parse_enqueue_reply(const redisReply *r, struct enqueue_result *out)
{
    char word[16], num[32];

    if (!store_reply_array(r, 3) || !store_reply_text(r->element[0], word, sizeof word) ||
        !store_reply_text(r->element[2], num, sizeof num))
        return HOOKD_EREDIS_REPLY;
    out->backlog = strtoll(num, NULL, 10);
    if (strcmp(word, "queued") == 0) {
        out->status = ENQ_QUEUED;
        return store_reply_text(r->element[1], out->stream_id, sizeof out->stream_id)
                   ? 0
                   : HOOKD_EREDIS_REPLY;
    }
    if (strcmp(word, "duplicate") == 0) {
        out->status = ENQ_DUPLICATE;
        if (!store_reply_text(r->element[1], out->prior_state, sizeof out->prior_state))
            out->prior_state[0] = '\0';
        return 0;
    }
    if (strcmp(word, "overload") == 0) {
        out->status = ENQ_OVERLOAD;
        return 0;
    }
    if (strcmp(word, "paused") == 0) {
        out->status = ENQ_PAUSED;
        return 0;
    }
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

/* KEYS of the enqueue step into keys[] / argv; *tenant_name "" when none.
 * The seventh is the order key's list, or the seen key again when the
 * event has none. */
static int enqueue_keys(struct store *st, const char *route, const struct store_event_in *ev,
                        char keys[ENQ_KEYS][STORE_KEY_MAX], size_t klen[ENQ_KEYS],
                        char tenant_name[STORE_TENANT_MAX + 1])
{
    int sl = store_key_seen(st, keys[0], STORE_KEY_MAX, route, ev->source, ev->event_id,
                            ev->event_id_len);
    int ol = ev->order_key ? store_key_order(st, keys[6], STORE_KEY_MAX, route, ev->order_key,
                                             ev->order_key_len)
                           : sl;

    if (!ev->tenant || store_tenant_name(ev->tenant, ev->tenant_len, tenant_name) < 0)
        tenant_name[0] = '\0';
    if (sl < 0 || store_key_stream(st, keys[1], STORE_KEY_MAX, route, NULL) < 0 ||
        store_key_route(st, keys[2], STORE_KEY_MAX, route, "counters") < 0 ||
        store_key_route(st, keys[3], STORE_KEY_MAX, route, "paused") < 0 ||
        store_key_stream(st, keys[4], STORE_KEY_MAX, route, tenant_name) < 0 ||
        store_key_route(st, keys[5], STORE_KEY_MAX, route, "tenants") < 0 || ol < 0)
        return HOOKD_ETOO_LARGE;
    klen[0] = (size_t)sl;
    for (int i = 1; i < 6; i++)
        klen[i] = strlen(keys[i]);
    if (!ev->order_key)
        memcpy(keys[6], keys[0], (size_t)sl + 1);
    klen[6] = (size_t)ol;
    return 0;
}

#define ENQ_ARGV_MAX (3 + ENQ_KEYS + 8 + 2 * ENQ_MAX_FIELDS)

/* One enqueue step's arguments, built in buffers of its own. */
struct enqueue_args {
    char keys[ENQ_KEYS][STORE_KEY_MAX], tenant[STORE_TENANT_MAX + 1];
    char ttl[24], wm[24], now[24], received[24], tmax[24];
    const char *argv[ENQ_ARGV_MAX];
    size_t len[ENQ_ARGV_MAX], klen[ENQ_KEYS];
    int argc;
};

static int enqueue_args(struct store *st, const char *route, const struct store_event_in *ev,
                        int64_t ttl_s, int64_t watermark, struct enqueue_args *a)
{
    const char **argv = a->argv;
    size_t *len = a->len;
    int n = 3, rc;

    if ((rc = enqueue_keys(st, route, ev, a->keys, a->klen, a->tenant)) < 0)
        return rc;
    for (int i = 0; i < ENQ_KEYS; i++)
        store_arg_add(argv, len, &n, a->keys[i], a->klen[i]);
    snprintf(a->ttl, sizeof a->ttl, "%lld", (long long)ttl_s);
    snprintf(a->wm, sizeof a->wm, "%lld", (long long)watermark);
    snprintf(a->now, sizeof a->now, "%lld", (long long)ev->received_at_ms);
    snprintf(a->tmax, sizeof a->tmax, "%d", STORE_TENANTS_MAX);
    ADD_STR(a->ttl), ADD_STR(a->wm), ADD_STR(a->now), ADD_STR(ev->source), ADD_STR(route);
    ADD_STR(a->tenant), ADD_STR(a->tmax), ADD_STR(ev->order_hold ? "1" : "");
    add_event_fields(argv, len, &n, ev, route, a->received, sizeof a->received);
    a->argc = n;
    return 0;
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

void store_enqueue_many(struct store *st, size_t n, struct store_enqueue_job *const *jobs,
                        int wait_replicas, int64_t wait_timeout_ms)
{
    struct enqueue_args *a = n ? malloc(n * sizeof *a) : NULL;
    struct store_argv *cmds = n ? malloc(n * sizeof *cmds) : NULL;
    redisReply **replies = n ? malloc(n * sizeof *replies) : NULL;
    int *rcs = n ? malloc(n * sizeof *rcs) : NULL;
    size_t m = 0, *which = n ? malloc(n * sizeof *which) : NULL;
    uint64_t *conns = n ? calloc(n, sizeof *conns) : NULL;

    for (size_t i = 0; i < n; i++) {
        memset(&jobs[i]->res, 0, sizeof jobs[i]->res);
        jobs[i]->rc = HOOKD_ENOMEM;
    }
    if (!a || !cmds || !replies || !rcs || !which || !conns)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct store_enqueue_job *j = jobs[i];
        if ((jobs[i]->rc = enqueue_args(st, j->route, j->ev, j->ttl_s, j->watermark, &a[m])) < 0)
            continue;
        cmds[m] = (struct store_argv){a[m].argc, a[m].argv, a[m].len};
        which[m++] = i;
    }
    store_script_many(st, SCRIPT_ENQUEUE, ENQ_KEYS, m, cmds, replies, rcs, conns);
    for (size_t k = 0; k < m; k++) {
        struct store_enqueue_job *j = jobs[which[k]];
        j->rc = replies[k] ? parse_enqueue_reply(replies[k], &j->res) : rcs[k];
        freeReplyObject(replies[k]);
    }
    if (wait_replicas > 0)
        wait_each_conn(st, m, jobs, which, conns, wait_replicas, wait_timeout_ms);
out:
    free(a), free(cmds), free(replies), free(rcs), free(which), free(conns);
}
