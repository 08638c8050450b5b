/*
 * test_fairness.c — tenant fairness end to end: events posted to the real
 * receiver with a tenant header land in P:{ROUTE}:stream:TENANT (named in
 * P:{ROUTE}:tenants), and a worker reads round robin over the route's
 * streams, so a tenant with 100x the events of another cannot make it wait
 * behind its backlog.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookctl_fixture.h"

#define HEAVY_EVENTS 400
#define LIGHT_EVENTS 4
#define LIGHT_LATE_EVENTS 4
/* Handlers started before the last light event ran: the light tenant's
 * events alternate with the heavy ones, two worker threads each may be one
 * step off, and the late events may meet two in hand. */
#define LIGHT_DONE_WITHIN 16

static const char fair_conf[] =
    "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\nthreads = 2\n"
    "[redis]\nurl = @REDIS@\ndedupe_ttl = 3600\n"
    "[source github]\nscheme = github\nsecret.v1 = fair-secret\ntenant = header:X-Tenant\n"
    "[route default]\nhandler = exec:%s/tests/data/handlers/tenant.sh %s\n";

/* POSTs a GitHub push of TENANT over the keep-alive connection C; asserts 202. */
static void post_tenant(struct http_conn *c, const char *tenant, const char *id)
{
    char sig[SIG_BUF_SIZE], h1[300], h2[128], h3[128];
    const char *body = "{\"ref\":\"refs/heads/main\"}";
    struct http_response r = {0};

    github_signature("fair-secret", body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", id);
    snprintf(h3, sizeof h3, "X-Tenant: %s", tenant);
    const char *headers[] = {h1,  h2, "X-GitHub-Event: push", h3, "Content-Type: application/json",
                             NULL};
    ASSERT_INT_EQ(http_conn_request(c, "POST", "/hooks/github", headers, body, strlen(body), &r),
                  0);
    if (r.status != 202)
        test_fail(__FILE__, __LINE__, "POST %s: status %d: %s", id, r.status, r.body);
    http_response_free(&r);
}

/* The handler's log: one "TENANT EVENT_ID" per run, in start order. */
struct order {
    char *text;
    char *lines[HEAVY_EVENTS + LIGHT_EVENTS + LIGHT_LATE_EVENTS + 16];
    int n;
};

static void order_read(struct order *o)
{
    memset(o, 0, sizeof *o);
    o->text = harness_read_file(harness_path("order"), NULL);
    for (char *p = o->text, *nl; p && *p && o->n < (int)(sizeof o->lines / sizeof *o->lines);
         p = nl + 1) {
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
        o->lines[o->n++] = p;
    }
}

/* Index of the line equal to LINE, or -1. */
static int order_find(const struct order *o, const char *line)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->lines[i], line) == 0)
            return i;
    return -1;
}

static int order_count(const struct order *o, const char *prefix)
{
    int k = 0;
    for (int i = 0; i < o->n; i++)
        k += strncmp(o->lines[i], prefix, strlen(prefix)) == 0;
    return k;
}

static int light_runs(void)
{
    struct order o;
    order_read(&o);
    int k = order_count(&o, "light ");
    free(o.text);
    return k;
}

/* The last position of the light events FIRST..FIRST+N-1 in the order. */
static int last_light(const struct order *o, int first, int n)
{
    char line[64];
    int last = -1;

    for (int i = first; i < first + n; i++) {
        snprintf(line, sizeof line, "light light-%d", i);
        int at = order_find(o, line);
        if (at < 0)
            test_fail(__FILE__, __LINE__, "light-%d never ran", i);
        last = at > last ? at : last;
    }
    return last;
}

static long long counter(struct fixture *f, const char *name)
{
    return redis_num(f->rc, "HGET hookd:{default}:counters %s", name);
}

static void check_keys(struct fixture *f)
{
    char *type = redis_str(f->rc, "TYPE hookd:{default}:stream:heavy");
    ASSERT_STR_EQ(type, "stream");
    free(type);
    ASSERT_INT_EQ(redis_int(f->rc, "XLEN hookd:{default}:stream:heavy"), HEAVY_EVENTS);
    ASSERT_INT_EQ(redis_int(f->rc, "XLEN hookd:{default}:stream:light"), LIGHT_EVENTS);
    ASSERT_INT_EQ(redis_int(f->rc, "XLEN hookd:{default}:stream"), 0);
    ASSERT_INT_EQ(redis_int(f->rc, "SCARD hookd:{default}:tenants"), 2);
    ASSERT_INT_EQ(redis_int(f->rc, "SISMEMBER hookd:{default}:tenants heavy"), 1);
    ASSERT_INT_EQ(redis_int(f->rc, "SISMEMBER hookd:{default}:tenants light"), 1);
    /* The entry carries its tenant; the dedupe record stays per route. */
    redisReply *r = redis_cmd(f->rc, "XRANGE hookd:{default}:stream:light - + COUNT 1");
    ASSERT(r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    redisReply *fields = r->element[0]->element[1];
    int tenant_field = 0;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        tenant_field += strcmp(fields->element[i]->str, "tenant") == 0 &&
                        strcmp(fields->element[i + 1]->str, "light") == 0;
    ASSERT_INT_EQ(tenant_field, 1);
    freeReplyObject(r);
    ASSERT_INT_EQ(redis_int(f->rc, "EXISTS hookd:{default}:seen:github:light-0"), 1);
}

/* hookctl stats shows each tenant's stream. */
static void check_stats(struct fixture *f)
{
    char *out = NULL;
    json_t *doc, *heavy;

    ASSERT_INT_EQ(hk_ctl_config(f->config_path, &out, "stats", NULL), 0);
    ASSERT_STR_CONTAINS(out, "tenant streams");
    ASSERT_STR_CONTAINS(out, "heavy");
    free(out);
    ASSERT_INT_EQ(hk_ctl_config(f->config_path, &out, "--json", "stats", NULL), 0);
    ASSERT_NOT_NULL(doc = json_loads(out, 0, NULL));
    heavy = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "routes"), "default"), "tenants"),
        "heavy");
    ASSERT_INT_EQ(json_integer_value(json_object_get(heavy, "stream_length")), HEAVY_EVENTS);
    json_decref(doc);
    free(out);
}

TEST_T(worker_tenant_fairness_heavy_cannot_delay_light, 60)
{
    struct fixture f;
    struct order o;
    struct http_conn *c;
    char conf[1024], id[32];

    snprintf(conf, sizeof conf, fair_conf, harness_repo_dir(), harness_tmpdir());
    fixture_start(&f, conf);
    ASSERT_NOT_NULL(c = http_conn_open(f.port));
    /* The heavy tenant's flood first, then the light tenant: a single FIFO
     * stream would run the light events last. */
    for (int i = 0; i < HEAVY_EVENTS; i++)
        snprintf(id, sizeof id, "heavy-%d", i), post_tenant(c, "heavy", id);
    for (int i = 0; i < LIGHT_EVENTS; i++)
        snprintf(id, sizeof id, "light-%d", i), post_tenant(c, "light", id);
    check_keys(&f);
    check_stats(&f);

    const char *argv[] = {
        harness_bin("hookd-worker"), "-c", f.config_path, "-r", "default", "-n", "2", NULL};
    proc_start(argv, NULL, "worker");
    WAIT_FOR(light_runs() == LIGHT_EVENTS, 20000);
    order_read(&o);
    /* Judged by where the last light run stands in the start order, not by
     * how many heavy runs the log holds when it is read: the worker goes on
     * while this thread polls, so the latter grows with the machine's load. */
    int last = last_light(&o, 0, LIGHT_EVENTS);
    if (last >= LIGHT_DONE_WITHIN)
        test_fail(__FILE__, __LINE__, "light tenant done at run %d, after %d heavy runs", last + 1,
                  last + 1 - LIGHT_EVENTS);
    free(o.text);

    /* A known tenant's new events, arriving while the heavy backlog drains,
     * also go ahead of it. */
    order_read(&o);
    int before = o.n;
    free(o.text);
    for (int i = LIGHT_EVENTS; i < LIGHT_EVENTS + LIGHT_LATE_EVENTS; i++)
        snprintf(id, sizeof id, "light-%d", i), post_tenant(c, "light", id);
    WAIT_FOR(light_runs() == LIGHT_EVENTS + LIGHT_LATE_EVENTS, 20000);
    order_read(&o);
    last = last_light(&o, LIGHT_EVENTS, LIGHT_LATE_EVENTS);
    if (last >= before + LIGHT_DONE_WITHIN && order_count(&o, "heavy ") < HEAVY_EVENTS)
        test_fail(__FILE__, __LINE__, "late light events done at run %d, posted at run %d",
                  last + 1, before);
    free(o.text);
    http_conn_close(c);

    /* Everything runs, each event once. */
    WAIT_FOR(counter(&f, "processed") == HEAVY_EVENTS + LIGHT_EVENTS + LIGHT_LATE_EVENTS, 30000);
    order_read(&o);
    ASSERT_INT_EQ(o.n, HEAVY_EVENTS + LIGHT_EVENTS + LIGHT_LATE_EVENTS);
    for (int i = 0; i < HEAVY_EVENTS; i++) {
        char line[64];
        snprintf(line, sizeof line, "heavy heavy-%d", i);
        ASSERT(order_find(&o, line) >= 0);
    }
    free(o.text);
    ASSERT_INT_EQ(counter(&f, "backlog"), 0);
    ASSERT_INT_EQ(counter(&f, "duplicate_skipped"), 0);
}
