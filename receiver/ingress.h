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
#include "headers.h"
#include "store.h"

#define INGRESS_REQUEST_ID_MAX 128
#define INGRESS_TRACEPARENT_LEN 55

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

/* Decides the answer to one POST /hooks/SOURCE. Never fails: errors become
 * 4xx/5xx answers. st may be NULL (no Redis handle): answered 503. */
void ingress_handle(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    struct ingress_response *resp);

void ingress_response_free(struct ingress_response *resp);

/* A request id from the proxy is kept when it is 1..128 chars of
 * [A-Za-z0-9._:-]; otherwise a new random one is made. out: 129 bytes. */
void ingress_request_id(const char *proposed, size_t len, char out[INGRESS_REQUEST_ID_MAX + 1]);

/* The W3C traceparent to carry: the request's when well-formed, else a new
 * one. out: 56 bytes. */
void ingress_traceparent(const char *proposed, size_t len, char out[INGRESS_TRACEPARENT_LEN + 1]);

#endif
