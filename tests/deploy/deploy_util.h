/*
 * deploy_util.h — what the deployment tests (make test-deploy) add to the
 * harness: a self-signed certificate, nginx running deploy/nginx/hookd.conf
 * (only ports and paths rewritten) in the test's temp dir, an HTTPS client
 * (libcurl) that signs GitHub events, a provider-like sender that re-sends
 * until it gets a 2xx, and a counting handler for workers.
 *
 * Everything listens on 127.0.0.1 ports from harness_free_port; every
 * process is started through proc_start and stopped by the harness.
 */
#ifndef HOOKD_TEST_DEPLOY_UTIL_H
#define HOOKD_TEST_DEPLOY_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

#define DEPLOY_SECRET "gh-secret-one"
#define DEPLOY_PROVIDER_ADDR "127.0.0.3" /* deploy_post sends from here (a loopback address) */
#define DEPLOY_MAX_EVENTS 4096

/* Skips the test unless nginx, openssl and redis-cli are installed
 * (scripts/install-deploy-deps.sh installs them). */
void deploy_require_tools(void);

/* tmpdir/tls/{cert,key}.pem for CN localhost, SAN DNS:localhost, IP:127.0.0.1. */
void deploy_make_cert(void);
const char *deploy_cert_path(void);

/* Replaces every `from` in *text (malloc'd, replaced) by `to`; fails the
 * test if there is none, so a rewritten file that changed shape is noticed. */
void deploy_replace_all(char **text, const char *from, const char *to);

/* Renders deploy/nginx/hookd.conf for receivers on ports[0..n), checks it
 * with `nginx -t` and starts nginx in the foreground; returns the HTTPS
 * port once it accepts connections. */
int deploy_nginx_start(const int *ports, size_t n);
/* nginx's access log so far (malloc'd). */
char *deploy_nginx_access_log(void);

/* Writes an exec handler that appends "EVENT_ID ROUTE ATTEMPT" to
 * tmpdir/handled.log; returns "exec:PATH" (lives as long as the test). */
const char *deploy_counting_handler(void);

/* One HTTPS POST of a signed GitHub event through nginx. Returns the status
 * (0 on a transport error); request_id (if not NULL, >= 64 bytes) gets the
 * answer's X-Request-Id. extra_header may be NULL. */
int deploy_post(int https_port, const char *id, const char *type, const char *extra_header,
                char *request_id);

/* A provider: events ev-N (N from 0), each re-sent until a 2xx. */
struct deploy_sender {
    int https_port;
    const char *(*type_of)(int n); /* the event type of event n */
    int next;                      /* next new event */
    int pending;                   /* -1, or the event being re-sent */
    int acked;                     /* events with a 2xx */
    int unavailable;               /* 503 answers */
    int other;                     /* answers neither 2xx nor 503 (must stay 0) */
    int64_t last_status;
    unsigned char acked_flag[DEPLOY_MAX_EVENTS];
};

/* Sends the pending or next event once; returns the status. */
int deploy_send_one(struct deploy_sender *s);
/* Sends until n more events have a 2xx; fails the test after budget_ms. */
void deploy_send_acked(struct deploy_sender *s, int n, int budget_ms);

/* Waits up to timeout_ms until every acknowledged event was handled; then
 * counts lost (acked, never handled) and duplicated (handled more than once). */
void deploy_check_handled(const struct deploy_sender *s, int timeout_ms, int *lost, int *dups);

#endif
