/*
 * test_dashboard_browser.c — the dashboard as an operator uses it: a real
 * headless Chromium (tests/browser/dashboard.test.mjs, playwright-core)
 * against a receiver and a worker started here, after a downstream outage
 * left dead letters. The browser sees the counts, presses "Retry" and
 * "Retry all", and the events are processed; this test then confirms it in
 * Redis. Then an operator's brakes: a throttle override and a route paused
 * while the page is open show up on it. Browser prerequisites are installed
 * by scripts/install-browser-deps.sh when missing; the test is skipped only
 * when that cannot be done.
 *
 * HOOKD_UPDATE_SCREENSHOT=1 also copies the screenshot to docs/dashboard.png.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_fixture.h"

#define INSTALL_TIMEOUT_MS (400 * 1000)
#define BROWSER_TIMEOUT_MS (120 * 1000)
#define HOSTILE_ID "<img src=x onerror=\"window.__pwned=1\">"

/* Installs (or finds) chromium, node and playwright-core; skips the test
 * when they cannot be had here. */
static void browser_prerequisites(void)
{
    char script[1024], modules[1024];
    char *out = NULL;
    const char *argv[] = {"sh", script, NULL};
    const char *node_ok[] = {
        "node", "-e", "process.exit(+process.versions.node.split('.')[0] >= 18 ? 0 : 1)", NULL};

    snprintf(script, sizeof script, "%s/scripts/install-browser-deps.sh", harness_repo_dir());
    snprintf(modules, sizeof modules, "%s/tests/browser/node_modules/playwright-core/package.json",
             harness_repo_dir());
    if (harness_run(argv, &out, INSTALL_TIMEOUT_MS) != 0 ||
        access("/usr/bin/chromium", X_OK) != 0 || access(modules, R_OK) != 0) {
        fprintf(stderr, "%s", out ? out : "");
        free(out);
        SKIP("chromium, node or playwright-core unavailable (scripts/install-browser-deps.sh "
             "failed)");
    }
    free(out);
    if (harness_run(node_ok, NULL, 10000) != 0)
        SKIP("node 18 or newer is needed by playwright-core");
}

static int counts_are(struct afx *f, long long processed, long long dead_default,
                      long long dead_billing)
{
    struct http_response r = {0};
    json_t *j, *e;
    size_t i;
    long long p = -1, dd = -1, db = -1;

    if (afx_get(f, "/api/counts", AFX_BEARER, &r) == 200 && (j = json_loads(r.body, 0, NULL))) {
        json_array_foreach(json_object_get(j, "routes"), i, e)
        {
            const char *route = json_string_value(json_object_get(e, "route"));
            long long dead = json_integer_value(json_object_get(e, "dead_letters"));
            if (strcmp(route, "default") == 0)
                p = json_integer_value(json_object_get(e, "processed")), dd = dead;
            else
                db = dead;
        }
        json_decref(j);
    }
    http_response_free(&r);
    return p == processed && dd == dead_default && db == dead_billing;
}

/* After an outage: 3 dead letters on default (one with a hostile id), 2 on
 * billing, 1 event processed on default, 1 rejected signature. */
static void known_state(struct afx *f)
{
    struct http_response r = {0};
    const char *def[] = {"dash-1", "dash-2", HOSTILE_ID}, *bill[] = {"bill-1", "bill-2"};
    char sig[SIG_BUF_SIZE], h[300];

    afx_start(f, 1);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_INT_EQ(afx_post_event(f, def[i], "push", NULL, &r), 202);
        http_response_free(&r);
    }
    for (size_t i = 0; i < 2; i++) {
        ASSERT_INT_EQ(afx_post_event(f, bill[i], "billing.paid", NULL, &r), 202);
        http_response_free(&r);
    }
    afx_worker(f);
    WAIT_FOR(counts_are(f, 0, 3, 2), 20000);
    afx_set_failing(f, 0); /* the downstream is back */
    ASSERT_INT_EQ(afx_post_event(f, "ok-1", "push", NULL, &r), 202);
    http_response_free(&r);
    WAIT_FOR(counts_are(f, 1, 3, 2), 20000);
    github_signature("retired-secret", "{}", 2, sig);
    snprintf(h, sizeof h, "X-Hub-Signature-256: %s", sig);
    const char *hb[] = {h, "X-GitHub-Delivery: forged-1", "X-GitHub-Event: push", NULL};
    ASSERT_INT_EQ(http_request(f->in.port, "POST", "/hooks/github", hb, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
}

static char *expectations(void)
{
    json_t *e = json_pack(
        "{s:{s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}, s:{s:i,s:i,s:i,s:i}}, s:{s:s,s:s}, s:s, s:s, "
        "s:{s:i}}",
        "routes", "default", "queued", 0, "in_flight", 0, "retry_scheduled", 0, "processed", 1,
        "duplicate_skipped", 0, "replayed", 0, "failed_now", 3, "dead_letters", 3, "billing",
        "processed", 0, "replayed", 0, "failed_now", 2, "dead_letters", 2, "retry", "route",
        "default", "event_id", "dash-1", "retry_all", "billing", "hostile", HOSTILE_ID, "throttle",
        "github", 0);
    char *s = json_dumps(e, JSON_COMPACT);

    json_decref(e);
    ASSERT_NOT_NULL(s);
    return s;
}

static void keep_screenshot(const char *png)
{
    size_t len = 0;
    char *data = harness_read_file(png, &len), dst[1024];
    FILE *fp;

    ASSERT(data && len > 8 && memcmp(data, "\x89PNG", 4) == 0);
    if (getenv("HOOKD_UPDATE_SCREENSHOT") && strcmp(getenv("HOOKD_UPDATE_SCREENSHOT"), "1") == 0) {
        snprintf(dst, sizeof dst, "%s/docs/dashboard.png", harness_repo_dir());
        ASSERT_NOT_NULL(fp = fopen(dst, "wb"));
        ASSERT_INT_EQ(fwrite(data, 1, len, fp), len);
        ASSERT_INT_EQ(fclose(fp), 0);
    }
    free(data);
}

TEST_T(dashboard_in_headless_chromium, 600)
{
    struct afx f;
    char script[1024], url[64], tok[128], expect[1024], shot[1024], profile[1024];
    char *exp = NULL, *out = NULL;
    int rc;

    browser_prerequisites();
    known_state(&f);
    exp = expectations();
    snprintf(script, sizeof script, "%s/tests/browser/dashboard.test.mjs", harness_repo_dir());
    snprintf(url, sizeof url, "HOOKD_ADMIN_URL=http://127.0.0.1:%d", f.in.admin_port);
    snprintf(tok, sizeof tok, "HOOKD_ADMIN_TOKEN=%s", AFX_TOKEN);
    snprintf(expect, sizeof expect, "HOOKD_EXPECT=%s", exp);
    snprintf(shot, sizeof shot, "HOOKD_SCREENSHOT=%s", harness_path("dashboard.png"));
    snprintf(profile, sizeof profile, "HOOKD_PROFILE_DIR=%s", harness_path("chromium-profile"));
    free(exp);
    const char *argv[] = {"node", script, NULL};
    const char *env[] = {url, tok, expect, shot, profile, NULL};
    /* An operator's throttle is on from the start; once "Retry all" has
     * processed billing's letters, the operator pauses billing, and the page
     * must show it (the browser waits for the badge). */
    freeReplyObject(redis_cmd(f.in.rc, "HSET hookd:throttle github 0"));
    struct proc *node = proc_start(argv, env, "browser");
    int64_t deadline = harness_now_ms() + BROWSER_TIMEOUT_MS;
    for (unsigned i = 0; proc_alive(node) && harness_now_ms() < deadline &&
                         !(afx_state_is(&f, "billing", "bill-1", "processed") &&
                           afx_state_is(&f, "billing", "bill-2", "processed"));
         i++)
        harness_backoff(i);
    freeReplyObject(redis_cmd(f.in.rc, "SET hookd:{billing}:paused 1"));
    rc = proc_wait(node, (int)(deadline - harness_now_ms() > 0 ? deadline - harness_now_ms() : 1));
    if (rc != 0) {
        out = proc_log(node);
        test_fail(__FILE__, __LINE__, "browser test exited %d:\n%s", rc, out ? out : "");
    }
    /* What the browser saw, confirmed at the source. */
    ASSERT(afx_state_is(&f, "default", "dash-1", "processed"));
    ASSERT(afx_state_is(&f, "billing", "bill-1", "processed"));
    ASSERT(afx_state_is(&f, "billing", "bill-2", "processed"));
    ASSERT(afx_state_is(&f, "default", "dash-2", "failed_permanent")); /* not pressed */
    keep_screenshot(harness_path("dashboard.png"));
}
