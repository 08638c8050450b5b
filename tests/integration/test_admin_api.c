/*
 * test_admin_api.c — the admin JSON API and the dashboard's assets, against
 * a real receiver, worker and redis-server: counts, dead letters with their
 * last error and current state, replay of one / all dead letters through
 * the shared replay path (and its idempotency), purging resolved letters,
 * the guards on POST, event ids that are hostile text, and the page's
 * security headers.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_fixture.h"

/* GET PATH with the token; the body parsed as JSON (json_decref). */
static json_t *get_json(struct afx *f, const char *path, int want_status)
{
    struct http_response r = {0};
    json_error_t err;
    json_t *j;

    ASSERT_INT_EQ(afx_get(f, path, AFX_BEARER, &r), want_status);
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "application/json");
    if (!(j = json_loadb(r.body, r.body_len, 0, &err)))
        test_fail(__FILE__, __LINE__, "%s: not JSON (%s): %.300s", path, err.text, r.body);
    http_response_free(&r);
    return j;
}

/* POST /api/WHAT/ROUTE with BODY (JSON); the answer parsed. */
static json_t *post_api(struct afx *f, const char *what, const char *route, const char *body,
                        int want_status)
{
    struct http_response r = {0};
    char path[128];
    json_t *j;

    snprintf(path, sizeof path, "/api/%s/%s", what, route);
    ASSERT_INT_EQ(afx_post_json(f, path, body, "application/json", NULL, &r), want_status);
    j = json_loadb(r.body, r.body_len, 0, NULL);
    ASSERT_NOT_NULL(j);
    http_response_free(&r);
    return j;
}

static json_t *post_replay(struct afx *f, const char *route, const char *body, int want_status)
{
    return post_api(f, "replay", route, body, want_status);
}

static json_t *post_purge(struct afx *f, const char *route, const char *body, int want_status)
{
    return post_api(f, "purge", route, body, want_status);
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        test_fail(__FILE__, __LINE__, "no integer \"%s\" in %s", key, json_dumps(o, JSON_COMPACT));
    return (long long)json_integer_value(v);
}

/* The object of ROUTE in /api/counts. */
static long long route_count(struct afx *f, const char *route, const char *key)
{
    json_t *c = get_json(f, "/api/counts", 200), *r;
    size_t i;
    long long v = -1;

    json_array_foreach(json_object_get(c, "routes"), i,
                       r) if (strcmp(json_string_value(json_object_get(r, "route")), route) == 0)
        v = jint(r, key);
    json_decref(c);
    return v;
}

/* An outage, the dead letters it leaves, the fix, and the buttons' calls. */
TEST(admin_api_dead_letters_and_replay)
{
    struct afx f;
    struct http_response r = {0};
    json_t *j, *d;

    afx_start(&f, 1); /* the downstream is down */
    ASSERT_INT_EQ(afx_post_event(&f, "d-1", "push", NULL, &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_event(&f, "d-2", "push", NULL, &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_event(&f, "b-1", "billing.paid", NULL, &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(route_count(&f, "default", "queued"), 2);
    afx_worker(&f);
    WAIT_FOR(route_count(&f, "default", "dead_letters") == 2 &&
                 route_count(&f, "billing", "dead_letters") == 1,
             15000);
    ASSERT_INT_EQ(route_count(&f, "default", "failed_permanent"), 2);
    ASSERT_INT_EQ(route_count(&f, "default", "processed"), 0);
    ASSERT_INT_EQ(route_count(&f, "default", "queued"), 0);

    j = get_json(&f, "/api/dead/default", 200);
    ASSERT_INT_EQ(jint(j, "total"), 2);
    ASSERT_INT_EQ(json_array_size(json_object_get(j, "dead")), 2);
    d = json_array_get(json_object_get(j, "dead"), 0); /* newest first */
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "event_id")), "d-2");
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "reason")), "permanent");
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "state")), "failed_permanent");
    ASSERT_STR_CONTAINS(json_string_value(json_object_get(d, "last_error")), "65");
    ASSERT_NULL(json_object_get(d, "body")); /* listings leave bodies out */
    json_decref(j);
    j = get_json(&f, "/api/dead/default?limit=1", 200);
    ASSERT_INT_EQ(json_array_size(json_object_get(j, "dead")), 1);
    ASSERT_INT_EQ(jint(j, "total"), 2);
    json_decref(j);

    /* Fixed downstream; the per-letter button, by event id. */
    afx_set_failing(&f, 0);
    j = post_replay(&f, "default", "{\"id\":\"d-1\"}", 200);
    ASSERT_INT_EQ(jint(j, "replayed"), 1);
    ASSERT_INT_EQ(jint(j, "events_scanned"), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "integrity_check")), "pass");
    json_decref(j);
    WAIT_FOR(afx_state_is(&f, "default", "d-1", "processed"), 15000);
    ASSERT_INT_EQ(route_count(&f, "default", "processed"), 1);
    ASSERT_INT_EQ(route_count(&f, "default", "replayed"), 1);
    /* Pressed twice: never run twice. */
    j = post_replay(&f, "default", "{\"id\":\"d-1\"}", 200);
    ASSERT_INT_EQ(jint(j, "replayed"), 0);
    ASSERT_INT_EQ(jint(j, "duplicate_skipped"), 1);
    json_decref(j);
    /* "Retry all": d-2 runs, d-1 is skipped. */
    j = post_replay(&f, "default", "{\"all\":true}", 200);
    ASSERT_INT_EQ(jint(j, "replayed"), 1);
    ASSERT_INT_EQ(jint(j, "duplicate_skipped"), 1);
    json_decref(j);
    WAIT_FOR(afx_state_is(&f, "default", "d-2", "processed"), 15000);
    j = get_json(&f, "/api/dead/default", 200);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(j, "dead"), i, e)
        ASSERT_STR_EQ(json_string_value(json_object_get(e, "state")), "processed");
    json_decref(j);
    /* By the dead stream's entry id, as the dashboard's button sends it. */
    j = get_json(&f, "/api/dead/billing", 200);
    char *entry = strdup(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "dead"), 0), "id")));
    json_decref(j);
    char body[128];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", entry);
    free(entry);
    j = post_replay(&f, "billing", body, 200);
    ASSERT_INT_EQ(jint(j, "replayed"), 1);
    json_decref(j);
    WAIT_FOR(afx_state_is(&f, "billing", "b-1", "processed"), 15000);
    ASSERT_INT_EQ(route_count(&f, "billing", "processed"), 1);
}

TEST(admin_api_errors_and_post_guards)
{
    struct afx f;
    struct http_response r = {0};
    char origin[128];

    afx_start(&f, 0);
    json_decref(get_json(&f, "/api/dead/nosuch", 404));
    json_decref(get_json(&f, "/api/dead/default?limit=0", 400));
    json_decref(get_json(&f, "/api/dead/default?limit=abc", 400));
    json_decref(get_json(&f, "/api/nothing", 404));
    ASSERT_INT_EQ(afx_get(&f, "/api/replay/default", AFX_BEARER, &r), 405);
    ASSERT_STR_EQ(http_header(&r, "Allow"), "POST");
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_json(&f, "/api/counts", "{}", "application/json", NULL, &r), 405);
    http_response_free(&r);
    /* What a hostile page could make a browser send, with cached Basic
     * credentials: a form post, or a cross-origin fetch. */
    ASSERT_INT_EQ(afx_post_json(&f, "/api/replay/default", "{\"all\":true}",
                                "application/x-www-form-urlencoded", NULL, &r),
                  403);
    http_response_free(&r);
    ASSERT_INT_EQ(
        afx_post_json(&f, "/api/replay/default", "{\"all\":true}", "text/plain", NULL, &r), 403);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_json(&f, "/api/replay/default", "{\"all\":true}", "application/json",
                                "Origin: http://evil.example", &r),
                  403);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_json(&f, "/api/replay/default", "{\"all\":true}", "application/json",
                                "Sec-Fetch-Site: cross-site", &r),
                  403);
    http_response_free(&r);
    /* The dashboard's own origin passes. */
    snprintf(origin, sizeof origin, "Origin: http://127.0.0.1:%d", f.in.admin_port);
    ASSERT_INT_EQ(
        afx_post_json(&f, "/api/replay/default", "{\"all\":true}", "application/json", origin, &r),
        200);
    http_response_free(&r);
    /* Bodies that are not one of the two shapes. */
    const char *bad[] = {"",
                         "not json",
                         "[]",
                         "{}",
                         "{\"id\":5}",
                         "{\"id\":\"\"}",
                         "{\"all\":false}",
                         "{\"id\":\"x\",\"all\":true}",
                         "{\"all\":true,\"since\":\"1h\"}",
                         "{\"id\":\"x\",\"route\":\"default\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        json_decref(post_replay(&f, "default", bad[i], 400));
    /* A filter the API does not know is named, never dropped to replay everything. */
    json_t *e = post_replay(&f, "default", "{\"all\":true,\"since\":\"1h\"}", 400);
    ASSERT_STR_CONTAINS(json_string_value(json_object_get(e, "error")), "\"since\"");
    json_decref(e);
    json_decref(post_replay(&f, "default", "{\"id\":\"never-seen\"}", 404));
    json_decref(post_replay(&f, "nosuch", "{\"all\":true}", 404));
    /* And without the token, nothing. */
    const char *h[] = {"Content-Type: application/json", NULL};
    ASSERT_INT_EQ(
        http_request(f.in.admin_port, "POST", "/api/replay/default", h, "{\"all\":true}", 12, &r),
        0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
}

/* Event ids and errors are whatever a sender chose: they come back as exact
 * JSON strings, never altered and never able to break out of them. */
TEST(admin_api_hostile_ids_are_data)
{
    struct afx f;
    struct http_response r = {0};
    const char *id = "<img src=x onerror=alert(1)>\"'\\&</script>";
    json_t *j;

    afx_start(&f, 1);
    ASSERT_INT_EQ(afx_post_event(&f, id, "push", NULL, &r), 202);
    http_response_free(&r);
    afx_worker(&f);
    WAIT_FOR(route_count(&f, "default", "dead_letters") == 1, 15000);
    j = get_json(&f, "/api/dead/default", 200);
    json_t *d = json_array_get(json_object_get(j, "dead"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "event_id")), id);
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "state")), "failed_permanent");
    json_decref(j);
    ASSERT_INT_EQ(afx_get(&f, "/api/dead/default", AFX_BEARER, &r), 200);
    ASSERT_STR_EQ(http_header(&r, "X-Content-Type-Options"), "nosniff");
    http_response_free(&r);
}

/* The dashboard's "Purge resolved": only letters whose event was processed
 * since go; a bad body, an unknown route or a cross-site form change
 * nothing. One letter by id, and 404 for an id with none. */
TEST(admin_api_purge_resolved_and_one_letter)
{
    struct afx f;
    struct http_response r = {0};
    json_t *j;

    afx_start(&f, 1);
    ASSERT_INT_EQ(afx_post_event(&f, "p-1", "push", NULL, &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(afx_post_event(&f, "p-2", "push", NULL, &r), 202);
    http_response_free(&r);
    afx_worker(&f);
    WAIT_FOR(route_count(&f, "default", "dead_letters") == 2, 15000);
    afx_set_failing(&f, 0);
    json_decref(post_replay(&f, "default", "{\"id\":\"p-1\"}", 200));
    WAIT_FOR(afx_state_is(&f, "default", "p-1", "processed"), 15000);

    const char *bad[] = {"", "{}", "{\"resolved\":false}", "{\"resolved\":\"yes\"}", "[true]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = post_purge(&f, "default", bad[i], 400);
        ASSERT_STR_CONTAINS(json_string_value(json_object_get(j, "error")), "resolved");
        json_decref(j);
    }
    j = post_purge(&f, "default", "{\"resolved\":true,\"older_than\":\"1d\"}", 400);
    ASSERT_STR_CONTAINS(json_string_value(json_object_get(j, "error")), "\"older_than\"");
    json_decref(j);
    json_decref(post_purge(&f, "nosuch", "{\"resolved\":true}", 404));
    ASSERT_INT_EQ(afx_post_json(&f, "/api/purge/default", "{\"resolved\":true}", "text/plain",
                                NULL, &r),
                  403);
    http_response_free(&r);
    ASSERT_INT_EQ(route_count(&f, "default", "dead_letters"), 2); /* nothing purged yet */

    j = post_purge(&f, "default", "{\"resolved\":true}", 200);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "route")), "default");
    ASSERT_INT_EQ(jint(j, "purged"), 1);
    json_decref(j);
    j = get_json(&f, "/api/dead/default", 200);
    ASSERT_INT_EQ(jint(j, "total"), 1);
    json_t *d = json_array_get(json_object_get(j, "dead"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "event_id")), "p-2");
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "state")), "failed_permanent");
    json_decref(j);
    j = get_json(&f, "/api/dead/default?id=p-2", 200);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "event_id")), "p-2");
    ASSERT_NOT_NULL(json_object_get(j, "body")); /* one letter: every field */
    json_decref(j);
    json_decref(get_json(&f, "/api/dead/default?id=p-1", 404)); /* purged */
    j = post_purge(&f, "default", "{\"resolved\":true}", 200); /* again: nothing left */
    ASSERT_INT_EQ(jint(j, "purged"), 0);
    json_decref(j);
}

/* The route object of ROUTE in a /api/counts document (borrowed). */
static json_t *counts_route(json_t *counts, const char *route)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(counts, "routes"), i,
                       r) if (strcmp(json_string_value(json_object_get(r, "route")), route) ==
                              0) return r;
    test_fail(__FILE__, __LINE__, "no route %s in /api/counts", route);
}

/* The operators' brakes (hookctl pause / throttle) and the tenants' streams
 * reach the API behind the dashboard, and the page renders them. */
TEST(admin_api_counts_show_brakes_and_tenants)
{
    struct afx f;
    struct http_response r = {0};
    json_t *c, *t;

    afx_start(&f, 0);
    c = get_json(&f, "/api/counts", 200);
    ASSERT(json_is_false(json_object_get(counts_route(c, "default"), "paused")));
    ASSERT_INT_EQ(json_array_size(json_object_get(counts_route(c, "default"), "tenants")), 0);
    ASSERT_INT_EQ(json_object_size(json_object_get(c, "throttle")), 0);
    json_decref(c);

    freeReplyObject(redis_cmd(f.in.rc, "SET hookd:{default}:paused 1"));
    freeReplyObject(redis_cmd(f.in.rc, "HSET hookd:throttle github 2.5"));
    freeReplyObject(redis_cmd(f.in.rc, "SADD hookd:{default}:tenants acme"));
    freeReplyObject(redis_cmd(f.in.rc, "XADD hookd:{default}:stream:acme * event_id t-1"));
    c = get_json(&f, "/api/counts", 200);
    ASSERT(json_is_true(json_object_get(counts_route(c, "default"), "paused")));
    ASSERT(json_is_false(json_object_get(counts_route(c, "billing"), "paused")));
    ASSERT(json_real_value(json_object_get(json_object_get(c, "throttle"), "github")) == 2.5);
    t = json_array_get(json_object_get(counts_route(c, "default"), "tenants"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(t, "tenant")), "acme");
    ASSERT_INT_EQ(jint(t, "queued"), 1);
    ASSERT_INT_EQ(jint(t, "in_flight"), 0);
    ASSERT_INT_EQ(jint(t, "stream_entries"), 1);
    ASSERT_INT_EQ(jint(counts_route(c, "default"), "queued"), 1); /* route figures include it */
    json_decref(c);

    ASSERT_INT_EQ(afx_get(&f, "/dashboard.js", AFX_BASIC, &r), 200);
    ASSERT_STR_CONTAINS(r.body, "'badge paused'");
    ASSERT_STR_CONTAINS(r.body, "counts.throttle");
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/", AFX_BASIC, &r), 200);
    ASSERT_STR_CONTAINS(r.body, "id=\"paused-routes\"");
    ASSERT_STR_CONTAINS(r.body, "id=\"throttle\"");
    ASSERT_STR_CONTAINS(r.body, "id=\"tenants\"");
    http_response_free(&r);
}

TEST(admin_dashboard_assets_and_headers)
{
    struct afx f;
    struct http_response r = {0};
    char script[1024];
    char *out = NULL;

    afx_start(&f, 0);
    ASSERT_INT_EQ(afx_get(&f, "/", AFX_BASIC, &r), 200);
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "text/html");
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Security-Policy"), "script-src 'self'");
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Security-Policy"), "frame-ancestors 'none'");
    ASSERT_STR_EQ(http_header(&r, "X-Frame-Options"), "DENY");
    ASSERT_STR_CONTAINS(r.body, "<script src=\"/dashboard.js\" defer></script>");
    ASSERT_NULL(strstr(r.body, "http://")); /* no CDN, nothing from elsewhere */
    ASSERT_NULL(strstr(r.body, "https://"));
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/dashboard.js", AFX_BASIC, &r), 200);
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "text/javascript");
    ASSERT_NULL(strstr(r.body, "innerHTML")); /* data only ever as text nodes */
    ASSERT_NULL(strstr(r.body, "insertAdjacentHTML"));
    ASSERT_NULL(strstr(r.body, "document.write"));
    http_response_free(&r);
    ASSERT_INT_EQ(afx_get(&f, "/dashboard.css", AFX_BASIC, &r), 200);
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "text/css");
    http_response_free(&r);
    /* The compiled-in copy matches receiver/admin/dashboard/. */
    snprintf(script, sizeof script, "%s/scripts/gen-dashboard-assets.sh", harness_repo_dir());
    const char *argv[] = {"sh", script, "--check", NULL};
    int rc = harness_run(argv, &out, 10000);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "assets.inc is stale: %s", out ? out : "");
    free(out);
}
