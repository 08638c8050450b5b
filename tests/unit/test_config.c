/*
 * test_config.c — the INI parser: every kind of value, defaults, secrets
 * from env:/file:, and errors naming file:line and the key.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "harness.h"

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
    ASSERT_INT_EQ(config_parse_duration_ms("", 0), -1);
    ASSERT_INT_EQ(config_parse_duration_ms("1x", 2), -1);
    ASSERT_INT_EQ(config_parse_duration_ms("-1s", 3), -1);
    ASSERT_INT_EQ(config_parse_duration_ms("99999999999999999999", 20), -1);

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
    ASSERT_INT_EQ(cfg->receiver.ntrusted_proxies, 2);
    ASSERT_STR_EQ(cfg->receiver.trusted_proxies[1], "10.0.0.2");
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
    expect_error("[nonsense]\n", "t.conf:1: unknown section [nonsense]");
    expect_error("listen = x\n", "t.conf:1: listen: key outside of any section");
    expect_error("[receiver]\nlisten = a:1\nlisten = b:2\n", "t.conf:3: listen: duplicate key");
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
                 "secret.v1 is not a valid standard secret");
    expect_error("[receiver]\nhigh_watermark = 10\nlow_watermark = 20\n[route default]\nhandler = "
                 "exec:/bin/true\n",
                 "low_watermark: must not exceed high_watermark");
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
