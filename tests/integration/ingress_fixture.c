/* ingress_fixture.c — see ingress_fixture.h. */
#include "ingress_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char fixture_default_conf[] = "[receiver]\n"
                                    "listen = 127.0.0.1:@PORT@\n"
                                    "admin_listen = 127.0.0.1:@ADMIN@\n"
                                    "admin_token = test-admin-token\n"
                                    "max_body = 4096\n"
                                    "threads = 2\n"
                                    "connection_timeout = 3s\n"
                                    "retry_after = 7s\n"
                                    "[redis]\n"
                                    "url = @REDIS@\n"
                                    "timeout = 500ms\n"
                                    "dedupe_ttl = 3600\n"
                                    "[source github]\n"
                                    "scheme = github\n"
                                    "secret.v1 = gh-secret-one\n"
                                    "secret.v2 = gh-secret-two\n"
                                    "[source stripe]\n"
                                    "scheme = stripe\n"
                                    "secret.v1 = whsec_stripe_test\n"
                                    "[source slack]\n"
                                    "scheme = slack\n"
                                    "secret.v1 = slack-signing-secret\n"
                                    "[source shopify]\n"
                                    "scheme = shopify\n"
                                    "secret.v1 = shopify-secret\n"
                                    "[source standard]\n"
                                    "scheme = standard\n"
                                    "secret.v1 = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
                                    "[source generic]\n"
                                    "scheme = hmac\n"
                                    "signature_header = X-Signature\n"
                                    "algorithm = sha512\n"
                                    "encoding = base64\n"
                                    "signature_prefix = sha512=\n"
                                    "id = json:/meta/id\n"
                                    "type = header:X-Event-Type\n"
                                    "secret.v1 = generic-secret\n"
                                    "[source small]\n"
                                    "scheme = github\n"
                                    "max_body = 64\n"
                                    "secret.v1 = small-secret\n"
                                    "[route billing]\n"
                                    "match = stripe:invoice.*, stripe:charge.*\n"
                                    "handler = exec:/bin/true\n"
                                    "[route default]\n"
                                    "handler = exec:/bin/true\n";

/* Replaces each @NAME@ placeholder; the result is malloc'd. */
static char *expand(const struct fixture *f, const char *tpl)
{
    char port[16], admin[16];
    const char *vars[] = {"@REDIS@", redis_url(f->redis), "@PORT@", port, "@ADMIN@", admin, NULL};

    snprintf(port, sizeof port, "%d", f->port);
    snprintf(admin, sizeof admin, "%d", f->admin_port);
    return harness_expand(tpl, vars);
}

void fixture_rewrite_config(struct fixture *f, const char *tpl)
{
    char *text = expand(f, tpl ? tpl : fixture_default_conf);
    f->config_path = harness_write_file("receiver.conf", text);
    free(text);
}

void fixture_reload_fails(struct fixture *f, const char *text, const char *expect)
{
    int before = proc_log_count(f->receiver, "config_reload_failed");

    harness_write_file("receiver.conf", text);
    proc_signal(f->receiver, SIGHUP);
    WAIT_FOR(proc_log_count(f->receiver, "config_reload_failed") == before + 1, 5000);
    char *log = proc_log(f->receiver);
    ASSERT_STR_CONTAINS(log, expect);
    free(log);
}

void fixture_start(struct fixture *f, const char *tpl)
{
    memset(f, 0, sizeof *f);
    f->redis = redis_start(NULL);
    f->rc = redis_connect(f->redis);
    f->port = harness_free_port();
    f->admin_port = harness_free_port();
    fixture_rewrite_config(f, tpl);
    f->receiver = receiver_start(f->config_path, f->admin_port);
}

int fixture_post_github(struct fixture *f, const char *secret, const char *delivery,
                        const char *event, const char *body, struct http_response *resp)
{
    char sig[SIG_BUF_SIZE], h1[300], h2[300], h3[300];
    struct http_response local;
    struct http_response *r = resp ? resp : &local;
    int status;

    github_signature(secret, body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", delivery);
    snprintf(h3, sizeof h3, "X-GitHub-Event: %s", event);
    const char *headers[] = {h1, h2, h3, "Content-Type: application/json", NULL};
    ASSERT_INT_EQ(http_request(f->port, "POST", "/hooks/github", headers, body, strlen(body), r),
                  0);
    status = r->status;
    if (!resp)
        http_response_free(&local);
    return status;
}

long long fixture_stream_len(struct fixture *f, const char *route)
{
    return redis_int(f->rc, "XLEN hookd:{%s}:stream", route);
}
