/*
 * http.c — libmicrohttpd glue for the public listener: the socket, and
 * nothing of the decision. A request, in the order of MHD's callbacks:
 *
 *   first call   the client address (peer, or a trusted proxy's X-Forwarded-For),
 *                transport limits (concurrency, framing), then ingress_head
 *                (unknown source, allow_from, Content-Length: answered before
 *                any body byte is read)
 *   body chunks  appended, never past the source's max_body
 *   last call    the headers and body to ingress_decide; an answer is sent
 *                at once, a step suspends the connection and goes to
 *                ingress_commit, whose answered() callback resumes it
 *   resumed      the answer sent
 *
 * Threading: MHD's own poll() loops in a thread pool (receiver.threads);
 * the committer thread (pipeline.h) batches the steps of all waiting
 * requests into one Redis round trip. Other Redis calls on a pool thread
 * (rate-limit overrides, rejected-request diagnostics while the committer
 * is not running) use its own connection (runtime_store). poll() by default
 * rather than epoll: suspending and resuming cost two epoll_ctl calls per
 * request, and measured slower (docs/performance.md); `polling = epoll`
 * selects epoll.
 * Limits from the config bound what a peer can hold: connections,
 * per-connection memory (headers), idle timeout (slowloris), body size
 * (counted as it arrives, never buffered past max_body), and concurrent
 * requests (503 before the pool saturates).
 *
 * Body buffering: the body is appended to a buffer sized from Content-Length
 * (grown up to the source's max_body without one); the raw bytes go to
 * verification and the stream untouched.
 */
#include "http.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "cidr.h"
#include "err.h"
#include "headers.h"
#include "hostport.h"
#include "ingress.h"
#include "log.h"
#include "runtime.h"

#define HOOKS_PREFIX "/hooks/"
#define BODY_INITIAL_BYTES 4096
#define DISCARD_FACTOR 4 /* bytes read past max_body before the connection is cut */
#define ADMIN_THREADS 2

struct http_server {
    struct MHD_Daemon *public_d;
    struct MHD_Daemon *admin_d;
};

/* One request's state, from its first callback to NOTIFY_COMPLETED. */
struct request_ctx {
    struct config *cfg; /* reference held for the request's life */
    char *body;         /* owned */
    size_t len, cap, max;
    size_t expected; /* Content-Length, when given and <= max */
    size_t discarded;
    bool too_large;
    bool committing; /* suspended while ingress_commit runs the step */
    bool answered;
    bool close_after; /* the answer ends the connection (ambiguous framing) */
    bool started;     /* on_request has run for it (uri_start made it earlier) */
    char *query;      /* the raw query string as received (owned), or NULL */
    char request_id[INGRESS_REQUEST_ID_MAX + 1];
    struct cidr_addr client;
    bool forwarded_malformed;
    char client_text[CIDR_ADDR_TEXT_MAX];
    char peer_text[CIDR_ADDR_TEXT_MAX]; /* "" unless a proxy forwarded the request */
    struct ingress_work w;
    struct ingress_response resp; /* the answer, whoever decided it */
};

/* Sends rq->resp, the one answer of the request. */
static enum MHD_Result send_answer(struct MHD_Connection *c, struct request_ctx *rq)
{
    const struct ingress_response *resp = &rq->resp;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->body ? resp->body_len : 2, (void *)(resp->body ? resp->body : "{}"),
        MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok;
    char ra[24];

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type ? resp->content_type : "application/json");
    if (resp->content_type) /* a challenge echoed back is text, never sniffed as HTML */
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Request-Id", rq->request_id);
    if (resp->retry_after_s > 0) {
        snprintf(ra, sizeof ra, "%lld", (long long)resp->retry_after_s);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    if (resp->status == 405)
        MHD_add_response_header(r, "Allow", "POST");
    if (rq->close_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    rq->answered = true;
    return ok;
}

/* A refusal of the transport's own (limits, framing): ingress builds and
 * logs it like every other answer. */
static enum MHD_Result refuse(struct MHD_Connection *c, struct request_ctx *rq, int status,
                              const char *why, int64_t retry_after_s)
{
    ingress_reject(&rq->w, status, why, retry_after_s, &rq->resp);
    return send_answer(c, rq);
}

#define XFF_HEADER "X-Forwarded-For"

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    struct headers *h = cls;

    if (key_size != strlen(XFF_HEADER) || strncasecmp(key, XFF_HEADER, key_size) != 0)
        return MHD_YES;
    if (headers_add(h, key, key_size, value ? value : "", value ? value_size : 0) < 0) {
        h->n = HEADERS_MAX_COUNT + 1; /* more than we read: the list is unreadable */
        return MHD_NO;
    }
    return MHD_YES;
}

/* The client (cidr.h): the TCP peer, or, when the peer is a trusted proxy,
 * the right-most X-Forwarded-For address that is not one. Read from the
 * headers alone, so that allow_from is judged before any body byte. */
static void client_address(struct MHD_Connection *c, const struct config *cfg,
                           struct request_ctx *rq)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct cidr_set *trusted = &cfg->receiver.trusted_proxies;
    struct cidr_addr peer;
    struct headers xff; /* views into MHD's pool */
    enum cidr_client_from from = CIDR_FROM_PEER;

    cidr_addr_from_sockaddr(ci ? ci->client_addr : NULL, &peer);
    rq->client = peer;
    xff.n = 0;
    if (cidr_set_contains(trusted, &peer)) {
        MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_xff, &xff);
        from = xff.n > HEADERS_MAX_COUNT ? CIDR_FROM_MALFORMED
                                         : cidr_client(trusted, &peer, &xff, &rq->client);
    }
    rq->forwarded_malformed = from == CIDR_FROM_MALFORMED;
    cidr_addr_format(&rq->client, rq->client_text);
    if (from == CIDR_FROM_FORWARDED)
        cidr_addr_format(&peer, rq->peer_text);
}

struct framing_count {
    unsigned content_length, transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing_count *fc = cls;
    fc->content_length += strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0;
    fc->transfer_encoding += strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0;
    return MHD_YES;
}

/*
 * Framing that another HTTP hop could read differently from libmicrohttpd
 * (which takes Transfer-Encoding over Content-Length, and the first of
 * duplicates): both headers, or either one twice. RFC 9112 6.3 wants such a
 * request refused or read by Transfer-Encoding alone, and the connection
 * closed after the answer either way, so that no byte behind it is ever
 * taken for a request of its own (request smuggling).
 */
static bool ambiguous_framing(struct MHD_Connection *c)
{
    struct framing_count fc = {0, 0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &fc);
    return fc.content_length > 1 || fc.transfer_encoding > 1 ||
           (fc.content_length && fc.transfer_encoding);
}

static enum MHD_Result first_call(struct MHD_Connection *c, struct request_ctx *rq, const char *url,
                                  const char *method)
{
    const struct config *cfg = rq->cfg;
    const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long length = cl ? strtoull(cl, NULL, 10) : 0;

    ingress_request_id(rid, rid ? strlen(rid) : 0, rq->request_id);
    client_address(c, cfg, rq);
    ingress_init(&rq->w, cfg,
                 &(struct ingress_request){.request_id = rq->request_id,
                                           .client_addr = rq->client_text,
                                           .peer_addr = rq->peer_text[0] ? rq->peer_text : NULL,
                                           .client = rq->client,
                                           .forwarded_malformed = rq->forwarded_malformed,
                                           .start_us = clock_mono_us(),
                                           .query = rq->query,
                                           .query_len = rq->query ? strlen(rq->query) : 0});
    if (atomic_fetch_add(&runtime_inflight, 1) + 1 > cfg->receiver.max_concurrent_requests)
        return refuse(c, rq, 503, "too_many_concurrent_requests", cfg->receiver.retry_after_s);
    if (ambiguous_framing(c)) {
        rq->close_after = true;
        return refuse(c, rq, 400, "ambiguous_framing", 0);
    }
    if (!ingress_head(&rq->w, url, method, length > INT64_MAX ? INT64_MAX : (int64_t)length,
                      &rq->resp))
        return send_answer(c, rq);
    rq->max = rq->w.src->max_body;
    rq->expected = (size_t)length;
    return MHD_YES;
}

/* Appends a body chunk, never growing past max: beyond it the bytes are
 * counted and dropped, and the answer will be 413. */
static enum MHD_Result on_body(struct request_ctx *rq, const char *data, size_t n)
{
    if (rq->too_large || rq->len + n > rq->max) {
        rq->too_large = true;
        rq->discarded += n;
        return rq->discarded > DISCARD_FACTOR * rq->max + BODY_INITIAL_BYTES ? MHD_NO : MHD_YES;
    }
    if (rq->len + n > rq->cap) {
        /* the announced length exactly, else doubling from BODY_INITIAL_BYTES */
        size_t cap = rq->cap ? rq->cap : rq->expected ? rq->expected : BODY_INITIAL_BYTES;
        while (cap < rq->len + n)
            cap *= 2;
        if (cap > rq->max)
            cap = rq->max;
        char *grown = realloc(rq->body, cap);
        if (!grown)
            return MHD_NO;
        rq->body = grown, rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    return MHD_YES;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    struct headers *h = cls;
    if (headers_add(h, key, key_size, value ? value : "", value ? value_size : 0) < 0)
        h->n = HEADERS_MAX_COUNT + 1; /* marks overflow; checked by the caller */
    return h->n > HEADERS_MAX_COUNT ? MHD_NO : MHD_YES;
}

/* ingress_commit's answer is in rq->resp: let MHD call on_request again. */
static void resume(void *conn)
{
    MHD_resume_connection(conn);
}

static enum MHD_Result last_call(struct MHD_Connection *c, struct request_ctx *rq)
{
    struct headers hs, *h = &hs; /* views into MHD's pool, read by ingress_decide only */
    struct store *st = runtime_store();

    if (rq->too_large)
        return refuse(c, rq, 413, "body_too_large", 0);
    h->n = 0;
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_header, h);
    if (h->n > HEADERS_MAX_COUNT)
        return refuse(c, rq, 431, "too_many_headers", 0);
    if (!ingress_decide(&rq->w, st, h, rq->body ? rq->body : "", rq->len, &rq->resp))
        return send_answer(c, rq);
    /* Suspended before the commit: the committer may resume it at once. */
    rq->committing = true;
    MHD_suspend_connection(c);
    ingress_commit(&rq->w, st, &rq->resp, resume, c);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct request_ctx *rq = *con_cls;

    if (!rq || !rq->started) {
        if (!rq && !(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->started = true;
        rq->cfg = runtime_config();
        *con_cls = rq;
        return first_call(c, rq, url, method);
    }
    if (rq->committing && !rq->answered) /* resumed with the step's answer */
        return send_answer(c, rq);
    if (rq->answered) { /* an early answer: drain and ignore what follows */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        enum MHD_Result r = on_body(rq, upload, *upload_size);
        *upload_size = 0;
        return r;
    }
    return last_call(c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request_ctx *rq = *con_cls;

    if (!rq)
        return;
    if (rq->started)
        atomic_fetch_sub(&runtime_inflight, 1);
    config_release(rq->cfg);
    free(rq->body);
    free(rq->query);
    ingress_response_free(&rq->resp);
    free(rq);
    *con_cls = NULL;
}

/*
 * MHD's URI log callback, called with the request target exactly as
 * received, before MHD unescapes it: the raw query string is kept, since
 * URL-signing senders (Twilio, hmac's {url}) sign those bytes, not a
 * re-encoding of the parsed arguments. What it returns becomes *con_cls.
 */
static void *uri_start(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct request_ctx *rq = calloc(1, sizeof *rq);
    const char *q = uri ? strchr(uri, '?') : NULL;

    if (rq && q)
        rq->query = strdup(q + 1); /* bounded by connection_memory_limit */
    return rq;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_msg(LOG_WARN, "http", "%s", msg);
}

/*
 * A socket bound to sa and listening, or -errno. One listener per address:
 * SO_REUSEADDR only, so a restart binds through TIME_WAIT, and never
 * SO_REUSEPORT (libmicrohttpd's LISTENING_ADDRESS_REUSE), with which a second
 * receiver started by mistake, say with a stale secret, would silently take
 * half of the connections while both look healthy.
 */
static int bind_listener(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, rc;

    if (fd < 0)
        return -errno;
    if ((sa->sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 || bind(fd, sa, len) < 0 ||
        listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* Binds to the configured address (IPv4 or IPv6 literal) and starts a
 * daemon on it: 0, or -EADDRINUSE when another process listens there, or
 * -1; err says which address. */
static int start_daemon(struct MHD_Daemon **out, const char *listen, unsigned threads,
                        unsigned extra_flags, const struct config *cfg,
                        MHD_AccessHandlerCallback handler, MHD_RequestCompletedCallback done,
                        char *err, size_t errlen)
{
    char host[256];
    int port;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    const struct sockaddr *sa = (const struct sockaddr *)&sin;
    socklen_t salen = sizeof sin;
    int fd;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     (cfg->receiver.epoll ? MHD_USE_EPOLL : MHD_USE_POLL) | extra_flags;
    struct MHD_Daemon *d;

    if (hostport_parse(listen, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "bad listen address \"%.100s\" (want HOST:PORT)", listen);
        return -1;
    }
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        sin.sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
        sin6.sin6_port = htons((uint16_t)port);
        sa = (const struct sockaddr *)&sin6, salen = sizeof sin6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "listen address \"%.100s\" must be an IP literal", listen);
        return -1;
    }
    if ((fd = bind_listener(sa, salen)) < 0) {
        if (fd == -EADDRINUSE)
            snprintf(err, errlen, "address %.100s already in use (another receiver?)", listen);
        else
            snprintf(err, errlen, "cannot listen on %.100s (not a local address?)", listen);
        return fd == -EADDRINUSE ? fd : -1;
    }
    /* A pool of 1 (or 0) means no pool, with a warning at every start: the
     * option is given only for a real pool. */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL}};
    d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, NULL,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_LIMIT,
                         cfg->receiver.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         cfg->receiver.connection_memory_limit, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)cfg->receiver.connection_timeout_s, MHD_OPTION_NOTIFY_COMPLETED,
                         done, NULL,
                         handler == on_request ? MHD_OPTION_URI_LOG_CALLBACK : MHD_OPTION_END,
                         uri_start, NULL, MHD_OPTION_END);
    if (!d) {
        close(fd);
        snprintf(err, errlen, "cannot start the listener on %.100s", listen);
        return -1;
    }
    *out = d;
    return 0;
}

int http_start(const struct config *cfg, struct http_server **out, char *err, size_t errlen)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    int rc;

    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = start_daemon(&srv->public_d, cfg->receiver.listen, cfg->receiver.threads,
                      MHD_ALLOW_SUSPEND_RESUME, cfg, on_request, on_completed, err, errlen);
    if (rc == 0 && cfg->receiver.admin_listen && cfg->receiver.admin_listen[0])
        rc = start_daemon(&srv->admin_d, cfg->receiver.admin_listen, ADMIN_THREADS, 0, cfg,
                          admin_on_request, admin_on_completed, err, errlen);
    if (rc < 0) {
        http_stop(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void http_quiesce(struct http_server *srv)
{
    MHD_socket s = MHD_quiesce_daemon(srv->public_d);
    if (s != MHD_INVALID_SOCKET)
        close(s);
}

void http_stop(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->public_d)
        MHD_stop_daemon(srv->public_d);
    if (srv->admin_d)
        MHD_stop_daemon(srv->admin_d);
    free(srv);
}
