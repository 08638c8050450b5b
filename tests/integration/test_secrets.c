/*
 * test_secrets.c — no secret in any output. A receiver, a worker and
 * hookctl run a session that touches every output path: accepted, rejected
 * (wrong key, malformed, stale) and duplicate requests for every scheme, a
 * config reload that fails on a secret's line, a start refused for a bad
 * secret line, /metrics and the admin API with the token, hookctl stats and
 * verify. Then every log line, every entry of the rejected stream, every
 * HTTP answer and every hookctl output is searched for each configured
 * secret (HMAC keys, admin token) and for each full MAC
 * the receiver computed for the rejected requests (only a prefix may show).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ADMIN_TOKEN "adm1n-t0ken-never-shown"

static const char *const secrets[] = {
    "gh-key-never-shown-1",
    "gh-key-never-shown-2",
    "whsec_stripe_never_shown",
    "slack-key-never-shown",
    "shopify-key-never-shown",
    "hmac-key-never-shown",
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ADMIN_TOKEN,
};

static char everything[1 << 20]; /* all output gathered, searched at the end */
static size_t used;

static void gather(const char *what, const char *text, size_t n)
{
    if (!text)
        return;
    if (used + n + 64 >= sizeof everything)
        test_fail(__FILE__, __LINE__, "too much output to search (%s)", what);
    used += (size_t)snprintf(everything + used, sizeof everything - used, "\n--- %s ---\n", what);
    memcpy(everything + used, text, n);
    used += n;
    everything[used] = '\0';
}

static const char *write_conf(int port, int admin, int rport, const char *extra)
{
    char text[4096];
    int n = snprintf(
        text, sizeof text,
        "[receiver]\nlisten = 127.0.0.1:%d\nadmin_listen = 127.0.0.1:%d\nadmin_token = " ADMIN_TOKEN
        "\n"
        "%s[redis]\nurl = redis://127.0.0.1:%d/0\n"
        "[source github]\nscheme = github\nsecret.v1 = gh-key-never-shown-1\nsecret.v2 = "
        "gh-key-never-shown-2\n"
        "[source stripe]\nscheme = stripe\nsecret.v1 = whsec_stripe_never_shown\n"
        "[source slack]\nscheme = slack\nsecret.v1 = slack-key-never-shown\n"
        "[source shopify]\nscheme = shopify\nsecret.v1 = shopify-key-never-shown\n"
        "[source standard]\nscheme = standard\nsecret.v1 = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
        "[source generic]\nscheme = hmac\nsignature_header = X-Signature\nid = header:X-Id\n"
        "secret.v1 = hmac-key-never-shown\n"
        "[route default]\nhandler = exec:/bin/cat\nmax_attempts = 1\n",
        port, admin, extra, rport);
    ASSERT(n > 0 && (size_t)n < sizeof text);
    return harness_write_file("secrets.conf", text);
}

static int post(int port, const char *path, const char *const headers[], const char *body)
{
    struct http_response r;
    ASSERT_INT_EQ(http_request(port, "POST", path, headers, body, strlen(body), &r), 0);
    int st = r.status;
    gather(path, r.raw, r.raw_len);
    http_response_free(&r);
    return st;
}

static void admin_get(int admin, const char *path)
{
    struct http_response r;
    const char *h[] = {"Authorization: Bearer " ADMIN_TOKEN, NULL};
    ASSERT_INT_EQ(http_request(admin, "GET", path, h, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    /* The request carried the token; only the answer is searched. */
    gather(path, r.body, r.body_len);
    http_response_free(&r);
}

#define ASSERT_REJECTED(expr)                                                                      \
    do {                                                                                           \
        int st_ = (expr);                                                                          \
        if (st_ != 400 && st_ != 401)                                                              \
            test_fail(__FILE__, __LINE__, "%s: %d, want 400 or 401", #expr, st_);                  \
    } while (0)

/* Requests signed with wrong keys or broken headers, for every scheme. */
static void send_rejections(int port, char full_macs[][65], int *nmacs)
{
    const char *body = "{\"id\":\"evt_x\",\"type\":\"a.b\",\"event_id\":\"E1\"}";
    char sig[SIG_BUF_SIZE], h1[400], h2[200];
    long long now = (long long)time(NULL);

    for (int k = 0; k < 2; k++) { /* what the receiver computes with each github key */
        hmac_signature("sha256", secrets[k], strlen(secrets[k]), body, strlen(body), 0, NULL, sig);
        memcpy(full_macs[*nmacs], sig, 64), full_macs[(*nmacs)++][64] = 0;
    }
    github_signature("wrong", body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    const char *gh[] = {h1, "X-GitHub-Delivery: rej-1", "X-GitHub-Event: push", NULL};
    ASSERT_REJECTED(post(port, "/hooks/github", gh, body));
    stripe_signature("whsec_wrong", now - 10000, body, strlen(body), sig);
    snprintf(h1, sizeof h1, "Stripe-Signature: %s", sig);
    const char *st[] = {h1, NULL};
    ASSERT_REJECTED(post(port, "/hooks/stripe", st, body));
    const char *st_bad[] = {"Stripe-Signature: t=abc", NULL};
    ASSERT_REJECTED(post(port, "/hooks/stripe", st_bad, body));
    slack_signature("wrong", now, body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Slack-Signature: %s", sig);
    snprintf(h2, sizeof h2, "X-Slack-Request-Timestamp: %lld", now);
    const char *sl[] = {h1, h2, NULL};
    ASSERT_REJECTED(post(port, "/hooks/slack", sl, body));
    const char *sh[] = {"X-Shopify-Hmac-Sha256: AAAA", "X-Shopify-Webhook-Id: w", NULL};
    ASSERT_REJECTED(post(port, "/hooks/shopify", sh, body));
    snprintf(h2, sizeof h2, "webhook-timestamp: %lld", now);
    const char *sw[] = {"webhook-id: m1", h2, "webhook-signature: v1,AAAA", NULL};
    ASSERT_REJECTED(post(port, "/hooks/standard", sw, body));
    const char *gen[] = {"X-Signature: 00ff", "X-Id: g1", NULL};
    ASSERT_REJECTED(post(port, "/hooks/generic", gen, body));
}

/* A string reply, or "" (kept in a static buffer). */
static const char *redis_str_or(redisContext *rc, const char *cmd)
{
    static char buf[64];
    char *v = redis_str(rc, cmd);
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    free(v);
    return buf;
}

static void gather_rejected(redisContext *rc)
{
    /* The committer writes these records after each 401 went out. */
    WAIT_FOR(redis_int(rc, "XLEN hookd:rejected") >= 6, 5000);
    redisReply *r = redis_cmd(rc, "XRANGE hookd:rejected - +");
    ASSERT_INT_OP(r->elements, >=, 6);
    for (size_t e = 0; e < r->elements; e++) {
        redisReply *f = r->element[e]->element[1];
        for (size_t k = 0; k < f->elements; k++)
            gather("rejected", f->element[k]->str, f->element[k]->len);
    }
    freeReplyObject(r);
}

static void run_gather(const char *what, const char *const argv[], int want)
{
    char *out = NULL;
    int rc = harness_run(argv, &out, 20000);
    if (want >= 0)
        ASSERT_INT_EQ(rc, want);
    gather(what, out, out ? strlen(out) : 0);
    free(out);
}

TEST_T(secrets_never_reach_logs_streams_metrics_or_cli, 60)
{
    char extra[64], full_macs[8][65];
    int nmacs = 0;
    struct redis_srv *redis = redis_start(NULL);
    redisContext *rc = redis_connect(redis);
    int port = harness_free_port(), admin = harness_free_port();

    const char *conf = write_conf(port, admin, redis_port(redis), "");
    struct proc *recv = receiver_start(conf, admin);
    const char *const wargv[] = {harness_bin("hookd-worker"), "-c", conf, "-r", "default", NULL};
    struct proc *worker = proc_start(wargv, NULL, "worker");
    char sig[SIG_BUF_SIZE], h1[300];
    github_signature(secrets[0], "{}", 2, sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    const char *ok[] = {h1, "X-GitHub-Delivery: ok-1", "X-GitHub-Event: push", NULL};
    ASSERT_INT_EQ(post(port, "/hooks/github", ok, "{}"), 202);
    ASSERT_INT_EQ(post(port, "/hooks/github", ok, "{}"), 200);
    send_rejections(port, full_macs, &nmacs);
    /* The worker has read the config and handled the event before the file changes. */
    WAIT_FOR(redis_int(rc, "EXISTS hookd:{default}:seen:github:ok-1") == 1 &&
                 strcmp(redis_str_or(rc, "HGET hookd:{default}:seen:github:ok-1 state"),
                        "processed") == 0,
             10000);
    admin_get(admin, "/metrics");
    admin_get(admin, "/api/counts");
    /* A reload that fails on a secret's own line, and a start that does. */
    snprintf(extra, sizeof extra, "secret.v9 = %s\n", secrets[5]);
    write_conf(port, admin, redis_port(redis), extra);
    proc_signal(recv, SIGHUP);
    WAIT_FOR(proc_log_count(recv, "config_reload_failed") == 1, 5000);
    const char *const check[] = {harness_bin("hookd-receiver"), "-c", conf, "--check", NULL};
    run_gather("receiver --check", check, 2);
    conf = write_conf(port, admin, redis_port(redis), "");
    const char *const stats[] = {harness_bin("hookctl"), "-c", conf, "stats", NULL};
    run_gather("hookctl stats", stats, 0);
    const char *hdrs = harness_write_file("req.headers", "X-Hub-Signature-256: sha256=00\n");
    const char *body = harness_write_file("req.body", "{\"a\":1}");
    const char *const verify[] = {harness_bin("hookctl"),
                                  "-c",
                                  conf,
                                  "verify",
                                  "github",
                                  "--headers",
                                  hdrs,
                                  "--body",
                                  body,
                                  NULL};
    run_gather("hookctl verify", verify, 1);
    gather_rejected(rc);
    proc_stop(worker);
    proc_stop(recv);
    char *rlog = proc_log(recv), *wlog = proc_log(worker);
    gather("receiver log", rlog, strlen(rlog));
    gather("worker log", wlog, strlen(wlog));
    free(rlog), free(wlog);
    for (size_t s = 0; s < sizeof secrets / sizeof secrets[0]; s++) {
        const char *hit = strstr(everything, secrets[s]);
        if (hit)
            test_fail(__FILE__, __LINE__, "secret \"%s\" found in output: ...%.200s", secrets[s],
                      hit - everything > 100 ? hit - 100 : everything);
    }
    for (int m = 0; m < nmacs; m++)
        if (strstr(everything, full_macs[m]))
            test_fail(__FILE__, __LINE__, "a full computed MAC %s is in the output", full_macs[m]);
    ASSERT_STR_CONTAINS(everything, "no_match"); /* the diagnostics are there, secrets are not */
    fprintf(stderr, "    searched %zu bytes of output for %zu secrets and %d MACs\n", used,
            sizeof secrets / sizeof secrets[0], nmacs);
}
