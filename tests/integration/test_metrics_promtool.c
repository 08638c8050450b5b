/*
 * test_metrics_promtool.c — /metrics as Prometheus's own checker sees it:
 * `promtool check metrics` (Debian's prometheus package, installed by
 * scripts/install-test-deps.sh) finds no problem in a scrape taken after
 * accepted, duplicate and rejected requests; counters without labels show
 * their 0 before anything happened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingress_fixture.h"

static char *scrape(struct fixture *f)
{
    struct http_response r = {0};
    const char *h[] = {"Authorization: Bearer test-admin-token", NULL};
    char *text;

    ASSERT_INT_EQ(http_request(f->admin_port, "GET", "/metrics", h, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    text = strdup(r.body);
    http_response_free(&r);
    ASSERT_NOT_NULL(text);
    return text;
}

/* promtool's verdict on TEXT: exit code, its complaints in *out. */
static int promtool_check(const char *text, char **out)
{
    const char *argv[] = {"promtool", "check", "metrics", NULL};

    return harness_run_env(argv, NULL, text, strlen(text), out, 30000);
}

TEST(metrics_exposition_passes_promtool)
{
    struct fixture f;
    struct http_response r = {0};
    char *text, *out = NULL;

    if (access("/usr/bin/promtool", X_OK) != 0)
        SKIP("promtool missing (scripts/install-test-deps.sh installs Debian's prometheus)");
    fixture_start(&f, NULL);
    text = scrape(&f);
    /* Unlabelled counters are there at 0 before their first event. */
    ASSERT_STR_CONTAINS(text, "\nhookd_rejected_records_dropped_total 0\n");
    ASSERT_STR_CONTAINS(text, "\nhookd_metrics_series_dropped_total 0\n");
    free(text);

    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "p-1", "push", "{}", &r), 202);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_post_github(&f, "gh-secret-one", "p-1", "push", "{}", &r), 200);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_post_github(&f, "not-the-secret", "p-2", "push", "{}", &r), 401);
    http_response_free(&r);
    text = scrape(&f);
    int rc = promtool_check(text, &out);
    if (rc != 0 || (out && out[0]))
        test_fail(__FILE__, __LINE__, "promtool check metrics: exit %d:\n%s", rc, out ? out : "");
    free(out);

    /* And it does find problems: a counter without _total is one. */
    ASSERT(promtool_check("# HELP bad_counter x\n# TYPE bad_counter counter\nbad_counter 1\n",
                          &out) != 0 ||
           (out && strstr(out, "counter")));
    free(out);
    free(text);
}
