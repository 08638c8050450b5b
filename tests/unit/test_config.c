/*
 * test_config.c — the INI parser: every kind of value, defaults, secrets
 * from env:/file:, and errors naming file:line and the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "harness.h"
#include "testsign.h"
#include "redis_url.h"

static const char minimal[] = "[source gh]\nscheme = github\nsecret.v1 = s\n"
                              "[route default]\nhandler = exec:/bin/true\n";

static struct config *parse(const char *text, char *err, size_t errlen)
{
    return config_parse("t.conf", text, strlen(text), err, errlen);
}

static void expect_error(const char *text, const char *needle)
{
    char err[512];
    struct config *cfg = parse(text, err, sizeof err);
    if (cfg) {
        config_release(cfg);
        test_fail(__FILE__, __LINE__, "config accepted, expected an error containing \"%s\"",
                  needle);
    }
    ASSERT_STR_CONTAINS(err, needle);
}

TEST(config_listen_takes_ipv4_and_bracketed_ipv6)
{
    static const char text[] = "[receiver]\nlisten = [::1]:18080\nadmin_listen = 0.0.0.0:0\n"
                               "[source gh]\nscheme = github\nsecret.v1 = s\n"
                               "[route default]\nhandler = exec:/bin/true\n";
    char err[512];
    struct config *cfg = parse(text, err, sizeof err);

    ASSERT_NOT_NULL(cfg);
    ASSERT_STR_EQ(cfg->receiver.listen, "[::1]:18080");
    ASSERT_STR_EQ(cfg->receiver.admin_listen, "0.0.0.0:0");
    config_release(cfg);
}

TEST(config_minimal_gets_defaults)
{
    char err[512];
    struct config *cfg = parse(minimal, err, sizeof err);

    ASSERT_NOT_NULL(cfg);
    ASSERT_STR_EQ(cfg->receiver.listen, "127.0.0.1:8080");
    ASSERT_STR_EQ(cfg->receiver.admin_listen, "127.0.0.1:9090");
    ASSERT_INT_EQ(cfg->receiver.max_body, 1048576);
    ASSERT_INT_EQ(cfg->receiver.high_watermark, 100000);
    ASSERT_INT_EQ(cfg->receiver.low_watermark, 90000);
    ASSERT(!cfg->receiver.epoll); /* poll() by default, by measurement */
    ASSERT_STR_EQ(cfg->redis.url, "redis://127.0.0.1:6379/0");
    ASSERT_STR_EQ(cfg->redis.prefix, "hookd");
    ASSERT_INT_EQ(cfg->redis.dedupe_ttl_s, 604800);
    const struct source_cfg *s = config_source(cfg, "gh", 2);
    ASSERT_NOT_NULL(s);
    ASSERT_INT_EQ(s->tolerance_s, 300);
    ASSERT_INT_EQ(s->max_body, 1048576);
    ASSERT_INT_EQ(s->keys.n, 1);
    ASSERT_STR_EQ(s->keys.keys[0].version, "v1");
    const struct route_cfg *r = config_route(cfg, "default");
    ASSERT_NOT_NULL(r);
    ASSERT_INT_EQ(r->nschedule, 7);
    ASSERT_INT_EQ(r->retry_schedule_ms[6], 600000);
    ASSERT_INT_EQ(r->visibility_timeout_ms, 60000);
    ASSERT_INT_EQ(r->worker_batch, 16);
    ASSERT_INT_EQ(r->priority, PRIORITY_NORMAL);
    config_release(cfg);
}

TEST(config_full_example_parses)
{
    char err[512], path[4096];
    struct config *cfg;

    setenv("HOOKD_ADMIN_TOKEN", "tok", 1);
    setenv("GITHUB_WEBHOOK_SECRET_V1", "gh", 1);
    setenv("STRIPE_WEBHOOK_SECRET_V1", "whsec_x", 1);
    snprintf(path, sizeof path, "%s/receiver.conf.example", harness_repo_dir());
    cfg = config_load(path, err, sizeof err);
    if (!cfg)
        test_fail(__FILE__, __LINE__, "receiver.conf.example: %s", err);
    ASSERT_STR_EQ(cfg->receiver.admin_token, "tok");
    ASSERT_INT_EQ(cfg->receiver.connection_memory_limit, 16 * 1024);
    ASSERT_INT_EQ(cfg->receiver.connection_timeout_s, 10);
    ASSERT_INT_EQ(cfg->redis.timeout_ms, 2000);
    const struct route_cfg *b = config_route(cfg, "billing");
    ASSERT_NOT_NULL(b);
    ASSERT_INT_EQ(b->priority, PRIORITY_HIGH);
    ASSERT_INT_EQ(b->max_backoff_ms, 600000);
    ASSERT_INT_EQ(b->nschedule, 5);
    ASSERT_STR_EQ(config_route_for(cfg, "stripe", "invoice.paid", NULL)->name, "billing");
    ASSERT_STR_EQ(config_route_for(cfg, "stripe", "charge.refunded", NULL)->name, "billing");
    ASSERT_STR_EQ(config_route_for(cfg, "stripe", "customer.created", NULL)->name, "default");
    ASSERT_STR_EQ(config_route_for(cfg, "github", "invoice.paid", NULL)->name, "default");
    config_release(cfg);
}

TEST(config_durations_sizes_and_lists)
{
    ASSERT_INT_EQ(config_parse_duration_ms("250ms", 5), 250);
    ASSERT_INT_EQ(config_parse_duration_ms("30", 2), 30000);
    ASSERT_INT_EQ(config_parse_duration_ms("30s", 3), 30000);
    ASSERT_INT_EQ(config_parse_duration_ms("2m", 2), 120000);
    ASSERT_INT_EQ(config_parse_duration_ms("1h", 2), 3600000);
    ASSERT_INT_EQ(config_parse_duration_ms("7d", 2), 7 * 86400000LL);
    ASSERT_INT_EQ(config_parse_duration_ms("", 0), HOOKD_EPARSE);
    ASSERT_INT_EQ(config_parse_duration_ms("1x", 2), HOOKD_EPARSE);
    ASSERT_INT_EQ(config_parse_duration_ms("-1s", 3), HOOKD_EPARSE);
    ASSERT_INT_EQ(config_parse_duration_ms("99999999999999999999", 20), HOOKD_EPARSE);

    char err[512];
    const char *text = "[receiver]\nmax_body = 2m\ntrusted_proxies = 10.0.0.1, 10.0.0.2\n"
                       "[source gh]\nscheme = github\nsecret.v1 = s ; inline comment\n"
                       "rate_limit = 120/m\n"
                       "[route default]\nhandler = exec:/bin/true\nretry_schedule = 0s, 250ms,1m\n"
                       "permanent_exit_codes = 3, 4\npriority = low\n";
    struct config *cfg = parse(text, err, sizeof err);
    if (!cfg)
        test_fail(__FILE__, __LINE__, "%s", err);
    ASSERT_INT_EQ(cfg->receiver.max_body, 2 * 1024 * 1024);
    ASSERT_INT_EQ(cfg->receiver.trusted_proxies.n, 2);
    ASSERT_INT_EQ(cfg->receiver.trusted_proxies.items[1].prefix, 32);
    ASSERT_INT_EQ(cfg->receiver.trusted_proxies.items[1].net.b[3], 2);
    ASSERT_INT_EQ(cfg->sources[0].keys.keys[0].key_len, 1); /* comment stripped */
    ASSERT(cfg->sources[0].rate_limit > 1.99 && cfg->sources[0].rate_limit < 2.01);
    ASSERT_INT_EQ(cfg->routes[0].nschedule, 3);
    ASSERT_INT_EQ(cfg->routes[0].retry_schedule_ms[1], 250);
    ASSERT_INT_EQ(cfg->routes[0].npermanent, 2);
    ASSERT_INT_EQ(cfg->routes[0].permanent_exit_codes[1], 4);
    ASSERT_INT_EQ(cfg->routes[0].priority, PRIORITY_LOW);
    config_release(cfg);
}

TEST(config_secrets_from_env_and_file)
{
    char err[512], text[1024];
    const char *path = harness_write_file("secret.txt", "from-file\n");
    struct config *cfg;

    setenv("HOOKD_TEST_SECRET", "from-env", 1);
    snprintf(
        text, sizeof text,
        "[source gh]\nscheme = github\nsecret.v1 = env:HOOKD_TEST_SECRET\nsecret.v2 = file:%s\n"
        "[route default]\nhandler = exec:/bin/true\n",
        path);
    cfg = parse(text, err, sizeof err);
    if (!cfg)
        test_fail(__FILE__, __LINE__, "%s", err);
    ASSERT_INT_EQ(cfg->sources[0].keys.n, 2);
    ASSERT(memcmp(cfg->sources[0].keys.keys[0].key, "from-env", 8) == 0);
    ASSERT_INT_EQ(cfg->sources[0].keys.keys[1].key_len, 9); /* newline stripped */
    config_release(cfg);

    unsetenv("HOOKD_NO_SUCH_VAR");
    expect_error("[source gh]\nscheme = github\n\nsecret.v1 = env:HOOKD_NO_SUCH_VAR\n"
                 "[route default]\nhandler = exec:/bin/true\n",
                 "t.conf:4: secret.v1: environment variable HOOKD_NO_SUCH_VAR is not set");
    expect_error("[source gh]\nscheme = github\nsecret.v1 = file:/nonexistent/x\n"
                 "[route default]\nhandler = exec:/bin/true\n",
                 "t.conf:3: secret.v1: cannot read secret file /nonexistent/x");
}

TEST(config_errors_name_file_line_and_key)
{
    expect_error("[receiver]\nlisten = 127.0.0.1:1\nbogus = 1\n", "t.conf:3: bogus: unknown key");
    expect_error("[receiver]\nmax_body = lots\n", "t.conf:2: max_body: expected a size");
    expect_error("[route default]\nhandler = exec:/bin/true\nhandler_timeout = 5 parsecs\n",
                 "t.conf:3: handler_timeout: expected a duration");
    expect_error("[route default]\nhandler = exec:/bin/true\nworker_batch = 0\n",
                 "t.conf:3: worker_batch:");
    expect_error("[route default]\nhandler = exec:/bin/true\nworker_batch = 65\n",
                 "t.conf:3: worker_batch:");
    expect_error("[route default]\nhandler = exec:/bin/true\nworker_batch = many\n",
                 "t.conf:3: worker_batch:");
    expect_error("[nonsense]\n", "t.conf:1: unknown section [nonsense]");
    expect_error("listen = x\n", "t.conf:1: listen: key outside of any section");
    expect_error("[receiver]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n",
                 "t.conf:3: listen: duplicate key");
    /* Listen addresses are checked as the listener binds them: exit 2, not a failed start. */
    expect_error("[receiver]\nlisten = 127.0.0.1:99999\n", "t.conf:2: listen: expected IP:PORT");
    expect_error("[receiver]\nlisten = 127.0.0.1\n", "t.conf:2: listen: expected IP:PORT");
    expect_error("[receiver]\nlisten = 127.0.0.1:\n", "t.conf:2: listen: expected IP:PORT");
    expect_error("[receiver]\nadmin_listen = localhost:9090\n", "t.conf:2: admin_listen:");
    expect_error("[receiver]\nlisten = [::1:8080\n", "t.conf:2: listen:");
    expect_error("[source gh]\nscheme = nope\n", "t.conf:2: scheme: unknown scheme \"nope\"");
    expect_error("[source gh]\nscheme = github\n[route default]\nhandler = exec:/bin/true\n",
                 "needs at least one secret");
    expect_error("[source gh]\nscheme = github\nsecret.v1 = a\nsecret.v1 = b\n", "duplicate key");
    expect_error("[source gh]\nscheme = github\nsecret.v1 = s\n", "[route default] is required");
    expect_error("[route x]\nmatch = nocolon\nhandler = exec:/bin/true\n",
                 "expected SOURCE:TYPE-GLOB");
    expect_error("[route default]\nmatch = ghost:*\nhandler = exec:/bin/true\n",
                 "unknown source \"ghost\"");
    expect_error("[route default]\nhandler = ftp://x\n", "handler must be exec:PATH");
    expect_error("[source bad name]\n", "must be [A-Za-z0-9_.-]");
    expect_error("[source gh]\nscheme = standard\nsecret.v1 = whsec_!!!notbase64\n"
                 "[route default]\nhandler = exec:/bin/true\n",
                 "t.conf:3: secret.v1: [source gh] is not a valid standard secret");
    expect_error("[receiver]\nhigh_watermark = 10\nlow_watermark = 20\n[route default]\nhandler = "
                 "exec:/bin/true\n",
                 "t.conf:3: low_watermark: must not exceed high_watermark (10)");
    /* Checks made after reading still name the key's own line, and do not
     * hide the errors after them. */
    expect_error("[receiver]\nlow_watermark = 200000\n[redis]\nprefix = a b\n"
                 "[route default]\nhandler = ftp://x\n",
                 "t.conf:2: low_watermark: must not exceed high_watermark (100000)\n"
                 "t.conf:4: prefix: must be [A-Za-z0-9_.-]{1,64}\n"
                 "t.conf:5: handler: [route default] handler must be exec:PATH");
}

/* allow_from and trusted_proxies: CIDR lists, both families; a bad block is
 * an error naming file:line, the key and the block. */
TEST(config_allow_from_and_trusted_proxies)
{
    char err[512];
    struct config *cfg = parse("[receiver]\ntrusted_proxies = 10.0.0.0/8, ::1\n"
                               "[source gh]\nscheme = github\nsecret.v1 = s\n"
                               "allow_from = 192.0.2.0/24, 2001:db8::/32,198.51.100.7\n"
                               "[source open]\nscheme = github\nsecret.v1 = s\n"
                               "[route default]\nhandler = exec:/bin/true\n",
                               err, sizeof err);
    if (!cfg)
        test_fail(__FILE__, __LINE__, "%s", err);
    ASSERT_INT_EQ(cfg->receiver.trusted_proxies.n, 2);
    ASSERT_INT_EQ(cfg->receiver.trusted_proxies.items[1].net.family, 6);
    ASSERT_INT_EQ(cfg->sources[0].allow_from.n, 3);
    ASSERT_INT_EQ(cfg->sources[0].allow_from.items[0].prefix, 24);
    ASSERT_INT_EQ(cfg->sources[0].allow_from.items[1].prefix, 32);
    ASSERT_INT_EQ(cfg->sources[0].allow_from.items[2].prefix, 32);
    ASSERT_INT_EQ(cfg->sources[1].allow_from.n, 0);
    config_release(cfg);

    const char *src = "[route default]\nhandler = exec:/bin/true\n"
                      "[source gh]\nscheme = github\nsecret.v1 = s\n";
    char text[512];
    static const struct {
        const char *value, *needle;
    } bad[] = {
        {"10.0.0.0/33", "t.conf:6: allow_from: \"10.0.0.0/33\": the prefix must be a number from 0 to 32"},
        {"10.0.0.1/8", "t.conf:6: allow_from: \"10.0.0.1/8\" has host bits set (the block would be 10.0.0.0/8)"},
        {"10.0.0/8", "t.conf:6: allow_from: \"10.0.0/8\" is not an IPv4 or IPv6 address"},
        {"2001:db8::/129", "from 0 to 128"},
        {"10.0.0.0/", "the prefix must be"},
        {"10.0.0.0/-1", "the prefix must be"},
        {"example.com", "is not an IPv4 or IPv6 address"},
        {"10.0.0.0/8,,10.1.0.0/16", "empty item"},
        {"::ffff:10.0.0.0/8", "IPv4-mapped block needs a prefix of 96"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%sallow_from = %s\n", src, bad[i].value);
        expect_error(text, bad[i].needle);
    }
    expect_error("[receiver]\ntrusted_proxies = 127.0.0.1, nginx\n",
                 "t.conf:2: trusted_proxies: \"nginx\" is not an IPv4 or IPv6 address");
}

TEST(config_errors_never_print_secret_values)
{
    char err[512];
    struct config *cfg = parse("[source gh]\nscheme = standard\nsecret.v1 = whsec_SUPERSECRET!!\n"
                               "[route default]\nhandler = exec:/bin/true\n",
                               err, sizeof err);
    ASSERT_NULL(cfg);
    ASSERT(strstr(err, "SUPERSECRET") == NULL);
}

TEST(config_refcount_keeps_config_alive)
{
    char err[512];
    struct config *cfg = parse(minimal, err, sizeof err);
    struct config *ref = config_ref(cfg);

    config_release(cfg);
    ASSERT_STR_EQ(ref->routes[0].name, "default"); /* still valid: one reference left */
    config_release(ref);
    config_release(NULL);
}

TEST(config_polling_poll_or_epoll)
{
    char err[512], text[1024];
    struct config *cfg;

    snprintf(text, sizeof text, "[receiver]\npolling = epoll\n%s", minimal);
    ASSERT_NOT_NULL(cfg = parse(text, err, sizeof err));
    ASSERT(cfg->receiver.epoll);
    config_release(cfg);
    snprintf(text, sizeof text, "[receiver]\npolling = select\n%s", minimal);
    expect_error(text, "t.conf:2: polling: expected poll or epoll, got \"select\"");
}

TEST(config_seconds_keys_refuse_fractions)
{
    char text[1024];

    snprintf(text, sizeof text, "[receiver]\nconnection_timeout = 500ms\n%s", minimal);
    expect_error(text, "t.conf:2: connection_timeout: expected whole seconds, got \"500ms\"");
    snprintf(text, sizeof text, "[redis]\ndedupe_ttl = 1500ms\n%s", minimal);
    expect_error(text, "dedupe_ttl: expected whole seconds");
}

TEST(config_exec_mode_only_for_exec_handlers)
{
    char err[512];
    struct config *cfg;

    ASSERT_NOT_NULL(cfg = parse(minimal, err, sizeof err));
    ASSERT_INT_EQ(config_route(cfg, "default")->exec_mode, EXEC_SPAWN);
    config_release(cfg);
    cfg = parse("[route default]\nexec_mode = persistent\nhandler = exec:/bin/cat\n", err,
                sizeof err);
    ASSERT_NOT_NULL(cfg);
    ASSERT_INT_EQ(config_route(cfg, "default")->exec_mode, EXEC_PERSISTENT);
    config_release(cfg);
    cfg = parse("[route default]\nhandler = exec:/bin/true\nexec_mode = spawn\n", err, sizeof err);
    ASSERT_NOT_NULL(cfg);
    ASSERT_INT_EQ(config_route(cfg, "default")->exec_mode, EXEC_SPAWN);
    config_release(cfg);
    expect_error("[route default]\nhandler = exec:/bin/true\nexec_mode = forever\n",
                 "t.conf:3: exec_mode: expected spawn or persistent, got \"forever\"");
    expect_error("[route default]\nhandler = exec:/bin/true\n\n[route web]\nmatch = *:*\n"
                 "exec_mode = persistent\nhandler = http://127.0.0.1:1/hook\n",
                 "t.conf:6: exec_mode: [route web] applies to exec: handlers only");
    expect_error("[route default]\nhandler = exec:/bin/true\nexec_mode = spawn\n"
                 "exec_mode = persistent\n",
                 "t.conf:4: exec_mode: duplicate key");
}

TEST(config_api_token_resolved_only_when_used)
{
    char err[512], *tok = NULL;
    size_t len = 0;
    struct config *cfg;

    unsetenv("HOOKD_TEST_API_TOKEN");
    cfg = parse("[source gh]\nscheme = github\nsecret.v1 = s\napi_token = env:HOOKD_TEST_API_TOKEN\n"
                "api_hook = repos/acme/app/hooks/7\napi_base = https://ghe.example/api/v3\n"
                "[source st]\nscheme = stripe\nsecret.v1 = s\n"
                "[route default]\nhandler = exec:/bin/true\n",
                err, sizeof err);
    if (!cfg) /* the receiver and workers load it without the variable */
        test_fail(__FILE__, __LINE__, "%s", err);
    ASSERT_STR_EQ(cfg->sources[0].api_hook, "repos/acme/app/hooks/7");
    ASSERT_STR_EQ(cfg->sources[0].api_base, "https://ghe.example/api/v3");
    ASSERT_INT_EQ(cfg->nsecret_env, 1); /* kept out of handlers' environment */
    ASSERT_STR_EQ(cfg->secret_env[0], "HOOKD_TEST_API_TOKEN");
    ASSERT_INT_EQ(config_api_token(&cfg->sources[0], &tok, &len, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_STR_CONTAINS(err, "[source gh] api_token: environment variable HOOKD_TEST_API_TOKEN");
    ASSERT_INT_EQ(config_api_token(&cfg->sources[1], &tok, &len, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_STR_CONTAINS(err, "[source st] has no api_token");
    setenv("HOOKD_TEST_API_TOKEN", "ghp_value", 1);
    ASSERT_INT_EQ(config_api_token(&cfg->sources[0], &tok, &len, err, sizeof err), 0);
    ASSERT_INT_EQ(len, 9);
    ASSERT(memcmp(tok, "ghp_value", 9) == 0);
    config_secret_free(tok, len);
    config_release(cfg);
    expect_error("[source gh]\nscheme = github\nsecret.v1 = s\napi_token = env:\n"
                 "[route default]\nhandler = exec:/bin/true\n",
                 "t.conf:4: api_token: expected a secret");
}

/* SPEC v2: public keys parsed at load; a bad one names its line and what
 * is wrong (length, encoding, curve); keys of the wrong kind are refused. */
TEST(config_public_keys_and_v2_keys)
{
    char err[512], text[1024];
    struct config *cfg;
    struct test_keypair p384;
    static const char tail[] = "[route default]\nhandler = exec:/bin/true\n";

#define SRC2(body) "[source s]\n" body
    snprintf(text, sizeof text,
             SRC2("scheme = discord\npublic_key.v1 = "
                  "6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0\n"
                  "public_key.v2 = whatever\n") "%s",
             tail);
    expect_error(text, "t.conf:4: public_key.v2: [source s] a Discord public key is 64 hex digits");
    snprintf(text, sizeof text,
             SRC2("scheme = discord\npublic_key.v1 = "
                  "zaa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0\n") "%s",
             tail);
    expect_error(text,
                 "t.conf:3: public_key.v1: [source s] a Discord public key is hex digits only");
    snprintf(text, sizeof text, SRC2("scheme = discord\nsecret.v1 = abc\n") "%s", tail);
    expect_error(text, "t.conf:3: secret.v1: [source s] scheme discord verifies with public_key");
    snprintf(text, sizeof text, SRC2("scheme = github\npublic_key.v1 = abc\n") "%s", tail);
    expect_error(text, "t.conf:3: public_key.v1: [source s] scheme github verifies with secret");
    snprintf(text, sizeof text, SRC2("scheme = standard\nsecret.v1 = whpk_AAAA\n") "%s", tail);
    expect_error(text, "whpk_ is a public key");
    snprintf(text, sizeof text, SRC2("scheme = standard\npublic_key.v1 = whpk_AAAA\n") "%s", tail);
    expect_error(
        text,
        "t.conf:3: public_key.v1: [source s] an Ed25519 public key is 32 bytes, this one is 3");
    snprintf(text, sizeof text, SRC2("scheme = standard\npublic_key.v1 = whsec_AAAA\n") "%s", tail);
    expect_error(text, "whsec_ is a shared secret");
    snprintf(text, sizeof text, SRC2("scheme = sendgrid\npublic_key.v1 = not base64!\n") "%s",
             tail);
    expect_error(text, "t.conf:3: public_key.v1: [source s] a SendGrid verification key is base64");
    snprintf(text, sizeof text, SRC2("scheme = sendgrid\npublic_key.v1 = AAAAAAAA\n") "%s", tail);
    expect_error(text, "not a DER SubjectPublicKeyInfo");
    ASSERT_INT_EQ(test_keypair_new(&p384, "p384"), 0);
    snprintf(text, sizeof text, SRC2("scheme = sendgrid\npublic_key.v1 = %s\n") "%s",
             p384.public_text, tail);
    test_keypair_free(&p384);
    expect_error(
        text, "t.conf:3: public_key.v1: [source s] the key is not on the P-256 curve (secp384r1)");
    snprintf(text, sizeof text, SRC2("scheme = twilio\nsecret.v1 = t\n") "%s", tail);
    expect_error(text, "needs public_url");
    snprintf(text, sizeof text,
             SRC2("scheme = twilio\npublic_url = https://x/y?z=1\nsecret.v1 = t\n") "%s", tail);
    expect_error(text, "t.conf:3: public_url: expected the http(s):// URL");
    snprintf(text, sizeof text, SRC2("scheme = github\nverify_token = t\nsecret.v1 = t\n") "%s",
             tail);
    expect_error(text, "verify_token: [source s] applies to scheme meta only");
    snprintf(
        text, sizeof text,
        SRC2("scheme = hmac\nsignature_header = X\ntimestamp_format = hours\nsecret.v1 = t\n") "%s",
        tail);
    expect_error(text, "t.conf:4: timestamp_format: expected seconds, milliseconds or rfc3339");
    snprintf(text, sizeof text,
             SRC2("scheme = hmac\nsignature_header = X\nsigned_content = {url}{body}\nsecret.v1 = "
                  "t\n") "%s",
             tail);
    expect_error(text, "{url}, which needs public_url");
    snprintf(text, sizeof text, SRC2("scheme = twitch\nsecret.v1 = t\npublic_key.v1 = x\n") "%s",
             tail);
    expect_error(text, "duplicate key version");
    /* and a good one: parsed once, text gone, tolerance from the scheme */
    snprintf(
        text, sizeof text,
        SRC2("scheme = discord\npublic_key.v1 = "
             "6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0\n") "[source "
                                                                                   "t]\nscheme = "
                                                                                   "twitch\nsecret."
                                                                                   "v1 = s\n"
                                                                                   "[source "
                                                                                   "m]\nscheme = "
                                                                                   "meta\nverify_"
                                                                                   "token = "
                                                                                   "vt\nsecret.v1 "
                                                                                   "= s\n%s",
        tail);
    ASSERT_NOT_NULL(cfg = parse(text, err, sizeof err));
    ASSERT_NOT_NULL(cfg->sources[0].keys.keys[0].pkey);
    ASSERT_NULL(cfg->sources[0].keys.keys[0].key);
    ASSERT_INT_EQ(strlen(cfg->sources[0].keys.keys[0].key_id), 8);
    ASSERT_INT_EQ(cfg->sources[0].tolerance_s, 300);
    ASSERT_INT_EQ(cfg->sources[1].tolerance_s, 600);
    ASSERT_STR_EQ(cfg->sources[2].verify_token, "vt");
    config_release(cfg);
#undef SRC2
}

TEST(config_reports_every_error_with_suggestions)
{
    char err[2048];
    const char *text = "[receiver]\nlistn = 127.0.0.1:1\n"
                       "[source gh]\nscheme = github\nsecrt.v1 = x\nsecret.v1 = s\n"
                       "handler = exec:/bin/true\n"
                       "[bogus]\nwhatever = 1\n"
                       "[route default]\nhandler = exec:/bin/true\nmax_attempt = 3\n";
    struct config *cfg = parse(text, err, sizeof err);

    ASSERT(cfg == NULL);
    /* One line per error, in file order; a bad section's keys not repeated. */
    ASSERT_STR_CONTAINS(err, "t.conf:2: listn: unknown key in this section; did you mean listen?\n");
    ASSERT_STR_CONTAINS(err, "t.conf:5: secrt.v1: unknown key in this section; did you mean "
                             "secret.VERSION?\n");
    ASSERT_STR_CONTAINS(err, "t.conf:7: handler: unknown key in this section (it belongs in "
                             "[route NAME])\n");
    ASSERT_STR_CONTAINS(err, "t.conf:8: unknown section [bogus]\n");
    ASSERT(strstr(err, "whatever") == NULL);
    ASSERT_STR_CONTAINS(err, "t.conf:12: max_attempt: unknown key in this section; did you mean "
                             "max_attempts?");
    /* Nothing close: no guess. */
    expect_error("[receiver]\nfrobnicate = 1\n", "t.conf:2: frobnicate: unknown key in this section");
    parse("[receiver]\nfrobnicate = 1\n", err, sizeof err);
    ASSERT(strstr(err, "did you mean") == NULL);

    /* Errors found after reading (per section) are all reported too. */
    text = "[source a]\nscheme = github\n[source b]\nscheme = stripe\n"
           "[route default]\nhandler = exec:/bin/true\n";
    ASSERT(parse(text, err, sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "[source a] needs at least one secret.VERSION");
    ASSERT_STR_CONTAINS(err, "[source b] needs at least one secret.VERSION");
    /* ... within a route too, not only its first. */
    text = "[source a]\nscheme = github\nsecret.v1 = s\n"
           "[route x]\nmatch = ghost:*, a:*, phantom:push\nhandler = ftp://h\nexec_mode = persistent\n"
           "[route default]\nhandler = exec:/bin/true\nfilter = json:/a == b\n";
    ASSERT(parse(text, err, sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "t.conf:4: handler: [route x] handler must be exec:PATH");
    ASSERT_STR_CONTAINS(err, "t.conf:7: exec_mode: [route x] applies to exec: handlers only\n"
                             "t.conf:4: match: [route x] names unknown source \"ghost\"\n"
                             "t.conf:4: match: [route x] names unknown source \"phantom\"\n");
    ASSERT_STR_CONTAINS(err, "t.conf:8: filter: [route default] takes what no other route takes");
    /* ... and within a source. */
    text = "[source a]\nscheme = github\ntoken_header = X-T\nverify_token = v\n"
           "timestamp_format = rfc3339\n[route default]\nhandler = exec:/bin/true\n";
    ASSERT(parse(text, err, sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "t.conf:1: [source a] needs at least one secret.VERSION");
    ASSERT_STR_CONTAINS(err, "t.conf:1: timestamp_format: [source a] applies to scheme hmac only\n"
                             "t.conf:1: verify_token: [source a] applies to scheme meta only\n"
                             "t.conf:1: token_header: [source a] applies to scheme token only");

    /* A small buffer keeps whole lines only. */
    char small[80];
    ASSERT(parse("[receiver]\nlistn = 1\nadmin_listn = 2\n", small, sizeof small) == NULL);
    ASSERT_STR_EQ(small, "t.conf:2: listn: unknown key in this section; did you mean listen?");
}

TEST(config_empty_variable_is_not_unset)
{
    setenv("HOOKD_TEST_EMPTY", "", 1);
    unsetenv("HOOKD_TEST_UNSET");
    expect_error("[receiver]\nadmin_token = env:HOOKD_TEST_EMPTY\n",
                 "t.conf:2: admin_token: environment variable HOOKD_TEST_EMPTY is set but empty");
    expect_error("[receiver]\nadmin_token = env:HOOKD_TEST_UNSET\n",
                 "t.conf:2: admin_token: environment variable HOOKD_TEST_UNSET is not set");
}

/* One parser for [redis] url (redis_url.c): what --check accepts, every
 * process can connect with; what it refuses, none would. */
TEST(config_redis_url_checked_once_for_all)
{
    static const char *const bad[][2] = {
        {"http://127.0.0.1:6379", "url: must start with redis:// or unix:, got \"http\""},
        {"redis://127.0.0.1:0", "port must be a number from 1 to 65535"},
        {"redis://127.0.0.1:99999", "port must be a number from 1 to 65535"},
        {"redis://127.0.0.1:6379/zero", "database (after the /) must be a number"},
        {"redis://:6379", "no host in the redis url"},
        {"redis://[::1:6379", "unclosed ["},
        {"unix:relative.sock", "absolute socket path"},
        {"unix:/run/r.sock?database=1", "only ?db=N may follow"},
    };
    char text[512], err[1024];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[redis]\nurl = %s\n%s", bad[i][0], minimal);
        expect_error(text, "t.conf:2: url: ");
        expect_error(text, bad[i][1]);
    }
    /* A password in the url never shows in the message. */
    snprintf(text, sizeof text, "[redis]\nurl = redis://:hunter2@h:70000/0\n%s", minimal);
    ASSERT(parse(text, err, sizeof err) == NULL);
    ASSERT(strstr(err, "hunter2") == NULL);
    /* Nor does a url without a scheme that starts with one ("PASSWORD@host",
     * "PASSWORD/…"): only a scheme is echoed. */
    static const char *const noscheme[] = {"hunter2@redis.internal:6379", "hunter2/0",
                                           "hunter2hunter2hunter2:x@h"};
    for (size_t i = 0; i < sizeof noscheme / sizeof noscheme[0]; i++) {
        snprintf(text, sizeof text, "[redis]\nurl = %s\n%s", noscheme[i], minimal);
        expect_error(text, "t.conf:2: url: must start with redis:// or unix:");
        ASSERT(parse(text, err, sizeof err) == NULL);
        ASSERT(strstr(err, "hunter2") == NULL);
    }

    static const char *const good[] = {"redis://127.0.0.1:6379/0", "redis://localhost",
                                       "redis://:pw@10.0.0.1:6380/2", "redis://[::1]:6379",
                                       "unix:/run/redis.sock?db=3"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(text, sizeof text, "[redis]\nurl = %s\n%s", good[i], minimal);
        struct config *cfg = parse(text, err, sizeof err);
        if (!cfg)
            test_fail(__FILE__, __LINE__, "%s refused: %s", good[i], err);
        config_release(cfg);
    }
    /* The store opens with the same parser: what was refused above never
     * reaches it, and a good url gives its parts. */
    struct redis_url u;
    ASSERT_INT_EQ(redis_url_parse("redis://:pw@[::1]:6380/2", &u, err, sizeof err), 0);
    ASSERT_STR_EQ(u.host, "::1");
    ASSERT_INT_EQ(u.port, 6380);
    ASSERT_INT_EQ(u.db, 2);
    ASSERT_STR_EQ(u.password, "pw");
    redis_url_free(&u);
}

TEST(config_skip_secrets_and_reload_hint)
{
    char err[1024];
    const char *text = "[receiver]\nadmin_token = env:HOOKD_TEST_UNSET\n"
                       "[redis]\npassword = env:HOOKD_TEST_REDIS_PW\n"
                       "[source gh]\nscheme = standard\nsecret.v1 = env:HOOKD_TEST_UNSET\n"
                       "[route default]\nhandler = exec:/bin/true\n";
    struct config *cfg;

    unsetenv("HOOKD_TEST_UNSET");
    setenv("HOOKD_TEST_REDIS_PW", "pw", 1);
    cfg = config_parse_opts("t.conf", text, strlen(text), CONFIG_SKIP_SECRETS, err, sizeof err);
    if (!cfg)
        test_fail(__FILE__, __LINE__, "%s", err);
    ASSERT(cfg->receiver.admin_token == NULL);
    ASSERT(cfg->sources[0].keys.keys[0].key == NULL);
    ASSERT_STR_EQ(cfg->sources[0].keys.keys[0].version, "v1");
    ASSERT_STR_EQ(cfg->redis.password, "pw"); /* needed to connect */
    ASSERT_INT_EQ(cfg->nsecret_env, 3);       /* still kept out of handlers */
    config_release(cfg);

    /* The Redis password is still required. */
    unsetenv("HOOKD_TEST_REDIS_PW");
    ASSERT(config_parse_opts("t.conf", text, strlen(text), CONFIG_SKIP_SECRETS, err,
                             sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "t.conf:4: password: environment variable HOOKD_TEST_REDIS_PW is not set");

    /* At a SIGHUP, a missing env: secret says why and what to do. */
    text = "[source gh]\nscheme = github\nsecret.v1 = s\nsecret.v2 = env:HOOKD_TEST_UNSET\n"
           "[route default]\nhandler = exec:/bin/true\n";
    ASSERT(config_parse_opts("t.conf", text, strlen(text), CONFIG_RELOAD, err, sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "t.conf:4: secret.v2: environment variable HOOKD_TEST_UNSET is not set: "
                             "a running process never sees a variable set after it started; to "
                             "rotate by SIGHUP put the secret in a file (file:PATH), or restart");
}

TEST(config_fanout_labels_and_hostile_cases)
{
    char err[512];
    struct config *cfg;
    const struct route_cfg *r;

    cfg = parse("[route default]\nhandler = exec:/bin/true\nhandler.audit = exec:/bin/cat\n"
                "handler.crm-2 = https://crm.internal/hook\n",
                err, sizeof err);
    ASSERT_NOT_NULL(cfg);
    r = config_route(cfg, "default");
    ASSERT_INT_EQ((long)r->nhandlers, 2);
    ASSERT_STR_EQ(r->handlers[0].label, "audit");
    ASSERT_STR_EQ(r->handlers[0].handler, "exec:/bin/cat");
    ASSERT_STR_EQ(r->handlers[1].label, "crm-2");
    ASSERT_INT_EQ(r->handlers[1].line, 4);
    config_release(cfg);
    expect_error("[route default]\nhandler = exec:/bin/true\nhandler.a = exec:/bin/cat\n"
                 "handler.a = exec:/bin/true\n",
                 "t.conf:4: handler.LABEL: [route default] duplicate label \"a\"");
    expect_error("[route default]\nhandler = exec:/bin/true\nhandler.Bad:x = exec:/bin/cat\n",
                 "t.conf:3: handler.LABEL: [route default] label \"Bad:x\" must be");
    expect_error("[route default]\nhandler = exec:/bin/true\nhandler. = exec:/bin/cat\n",
                 "label \"\" must be");
    expect_error("[route default]\nhandler = exec:/bin/true\n"
                 "handler.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = exec:/bin/cat\n",
                 "must be [a-z0-9_-]{1,32}");
    expect_error("[route default]\nhandler = exec:/bin/true\nhandler.default = exec:/bin/cat\n",
                 "handler.default: [route default] \"default\" names the route's plain handler");
    expect_error("[route default]\nhandler = exec:/bin/true\n[route ping]\nmatch = gh:ping\n"
                 "handler = drop\nhandler.audit = exec:/bin/cat\n[source gh]\nscheme = github\nsecret.v1 = s\n",
                 "t.conf:6: handler.LABEL: [route ping] is a drop route");
    expect_error("[route default]\nhandler = exec:/bin/true\nhandler.x = drop\n",
                 "t.conf:3: handler.LABEL: [route default] handler.x must be exec:PATH");
    expect_error("[route default]\nhandler = exec:/bin/true\norder_by = json:/id\n"
                 "handler.x = exec:/bin/cat\n",
                 "order_by and fan-out (handler.x) cannot be combined");
    expect_error("[route default]\nhandler.x = exec:/bin/cat\n", "[route default] needs a handler");
}

/* Keys that belong to another scheme, a scheme's missing key, the wrong
 * kind of key, and repeated sections: each an error naming file:line and
 * the key, and none of them silently ignored. */
TEST(config_keys_of_another_scheme_and_repeated_sections)
{
    static const char *const bad[][2] = {
        {"[source gh]\nscheme = github\nsecret.v1 = s\ntimestamp_format = milliseconds\n",
         "t.conf:1: timestamp_format: [source gh] applies to scheme hmac only"},
        {"[source gh]\nscheme = hmac\nsecret.v1 = s\n",
         "t.conf:1: signature_header: [source gh] (scheme hmac) needs signature_header"},
        {"[source gh]\nscheme = github\nsecret.v1 = s\npublic_url = https://h.example/x\n",
         "t.conf:1: public_url: [source gh] applies to schemes twilio and hmac only"},
        {"[source gh]\nscheme = github\nsecret.v1 = s\ntoken_header = X-Token\n",
         "t.conf:1: token_header: [source gh] applies to scheme token only"},
        {"[source gh]\nscheme = github\npublic_key.v1 = "
         "6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0\n",
         "t.conf:3: public_key.v1: [source gh] scheme github verifies with secret.VERSION"},
        {"[source dc]\nscheme = discord\nsecret.v1 = s\n",
         "t.conf:3: secret.v1: [source dc] scheme discord verifies with public_key.VERSION"},
        {"[source dc]\nscheme = discord\npublic_key.v1 = 6aa2f6\n",
         "t.conf:3: public_key.v1: [source dc] "},
        {"[source gh]\nscheme = github\nsecret.v1 = s\n[source gh]\n",
         "t.conf:4: duplicate [source gh]"},
        {"[route x]\nhandler = drop\n[route x]\n", "t.conf:3: duplicate [route x]"},
    };
    char text[1024];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* minimal has [source gh] and [route default]: only the route when
         * the case has its own gh */
        const char *tail = strstr(bad[i][0], "[source gh]")
                               ? "[route default]\nhandler = exec:/bin/true\n"
                               : minimal;
        snprintf(text, sizeof text, "%s%s", bad[i][0], tail);
        expect_error(text, bad[i][1]);
    }
}

