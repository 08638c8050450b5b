/* chaos_fixture.c — see chaos_fixture.h. */
#define _GNU_SOURCE
#include "chaos_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEND_TIMEOUT_MS 3000
#define RESEND_PAUSE_US 50000

/* Records the run first (at-least-once is counted by runs), then does what
 * the id's suffix asks. A hang sleeps past handler_timeout (1 s), not for
 * ever: a handler orphaned by a killed worker must not outlive the test. */
static const char handler_sh[] = "#!/bin/sh\n"
                                 "dir=$1\n"
                                 "id=$HOOKD_EVENT_ID\n"
                                 "cat > /dev/null\n"
                                 "echo \"$id $HOOKD_ATTEMPT\" >> \"$dir/runs\"\n"
                                 "case \"$id\" in\n"
                                 "  *-hang) [ \"$HOOKD_ATTEMPT\" = 1 ] && exec sleep 4 ;;\n"
                                 "  *-crash) [ \"$HOOKD_ATTEMPT\" = 1 ] && kill -9 $$ ;;\n"
                                 "  *-fail) [ \"$HOOKD_ATTEMPT\" -lt 3 ] && exit 1 ;;\n"
                                 "  *-perm) exit 65 ;;\n"
                                 "  *-slow) sleep 0.3 ;;\n"
                                 "  *-killworker) [ \"$HOOKD_ATTEMPT\" = 1 ] && kill -9 $PPID ;;\n"
                                 "esac\n"
                                 "exit 0\n";

static const char *write_conf(struct chaos *c, const char *name, int redis_port, int attempts)
{
    char text[2100];
    int n = snprintf(text, sizeof text,
                     "[receiver]\nlisten = 127.0.0.1:%d\nadmin_listen = 127.0.0.1:%d\n"
                     "admin_token = chaos-admin-token\nthreads = 4\nconnection_timeout = 5s\n"
                     "retry_after = 1s\n"
                     "[redis]\nurl = redis://127.0.0.1:%d/0\ntimeout = 500ms\n"
                     "[source github]\nscheme = github\nsecret.v1 = " CHAOS_SECRET "\n"
                     "[route default]\nhandler = exec:%s %s\nmax_attempts = %d\n"
                     "retry_schedule = 0s,100ms,200ms\nmax_backoff = 1s\nhandler_timeout = 1s\n"
                     "visibility_timeout = 1500ms\npermanent_exit_codes = 65\n%s",
                     c->port, c->admin_port, redis_port, harness_path("chaos-handler.sh"),
                     harness_tmpdir(), attempts, c->ordered ? "order_by = json:/key\n" : "");
    ASSERT(n > 0 && (size_t)n < sizeof text);
    return harness_write_file(name, text);
}

static struct proc *start_worker(struct chaos *c, int i)
{
    char name[32];
    const char *const argv[] = {harness_bin("hookd-worker"),
                                "-c",
                                c->worker_conf,
                                "-r",
                                "default",
                                "--concurrency",
                                "2",
                                NULL};
    snprintf(name, sizeof name, "worker%d", i);
    return proc_start(argv, NULL, name);
}


void chaos_start(struct chaos *c, const struct chaos_opts *o)
{
    struct redis_opts ro = {.appendonly = 1, .appendfsync_always = 1};

    memset(c, 0, sizeof *c);
    c->ordered = o->ordered;
    c->redis = redis_start(&ro);
    c->rc = redis_connect(c->redis);
    c->port = harness_free_port();
    c->admin_port = harness_free_port();
    const char *h = harness_write_file("chaos-handler.sh", handler_sh);
    ASSERT_INT_EQ(chmod(h, 0700), 0);
    int attempts = o->max_attempts ? o->max_attempts : 4;
    if (o->proxy)
        fproxy_start(&c->proxy, redis_port(c->redis));
    c->worker_conf = write_conf(c, "worker.conf", redis_port(c->redis), attempts);
    c->receiver_conf =
        o->proxy ? write_conf(c, "receiver.conf", c->proxy.port, attempts) : c->worker_conf;
    c->receiver = receiver_start(c->receiver_conf, c->admin_port);
    c->nworkers = o->workers < 1                   ? 1
                  : o->workers > CHAOS_MAX_WORKERS ? CHAOS_MAX_WORKERS
                                                   : o->workers;
    for (int i = 0; i < c->nworkers; i++)
        c->workers[i] = start_worker(c, i);
}

void chaos_events(struct chaos *c, const char *prefix, int n, const char *(*kind)(int i))
{
    for (int i = 0; i < n; i++) {
        ASSERT(c->nev < CHAOS_MAX_EVENTS);
        const char *k = kind ? kind(i) : "";
        struct chaos_event *e = &c->ev[c->nev++];
        snprintf(e->id, sizeof e->id, "%s-%d%s%s", prefix, i, *k ? "-" : "", k);
        atomic_store(&e->acked, 0);
        atomic_store(&e->sends, 0);
    }
}

/* One signed GitHub delivery; the HTTP status, or 0 if there was none. */
static int send_event(struct chaos *c, struct chaos_event *e)
{
    char body[160], sig[SIG_BUF_SIZE], h1[300], h2[120];
    struct http_response r;
    int n = c->ordered ? snprintf(body, sizeof body, "{\"chaos\":\"%s\",\"key\":\"k%d\"}",
                                  e->id, (int)(e - c->ev) % CHAOS_KEYS)
                       : snprintf(body, sizeof body, "{\"chaos\":\"%s\"}", e->id);
    int st;

    github_signature(CHAOS_SECRET, body, (size_t)n, sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", e->id);
    const char *headers[] = {h1, h2, "X-GitHub-Event: push", NULL};
    memset(&r, 0, sizeof r);
    atomic_fetch_add(&e->sends, 1);
    if (http_request_timed(c->port, "POST", "/hooks/github", headers, body, (size_t)n,
                           SEND_TIMEOUT_MS, &r) < 0) {
        http_response_free(&r);
        return 0;
    }
    st = r.status;
    http_response_free(&r);
    return st;
}

struct sender_arg {
    struct chaos *c;
    int index;
};

/* A provider: delivers its share, re-sending whatever got no 2xx. */
static void *sender(void *p)
{
    struct sender_arg *a = p;
    struct chaos *c = a->c;

    for (;;) {
        int pending = 0;
        for (int i = a->index; i < c->nev; i += c->nsenders) {
            struct chaos_event *e = &c->ev[i];
            if (atomic_load(&e->acked))
                continue;
            int st = send_event(c, e);
            if (st >= 200 && st < 300)
                atomic_store(&e->acked, 1);
            else
                pending++;
        }
        if (!pending || harness_now_ms() > c->deadline_ms)
            break;
        usleep(RESEND_PAUSE_US);
    }
    free(a);
    return NULL;
}

void chaos_send_start(struct chaos *c, int nsenders, int timeout_ms)
{
    c->nsenders = nsenders > CHAOS_MAX_SENDERS ? CHAOS_MAX_SENDERS : nsenders;
    c->deadline_ms = harness_now_ms() + timeout_ms;
    for (int i = 0; i < c->nsenders; i++) {
        struct sender_arg *a = malloc(sizeof *a);
        ASSERT_NOT_NULL(a);
        *a = (struct sender_arg){c, i};
        ASSERT_INT_EQ(pthread_create(&c->senders[i], NULL, sender, a), 0);
    }
}

int chaos_acked(struct chaos *c)
{
    int n = 0;
    for (int i = 0; i < c->nev; i++)
        n += atomic_load(&c->ev[i].acked);
    return n;
}

void chaos_supervise(struct chaos *c)
{
    for (int i = 0; i < c->nworkers; i++)
        if (!proc_alive(c->workers[i])) {
            c->workers[i] = start_worker(c, i);
            c->worker_restarts++;
        }
}

void chaos_wait_acked(struct chaos *c, int n, int timeout_ms)
{
    WAIT_FOR((chaos_supervise(c), chaos_acked(c) >= n), timeout_ms);
}

void chaos_send_wait(struct chaos *c)
{
    WAIT_FOR((chaos_supervise(c), chaos_acked(c) == c->nev || harness_now_ms() > c->deadline_ms),
             (int)(c->deadline_ms - harness_now_ms()) + 5000);
    for (int i = 0; i < c->nsenders; i++)
        pthread_join(c->senders[i], NULL);
    c->nsenders = 0;
}

void chaos_restart_receiver(struct chaos *c)
{
    proc_kill(c->receiver);
    c->receiver = receiver_start(c->receiver_conf, c->admin_port);
}

void chaos_reconnect(struct chaos *c)
{
    redisFree(c->rc);
    c->rc = redis_connect(c->redis);
}

void chaos_proxy(struct chaos *c, const char *cmd)
{
    fproxy_cmd(&c->proxy, cmd);
}
