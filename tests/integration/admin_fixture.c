/* admin_fixture.c — see admin_fixture.h. */
#include "admin_fixture.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF_MAX 4096

static const char conf_template[] =
    "[receiver]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "admin_listen = 127.0.0.1:@ADMIN@\n"
    "admin_token = " AFX_TOKEN "\n"
    "threads = 2\n"
    "connection_timeout = 3s\n"
    "[redis]\n"
    "url = @REDIS@\n"
    "timeout = 500ms\n"
    "[source github]\n"
    "scheme = github\n"
    "secret.v1 = gh-secret-one\n"
    "secret.v2 = gh-secret-two\n"
    "[route billing]\n"
    "match = github:billing.*\n"
    "handler = exec:%s %s\n"
    "max_attempts = 2\n"
    "retry_schedule = 0s\n"
    "[route default]\n"
    "handler = exec:%s %s\n"
    "max_attempts = 2\n"
    "retry_schedule = 0s\n";

void afx_set_failing(struct afx *f, int failing)
{
    char path[1024];

    snprintf(path, sizeof path, "%s/fail", f->dir);
    if (failing)
        harness_write_file("fail", "");
    else
        unlink(path);
}

void afx_start(struct afx *f, int failing)
{
    char handler[1024], conf[CONF_MAX];
    int n;

    memset(f, 0, sizeof *f);
    f->dir = harness_tmpdir();
    snprintf(handler, sizeof handler, "%s/tests/data/handlers/admin-handler.sh", harness_repo_dir());
    n = snprintf(conf, sizeof conf, conf_template, handler, f->dir, handler, f->dir);
    ASSERT(n > 0 && (size_t)n < sizeof conf);
    afx_set_failing(f, failing);
    fixture_start(&f->in, conf);
}

void afx_worker(struct afx *f)
{
    const char *argv[] = {harness_bin("hookd-worker"), "-c", f->in.config_path, NULL};
    f->worker = proc_start(argv, NULL, "worker");
}

static void auth_header(enum afx_auth auth, char *out, size_t cap)
{
    unsigned char b64[128];
    const char *cred = "ops:" AFX_TOKEN;

    out[0] = '\0';
    if (auth == AFX_BEARER)
        snprintf(out, cap, "Authorization: Bearer %s", AFX_TOKEN);
    if (auth == AFX_BASIC) {
        EVP_EncodeBlock(b64, (const unsigned char *)cred, (int)strlen(cred));
        snprintf(out, cap, "Authorization: Basic %s", b64);
    }
}

int afx_get(struct afx *f, const char *path, enum afx_auth auth, struct http_response *out)
{
    char h[256];
    const char *headers[] = {h, NULL};

    auth_header(auth, h, sizeof h);
    ASSERT_INT_EQ(http_request(f->in.admin_port, "GET", path, auth == AFX_NONE ? NULL : headers,
                               NULL, 0, out),
                  0);
    return out->status;
}

int afx_post_json(struct afx *f, const char *path, const char *json, const char *content_type,
                  const char *extra, struct http_response *out)
{
    char h[256], ct[128];
    const char *headers[] = {h, ct, extra, NULL};

    auth_header(AFX_BEARER, h, sizeof h);
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    ASSERT_INT_EQ(http_request(f->in.admin_port, "POST", path, headers, json, strlen(json), out), 0);
    return out->status;
}

void afx_scrape(struct afx *f, struct prom_doc *doc)
{
    struct http_response r = {0};
    char err[300];

    ASSERT_INT_EQ(afx_get(f, "/metrics", AFX_BEARER, &r), 200);
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "text/plain; version=0.0.4");
    if (prom_parse(r.body, r.body_len, doc, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "/metrics is not strict exposition format: %s\n%.3000s", err,
                  r.body);
    http_response_free(&r);
}

double afx_metric(struct afx *f, const char *name, const char *label, const char *value)
{
    struct prom_doc doc;
    double v;

    afx_scrape(f, &doc);
    v = prom_sum(&doc, name, NULL, label, value, NULL);
    prom_doc_free(&doc);
    return v;
}

int afx_post_event(struct afx *f, const char *delivery, const char *event,
                   const char *traceparent, struct http_response *out)
{
    char sig[SIG_BUF_SIZE], h1[300], h2[300], h3[300], h4[200];
    const char *body = "{\"hello\":\"world\"}";
    const char *headers[] = {h1, h2, h3, "Content-Type: application/json", traceparent ? h4 : NULL,
                             NULL};

    github_signature("gh-secret-one", body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", delivery);
    snprintf(h3, sizeof h3, "X-GitHub-Event: %s", event);
    snprintf(h4, sizeof h4, "traceparent: %s", traceparent ? traceparent : "");
    ASSERT_INT_EQ(http_request(f->in.port, "POST", "/hooks/github", headers, body, strlen(body), out),
                  0);
    return out->status;
}

char *afx_state(struct afx *f, const char *route, const char *id)
{
    return redis_str(f->in.rc, "HGET hookd:{%s}:seen:github:%s state", route, id);
}

int afx_state_is(struct afx *f, const char *route, const char *id, const char *state)
{
    char *s = afx_state(f, route, id);
    int yes = s && strcmp(s, state) == 0;

    free(s);
    return yes;
}
