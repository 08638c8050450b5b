/*
 * test_worker_http.c — hookd-worker with http:// handlers against a small
 * libmicrohttpd server inside the test: /ok answers 200, /busy 503 with
 * Retry-After: 1 the first time and 200 after, /bad 400; a route whose
 * service is down gets connection errors. Checks the headers sent, the exact
 * body, the classification and that connections are reused.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "worker_fixture.h"

#define MAX_SEEN 32
#define BODY_MAX 1024

struct seen_req {
    char path[16], idem[128], event_id[64], type[32], source[32], route[32], attempt[8];
    char request_id[64], traceparent[96], ctype[64];
    char body[BODY_MAX];
    size_t body_len;
    int client_port;
    int64_t at_ms;
};

static struct {
    pthread_mutex_t mu;
    struct seen_req req[MAX_SEEN];
    int n, busy_calls;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct upload {
    char body[BODY_MAX];
    size_t len;
};

static void copy_header(struct MHD_Connection *c, const char *name, char *dst, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

    snprintf(dst, cap, "%s", v ? v : "");
}

static void record(struct MHD_Connection *c, const char *url, const struct upload *u)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct seen_req *r;

    pthread_mutex_lock(&srv.mu);
    if (srv.n < MAX_SEEN) {
        r = &srv.req[srv.n++];
        snprintf(r->path, sizeof r->path, "%s", url);
        copy_header(c, "Idempotency-Key", r->idem, sizeof r->idem);
        copy_header(c, "X-Hookd-Event-Id", r->event_id, sizeof r->event_id);
        copy_header(c, "X-Hookd-Event-Type", r->type, sizeof r->type);
        copy_header(c, "X-Hookd-Source", r->source, sizeof r->source);
        copy_header(c, "X-Hookd-Route", r->route, sizeof r->route);
        copy_header(c, "X-Hookd-Attempt", r->attempt, sizeof r->attempt);
        copy_header(c, "X-Request-Id", r->request_id, sizeof r->request_id);
        copy_header(c, "traceparent", r->traceparent, sizeof r->traceparent);
        copy_header(c, "Content-Type", r->ctype, sizeof r->ctype);
        memcpy(r->body, u->body, u->len);
        r->body_len = u->len;
        r->client_port = ci ? ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port) : 0;
        r->at_ms = harness_now_ms();
    }
    pthread_mutex_unlock(&srv.mu);
}

static enum MHD_Result answer(struct MHD_Connection *c, const char *url)
{
    unsigned status = 200;
    const char *text = "fine", *retry_after = NULL;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (strcmp(url, "/busy") == 0) {
        pthread_mutex_lock(&srv.mu);
        if (srv.busy_calls++ == 0)
            status = 503, text = "try later", retry_after = "1";
        pthread_mutex_unlock(&srv.mu);
    } else if (strcmp(url, "/bad") == 0) {
        status = 400, text = "bad payload: field amount missing";
    }
    resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (retry_after)
        MHD_add_response_header(resp, "Retry-After", retry_after);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    struct upload *u = *con_cls;

    (void)cls, (void)method, (void)version;
    if (!u) {
        *con_cls = u = calloc(1, sizeof *u);
        return u ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        size_t k = *data_size < BODY_MAX - u->len ? *data_size : BODY_MAX - u->len;
        memcpy(u->body + u->len, data, k);
        u->len += k;
        *data_size = 0;
        return MHD_YES;
    }
    record(c, url, u);
    return answer(c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static const struct seen_req *find(const char *event_id, const char *attempt)
{
    for (int i = 0; i < srv.n; i++)
        if (strcmp(srv.req[i].event_id, event_id) == 0 && strcmp(srv.req[i].attempt, attempt) == 0)
            return &srv.req[i];
    return NULL;
}

static const char conf_tpl[] =
    "[route ok]\nhandler = http://127.0.0.1:%d/ok\n"
    "[route busy]\nhandler = http://127.0.0.1:%d/busy\nretry_schedule = 0s\nmax_attempts = 3\n"
    "[route bad]\nhandler = http://127.0.0.1:%d/bad\n"
    "[route down]\nhandler = http://127.0.0.1:%d/none\nmax_attempts = 1\n"
    "[route default]\nhandler = exec:/bin/true\n";

static void expect_seen(struct wfx *f, const char *route, const char *id, const char *field,
                        const char *want)
{
    char *v = wfx_seen(f, route, id, field);

    ASSERT_STR_CONTAINS(v, want);
    free(v);
}

TEST_T(worker_http_handler, 40)
{
    static const char body[] = "{\"id\":\"evt\",\"amount\":42}";
    int port = harness_free_port(), dead_port = harness_free_port();
    char conf[1024];
    struct wfx f;
    struct MHD_Daemon *d;
    const struct seen_req *r, *b1, *b2;
    struct proc *w;
    int ports[MAX_SEEN], nports = 0;

    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, on_request,
                         NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    ASSERT_NOT_NULL(d);
    snprintf(conf, sizeof conf, conf_tpl, port, port, port, dead_port);
    wfx_start(&f, conf, NULL);
    wfx_enqueue_full(&f, "ok", "github", "ok-1", "push", body, sizeof body - 1,
                     "{\"content-type\":\"application/json\"}",
                     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    wfx_enqueue(&f, "ok", "ok-2", "second");
    wfx_enqueue(&f, "busy", "busy-1", "x");
    wfx_enqueue(&f, "bad", "bad-1", "x");
    wfx_enqueue(&f, "down", "down-1", "x");
    w = wfx_worker(&f, (const char *const[]){"-r", "ok", "-r", "busy", "-r", "bad", "-r", "down",
                                            NULL});
    WAIT_FOR(wfx_state_is(&f, "ok", "ok-1", "processed"), 10000);
    WAIT_FOR(wfx_state_is(&f, "ok", "ok-2", "processed"), 10000);
    WAIT_FOR(wfx_state_is(&f, "bad", "bad-1", "failed_permanent"), 10000);
    WAIT_FOR(wfx_state_is(&f, "down", "down-1", "failed_permanent"), 10000);
    WAIT_FOR(wfx_state_is(&f, "busy", "busy-1", "processed"), 10000);
    MHD_stop_daemon(d);

    ASSERT_NOT_NULL(r = find("ok-1", "1"));
    ASSERT_STR_EQ(r->path, "/ok");
    ASSERT_STR_EQ(r->idem, "github:ok-1");
    ASSERT_STR_EQ(r->type, "push");
    ASSERT_STR_EQ(r->source, "github");
    ASSERT_STR_EQ(r->route, "ok");
    ASSERT_STR_EQ(r->request_id, "req-ok-1");
    ASSERT_STR_EQ(r->traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    ASSERT_STR_EQ(r->ctype, "application/json");
    ASSERT_INT_EQ(r->body_len, sizeof body - 1);
    ASSERT(memcmp(r->body, body, r->body_len) == 0);
    ASSERT_NOT_NULL(r = find("ok-2", "1"));
    ASSERT_STR_EQ(r->ctype, "application/octet-stream");

    /* 503 + Retry-After: 1 → retried no sooner than a second later. */
    ASSERT_NOT_NULL(b1 = find("busy-1", "1"));
    ASSERT_NOT_NULL(b2 = find("busy-1", "2"));
    ASSERT_INT_OP(b2->at_ms - b1->at_ms, >=, 950);
    ASSERT_INT_EQ(proc_log_count(w, "\"retry_after_ms\":1000"), 1);
    ASSERT_INT_EQ(proc_log_count(w, "\"http_status\":503"), 1);

    expect_seen(&f, "bad", "bad-1", "reason", "permanent");
    expect_seen(&f, "bad", "bad-1", "last_error", "HTTP 400: bad payload: field amount missing");
    expect_seen(&f, "down", "down-1", "reason", "exhausted");
    expect_seen(&f, "down", "down-1", "last_error", "HTTP request failed");

    /* One thread, one curl handle: connections are reused. */
    for (int i = 0; i < srv.n; i++) {
        bool known = false;
        for (int k = 0; k < nports; k++)
            known = known || ports[k] == srv.req[i].client_port;
        if (!known)
            ports[nports++] = srv.req[i].client_port;
    }
    ASSERT_INT_EQ(srv.n, 5); /* ok-1, ok-2, busy-1 twice, bad-1 */
    ASSERT_INT_OP(nports, <, srv.n);
}
