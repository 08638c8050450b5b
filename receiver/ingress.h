/*
 * ingress.h — the receiver's decision on one POST /hooks/SOURCE, apart from
 * the socket (http.c) and the commit (pipeline.c). A request goes through
 * it in this order, top to bottom:
 *
 *   ingress_init     the transport's facts (request id, client, start time)
 *   ingress_head     path, method, source (looked up here, once), the client
 *                    against its allow_from, length
 *   ingress_decide   signature, rate limit, event id/type/tenant, route:
 *                    an answer, or the enqueue step
 *   ingress_commit   the step to Redis (pipeline.c), then its answer
 *
 * Every answer, including the transport's own refusals (ingress_reject:
 * limits, framing), has its body and its one log line built here.
 * ingress_handle runs the whole path without a socket (the tests use it).
 */
#ifndef HOOKD_INGRESS_H
#define HOOKD_INGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "config.h"
#include "extract.h"
#include "headers.h"
#include "pipeline.h"
#include "store_ingress.h"

#define INGRESS_REQUEST_ID_MAX 128
#define INGRESS_TRACEPARENT_LEN 55
#define INGRESS_EVENT_ID_MAX 256
#define INGRESS_EVENT_TYPE_MAX 256
#define INGRESS_TENANT_MAX 128

/* What the transport knows; strings borrowed, valid until the answer. */
struct ingress_request {
    const char *request_id;  /* decided by the caller (proxy's or new) */
    const char *client_addr; /* text, for the log line */
    const char *peer_addr;   /* the TCP peer when it is not the client (a proxy), or NULL */
    struct cidr_addr client; /* judged by allow_from; family 0: parsed from client_addr */
    bool forwarded_malformed; /* a trusted proxy's X-Forwarded-For was unreadable */
    int64_t start_us;        /* monotonic, for latency */
    const char *query;       /* the raw query string (after '?'), or NULL */
    size_t query_len;
    const char *body; /* set by ingress_decide */
    size_t body_len;
};

struct ingress_response {
    int status;
    char *body; /* malloc'd JSON; owned by the response (ingress_response_free) */
    size_t body_len;
    int64_t retry_after_s;    /* > 0: send Retry-After */
    const char *content_type; /* static; NULL: application/json */
};

/* One request on its way through. The caller owns the storage (http.c keeps
 * it in its connection state) for the request's life; the fields are
 * ingress.c's. */
struct ingress_work {
    const struct config *cfg;
    struct ingress_request req;
    const struct source_cfg *src; /* NULL until ingress_head found it */
    const struct route_cfg *route;
    char event_id[INGRESS_EVENT_ID_MAX + 1];
    size_t event_id_len;
    char type[INGRESS_EVENT_TYPE_MAX + 1];
    size_t type_len;
    char tenant[INGRESS_TENANT_MAX + 1];
    size_t tenant_len;
    bool has_tenant;
    char order_key[EXTRACT_MAX_LEN + 1]; /* the route's order_by value, when it has one */
    size_t order_key_len;
    const char *order_error; /* order_by without a usable key: why (the event is unordered) */
    char traceparent[INGRESS_TRACEPARENT_LEN + 1];
    const char *sig_version;
    const struct secret *sig_key; /* the key that verified it (a handshake may need it) */
    const char *outcome;          /* static word for the log and metrics */
    struct extract_ctx x; /* headers + body, parsed as JSON at most once */
    /* the enqueue step, from ingress_decide to its answer */
    struct store_event_in ev;
    struct store_enqueue_job job;
    struct pipeline_item item;
    char sha[65];
    char *hjson;         /* owned until the answer */
    bool over;           /* the route was refusing (low watermark applies) */
    int64_t over_for_ms; /* for how long, or -1 */
    int64_t low;
    int64_t submitted_us;
    struct ingress_response *resp; /* where ingress_commit's answer goes */
    void (*answered)(void *arg);
    void *answered_arg;
};

/* Starts w for one request: cfg and req's strings must outlive it. */
void ingress_init(struct ingress_work *w, const struct config *cfg,
                  const struct ingress_request *req);

/* Answers STATUS with error WHY (a static word) and logs the request:
 * refusals decided by the transport before or instead of the rest. */
void ingress_reject(struct ingress_work *w, int status, const char *why, int64_t retry_after_s,
                    struct ingress_response *resp);

/* The request line and Content-Length (-1: none). true: go on with the
 * body, at most w->src->max_body bytes; false: *resp is decided and logged
 * (a GET is answered here: the scheme's GET handshake, else 405). */
bool ingress_head(struct ingress_work *w, const char *path, const char *method,
                  int64_t content_length, struct ingress_response *resp);

/* Verifies and routes the complete request; headers are read here only.
 * st: this thread's Redis (rate-limit overrides, rejected records). false:
 * *resp is decided and logged; true: commit the step (ingress_commit). */
bool ingress_decide(struct ingress_work *w, struct store *st, const struct headers *headers,
                    const char *body, size_t body_len, struct ingress_response *resp);

/* Commits the step through the committer (pipeline_commit: st is the
 * fallback when it is not running), then decides and logs *resp and calls
 * answered(arg): on the committer thread, or before this returns. */
void ingress_commit(struct ingress_work *w, struct store *st, struct ingress_response *resp,
                    void (*answered)(void *arg), void *arg);

/* The whole path without a socket, for a POST to PATH: the answer in *resp.
 * Synchronous while the committer is not running (tests, tools). */
void ingress_handle(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    const char *path, const struct headers *headers,
                    struct ingress_response *resp);

void ingress_response_free(struct ingress_response *resp);

/* Appends "s" (JSON-escaped, quoted) to buf at *len; false when it does
 * not fit in cap. */
bool ingress_put_json_str(char *buf, size_t cap, size_t *len, const char *s, size_t n);

/* Provider headers kept with the event, as JSON (ingress_headers.c):
 * malloc'd, the caller frees it. */
char *ingress_headers_json(const struct headers *h, const struct source_cfg *src);

/* A request id from the proxy is kept when it is 1..128 chars of
 * [A-Za-z0-9._:-]; otherwise a new random one is made. out: 129 bytes. */
void ingress_request_id(const char *proposed, size_t len, char out[INGRESS_REQUEST_ID_MAX + 1]);

/* The W3C traceparent to carry: the request's when well-formed, else a new
 * one. out: 56 bytes. */
void ingress_traceparent(const char *proposed, size_t len, char out[INGRESS_TRACEPARENT_LEN + 1]);

#endif
