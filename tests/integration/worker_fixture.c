/*
 * worker_fixture.c — see worker_fixture.h.
 */
#include "worker_fixture.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENQUEUE_TRIES 50

char *wfx_expand(const struct wfx *f, const char *tpl)
{
    char handlers[1024];
    const char *vars[] = {"@REDIS@", redis_url(f->redis), "@H@", handlers, "@DIR@", f->dir, NULL};

    snprintf(handlers, sizeof handlers, "%s/tests/data/handlers", harness_repo_dir());
    return harness_expand(tpl, vars);
}

struct store *wfx_store(const struct wfx *f, const char *prefix, int64_t timeout_ms)
{
    struct redis_cfg rcfg = {0};
    struct store *st;
    char err[200];

    rcfg.url = (char *)redis_url(f->redis);
    rcfg.prefix = (char *)prefix;
    rcfg.timeout_ms = timeout_ms;
    if (!(st = store_open(&rcfg, err, sizeof err)))
        test_fail(__FILE__, __LINE__, "store_open: %s", err);
    return st;
}

void wfx_start(struct wfx *f, const char *tpl, const struct redis_opts *opts)
{
    char *body, *conf;
    size_t len;

    memset(f, 0, sizeof *f);
    log_set_level(LOG_WARN); /* the fixture's own store: keep test output quiet */
    f->dir = harness_tmpdir();
    f->redis = redis_start(opts);
    f->rc = redis_connect(f->redis);
    body = wfx_expand(f, tpl);
    len = strlen(body) + 256;
    conf = malloc(len);
    ASSERT_NOT_NULL(conf);
    snprintf(conf, len, "[redis]\nurl = %s\ntimeout = 1s\ndedupe_ttl = 3600\n%s",
             redis_url(f->redis), body);
    f->config_path = harness_write_file("worker.conf", conf);
    free(conf);
    free(body);
    f->st = wfx_store(f, "hookd", 2000);
}

struct proc *wfx_worker(struct wfx *f, const char *const args[])
{
    const char *argv[32] = {harness_bin("hookd-worker"), "-c", f->config_path};
    size_t n = 3;

    for (size_t i = 0; args && args[i]; i++) {
        ASSERT(n < 31);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return proc_start(argv, NULL, "worker");
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wfx_enqueue_full with ORDER_KEY (NULL: none). */
static void enqueue(struct wfx *f, const char *route, const char *source, const char *id,
                    const char *type, const char *body, size_t body_len, const char *headers_json,
                    const char *traceparent, const char *order_key)
{
    char sha[65], reqid[96];
    struct enqueue_result res;
    struct store_event_in ev = {.order_key = order_key,
                                .order_key_len = order_key ? strlen(order_key) : 0};
    int rc;

    sha256_hex(body, body_len, sha);
    snprintf(reqid, sizeof reqid, "req-%s", id);
    ev.event_id = id, ev.event_id_len = strlen(id);
    ev.source = source;
    ev.type = type, ev.type_len = strlen(type);
    ev.body = body, ev.body_len = body_len;
    ev.body_sha256 = sha;
    ev.headers_json = headers_json ? headers_json : "{}";
    ev.sig_version = "v1";
    ev.received_at_ms = wall_ms();
    ev.request_id = reqid;
    ev.traceparent = traceparent;
    /* Right after a Redis restart the fixture's connection is stale: the
     * first call drops it, a later one reconnects. */
    for (unsigned i = 0;
         (rc = store_enqueue(f->st, route, &ev, 3600, 0, 0, 0, &res)) < 0 && i < ENQUEUE_TRIES; i++)
        harness_backoff(i + 5);
    ASSERT_INT_EQ(rc, 0);
    ASSERT_INT_EQ(res.status, ENQ_QUEUED);
}

void wfx_enqueue_full(struct wfx *f, const char *route, const char *source, const char *id,
                      const char *type, const char *body, size_t body_len, const char *headers_json,
                      const char *traceparent)
{
    enqueue(f, route, source, id, type, body, body_len, headers_json, traceparent, NULL);
}

void wfx_enqueue_keyed(struct wfx *f, const char *route, const char *id, const char *order_key)
{
    enqueue(f, route, "github", id, "push", "{}", 2, NULL, NULL, order_key);
}

void wfx_enqueue(struct wfx *f, const char *route, const char *id, const char *body)
{
    wfx_enqueue_full(f, route, "github", id, "push", body, strlen(body), NULL, NULL);
}

char *wfx_seen(struct wfx *f, const char *route, const char *id, const char *field)
{
    char key[512];

    snprintf(key, sizeof key, "hookd:{%s}:seen:github:%s", route, id);
    return redis_str(f->rc, "HGET %s %s", key, field);
}

int wfx_state_is(struct wfx *f, const char *route, const char *id, const char *state)
{
    char *s = wfx_seen(f, route, id, "state");
    int ok = s && strcmp(s, state) == 0;

    free(s);
    return ok;
}

long long wfx_counter(struct wfx *f, const char *route, const char *name)
{
    return redis_num(f->rc, "HGET hookd:{%s}:counters %s", route, name);
}

long long wfx_pending(struct wfx *f, const char *route)
{
    char key[256];
    redisReply *r;
    long long n = -1;

    snprintf(key, sizeof key, "hookd:{%s}:stream", route);
    r = redis_cmd(f->rc, "XPENDING %s hookd-workers", key);
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        n = r->element[0]->integer;
    freeReplyObject(r);
    return n;
}

int wfx_lines_with(const char *name, const char *prefix)
{
    char *text = harness_read_file(harness_path(name), NULL);
    int n = 0;
    size_t plen = strlen(prefix);

    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, plen) == 0)
            n++;
        if (!nl)
            break;
        p = nl + 1;
    }
    free(text);
    return n;
}

int wfx_process_gone(pid_t pid)
{
    char path[64], *stat;
    int gone;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    stat = harness_read_file(path, NULL);
    gone = !stat || (strchr(stat, ')') && strchr(stat, ')')[2] == 'Z');
    free(stat);
    return gone;
}

int wfx_lines(const char *name)
{
    return wfx_lines_with(name, "");
}
