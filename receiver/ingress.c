/*
 * ingress.c — the request path of the receiver (see ingress.h):
 *
 *   source known? ─no─▶ 404
 *   verify signature over the raw body ─bad─▶ 400/401 + diagnostics
 *   slack url_verification? ─▶ 200 challenge (not queued)
 *   extract event id, type, tenant ─bad─▶ 400
 *   route by SOURCE:TYPE-GLOB
 *   store_enqueue (one atomic Lua step) ─Redis trouble/overload─▶ 503
 *   ─▶ 202 queued | 200 duplicate
 *
 * One JSON log line per request, always, with the request id.
 */
#include "ingress.h"
#include "ingress_metrics.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "err.h"
#include "extract.h"
#include "log.h"
#include "ratelimit.h"
#include "rejects.h"
#include "runtime.h"
#include "scheme.h"
#include "verify.h"

#define HEADERS_JSON_MAX (64 * 1024)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ingress_response_free(struct ingress_response *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* {"status":STATUS,"request_id":...,[KEY:VAL]} — values JSON-escaped. */
static void answer(struct ingress_response *resp, int status, const char *word,
                   const struct ingress_state *s, const char *key, const char *val)
{
    json_t *o = json_object();

    resp->status = status;
    json_object_set_new(o, "status", json_string(word));
    if (s->event_id_len)
        json_object_set_new(o, "event_id", json_stringn(s->event_id, s->event_id_len));
    if (key && val)
        json_object_set_new(o, key, json_string(val));
    json_object_set_new(o, "request_id", json_string(s->req->request_id));
    resp->body = json_dumps(o, JSON_COMPACT);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    json_decref(o);
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
    snprintf(out, INGRESS_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-01", hex, hex + 32);
}

static void log_request(const struct ingress_state *s, const struct ingress_response *resp)
{
    const struct ingress_request *req = s->req;
    struct logline l;

    ingress_metrics_request(s->src ? s->src->name : NULL, s->outcome, resp->status, s->sig_version,
                            (double)(now_us() - req->start_us) / 1e6);
    if (!log_begin(&l, resp->status >= 500 ? LOG_WARN : LOG_INFO, EV_REQUEST))
        return;
    log_str(&l, "request_id", req->request_id);
    log_strn(&l, "source", req->source, req->source_len);
    if (s->event_id_len)
        log_strn(&l, "event_id", s->event_id, s->event_id_len);
    if (s->type_len)
        log_strn(&l, "type", s->type, s->type_len);
    if (s->route)
        log_str(&l, "route", s->route->name);
    if (s->has_tenant)
        log_strn(&l, "tenant", s->tenant, s->tenant_len);
    log_int(&l, "status", resp->status);
    log_str(&l, "outcome", s->outcome);
    log_str(&l, "sig_version", s->sig_version);
    log_str(&l, "client", req->client_addr);
    if (s->traceparent[0])
        log_str(&l, "traceparent", s->traceparent);
    log_int(&l, "body_bytes", (int64_t)req->body_len);
    log_double(&l, "latency_ms", (double)(now_us() - req->start_us) / 1000.0);
    log_end(&l);
}

/* Slack's url_verification handshake: answered with its challenge, after the
 * signature check (Slack signs it too), never queued. */
static bool slack_challenge(struct ingress_state *s, struct ingress_response *resp)
{
    json_t *type, *challenge, *o;

    if (strcmp(s->src->scheme->name, "slack") != 0)
        return false;
    json_t *body = extract_json(&s->x);
    type = json_object_get(body, "type");
    challenge = json_object_get(body, "challenge");
    if (!json_is_string(type) || strcmp(json_string_value(type), "url_verification") != 0 ||
        !json_is_string(challenge))
        return false;
    o = json_pack("{s:O}", "challenge", challenge);
    resp->status = 200;
    resp->body = json_dumps(o, JSON_COMPACT);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    json_decref(o);
    s->outcome = "url_verification";
    return true;
}

/* Reads one of id/type/tenant; on failure answers 400 and returns false. */
static bool extract_one(struct ingress_state *s, struct ingress_response *resp,
                        const struct field_spec *spec, const char *dflt, const char *what,
                        char *out, size_t cap, size_t *out_len)
{
    char msg[160];
    int rc = extract_field(&s->x, spec, dflt, out, cap, out_len);

    if (rc == 0)
        return true;
    snprintf(msg, sizeof msg, "event %s: %s", what, extract_reason(rc));
    s->outcome = "bad_request";
    answer(resp, 400, "rejected", s, "error", msg);
    return false;
}

/* Provider headers kept with the event: all but hop-by-hop and credentials. */
static char *headers_json(const struct headers *h)
{
    static const char *const dropped[] = {"authorization", "cookie", "connection", "keep-alive",
                                          "proxy-authorization", "te", "transfer-encoding",
                                          "upgrade", "content-length", NULL};
    json_t *o = json_object();
    char name[128], *out = NULL;

    for (size_t i = 0; o && i < h->n; i++) {
        const struct header *hd = &h->items[i];
        bool drop = hd->name_len >= sizeof name;
        for (size_t k = 0; !drop && k < hd->name_len; k++)
            name[k] = (char)(hd->name[k] >= 'A' && hd->name[k] <= 'Z' ? hd->name[k] + 32 : hd->name[k]);
        if (!drop)
            name[hd->name_len] = '\0';
        for (size_t d = 0; !drop && dropped[d]; d++)
            drop = strcmp(name, dropped[d]) == 0;
        if (!drop) /* invalid UTF-8 values are left out rather than mangled */
            json_object_set_new(o, name, json_stringn(hd->value, hd->value_len));
    }
    out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (out && strlen(out) > HEADERS_JSON_MAX) {
        free(out);
        out = strdup("{}");
    }
    return out;
}

static int64_t overload_retry_after(const struct config *cfg, const struct route_cfg *r,
                                    int64_t backlog)
{
    int64_t base = cfg->receiver.retry_after_s;
    int64_t ratio = r->high_watermark > 0 ? backlog / r->high_watermark : 1;

    /* Grows with the overload: base at the watermark, up to 12x base. */
    if (ratio < 1)
        ratio = 1;
    return base * (ratio > 12 ? 12 : ratio);
}

/* The enqueue step's inputs, from the request and the route. */
static void enqueue_prepare(struct ingress_work *w, const struct config *cfg)
{
    struct ingress_state *s = &w->s;
    const struct ingress_request *req = s->req;
    const struct route_cfg *r = s->route;

    w->hjson = headers_json(req->headers);
    w->over = runtime_route_overloaded(r->name);
    w->low = r->high_watermark * cfg->receiver.low_watermark /
             (cfg->receiver.high_watermark ? cfg->receiver.high_watermark : 1);
    codec_sha256_hex(req->body, req->body_len, w->sha);
    w->ev = (struct store_event_in){
        .event_id = s->event_id,
        .event_id_len = s->event_id_len,
        .source = s->src->name,
        .type = s->type,
        .type_len = s->type_len,
        .tenant = s->has_tenant ? s->tenant : NULL,
        .tenant_len = s->tenant_len,
        .body = req->body,
        .body_len = req->body_len,
        .body_sha256 = w->sha,
        .headers_json = w->hjson ? w->hjson : "{}",
        .sig_version = s->sig_version,
        .received_at_ms = wall_ms(),
        .request_id = req->request_id,
        .traceparent = s->traceparent,
    };
    w->job = (struct store_enqueue_job){
        .route = r->name,
        .ev = &w->ev,
        .ttl_s = cfg->redis.dedupe_ttl_s,
        .watermark = w->over ? w->low : r->high_watermark,
        .rc = HOOKD_EREDIS_CONN,
    };
    w->submitted_us = now_us();
}

/* The answer to the enqueue step's outcome (w->job.rc, w->job.res). */
static void enqueue_answer(struct ingress_work *w, const struct config *cfg,
                           struct ingress_response *resp)
{
    struct ingress_state *s = &w->s;
    const struct route_cfg *r = s->route;
    const struct enqueue_result *res = &w->job.res;
    int rc = w->job.rc;

    if (w->submitted_us)
        ingress_metrics_redis("enqueue", (double)(now_us() - w->submitted_us) / 1e6);
    free(w->hjson);
    w->hjson = NULL;
    if (rc < 0) {
        s->outcome = rc == HOOKD_EREDIS_TIMEOUT ? "redis_timeout" : "redis_unavailable";
        resp->retry_after_s = cfg->receiver.retry_after_s;
        answer(resp, 503, "unavailable", s, "error", "event store unavailable, retry later");
        return;
    }
    switch (res->status) {
    case ENQ_QUEUED:
        if (w->over && res->backlog < w->low)
            runtime_set_route_overloaded(r->name, false);
        s->outcome = "queued";
        answer(resp, 202, "queued", s, NULL, NULL);
        break;
    case ENQ_DUPLICATE:
        s->outcome = "duplicate";
        answer(resp, 200, "duplicate", s, "state", res->prior_state);
        break;
    case ENQ_OVERLOAD:
        runtime_set_route_overloaded(r->name, true);
        s->outcome = "overloaded";
        resp->retry_after_s = overload_retry_after(cfg, r, res->backlog);
        answer(resp, 503, "unavailable", s, "error", "route backlog over its watermark, retry later");
        break;
    case ENQ_PAUSED:
        s->outcome = "paused";
        resp->retry_after_s = cfg->receiver.retry_after_s;
        answer(resp, 503, "unavailable", s, "error", "route paused by an operator, retry later");
        break;
    }
}

bool ingress_prepare(struct ingress_work *w, const struct config *cfg, struct store *st,
                     const struct ingress_request *req, struct ingress_response *resp)
{
    struct ingress_state s = {.req = req, .outcome = "error"};
    struct verify_result vr;
    const struct header *tp;

    memset(resp, 0, sizeof *resp);
    memset(w, 0, sizeof *w);
    s.src = config_source(cfg, req->source, req->source_len);
    if (!s.src) {
        s.outcome = "unknown_source";
        answer(resp, 404, "not_found", &s, "error", "unknown source");
        goto out;
    }
    tp = headers_find(req->headers, "traceparent");
    ingress_traceparent(tp ? tp->value : NULL, tp ? tp->value_len : 0, s.traceparent);
    if (verify_request(s.src, req->headers, req->body, req->body_len, time(NULL), true, &vr) !=
        VERIFY_OK) {
        s.outcome = vr.reason;
        ingress_metrics_signature_failure(s.src->name, &vr);
        rejects_record(cfg, st, req, s.src, &vr, s.traceparent);
        answer(resp, verify_http_status(vr.status), "rejected", &s, "error", vr.reason);
        goto out;
    }
    s.sig_version = vr.matched_version;
    /* After verification, so unsigned junk cannot spend a provider's tokens. */
    if ((resp->retry_after_s = ratelimit_check(s.src, st)) > 0) {
        s.outcome = "rate_limited";
        answer(resp, 429, "rejected", &s, "error", "rate limit exceeded, retry later");
        goto out;
    }
    extract_init(&s.x, s.src->name, req->headers, req->body, req->body_len);
    if (slack_challenge(&s, resp))
        goto out;
    if (!extract_one(&s, resp, &s.src->id, s.src->scheme->default_id, "id", s.event_id,
                     sizeof s.event_id, &s.event_id_len) ||
        !extract_one(&s, resp, &s.src->type, s.src->scheme->default_type, "type", s.type,
                     sizeof s.type, &s.type_len))
        goto out;
    if (s.src->tenant.kind != FIELD_NONE) {
        if (!extract_one(&s, resp, &s.src->tenant, NULL, "tenant", s.tenant, sizeof s.tenant,
                         &s.tenant_len))
            goto out;
        s.has_tenant = true;
    }
    s.route = config_route_for(cfg, s.src->name, s.type);
    extract_release(&s.x);
    w->s = s;
    enqueue_prepare(w, cfg);
    return true;
out:
    log_request(&s, resp);
    extract_release(&s.x);
    return false;
}

void ingress_complete(struct ingress_work *w, const struct config *cfg,
                      struct ingress_response *resp)
{
    memset(resp, 0, sizeof *resp);
    enqueue_answer(w, cfg, resp);
    log_request(&w->s, resp);
}

void ingress_handle(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    struct ingress_response *resp)
{
    struct ingress_work *w = malloc(sizeof *w);
    struct store_enqueue_job *job;

    if (!w) {
        memset(resp, 0, sizeof *resp);
        resp->status = 503;
        resp->retry_after_s = cfg->receiver.retry_after_s;
        return;
    }
    if (ingress_prepare(w, cfg, st, req, resp)) {
        job = &w->job;
        if (st)
            store_enqueue_many(st, 1, &job, cfg->redis.wait_replicas, cfg->redis.wait_timeout_ms);
        else
            w->submitted_us = 0;
        ingress_complete(w, cfg, resp);
    }
    free(w);
}
