/*
 * test_hookctl_cli.c — hookctl without workers: offline signature
 * diagnosis (verify), the rejected-signature summary of stats, and the
 * exit codes for usage errors, bad configs and an unreachable Redis.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookctl_fixture.h"

static const char gh_body[] = "{\"action\":\"opened\",\"number\":7}";

/* The first 8 hex digits of GitHub's signature of gh_body under SECRET. */
static void gh_prefix(const char *secret, char out[9])
{
    char sig[SIG_BUF_SIZE];

    github_signature(secret, gh_body, strlen(gh_body), sig);
    memcpy(out, sig + 7, 8); /* after "sha256=" */
    out[8] = '\0';
}

/* A captured GitHub request signed with SECRET; returns the headers path. */
static const char *capture_github(const char *secret)
{
    char sig[SIG_BUF_SIZE], text[1024];

    github_signature(secret, gh_body, strlen(gh_body), sig);
    snprintf(text, sizeof text,
             "POST /hooks/github HTTP/1.1\r\n"
             "Host: hooks.example.com\r\n"
             "X-GitHub-Event: pull_request\r\n"
             "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\n"
             "X-Hub-Signature-256: %s\r\n"
             "Content-Type: application/json\r\n"
             "\r\n", sig);
    harness_write_file("body.json", gh_body);
    return harness_write_file("headers.txt", text);
}

TEST(hookctl_verify_names_matching_version)
{
    struct hk h;
    char *out, p1[9], p2[9], line[128];

    hk_start(&h, false);
    const char *headers = capture_github("gh-secret-two");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "github", "--headers", headers, "--body",
                         harness_path("body.json"), NULL), 0);
    gh_prefix("gh-secret-one", p1);
    gh_prefix("gh-secret-two", p2);
    ASSERT_STR_CONTAINS(out, "header         = X-Hub-Signature-256");
    snprintf(line, sizeof line, "v1             = %s  no match", p1);
    ASSERT_STR_CONTAINS(out, line);
    snprintf(line, sizeof line, "v2             = %s  MATCH", p2);
    ASSERT_STR_CONTAINS(out, line);
    char sha[65];
    sha256_hex(gh_body, strlen(gh_body), sha);
    ASSERT_STR_CONTAINS(out, sha);
    ASSERT_STR_CONTAINS(out, "verdict        = valid (signed with v2)");
    free(out);

    /* A secret no longer configured: every version named, none matching. */
    headers = capture_github("gh-secret-retired");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "github", "--headers", headers, "--body",
                         harness_path("body.json"), NULL), 1);
    snprintf(line, sizeof line, "v1             = %s  no match", p1);
    ASSERT_STR_CONTAINS(out, line);
    snprintf(line, sizeof line, "v2             = %s  no match", p2);
    ASSERT_STR_CONTAINS(out, line);
    ASSERT_STR_CONTAINS(out, "verdict        = invalid: no_match");
    free(out);
}

/* The request line matters to Twilio (it signs the query string), and a
 * public key is shown by its fingerprint. Twilio's own published example. */
TEST(hookctl_verify_query_string_and_public_keys)
{
    struct hk h;
    char *out;
    const char *headers, *body;

    hk_start(&h, false);
    headers = harness_write_file("tw-headers.txt",
                                 "Content-Type: application/x-www-form-urlencoded\r\n"
                                 "X-Twilio-Signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=\r\n\r\n");
    body = harness_write_file("tw-body.txt", "To=%2B18005551212&Caller=%2B12349013030&CallSid=CA1234567890ABCDE&Digits=1234&From=%2B12349013030");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "twilio", "--headers", headers, "--body", body,
                         "--url", "/hooks/twilio?foo=1&bar=2", NULL),
                  0);
    ASSERT_STR_CONTAINS(out, "verdict        = valid (signed with v1)");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "twilio", "--headers", headers, "--body", body, NULL),
                  1);
    ASSERT_STR_CONTAINS(out, "verdict        = invalid: no_match");
    free(out);
    /* a captured request line carries the target itself */
    headers = harness_write_file("tw-capture.txt",
                                 "POST /hooks/twilio?foo=1&bar=2 HTTP/1.1\r\n"
                                 "Content-Type: application/x-www-form-urlencoded\r\n"
                                 "X-Twilio-Signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=\r\n\r\n");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "twilio", "--headers", headers, "--body", body, NULL),
                  0);
    free(out);
    headers = harness_write_file("dc-headers.txt",
                                 "X-Signature-Ed25519: cc687097c665e1972676e42a2842c2038bdb55d4657d31dd2db93bf638b3b6b8847eabebd69c59b9291738a0a8ef0875474573792a69c81f6553e087fe56890a\r\nX-Signature-Timestamp: 1700000000\r\n\r\n");
    body = harness_write_file("dc-body.txt", "{\"id\":\"1148473290853548102\",\"type\":2,\"data\":{\"name\":\"ping\"}}");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "discord", "--headers", headers, "--body", body,
                         "--at", "1700000000", NULL),
                  0);
    ASSERT_STR_CONTAINS(out, "verdict        = valid (signed with v1)");
    ASSERT_STR_CONTAINS(out, "  MATCH");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "discord", "--headers", headers, "--body", body,
                         "--at", "1700000400", NULL),
                  1);
    ASSERT_STR_CONTAINS(out, "timestamp_too_old");
    free(out);
}

TEST(hookctl_verify_timestamp_and_json_headers)
{
    struct hk h;
    char *out, sig[SIG_BUF_SIZE], text[512], at[32];
    const char *body = "{\"id\":\"evt_v\",\"type\":\"invoice.paid\"}";
    long long ts = (long long)time(NULL) - 3600;

    hk_start(&h, false);
    stripe_signature("whsec_stripe_test", ts, body, strlen(body), sig);
    snprintf(text, sizeof text, "{\"stripe-signature\": \"%s\", \"content-type\": \"application/json\"}",
             sig);
    const char *headers = harness_write_file("stripe-headers.json", text);
    const char *bodyf = harness_write_file("stripe-body.json", body);
    /* Genuine, but an hour old: outside the 300 s tolerance now. */
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "stripe", "--headers", headers, "--body", bodyf, NULL),
                  1);
    ASSERT_STR_CONTAINS(out, "header         = Stripe-Signature");
    ASSERT_STR_CONTAINS(out, "MATCH");
    ASSERT_STR_CONTAINS(out, "verdict        = invalid: timestamp_too_old");
    free(out);
    /* At the time it was sent, it is valid. */
    snprintf(at, sizeof at, "%lld", ts + 5);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "stripe", "--headers", headers, "--body", bodyf,
                         "--at", at, NULL), 0);
    ASSERT_STR_CONTAINS(out, "skew           = 5 s");
    ASSERT_STR_CONTAINS(out, "verdict        = valid (signed with v1)");
    free(out);
    /* A missing signature header. */
    headers = harness_write_file("none.txt", "Content-Type: application/json\n");
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "stripe", "--headers", headers, "--body", bodyf, NULL),
                  1);
    ASSERT_STR_CONTAINS(out, "verdict        = invalid: missing_header");
    free(out);
}

static void post_github(struct hk *h, const char *secret, const char *delivery, int status)
{
    ASSERT_INT_EQ(fixture_post_github(&h->f, secret, delivery, "push", "{}", NULL), status);
}

TEST(hookctl_stats_rejected_by_reason_and_version)
{
    struct hk h;
    char *out;

    hk_start(&h, false);
    post_github(&h, "gh-secret-one", "ok-1", 202);
    post_github(&h, "gh-secret-one", "ok-1", 200);
    post_github(&h, "wrong", "bad-1", 401);
    post_github(&h, "wrong", "bad-2", 401);
    post_github(&h, "gh-secret-two", "ok-2", 202);
    post_github(&h, "gh-secret-two", "ok-3", 202);
    hk_post_stripe(&h, "evt_v1", "invoice.paid", "{}"); /* another route, another source */
    ASSERT_INT_EQ(hk_ctl(&h, &out, "stats", "--json", NULL), 0);
    json_t *doc = json_loads(out, 0, NULL);
    ASSERT_NOT_NULL(doc);
    json_t *gh = json_object_get(json_object_get(doc, "sources"), "github");
    ASSERT_INT_EQ(json_integer_value(json_object_get(gh, "total")), 2);
    ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(gh, "by_reason"), "no_match")),
                  2);
    json_t *byv = json_object_get(gh, "by_version_tried");
    ASSERT_INT_EQ(json_integer_value(json_object_get(byv, "v1")), 2);
    ASSERT_INT_EQ(json_integer_value(json_object_get(byv, "v2")), 2);
    /* Verified requests per version, whatever their outcome (the
     * duplicate too): which secret is still in use. */
    json_t *ver = json_object_get(gh, "verified_by_version");
    ASSERT_INT_EQ(json_integer_value(json_object_get(ver, "v1")), 2);
    ASSERT_INT_EQ(json_integer_value(json_object_get(ver, "v2")), 2);
    json_t *sv = json_object_get(json_object_get(json_object_get(doc, "sources"), "stripe"),
                                 "verified_by_version");
    ASSERT_INT_EQ(json_integer_value(json_object_get(sv, "v1")), 1);
    json_t *def = json_object_get(json_object_get(doc, "routes"), "default");
    ASSERT_INT_EQ(json_integer_value(json_object_get(def, "stream_length")), 3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(def, "lag")), 3);
    ASSERT(json_is_false(json_object_get(def, "group_exists")));
    json_t *cnt = json_object_get(def, "counters");
    ASSERT_INT_EQ(json_integer_value(json_object_get(cnt, "received")), 3);
    ASSERT_INT_EQ(json_integer_value(json_object_get(cnt, "duplicates")), 1);
    ASSERT_INT_EQ(json_integer_value(json_object_get(cnt, "backlog")), 3);
    json_decref(doc);
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "stats", NULL), 0);
    ASSERT_STR_CONTAINS(out, "no_match=2");
    ASSERT_STR_CONTAINS(out, "v1=2,v2=2");
    ASSERT_STR_CONTAINS(out, "VERIFIED_BY_VERSION");
    free(out);
}

TEST(hookctl_redis_down_exits_3)
{
    struct hk h;
    char *out;

    char where[64];

    hk_start(&h, false);
    snprintf(where, sizeof where, "127.0.0.1:%d: Connection refused", redis_port(h.f.redis));
    redis_kill(h.f.redis);
    const char *const cmds[][4] = {{"stats"}, {"dead", "list", "billing"},
                                   {"replay", "billing", "--all"}, {"dead", "show", "billing", "x"}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ASSERT_INT_EQ(hk_ctl(&h, &out, cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL), 3);
        ASSERT_STR_CONTAINS(out, "hookctl: Redis unreachable");
        ASSERT_STR_CONTAINS(out, where); /* the address and the cause */
        ASSERT_INT_EQ(strchr(out, '\n') - out + 1, (long long)strlen(out)); /* one line */
        free(out);
    }
}

TEST(hookctl_usage_and_config_errors_exit_2)
{
    struct hk h;
    char *out;

    hk_start(&h, false);
    ASSERT_INT_EQ(hk_ctl_config(harness_path("missing.conf"), &out, "stats", NULL), 2);
    ASSERT_STR_CONTAINS(out, "missing.conf");
    free(out);
    const char *bad = harness_write_file("bad.conf", "[redis]\nurl = redis://127.0.0.1:1/0\n"
                                                     "no_such_key = 1\n");
    ASSERT_INT_EQ(hk_ctl_config(bad, &out, "stats", NULL), 2);
    ASSERT_STR_CONTAINS(out, "bad.conf");
    free(out);
    const char *const cases[][5] = {
        {"replay", "nosuchroute"},      {"dead", "list", "nosuchroute"},
        {"frobnicate"},                 {"replay", "billing", "--id", "a", "--all"},
        {"dead", "purge", "billing"},   {"dead", "list", "billing", "--limit", "x"},
        {"verify", "nosuchsource", "--headers", "h", "--body"},
        {"reconcile", "stripe"},        {"replay", "billing", "--since", "yesterday"},
        {"dead", "list", "billing", "--state", "bogus"},
        {"dead", "show", "billing"},    {"dead", "purge", "billing", "--before", "xyz"},
        {"replay", "billing", "--timeout", "abc"},
        {"throttle", "github", "fast"}, {"throttle", "nosuchsource", "5/s"},
        {"pause"},                      {"resume", "nosuchroute"},
        {"sign", "github"},             {"stats", "extra"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = hk_ctl(&h, &out, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
                          cases[i][4], NULL);
        if (code != 2)
            test_fail(__FILE__, __LINE__, "case %zu (%s %s): exit %d: %s", i, cases[i][0],
                      cases[i][1] ? cases[i][1] : "", code, out);
        ASSERT_STR_CONTAINS(out, "hookctl: ");
        free(out);
    }
    ASSERT_INT_EQ(hk_ctl(&h, &out, "verify", "stripe", "--headers", "h", "--body", "b", "--at",
                         "noon", NULL), 2);
    ASSERT_STR_CONTAINS(out, "--at wants a time");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "dead", "list", "billing", "--state", "procesed", NULL), 2);
    ASSERT_STR_CONTAINS(out, "--state wants an event state");
    free(out);
    ASSERT_INT_EQ(hk_ctl(&h, &out, "replay", "nosuchroute", NULL), 2);
    ASSERT_STR_CONTAINS(out, "unknown route \"nosuchroute\"");
    free(out);
}

/* Commands that need no secret run with the config alone: a shell without
 * the env: variables (or without the secret files) still gets stats, dead
 * letters, pause; commands that check or make signatures say which
 * variable is missing. */
TEST(hookctl_commands_without_secrets)
{
    struct hk h;
    char *out, *text;

    hk_start(&h, false);
    text = harness_read_file(h.f.config_path, NULL);
    ASSERT_NOT_NULL(text);
    char *conf = harness_expand(text, (const char *const[]){
        "admin_token = test-admin-token", "admin_token = env:HOOKD_TEST_NO_TOKEN",
        "secret.v1 = gh-secret-one", "secret.v1 = env:HOOKD_TEST_NO_GH",
        "secret.v1 = whsec_stripe_test", "secret.v1 = file:/nonexistent/stripe.secret", NULL});
    free(text);
    const char *path = harness_write_file("nosecrets.conf", conf);
    free(conf);
    unsetenv("HOOKD_TEST_NO_TOKEN"), unsetenv("HOOKD_TEST_NO_GH");

    ASSERT_INT_EQ(hk_ctl_config(path, &out, "stats", NULL), 0);
    ASSERT_STR_CONTAINS(out, "billing");
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(path, &out, "dead", "list", "billing", NULL), 0);
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(path, &out, "pause", "billing", NULL), 0);
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(path, &out, "resume", "billing", NULL), 0);
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(path, &out, "throttle", NULL), 0);
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(path, &out, "verify", "github", "--headers", "h", "--body", "b",
                                NULL), 2);
    ASSERT_STR_CONTAINS(out, "environment variable HOOKD_TEST_NO_TOKEN is not set");
    ASSERT_STR_CONTAINS(out, "environment variable HOOKD_TEST_NO_GH is not set");
    ASSERT_STR_CONTAINS(out, "cannot read secret file /nonexistent/stripe.secret");
    free(out);
}

/* hookctl sign: a curl that the receiver accepts, for each scheme the
 * fixture configures, with the type given and a new id each time. */
TEST(hookctl_sign_prints_an_accepted_curl)
{
    struct fixture f;
    char *out, *reply, cmd[8192];
    const char *body = harness_write_file("evt.json", "{\"id\":\"evt_signed_1\",\"type\":"
                                                      "\"invoice.paid\",\"event_id\":\"Ev1\","
                                                      "\"event\":{\"type\":\"message\"},"
                                                      "\"meta\":{\"id\":\"m1\"}}");
    static const char *const sources[] = {"github", "stripe",   "slack",
                                          "shopify", "standard", "generic"};

    fixture_start(&f, NULL);
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        ASSERT_INT_EQ(hk_ctl_config(f.config_path, &out, "sign", sources[i], "--body", body,
                                    "--type", "push", NULL), 0);
        ASSERT_STR_CONTAINS(out, "curl -i -X POST");
        size_t n = strlen(out);
        while (n && out[n - 1] == '\n')
            n--;
        snprintf(cmd, sizeof cmd, "%.*s -s", (int)n, out);
        const char *argv[] = {"sh", "-c", cmd, NULL};
        ASSERT_INT_EQ(harness_run(argv, &reply, 10000), 0);
        if (!strstr(reply, "HTTP/1.1 202"))
            test_fail(__FILE__, __LINE__, "%s: %s\n%s", sources[i], out, reply);
        free(reply);
        free(out);
    }
    /* github: the type header as given; a new delivery id each run. */
    ASSERT_INT_EQ(hk_ctl_config(f.config_path, &out, "sign", "github", "--body", body, "--type",
                                "push", NULL), 0);
    ASSERT_STR_CONTAINS(out, "-H 'X-GitHub-Event: push'");
    char *again;
    ASSERT_INT_EQ(hk_ctl_config(f.config_path, &again, "sign", "github", "--body", body, NULL), 0);
    ASSERT(strcmp(strstr(out, "X-GitHub-Delivery"), strstr(again, "X-GitHub-Delivery")) != 0);
    free(again);
    free(out);
    /* --version names a configured key; an unknown one is refused. */
    ASSERT_INT_EQ(hk_ctl_config(f.config_path, &out, "sign", "github", "--body", body,
                                "--version", "v9", NULL), 2);
    ASSERT_STR_CONTAINS(out, "no secret.v9");
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(f.config_path, &out, "sign", "nosuch", "--body", body, NULL), 2);
    free(out);
}

static size_t consumers_of(struct hk *h, const char *route)
{
    char *out = NULL;
    size_t n = 0;

    if (hk_ctl(h, &out, "--json", "stats", NULL) == 0) {
        json_t *doc = json_loads(out, 0, NULL);
        n = json_array_size(json_object_get(
            json_object_get(json_object_get(doc, "routes"), route), "consumers"));
        json_decref(doc);
    }
    free(out);
    return n;
}

/* A worker is listed for a route that never had an event, also after a
 * SIGHUP restart in place (which retires the old consumer). */
TEST(hookctl_stats_lists_workers_of_idle_routes_after_sighup)
{
    struct hk h;

    hk_start(&h, true);
    WAIT_FOR(consumers_of(&h, "billing") == 1, 10000);
    ASSERT_INT_EQ(proc_signal(h.workers[0], SIGHUP), 0);
    WAIT_FOR(proc_log_count(h.workers[0], "\"event\":\"start\"") == 2, 10000);
    ASSERT_INT_EQ(consumers_of(&h, "billing"), 1);
}
