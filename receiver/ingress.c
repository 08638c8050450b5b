/*
 * ingress.c — the receiver's decision on a request (see ingress.h):
 *
 *   path /hooks/SOURCE? source known? client in its allow_from? ─no─▶ 404/403
 *   POST (or a GET handshake)? length ≤ max_body? ─no─▶ 405/413 (no body read yet)
 *   verify signature over the raw body ─bad─▶ 400/401 + diagnostics
 *   rate limit ─▶ 429
 *   the scheme's handshake? ─▶ its answer (not queued); GET: Meta's, else 405
 *   extract event id, type, tenant ─bad─▶ 400
 *   route by SOURCE:TYPE-GLOB and the route's filters ─drop route─▶ 200 dropped
 *   the enqueue step (one atomic Lua step, pipeline.c) ─Redis trouble/overload─▶ 503
 *   ─▶ 202 queued | 200 duplicate
 *
 * One answer builder (answer) and one JSON log line per request, always,
 * with the request id (log_request).
 */
#include "ingress.h"
#include "clock.h"
#include "ingress_metrics.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "durable.h"
#include "err.h"
#include "extract.h"
#include "handshake.h"
#include "log.h"
#include "ratelimit.h"
#include "rejects.h"
#include "runtime.h"
#include "scheme.h"
#include "verify.h"

#define HOOKS_PREFIX "/hooks/"
#define OVERLOAD_RETRY_MAX 12 /* Retry-After of an overloaded route: at most 12x retry_after */

void ingress_response_free(struct ingress_response *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* Appends "s" (JSON-escaped, quoted) to buf; false when it does not fit. */
bool ingress_put_json_str(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + 2 > cap)
        return false;
    buf[(*len)++] = '"';
    if (!log_json_escape(buf, cap - 1, len, s, n))
        return false;
    buf[(*len)++] = '"';
    return true;
}

static bool put_raw(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= cap)
        return false;
    memcpy(buf + *len, s, n);
    *len += n;
    return true;
}

/* {"status":WORD,["event_id":...,][KEY:VAL,]"request_id":...} — values
 * JSON-escaped, built directly (no JSON tree for a four-field answer). */
static void answer(struct ingress_response *resp, int status, const char *word,
                   const struct ingress_work *w, const char *key, const char *val)
{
    size_t cap = 96 + 6 * (strlen(word) + w->event_id_len + (key ? strlen(key) : 0) +
                           (val ? strlen(val) : 0) + strlen(w->req.request_id));
    char *b = malloc(cap);
    size_t n = 0;
    bool ok =
        b && put_raw(b, cap, &n, "{\"status\":") && ingress_put_json_str(b, cap, &n, word, strlen(word));

    resp->status = status;
    if (ok && w->event_id_len)
        ok = put_raw(b, cap, &n, ",\"event_id\":") &&
             ingress_put_json_str(b, cap, &n, w->event_id, w->event_id_len);
    if (ok && key && val)
        ok = put_raw(b, cap, &n, ",") && ingress_put_json_str(b, cap, &n, key, strlen(key)) &&
             put_raw(b, cap, &n, ":") && ingress_put_json_str(b, cap, &n, val, strlen(val));
    ok = ok && put_raw(b, cap, &n, ",\"request_id\":") &&
         ingress_put_json_str(b, cap, &n, w->req.request_id, strlen(w->req.request_id)) &&
         put_raw(b, cap, &n, "}");
    if (!ok) {
        free(b);
        b = NULL, n = 0;
    } else {
        b[n] = '\0';
    }
    resp->body = b;
    resp->body_len = n;
}

/* Random bytes for request and trace ids from a per-thread pool refilled by
 * RAND_bytes: one call into OpenSSL's locked generator per 4 KiB instead of
 * two per request. */
static void random_bytes(unsigned char *out, size_t n)
{
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t left;

    if (left < n) {
        if (RAND_bytes(pool, sizeof pool) != 1) {
            RAND_bytes(out, (int)n);
            return;
        }
        left = sizeof pool;
    }
    memcpy(out, pool + sizeof pool - left, n);
    OPENSSL_cleanse(pool + sizeof pool - left, n); /* never handed out twice */
    left -= n;
}

void ingress_request_id(const char *proposed, size_t len, char out[INGRESS_REQUEST_ID_MAX + 1])
{
    unsigned char rnd[16];
    bool ok = proposed && len > 0 && len <= INGRESS_REQUEST_ID_MAX;

    for (size_t i = 0; ok && i < len; i++) {
        char c = proposed[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == ':' || c == '-';
    }
    if (ok) {
        memcpy(out, proposed, len);
        out[len] = '\0';
        return;
    }
    random_bytes(rnd, sizeof rnd);
    codec_hex_encode(rnd, sizeof rnd, out);
}

static bool is_lower_hex(const char *p, size_t n)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
        nonzero |= p[i] != '0';
    }
    return nonzero;
}

void ingress_traceparent(const char *p, size_t len, char out[INGRESS_TRACEPARENT_LEN + 1])
{
    unsigned char rnd[24];
    char hex[49];

    /* version "00" - 32 hex trace id - 16 hex parent id - 2 hex flags */
    if (p && len == INGRESS_TRACEPARENT_LEN && memcmp(p, "00-", 3) == 0 && p[35] == '-' &&
        p[52] == '-' && is_lower_hex(p + 3, 32) && is_lower_hex(p + 36, 16) &&
        (is_lower_hex(p + 53, 2) || memcmp(p + 53, "00", 2) == 0)) {
        memcpy(out, p, len);
        out[len] = '\0';
        return;
    }
    random_bytes(rnd, sizeof rnd);
    codec_hex_encode(rnd, sizeof rnd, hex);
    /* "00-%.32s-%.16s-01", without printf's cost on every request */
    memcpy(out, "00-", 3);
    memcpy(out + 3, hex, 32);
    out[35] = '-';
    memcpy(out + 36, hex + 32, 16);
    memcpy(out + 52, "-01", 4); /* with the NUL */
}

static void log_request(const struct ingress_work *w, const struct ingress_response *resp)
{
    const struct ingress_request *req = &w->req;
    int64_t took_us = clock_mono_us() - req->start_us;
    struct logline l;

    ingress_metrics_request(w->src ? w->src->name : NULL, w->outcome, resp->status, w->sig_version,
                            (double)took_us / 1e6);
    if (!log_begin(&l, resp->status >= 500 ? LOG_WARN : LOG_INFO, EV_REQUEST))
        return;
    log_str(&l, "request_id", req->request_id);
    if (w->src)
        log_str(&l, "source", w->src->name);
    if (w->event_id_len)
        log_strn(&l, "event_id", w->event_id, w->event_id_len);
    if (w->type_len)
        log_strn(&l, "type", w->type, w->type_len);
    if (w->route)
        log_str(&l, "route", w->route->name);
    if (w->has_tenant)
        log_strn(&l, "tenant", w->tenant, w->tenant_len);
    if (w->order_key_len)
        log_strn(&l, "order_key", w->order_key, w->order_key_len);
    log_str(&l, "order_key_error", w->order_error);
    log_int(&l, "status", resp->status);
    log_str(&l, "outcome", w->outcome);
    log_str(&l, "sig_version", w->sig_version);
    log_str(&l, "client", req->client_addr);
    log_str(&l, "peer", req->peer_addr);
    if (w->traceparent[0])
        log_str(&l, "traceparent", w->traceparent);
    log_int(&l, "body_bytes", (int64_t)req->body_len);
    log_double(&l, "latency_ms", (double)took_us / 1000.0);
    log_end(&l);
}

/* A provider's handshake (handshake.h), answered as the scheme says: the
 * answer replaces the JSON one, is logged with the handshake as outcome
 * and counted, and nothing is queued. */
static void handshake_send(struct ingress_work *w, struct handshake_answer *ans,
                           struct ingress_response *resp)
{
    resp->status = ans->status;
    resp->content_type = ans->content_type;
    resp->body = ans->body, resp->body_len = ans->body_len;
    ans->body = NULL;
    w->outcome = ans->kind;
    ingress_metrics_handshake(w->src->name, ans->kind, ans->status);
}

/* After the signature verified: true when the request was the scheme's
 * handshake and *resp is its answer. */
static bool handshake(struct ingress_work *w, struct ingress_response *resp)
{
    struct handshake_answer ans = {0};
    int rc = w->src->scheme->handshake
                 ? w->src->scheme->handshake(w->src, w->sig_key, &w->x, &ans)
                 : 0;

    if (rc == 1)
        handshake_send(w, &ans, resp);
    else if (rc < 0)
        answer(resp, 503, "unavailable", w, "error", "out of memory");
    handshake_answer_free(&ans);
    return rc != 0;
}

/* GET /hooks/SOURCE: the scheme's GET handshake (Meta), else 405. */
static void handshake_get(struct ingress_work *w, struct ingress_response *resp)
{
    struct handshake_answer ans = {0};
    const struct scheme *sc = w->src ? w->src->scheme : NULL;

    if (!sc || !sc->handshake_get ||
        sc->handshake_get(w->src, w->req.query ? w->req.query : "", w->req.query_len, &ans) < 0) {
        ingress_reject(w, w->src && sc->handshake_get ? 503 : 405, "method_not_allowed", 0,
                       resp);
        return;
    }
    memset(resp, 0, sizeof *resp);
    handshake_send(w, &ans, resp);
    handshake_answer_free(&ans);
    log_request(w, resp);
}

/* Reads one of id/type/tenant; on failure answers 400 and returns false. */
static bool extract_one(struct ingress_work *w, struct ingress_response *resp,
                        const struct field_spec *spec, const char *dflt, const char *what,
                        char *out, size_t cap, size_t *out_len)
{
    char msg[160];
    int rc = extract_field(&w->x, spec, dflt, out, cap, out_len);

    if (rc == 0)
        return true;
    snprintf(msg, sizeof msg, "event %s: %s", what, extract_reason(rc));
    w->outcome = "bad_request";
    answer(resp, 400, "rejected", w, "error", msg);
    return false;
}

static int64_t overload_retry_after(const struct config *cfg, const struct route_cfg *r,
                                    int64_t backlog, int64_t over_for_ms)
{
    int64_t base = cfg->receiver.retry_after_s > 0 ? cfg->receiver.retry_after_s : 1;
    int64_t depth = r->high_watermark > 0 ? backlog / r->high_watermark : 1;
    int64_t age = over_for_ms > 0 ? 1 + over_for_ms / (base * 1000) : 1;
    int64_t factor = depth > age ? depth : age;

    return base * (factor < 1 ? 1 : factor > OVERLOAD_RETRY_MAX ? OVERLOAD_RETRY_MAX : factor);
}

/* The enqueue step's inputs, from the request and the route. */
static void enqueue_prepare(struct ingress_work *w, const struct headers *headers)
{
    const struct config *cfg = w->cfg;
    const struct ingress_request *req = &w->req;
    const struct route_cfg *r = w->route;

    w->hjson = ingress_headers_json(headers, w->src);
    w->over_for_ms = runtime_route_overloaded_for_ms(r->name);
    w->over = w->over_for_ms >= 0;
    w->low = r->high_watermark * cfg->receiver.low_watermark /
             (cfg->receiver.high_watermark ? cfg->receiver.high_watermark : 1);
    codec_sha256_hex(req->body, req->body_len, w->sha);
    w->ev = (struct store_event_in){
        .event_id = w->event_id,
        .event_id_len = w->event_id_len,
        .source = w->src->name,
        .type = w->type,
        .type_len = w->type_len,
        .tenant = w->has_tenant ? w->tenant : NULL,
        .tenant_len = w->tenant_len,
        .body = req->body,
        .body_len = req->body_len,
        .body_sha256 = w->sha,
        .headers_json = w->hjson ? w->hjson : "{}",
        .sig_version = w->sig_version,
        .received_at_ms = clock_wall_ms(),
        .request_id = req->request_id,
        .traceparent = w->traceparent,
        .order_key = w->order_key_len ? w->order_key : NULL,
        .order_key_len = w->order_key_len,
        .order_hold = r->order_hold_on_dead,
    };
    w->job = (struct store_enqueue_job){
        .route = r->name,
        .ev = &w->ev,
        .ttl_s = cfg->redis.dedupe_ttl_s,
        .watermark = w->over ? w->low : r->high_watermark,
        .rc = HOOKD_EREDIS_CONN,
    };
    w->submitted_us = clock_mono_us();
}

/* The answer to the enqueue step's outcome (w->job.rc, w->job.res). */
static void enqueue_answer(struct ingress_work *w, struct ingress_response *resp)
{
    const struct config *cfg = w->cfg;
    const struct route_cfg *r = w->route;
    const struct enqueue_result *res = &w->job.res;
    int rc = w->job.rc;

    if (w->submitted_us)
        ingress_metrics_redis("enqueue", (double)(clock_mono_us() - w->submitted_us) / 1e6);
    free(w->hjson);
    w->hjson = NULL;
    if (rc < 0) {
        w->outcome = rc == HOOKD_EREDIS_TIMEOUT ? "redis_timeout" : "redis_unavailable";
        resp->retry_after_s = cfg->receiver.retry_after_s;
        answer(resp, 503, "unavailable", w, "error", "event store unavailable, retry later");
        return;
    }
    switch (res->status) {
    case ENQ_QUEUED:
        if (w->over && res->backlog < w->low)
            runtime_set_route_overloaded(r->name, false);
        w->outcome = "queued";
        answer(resp, 202, "queued", w, NULL, NULL);
        break;
    case ENQ_DUPLICATE:
        w->outcome = "duplicate";
        answer(resp, 200, "duplicate", w, "state", res->prior_state);
        break;
    case ENQ_OVERLOAD:
        runtime_set_route_overloaded(r->name, true);
        w->outcome = "overloaded";
        resp->retry_after_s = overload_retry_after(cfg, r, res->backlog, w->over_for_ms);
        answer(resp, 503, "unavailable", w, "error",
               "route backlog over its watermark, retry later");
        break;
    case ENQ_PAUSED:
        w->outcome = "paused";
        resp->retry_after_s = cfg->receiver.retry_after_s;
        answer(resp, 503, "unavailable", w, "error", "route paused by an operator, retry later");
        break;
    }
}

void ingress_init(struct ingress_work *w, const struct config *cfg,
                  const struct ingress_request *req)
{
    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    w->req = *req;
    w->outcome = "error";
    if (!w->req.client.family && w->req.client_addr) /* callers without a socket */
        cidr_addr_parse(w->req.client_addr, strlen(w->req.client_addr), &w->req.client);
}

/* NULL when the source takes the client, else why not (the outcome word). */
static const char *client_refused(const struct ingress_work *w)
{
    const struct cidr_set *allow = &w->src->allow_from;

    if (allow->n == 0)
        return NULL;
    if (w->req.forwarded_malformed)
        return "forwarded_for_malformed";
    return cidr_set_contains(allow, &w->req.client) ? NULL : "client_not_allowed";
}

void ingress_reject(struct ingress_work *w, int status, const char *why, int64_t retry_after_s,
                    struct ingress_response *resp)
{
    memset(resp, 0, sizeof *resp);
    w->outcome = why;
    resp->retry_after_s = retry_after_s;
    answer(resp, status, "rejected", w, "error", why);
    log_request(w, resp);
}

bool ingress_head(struct ingress_work *w, const char *path, const char *method,
                  int64_t content_length, struct ingress_response *resp)
{
    size_t np = strlen(HOOKS_PREFIX);
    const char *refused;

    if (strncmp(path, HOOKS_PREFIX, np) != 0) {
        ingress_reject(w, 404, "not_found", 0, resp);
        return false;
    }
    w->src = config_source(w->cfg, path + np, strlen(path + np));
    /* Before anything else the source answers, a GET handshake included. */
    if (w->src && (refused = client_refused(w))) {
        ingress_metrics_forbidden(w->src->name, refused);
        ingress_reject(w, 403, refused, 0, resp);
    } else if (strcmp(method, "GET") == 0 && w->src)
        handshake_get(w, resp);
    else if (strcmp(method, "POST") != 0)
        ingress_reject(w, 405, "method_not_allowed", 0, resp);
    else if (!w->src)
        ingress_reject(w, 404, "unknown_source", 0, resp);
    else if (content_length > 0 && (uint64_t)content_length > w->src->max_body)
        ingress_reject(w, 413, "body_too_large", 0, resp);
    else
        return true;
    return false;
}

/* The signature, then the rate limit: false with *resp decided. */
static bool admit(struct ingress_work *w, struct store *st, const struct headers *headers,
                  struct ingress_response *resp)
{
    const struct ingress_request *req = &w->req;
    struct verify_http http = {"POST", req->query, req->query_len};
    struct verify_result vr;

    if (verify_request_http(w->src, headers, &http, req->body, req->body_len, time(NULL), true,
                            &vr) != VERIFY_OK) {
        w->outcome = vr.reason;
        ingress_metrics_signature_failure(w->src->name, &vr);
        rejects_record(w->cfg, st, req, headers, w->src, &vr, w->traceparent);
        answer(resp, verify_http_status(vr.status), "rejected", w, "error", vr.reason);
        return false;
    }
    w->sig_version = vr.matched_version;
    w->sig_key = vr.matched_key;
    /* After verification, so unsigned junk cannot spend a provider's tokens. */
    if ((resp->retry_after_s = ratelimit_check(w->src, st)) > 0) {
        w->outcome = "rate_limited";
        answer(resp, 429, "rejected", w, "error", "rate limit exceeded, retry later");
        return false;
    }
    return true;
}

/* Event id, type and tenant: false with *resp decided. */
static bool extract_event(struct ingress_work *w, struct ingress_response *resp)
{
    const struct source_cfg *src = w->src;

    if (!extract_one(w, resp, &src->id, src->scheme->default_id, "id", w->event_id,
                     sizeof w->event_id, &w->event_id_len) ||
        !extract_one(w, resp, &src->type, src->scheme->default_type, "type", w->type,
                     sizeof w->type, &w->type_len))
        return false;
    if (src->tenant.kind != FIELD_NONE) {
        if (!extract_one(w, resp, &src->tenant, NULL, "tenant", w->tenant, sizeof w->tenant,
                         &w->tenant_len))
            return false;
        w->has_tenant = true;
    }
    return true;
}

bool ingress_decide(struct ingress_work *w, struct store *st, const struct headers *headers,
                    const char *body, size_t body_len, struct ingress_response *resp)
{
    const struct header *tp = headers_find(headers, "traceparent");
    bool step = false;

    memset(resp, 0, sizeof *resp);
    w->req.body = body;
    w->req.body_len = body_len;
    ingress_traceparent(tp ? tp->value : NULL, tp ? tp->value_len : 0, w->traceparent);
    if (!admit(w, st, headers, resp))
        goto out;
    extract_init(&w->x, w->src->name, headers, body, body_len);
    if (handshake(w, resp) || !extract_event(w, resp))
        goto out;
    w->route = config_route_for(w->cfg, w->src->name, w->type, &w->x);
    if (w->route->drop) {
        /* handler = drop: verified (a forgery still gets its 401) and
         * counted, but neither stored nor deduplicated. */
        w->outcome = "dropped";
        ingress_metrics_dropped(w->src->name, w->route->name);
        answer(resp, 200, "dropped", w, "route", w->route->name);
        goto out;
    }
    if (durable_refusing()) {
        /* After the signature (a forgery still gets its 401) and the drop
         * routes (nothing to keep): an event is stored only where it lasts. */
        w->outcome = "redis_not_durable";
        resp->retry_after_s = w->cfg->receiver.retry_after_s;
        answer(resp, 503, "unavailable", w, "error",
               "event store not durable (Redis AOF off), retry later");
        goto out;
    }
    if (w->route->order_by.kind != FIELD_NONE) {
        /* No usable key (absent, null, an object, control bytes): the event
         * is accepted unordered rather than refused — a 400 would only make
         * the provider send it again, forever. */
        int rc = extract_key(&w->x, &w->route->order_by, w->order_key, sizeof w->order_key,
                             &w->order_key_len);
        if (rc < 0)
            w->order_error = extract_reason(rc);
    }
    enqueue_prepare(w, headers);
    step = true;
out:
    extract_release(&w->x);
    if (!step)
        log_request(w, resp);
    return step;
}

static struct ingress_work *item_work(struct pipeline_item *it)
{
    return (struct ingress_work *)((char *)it - offsetof(struct ingress_work, item));
}

/* The step's outcome is in (pipeline.c, logs batched): the answer. */
static void on_committed(struct pipeline_item *it)
{
    struct ingress_work *w = item_work(it);

    memset(w->resp, 0, sizeof *w->resp);
    enqueue_answer(w, w->resp);
    log_request(w, w->resp);
}

/* Once every line of the batch is written: the transport may send it. */
static void on_answered(struct pipeline_item *it)
{
    struct ingress_work *w = item_work(it);

    if (w->answered)
        w->answered(w->answered_arg);
}

void ingress_commit(struct ingress_work *w, struct store *st, struct ingress_response *resp,
                    void (*answered)(void *arg), void *arg)
{
    w->resp = resp;
    w->answered = answered;
    w->answered_arg = arg;
    w->item = (struct pipeline_item){.job = &w->job, .done = on_committed, .wake = on_answered};
    pipeline_commit(&w->item, st, w->cfg);
}

void ingress_handle(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    const char *path, const struct headers *headers,
                    struct ingress_response *resp)
{
    struct ingress_work *w = malloc(sizeof *w);

    if (!w) {
        memset(resp, 0, sizeof *resp);
        resp->status = 503;
        resp->retry_after_s = cfg->receiver.retry_after_s;
        return;
    }
    ingress_init(w, cfg, req);
    if (ingress_head(w, path, "POST", (int64_t)req->body_len, resp) &&
        ingress_decide(w, st, headers, req->body, req->body_len, resp))
        ingress_commit(w, st, resp, NULL, NULL);
    free(w);
}
