/*
 * test_filter.c — route filters (common/verify/filter.c): the config
 * syntax and its refusals, and each operator on headers and JSON values,
 * with what a field without a usable value does (absent, not JSON, an
 * object, too long, a NUL inside).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/test.h"
#include "config.h"
#include "err.h"
#include "filter.h"

/* Does filter TEXT hold for BODY (and header X-Kind: KIND when not NULL)? */
static bool holds(const char *text, const char *body, const char *kind)
{
    static struct headers h;
    struct route_filter f;
    struct extract_ctx x;
    char err[200];
    bool ok;

    h.n = 0;
    if (kind)
        headers_add(&h, "X-Kind", 6, kind, strlen(kind));
    if (filter_parse(text, &f, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "filter \"%s\": %s", text, err);
    extract_init(&x, "src", &h, body, body ? strlen(body) : 0);
    ok = filter_all_hold(&x, &f, 1);
    extract_release(&x);
    filter_free(&f);
    return ok;
}

static void refused(const char *text, const char *why)
{
    struct route_filter f;
    char err[200] = "";

    ASSERT_INT_EQ(filter_parse(text, &f, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_STR_CONTAINS(err, why);
    ASSERT_NULL(f.value);
}

TEST(filter_parse_syntax)
{
    struct route_filter f;
    char err[200];

    ASSERT_INT_EQ(filter_parse("json:/data/object/status   ~   paid*", &f, err, sizeof err), 0);
    ASSERT_INT_EQ(f.op, FILTER_GLOB);
    ASSERT_INT_EQ(f.field.kind, FIELD_JSON);
    ASSERT_STR_EQ(f.field.arg, "/data/object/status");
    ASSERT_STR_EQ(f.value, "paid*");
    filter_free(&f);
    ASSERT_NULL(f.value);
    filter_free(NULL);
    /* The leftmost operator splits: the value may hold another one. */
    ASSERT_INT_EQ(filter_parse("header:X-Kind != a == b", &f, err, sizeof err), 0);
    ASSERT_INT_EQ(f.op, FILTER_NE);
    ASSERT_STR_EQ(f.value, "a == b");
    filter_free(&f);
    refused("json:/type=ping", "expected FIELD-SPEC OP VALUE");
    refused("json:/type ==", "expected FIELD-SPEC OP VALUE");
    refused("json:/type ==   ", "the value after the operator is empty");
    refused("json:type == a", "not a JSON pointer");
    refused("cookie:x == a", "expected header:NAME");
    refused("sha256 == abc", "a filter reads header:NAME or json:/pointer");
}

TEST(filter_operators_on_json_and_headers)
{
    const char *body = "{\"type\":\"invoice.paid\",\"live\":true,\"n\":42,\"amt\":1.5,"
                       "\"obj\":{\"a\":1},\"nul\":null,\"z\":\"a\\u0000b\"}";

    ASSERT(holds("json:/type == invoice.paid", body, NULL));
    ASSERT(!holds("json:/type == invoice", body, NULL));
    ASSERT(holds("json:/type != invoice", body, NULL));
    ASSERT(!holds("json:/type != invoice.paid", body, NULL));
    ASSERT(holds("json:/type ~ invoice.*", body, NULL));
    ASSERT(!holds("json:/type ~ charge.*", body, NULL));
    ASSERT(holds("json:/live == true", body, NULL));
    ASSERT(holds("json:/n == 42", body, NULL));
    ASSERT(holds("json:/amt == 1.5", body, NULL));
    ASSERT(holds("header:x-kind ~ pull_*", body, "pull_request"));
    ASSERT(!holds("header:X-Kind == push", body, "pull_request"));
    ASSERT(holds("header:X-Kind|json:/type == invoice.paid", body, NULL));
    /* No usable value: == and ~ fail, != holds. */
    const char *none[] = {"json:/missing", "json:/obj", "json:/nul", "json:/z"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        char t[64];
        snprintf(t, sizeof t, "%s == x", none[i]);
        ASSERT(!holds(t, body, NULL));
        snprintf(t, sizeof t, "%s ~ *", none[i]);
        ASSERT(!holds(t, body, NULL));
        snprintf(t, sizeof t, "%s != x", none[i]);
        ASSERT(holds(t, body, NULL));
    }
    ASSERT(!holds("header:X-Kind == push", body, NULL));
    ASSERT(holds("header:X-Kind != push", body, NULL));
}

TEST(filter_hostile_bodies)
{
    size_t big = FILTER_VALUE_MAX + 10;
    char *body = malloc(big + 32);
    int n;

    ASSERT_NOT_NULL(body);
    /* Not JSON at all: a json: field has no value. */
    ASSERT(!holds("json:/type == ping", "type=ping", NULL));
    ASSERT(holds("json:/type != ping", "type=ping", NULL));
    ASSERT(!holds("json:/type ~ *", "", NULL));
    ASSERT(!holds("json:/type == a", "{\"type\":\"a\",\"type\":\"a\"}", NULL));
    /* A value longer than FILTER_VALUE_MAX is no value, even for "~ *". */
    n = snprintf(body, big + 32, "{\"type\":\"");
    memset(body + n, 'a', big);
    memcpy(body + n + big, "\"}", 3);
    ASSERT(!holds("json:/type ~ *", body, NULL));
    ASSERT(holds("json:/type != a", body, NULL));
    /* Exactly at the limit it still compares. */
    memcpy(body + n + FILTER_VALUE_MAX, "\"}", 3);
    ASSERT(holds("json:/type ~ a*", body, NULL));
    free(body);
}

static const char conf_head[] = "[redis]\nurl = redis://127.0.0.1:1\n"
                                "[source gh]\nscheme = github\nsecret.v1 = s\n";

static struct config *conf(const char *routes, char *err, size_t errlen)
{
    char text[2048];

    snprintf(text, sizeof text, "%s%s", conf_head, routes);
    return config_parse("t.conf", text, strlen(text), err, errlen);
}

/* The route for a gh event of TYPE with BODY. */
static const char *route_for(const struct config *cfg, const char *type, const char *body)
{
    struct extract_ctx x;
    const char *name;

    extract_init(&x, "gh", NULL, body, strlen(body));
    name = config_route_for(cfg, "gh", type, &x)->name;
    extract_release(&x);
    return name;
}

TEST(filter_config_routes_and_drop)
{
    char err[300] = "";
    struct config *cfg = conf("[route pings]\nmatch = gh:ping\nhandler = drop\n"
                              "[route merged]\nmatch = gh:pull_request\n"
                              "filter = json:/action == closed, json:/merged == true\n"
                              "handler = exec:/bin/true\n"
                              "[route humans]\nfilter = json:/sender/type != Bot\n"
                              "handler = exec:/bin/true\n"
                              "[route default]\nhandler = drop\n",
                              err, sizeof err);

    if (!cfg)
        test_fail(__FILE__, __LINE__, "config: %s", err);
    ASSERT(config_route(cfg, "pings")->drop);
    ASSERT(!config_route(cfg, "merged")->drop);
    ASSERT_INT_EQ(config_route(cfg, "merged")->nfilter, 2);
    ASSERT_STR_EQ(route_for(cfg, "ping", "{}"), "pings");
    ASSERT_STR_EQ(route_for(cfg, "pull_request", "{\"action\":\"closed\",\"merged\":true}"),
                  "merged");
    /* merged's filters fail: the next route (filters, no match) takes it */
    ASSERT_STR_EQ(route_for(cfg, "pull_request", "{\"action\":\"closed\",\"merged\":false}"),
                  "humans");
    ASSERT_STR_EQ(route_for(cfg, "push", "{\"sender\":{\"type\":\"Bot\"}}"), "default");
    ASSERT_STR_EQ(route_for(cfg, "push", "not json"), "humans");
    /* Without a request to read, a filtered route takes nothing. */
    ASSERT_STR_EQ(config_route_for(cfg, "gh", "push", NULL)->name, "default");
    config_release(cfg);

    ASSERT_NULL(conf("[route default]\nhandler = exec:/bin/true\nfilter = json:/a == b\n", err,
                     sizeof err));
    ASSERT_STR_CONTAINS(err, "t.conf:");
    ASSERT_STR_CONTAINS(err, "cannot have filters");
    ASSERT_NULL(conf("[route a]\nfilter = json:/a = b\nhandler = exec:/bin/true\n"
                     "[route default]\nhandler = exec:/bin/true\n",
                     err, sizeof err));
    ASSERT_STR_CONTAINS(err, "t.conf:7: filter:");
    ASSERT_NULL(conf("[route default]\nhandler = dropp\n", err, sizeof err));
    ASSERT_STR_CONTAINS(err, "or drop");
    ASSERT_NULL(conf("[route default]\nhandler = drop\nexec_mode = persistent\n", err,
                     sizeof err));
    ASSERT_STR_CONTAINS(err, "exec_mode");
}

TEST(filter_config_order_by)
{
    char err[300] = "";
    struct config *cfg = conf("[route default]\nhandler = exec:/bin/true\n"
                              "order_by = json:/data/object/customer\norder_on_dead = hold\n",
                              err, sizeof err);

    if (!cfg)
        test_fail(__FILE__, __LINE__, "config: %s", err);
    ASSERT_INT_EQ(config_route(cfg, "default")->order_by.kind, FIELD_JSON);
    ASSERT(config_route(cfg, "default")->order_hold_on_dead);
    config_release(cfg);
    ASSERT_NULL(conf("[route default]\nhandler = exec:/bin/true\norder_by = sha256\n", err,
                     sizeof err));
    ASSERT_STR_CONTAINS(err, "orders by header:NAME or json:/pointer");
    ASSERT_NULL(conf("[route default]\nhandler = exec:/bin/true\norder_on_dead = skip\n", err,
                     sizeof err));
    ASSERT_STR_CONTAINS(err, "continue or hold");
}
