/*
 * ingress.h — one webhook request, from verified bytes to an answer:
 * verify → extract id/type → route → enqueue → answer.
 *
 * Transport-free: http.c hands in the source name, headers and raw body it
 * collected and sends back whatever ingress_handle() decides, so this path
 * is testable without a socket.
 */
#ifndef HOOKD_INGRESS_H
#define HOOKD_INGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "extract.h"
#include "headers.h"
#include "store.h"

#define INGRESS_REQUEST_ID_MAX 128
#define INGRESS_TRACEPARENT_LEN 55
#define INGRESS_EVENT_ID_MAX 256
#define INGRESS_EVENT_TYPE_MAX 256
#define INGRESS_TENANT_MAX 128

struct ingress_request {
    const char *source; /* from /hooks/SOURCE, length-delimited */
    size_t source_len;
    const struct headers *headers;
    const char *body;
    size_t body_len;
    const char *request_id;  /* decided by the caller (proxy's or new) */
    const char *client_addr; /* for the log line */
    int64_t start_us;        /* monotonic, for latency */
};

struct ingress_response {
    int status;
    char *body; /* malloc'd JSON; owned by the response (ingress_response_free) */
    size_t body_len;
    int64_t retry_after_s; /* > 0: send Retry-After */
};

/* Everything learnt about one request on its way through; for the log line. */
struct ingress_state {
    const struct ingress_request *req;
    const struct source_cfg *src;
    const struct route_cfg *route;
    char event_id[INGRESS_EVENT_ID_MAX + 1];
    size_t event_id_len;
    char type[INGRESS_EVENT_TYPE_MAX + 1];
    size_t type_len;
    char tenant[INGRESS_TENANT_MAX + 1];
    size_t tenant_len;
    bool has_tenant;
    char traceparent[INGRESS_TRACEPARENT_LEN + 1];
    const char *sig_version;
    const char *outcome;  /* static word for the log and metrics */
    struct extract_ctx x; /* headers + body, parsed as JSON at most once */
};

/* A request between ingress_prepare and ingress_complete; fields are
 * ingress.c's except job, the enqueue step to run in between. */
struct ingress_work {
    struct ingress_state s;
    struct store_event_in ev;
    struct store_enqueue_job job;
    char sha[65];
    char *hjson;         /* owned until ingress_complete */
    bool over;           /* the route was refusing (low watermark applies) */
    int64_t over_for_ms; /* for how long, or -1 */
    int64_t low;
    int64_t submitted_us;
};

/* Decides the answer to one POST /hooks/SOURCE. Never fails: errors become
 * 4xx/5xx answers. st may be NULL (no Redis handle): answered 503.
 * The same as ingress_prepare, store_enqueue_many of one, ingress_complete. */
void ingress_handle(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    struct ingress_response *resp);

/*
 * The request path in two halves around the enqueue step, so that the steps
 * of concurrent requests can go to Redis together (see pipeline.h).
 * ingress_prepare verifies, extracts and routes. false: *resp is decided and
 * logged, and w needs nothing more. true: w->job is the enqueue step to run
 * (store_enqueue_many); then ingress_complete turns its outcome into *resp
 * and logs. req, cfg and w must stay valid in between.
 */
bool ingress_prepare(struct ingress_work *w, const struct config *cfg, struct store *st,
                     const struct ingress_request *req, struct ingress_response *resp);
void ingress_complete(struct ingress_work *w, const struct config *cfg,
                      struct ingress_response *resp);

void ingress_response_free(struct ingress_response *resp);

/* A request id from the proxy is kept when it is 1..128 chars of
 * [A-Za-z0-9._:-]; otherwise a new random one is made. out: 129 bytes. */
void ingress_request_id(const char *proposed, size_t len, char out[INGRESS_REQUEST_ID_MAX + 1]);

/* The W3C traceparent to carry: the request's when well-formed, else a new
 * one. out: 56 bytes. */
void ingress_traceparent(const char *proposed, size_t len, char out[INGRESS_TRACEPARENT_LEN + 1]);

#endif
