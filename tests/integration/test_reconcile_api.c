/*
 * test_reconcile_api.c — `hookctl reconcile SOURCE --api` end to end: a
 * private Redis, the real receiver and workers, and tests/tools/fakeapi
 * speaking GitHub's deliveries API and Stripe's events API (pagination,
 * 429 and 5xx included) on a loopback port. Never the real APIs.
 *
 * GitHub: missing deliveries are redelivered by the fake, signed, through
 * the receiver, and handled exactly once. Stripe: missing events are
 * queued through the dedupe step, handled exactly once, and a later real
 * delivery is a 200 duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "harness.h"
#include "hookctl_fixture.h"

#define TOKEN "tok_test_6f1c2a"
#define GH_HOOK "/repos/acme/app/hooks/7"

/* Events hookd answers 200 and never stores: reconcile must not call them missing. */
static const char drop_route[] = "[route ignored]\nmatch = stripe:ping.*, github:ping\n"
                                 "handler = drop\n";

/* The fixture's config with GH and ST added to the github and stripe
 * sources, and a drop route. */
static const char *config_with(struct hk *h, const char *gh, const char *st)
{
    char *text = harness_read_file(h->f.config_path, NULL), *out;
    size_t cap;

    ASSERT_NOT_NULL(text);
    cap = strlen(text) + strlen(gh) + strlen(st) + sizeof drop_route + 40;
    ASSERT_NOT_NULL(out = malloc(cap));
    char *g = strstr(text, "[source github]\n"), *s = strstr(text, "[source stripe]\n");
    ASSERT(g && s && g < s);
    *g = '\0', *s = '\0';
    snprintf(out, cap, "%s[source github]\n%s%s[source stripe]\n%s%s%s", text, gh, g + 16, st,
             s + 16, drop_route);
    static int n;
    char name[32];
    snprintf(name, sizeof name, "hookctl-api-%d.conf", ++n);
    const char *path = harness_write_file(name, out);
    free(text), free(out);
    return path;
}

/* api keys in both sources, api_token as given. */
static const char *api_config(struct hk *h, int api_port, const char *token)
{
    char gh[512], st[512];

    snprintf(gh, sizeof gh,
             "api_token = %s\napi_hook = repos/acme/app/hooks/7\napi_base = http://127.0.0.1:%d\n",
             token, api_port);
    snprintf(st, sizeof st, "api_token = %s\napi_base = http://127.0.0.1:%d/\n", token, api_port);
    return config_with(h, gh, st);
}

static struct proc *fake_start(int port, const char *state)
{
    char p[16];

    snprintf(p, sizeof p, "%d", port);
    const char *const argv[] = {harness_bin("tools/fakeapi"), p,
                                harness_write_file("fakeapi.json", state), NULL};
    struct proc *f = proc_start(argv, NULL, "fakeapi");
    ASSERT_INT_EQ(proc_log_wait_for(f, "ready", 5000), 0);
    return f;
}

/* Starts the fake with STATE (freed) and returns the api config's path. */
static const char *api_setup(struct hk *h, char *state, struct proc **fake)
{
    int api = harness_free_port();

    *fake = fake_start(api, state);
    free(state);
    return api_config(h, api, TOKEN);
}

static void rfc3339_ago(long long s, char *buf, size_t cap)
{
    time_t t = time(NULL) - (time_t)s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char gh_state[] =
    "{\"token\": \"Bearer " TOKEN "\", \"page_size\": 2,\n"
    " \"github\": {\"hook\": \"" GH_HOOK "\", \"secret\": \"gh-secret-one\",\n"
    "  \"target\": \"http://127.0.0.1:@PORT@/hooks/github\",\n"
    "  \"deliveries\": [\n"
    "   {\"id\": 6, \"guid\": \"g-miss-1\", \"delivered_at\": \"@T1@\", \"redelivery\": true,"
    "    \"status_code\": 503, \"status\": \"Invalid HTTP Response: 503\", \"event\": \"issues\","
    "    \"action\": \"opened\", \"payload\": {\"action\": \"opened\", \"n\": 1}},\n"
    "   {\"id\": 7, \"guid\": \"g-ping\", \"delivered_at\": \"@T1@\", \"redelivery\": false,"
    "    \"status_code\": 200, \"status\": \"OK\", \"event\": \"ping\", \"action\": null,"
    "    \"payload\": {\"zen\": \"Keep it logically awesome.\"}},\n"
    "   {\"id\": 5, \"guid\": \"g-miss-2\", \"delivered_at\": \"@T2@\", \"redelivery\": false,"
    "    \"status_code\": 502, \"status\": \"failed to connect\", \"event\": \"push\","
    "    \"action\": null, \"payload\": {\"ref\": \"refs/heads/main\", \"n\": 2}},\n"
    "   {\"id\": 4, \"guid\": \"g-ok-2\", \"delivered_at\": \"@T3@\", \"redelivery\": false,"
    "    \"status_code\": 202, \"status\": \"OK\", \"event\": \"push\", \"action\": null,"
    "    \"payload\": {\"n\": 3}},\n"
    "   {\"id\": 3, \"guid\": \"g-miss-1\", \"delivered_at\": \"@T4@\", \"redelivery\": false,"
    "    \"status_code\": 503, \"status\": \"Invalid HTTP Response: 503\", \"event\": \"issues\","
    "    \"action\": \"opened\", \"payload\": {\"action\": \"opened\", \"n\": 1}},\n"
    "   {\"id\": 2, \"guid\": \"g-ok-1\", \"delivered_at\": \"@T5@\", \"redelivery\": false,"
    "    \"status_code\": 202, \"status\": \"OK\", \"event\": \"push\", \"action\": null,"
    "    \"payload\": {\"n\": 4}},\n"
    "   {\"id\": 1, \"guid\": \"g-old\", \"delivered_at\": \"@TOLD@\", \"redelivery\": false,"
    "    \"status_code\": 503, \"status\": \"Invalid HTTP Response: 503\", \"event\": \"push\","
    "    \"action\": null, \"payload\": {\"n\": 5}}]},\n"
    " \"faults\": [\n"
    "   {\"path\": \"" GH_HOOK "/deliveries\", \"status\": 502, \"times\": 1},\n"
    "   {\"path\": \"" GH_HOOK "/deliveries\", \"status\": 429, \"times\": 1,"
    "    \"headers\": {\"Retry-After\": \"1\"}},\n"
    "   {\"path\": \"" GH_HOOK "/deliveries\", \"status\": 403, \"times\": 1,"
    "    \"headers\": {\"X-RateLimit-Remaining\": \"0\", \"X-RateLimit-Reset\": \"@RESET@\"}}]}\n";

static char *github_state(struct hk *h)
{
    char port[16], reset[24], t[6][32];

    snprintf(port, sizeof port, "%d", h->f.port);
    snprintf(reset, sizeof reset, "%lld", (long long)time(NULL));
    rfc3339_ago(60, t[0], 32), rfc3339_ago(120, t[1], 32), rfc3339_ago(180, t[2], 32);
    rfc3339_ago(240, t[3], 32), rfc3339_ago(300, t[4], 32), rfc3339_ago(3 * 86400, t[5], 32);
    const char *vars[] = {"@PORT@", port, "@RESET@", reset, "@T1@", t[0], "@T2@", t[1],
                          "@T3@", t[2], "@T4@", t[3], "@T5@", t[4], "@TOLD@", t[5], NULL};
    return harness_expand(gh_state, vars);
}

static void post_github(struct hk *h, const char *guid, const char *body)
{
    ASSERT_INT_EQ(fixture_post_github(&h->f, "gh-secret-one", guid, "push", body, NULL), 202);
}

TEST_T(reconcile_api_github_redelivers_missing_through_receiver, 120)
{
    struct hk h;
    char *out = NULL;

    hk_start(&h, true);
    post_github(&h, "g-ok-1", "{\"n\":4}");
    post_github(&h, "g-ok-2", "{\"n\":3}");
    WAIT_FOR(hk_runs(&h, "g-ok-1") == 1 && hk_runs(&h, "g-ok-2") == 1, 20000);
    struct proc *fake;
    const char *conf = api_setup(&h, github_state(&h), &fake);

    /* Read only: two missing, found through three refusals and three pages. */
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "github", "--api", "--since", "24h",
                                NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "scanned"), 5);
    ASSERT_INT_EQ(hk_value(out, "processed"), 2);
    ASSERT_INT_EQ(hk_value(out, "missing"), 2);
    ASSERT_INT_EQ(hk_value(out, "dropped"), 1);
    ASSERT_INT_EQ(hk_value(out, "redelivered"), 0);
    ASSERT_INT_EQ(hk_value(out, "api_retries"), 3);
    ASSERT_NOT_NULL(strstr(out, "g-miss-1"));
    ASSERT(strstr(out, "g-old") == NULL);
    ASSERT(strstr(out, TOKEN) == NULL);
    ASSERT_INT_EQ(proc_log_count(fake, "REDELIVER"), 0);
    ASSERT_INT_EQ(proc_log_count(fake, "cursor=v1_"), 3);
    ASSERT(strstr(out, "g-ping") == NULL);
    free(out);

    /* --redeliver: GitHub sends both again, signed, through the receiver. */
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "github", "--api", "--since", "24h",
                                "--redeliver", NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "missing"), 2);
    ASSERT_INT_EQ(hk_value(out, "redelivered"), 2);
    ASSERT_INT_EQ(hk_value(out, "not_recovered"), 0);
    ASSERT_INT_EQ(proc_log_count(fake, "POST " GH_HOOK "/deliveries/6/attempts -> 202"), 1);
    ASSERT_INT_EQ(proc_log_count(fake, "POST " GH_HOOK "/deliveries/5/attempts -> 202"), 1);
    ASSERT_INT_EQ(proc_log_count(fake, "REDELIVER g-miss-1 -> 202"), 1);
    ASSERT_INT_EQ(proc_log_count(fake, "REDELIVER g-miss-2 -> 202"), 1);
    free(out);
    WAIT_FOR(hk_runs(&h, "g-miss-1") == 1 && hk_runs(&h, "g-miss-2") == 1, 20000);

    /* Everything is there now; a second --redeliver sends nothing. */
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "--json", "reconcile", "github", "--api", "--since",
                                "24h", "--redeliver", NULL), 0);
    json_t *doc = json_loads(out, 0, NULL);
    ASSERT_NOT_NULL(doc);
    ASSERT_INT_EQ(json_integer_value(json_object_get(doc, "scanned")), 5);
    ASSERT_INT_EQ(json_integer_value(json_object_get(doc, "missing")), 0);
    ASSERT_INT_EQ(json_integer_value(json_object_get(doc, "redelivered")), 0);
    ASSERT_INT_EQ(json_array_size(json_object_get(doc, "events")), 0);
    json_decref(doc);
    free(out);
    ASSERT_INT_EQ(proc_log_count(fake, "REDELIVER"), 2);
    ASSERT_INT_EQ(hk_runs(&h, NULL), 4);
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 4);
}

static const char stripe_state[] =
    "{\"token\": \"Bearer " TOKEN "\", \"page_size\": 2,\n"
    " \"stripe\": {\"events\": [\n"
    "   {\"id\": \"evt_miss_2\", \"object\": \"event\", \"type\": \"invoice.paid\","
    "    \"created\": @C1@, \"pending_webhooks\": 1, \"livemode\": false,"
    "    \"data\": {\"object\": {\"id\": \"in_2\", \"object\": \"invoice\"}}},\n"
    "   {\"id\": \"evt_ok_2\", \"object\": \"event\", \"type\": \"customer.created\","
    "    \"created\": @C2@, \"pending_webhooks\": 0, \"data\": {\"object\": {}}},\n"
    "   {\"id\": \"evt_ping\", \"object\": \"event\", \"type\": \"ping.test\","
    "    \"created\": @C2@, \"pending_webhooks\": 0, \"data\": {\"object\": {}}},\n"
    "   {\"id\": \"evt_miss_1\", \"object\": \"event\", \"type\": \"customer.created\","
    "    \"created\": @C3@, \"pending_webhooks\": 1, \"data\": {\"object\": {\"id\": \"cus_1\"}}},\n"
    "   {\"id\": \"evt_ok_1\", \"object\": \"event\", \"type\": \"customer.created\","
    "    \"created\": @C4@, \"pending_webhooks\": 0, \"data\": {\"object\": {}}},\n"
    "   {\"id\": \"evt_expired\", \"object\": \"event\", \"type\": \"customer.created\","
    "    \"created\": @C5@, \"pending_webhooks\": 0, \"data\": {\"object\": {}}},\n"
    "   {\"id\": \"evt_old\", \"object\": \"event\", \"type\": \"customer.created\","
    "    \"created\": @COLD@, \"pending_webhooks\": 1, \"data\": {\"object\": {}}}]},\n"
    " \"faults\": [\n"
    "   {\"path\": \"/v1/events\", \"status\": 500, \"times\": 1},\n"
    "   {\"path\": \"/v1/events\", \"status\": 429, \"times\": 1,"
    "    \"headers\": {\"Retry-After\": \"1\"}}]}\n";

static char *stripe_events_state(void)
{
    char c[6][24];
    long long now = (long long)time(NULL);

    snprintf(c[0], 24, "%lld", now - 60), snprintf(c[1], 24, "%lld", now - 120);
    snprintf(c[2], 24, "%lld", now - 180), snprintf(c[3], 24, "%lld", now - 240);
    snprintf(c[4], 24, "%lld", now - 10 * 86400);
    snprintf(c[5], 24, "%lld", now - 7200); /* the fixture's dedupe_ttl is 1 h */
    const char *vars[] = {"@C1@", c[0], "@C2@", c[1], "@C3@", c[2], "@C4@", c[3],
                          "@C5@", c[5], "@COLD@", c[4], NULL};
    return harness_expand(stripe_state, vars);
}

/* The sig_version field of EVENT_ID's entry in ROUTE's stream ("" if none). */
static char *entry_sig_version(struct hk *h, const char *route, const char *event_id)
{
    redisReply *r = redis_cmd(h->f.rc, "XRANGE hookd:{%s}:stream - +", route);
    char *found = NULL;

    for (size_t i = 0; r && i < r->elements && !found; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *id = NULL, *sv = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "event_id") == 0)
                id = f->element[k + 1]->str;
            if (strcmp(f->element[k]->str, "sig_version") == 0)
                sv = f->element[k + 1]->str;
        }
        if (id && sv && strcmp(id, event_id) == 0)
            found = strdup(sv);
    }
    freeReplyObject(r);
    return found ? found : strdup("");
}

TEST_T(reconcile_api_stripe_enqueues_missing_once, 120)
{
    struct hk h;
    char *out = NULL, *sv;

    hk_start(&h, true);
    hk_fix_billing(&h);
    hk_post_stripe(&h, "evt_ok_1", "customer.created", "{\"object\":{}}");
    hk_post_stripe(&h, "evt_ok_2", "customer.created", "{\"object\":{}}");
    WAIT_FOR(hk_runs(&h, "evt_ok_1") == 1 && hk_runs(&h, "evt_ok_2") == 1, 20000);
    struct proc *fake;
    const char *conf = api_setup(&h, stripe_events_state(), &fake);

    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1d",
                                NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "scanned"), 6);
    ASSERT_INT_EQ(hk_value(out, "missing"), 3);
    ASSERT_INT_EQ(hk_value(out, "dropped"), 1); /* route ignored: handler = drop */
    ASSERT(strstr(out, "evt_ping") == NULL);
    ASSERT_INT_EQ(hk_value(out, "enqueued"), 0);
    ASSERT_NOT_NULL(strstr(out, "older than dedupe_ttl"));
    ASSERT_INT_EQ(hk_value(out, "api_retries"), 2);
    ASSERT(strstr(out, "evt_old") == NULL && strstr(out, TOKEN) == NULL);
    ASSERT_INT_EQ(proc_log_count(fake, "starting_after=evt_ok_2"), 1);
    ASSERT_INT_EQ(proc_log_count(fake, "starting_after=evt_miss_1"), 1);
    free(out);

    /* --enqueue: through the dedupe step, each handled once. */
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1d",
                                "--enqueue", NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "enqueued"), 2);
    ASSERT_INT_EQ(hk_value(out, "not_recovered"), 1); /* evt_expired: may have run already */
    ASSERT_NOT_NULL(strstr(out, "older than dedupe_ttl: not enqueued"));
    free(out);
    WAIT_FOR(hk_runs(&h, "evt_miss_1") == 1 && hk_runs(&h, "evt_miss_2") == 1, 20000);
    ASSERT_STR_EQ(sv = entry_sig_version(&h, "billing", "evt_miss_2"), "@api");
    free(sv);

    /* Stripe's own retry arrives later: a duplicate, nothing runs again. */
    char body[256], sig[SIG_BUF_SIZE], hdr[SIG_BUF_SIZE + 32];
    struct http_response r = {0};
    snprintf(body, sizeof body, "{\"id\":\"evt_miss_1\",\"object\":\"event\","
                                "\"type\":\"customer.created\",\"data\":{\"object\":{}}}");
    ASSERT_INT_EQ(stripe_signature("whsec_stripe_test", (long long)time(NULL), body, strlen(body),
                                   sig), 0);
    snprintf(hdr, sizeof hdr, "Stripe-Signature: %s", sig);
    const char *headers[] = {hdr, "Content-Type: application/json", NULL};
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/stripe", headers, body, strlen(body), &r),
                  0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_NOT_NULL(strstr(r.body, "duplicate"));
    http_response_free(&r);

    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1d",
                                "--enqueue", "--undelivered", NULL), 0);
    ASSERT_INT_EQ(hk_value(out, "scanned"), 2); /* pending_webhooks > 0 only */
    ASSERT_INT_EQ(hk_value(out, "missing"), 0);
    ASSERT_INT_EQ(hk_value(out, "enqueued"), 0);
    free(out);
    ASSERT_INT_EQ(proc_log_count(fake, "delivery_success=false"), 1);
    ASSERT_INT_EQ(hk_runs(&h, NULL), 4);
}

static const char refusing_state[] =
    "{\"token\": \"Bearer right-token-77\", \"page_size\": 2, \"stripe\": {\"events\": []},\n"
    " \"faults\": [\n"
    "   {\"path\": \"/v1/events\", \"status\": 503, \"times\": 6, \"headers\": {\"Retry-After\": \"0\"}},\n"
    "   {\"path\": \"/v1/events\", \"status\": 429, \"times\": 1,"
    "    \"headers\": {\"Retry-After\": \"3600\"}},\n"
    "   {\"path\": \"/v1/events\", \"status\": 429, \"times\": 3,"
    "    \"headers\": {\"Retry-After\": \"1\"}}]}\n";

TEST_T(reconcile_api_failures_name_the_cause_not_the_token, 90)
{
    struct hk h;
    char *out = NULL;
    int api = harness_free_port();

    hk_start(&h, false);
    struct proc *fake = fake_start(api, refusing_state);

    /* A credential the API refuses: exit 4, the API's message, no token. */
    const char *conf = api_config(&h, api, "wrong-token-123");
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1h", NULL),
                  4);
    ASSERT_NOT_NULL(strstr(out, "answered 401"));
    ASSERT(strstr(out, "wrong-token-123") == NULL && strstr(out, "right-token") == NULL);
    free(out);

    /* api_token from an unset variable: only the command that needs it fails. */
    conf = api_config(&h, api, "env:HOOKD_TEST_UNSET_API_TOKEN");
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1h", NULL),
                  2);
    ASSERT_NOT_NULL(strstr(out, "api_token"));
    ASSERT_NOT_NULL(strstr(out, "HOOKD_TEST_UNSET_API_TOKEN"));
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "stats", NULL), 0);
    free(out);

    /* Options that do not fit the provider. */
    conf = api_config(&h, api, "right-token-77");
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1h",
                                "--redeliver", NULL), 2);
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", NULL), 2);
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "default", "--api", "--since", "1h", NULL),
                  2);
    free(out);

    /* An api_hook that is not one of GitHub's hook paths: a config error. */
    char gh[256];
    snprintf(gh, sizeof gh, "api_token = x\napi_hook = repos/acme/../hooks/7\n"
                            "api_base = http://127.0.0.1:%d\n", api);
    ASSERT_INT_EQ(hk_ctl_config(config_with(&h, gh, ""), &out, "reconcile", "github", "--api",
                                "--since", "1h", NULL), 2);
    ASSERT_STR_CONTAINS(out, "api_hook: expected repos/OWNER/REPO/hooks/ID");
    free(out);

    /* 5xx on every attempt, then a wait longer than allowed: exit 4 each. */
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1h", NULL),
                  4);
    ASSERT_NOT_NULL(strstr(out, "answered 503 (6 attempts)"));
    free(out);
    int64_t t0 = harness_now_ms();
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1h", NULL),
                  4);
    ASSERT_NOT_NULL(strstr(out, "retry in 3600s"));
    ASSERT_INT_OP(harness_now_ms() - t0, <, 10000);
    free(out);
    ASSERT_INT_EQ(proc_log_count(fake, "-> 503"), 6);

    /* Slow (three waits of 1 s), then an empty window: a clean run, and a
     * progress line on stderr once it has taken over 2 s. */
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "stripe", "--api", "--since", "1h", NULL),
                  0);
    ASSERT_INT_EQ(hk_value(out, "scanned"), 0);
    ASSERT_INT_EQ(hk_value(out, "api_retries"), 3);
    ASSERT_STR_CONTAINS(out, "hookctl: reconcile stripe: 0 scanned, 0 missing, 1 pages, ");
    free(out);
}

/* An RSA key pair: the private key's PEM written to a file (its path
 * returned), the public key's PEM into *pub (malloc'd). */
static const char *app_key(char **pub)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    BIO *priv = BIO_new(BIO_s_mem()), *pubb = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;

    ASSERT(key && priv && pubb);
    ASSERT_INT_EQ(PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL), 1);
    ASSERT_INT_EQ(PEM_write_bio_PUBKEY(pubb, key), 1);
    n = BIO_get_mem_data(priv, &p);
    const char *path = harness_write_bytes("app-key.pem", p, (size_t)n);
    n = BIO_get_mem_data(pubb, &p);
    ASSERT_NOT_NULL(*pub = strndup(p, (size_t)n));
    BIO_free(priv), BIO_free(pubb);
    EVP_PKEY_free(key);
    return path;
}

TEST_T(reconcile_api_github_app_signs_its_jwt, 60)
{
    struct hk h;
    char *out = NULL, *pub = NULL, when[32], gh[512], *text;
    struct proc *fake;

    hk_start(&h, false);
    const char *key = app_key(&pub);
    rfc3339_ago(30, when, sizeof when);
    json_t *state = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:[{s:i, s:s, s:s, s:b, s:i, s:s, s:n, s:{s:i}}]}}",
        "token", "unused", "github", "hook", "/app/hook", "secret", "gh-secret-one", "target",
        "", "app_id", "4242", "app_public_key", pub, "deliveries", "id", 11, "guid", "g-app-1",
        "delivered_at", when, "redelivery", 0, "status_code", 504, "event", "push", "action",
        "payload", "n", 1);
    char target[64];
    snprintf(target, sizeof target, "http://127.0.0.1:%d/hooks/github", h.f.port);
    json_object_set_new(json_object_get(state, "github"), "target", json_string(target));
    ASSERT_NOT_NULL(text = json_dumps(state, 0));
    json_decref(state);
    free(pub);
    int api = harness_free_port();
    fake = fake_start(api, text);
    free(text);

    /* The key in api_token, the App's id: hookctl signs a JWT the fake verifies. */
    snprintf(gh, sizeof gh,
             "api_token = file:%s\napi_hook = app\napi_app_id = 4242\n"
             "api_base = http://127.0.0.1:%d\n",
             key, api);
    const char *conf = config_with(&h, gh, "");
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "github", "--api", "--since", "1h",
                                "--redeliver", NULL), 1);
    ASSERT_INT_EQ(hk_value(out, "missing"), 1);
    ASSERT_INT_EQ(hk_value(out, "redelivered"), 1);
    ASSERT(strstr(out, "PRIVATE KEY") == NULL);
    free(out);
    ASSERT_INT_EQ(proc_log_count(fake, "POST /app/hook/deliveries/11/attempts -> 202"), 1);
    WAIT_FOR(fixture_stream_len(&h.f, "default") == 1, 10000);

    /* Another App id: the JWT is refused. */
    snprintf(gh, sizeof gh,
             "api_token = file:%s\napi_hook = app\napi_app_id = 99\n"
             "api_base = http://127.0.0.1:%d\n",
             key, api);
    conf = config_with(&h, gh, "");
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "github", "--api", "--since", "1h", NULL),
                  4);
    ASSERT_NOT_NULL(strstr(out, "answered 401"));
    free(out);
}

TEST_T(reconcile_api_next_page_on_another_origin_is_refused, 60)
{
    struct hk h;
    char *out = NULL, *state, gh[256];
    int api = harness_free_port();

    hk_start(&h, false);
    struct proc *fake = fake_start(api, state = github_state(&h));
    free(state);
    /* api_base names localhost; the fake's Link names 127.0.0.1: another origin. */
    snprintf(gh, sizeof gh,
             "api_token = " TOKEN "\napi_hook = repos/acme/app/hooks/7\n"
             "api_base = http://localhost:%d\n",
             api);
    const char *conf = config_with(&h, gh, "");
    ASSERT_INT_EQ(hk_ctl_config(conf, &out, "reconcile", "github", "--api", "--since", "24h", NULL),
                  4);
    ASSERT_NOT_NULL(strstr(out, "refusing to send the credential to http://127.0.0.1:"));
    free(out);
    ASSERT_INT_EQ(proc_log_count(fake, "-> 200"), 1);
    ASSERT_INT_EQ(proc_log_count(fake, "cursor=v1_"), 0);
}
