/*
 * pipeline.c — the committer thread (see pipeline.h). Two mutex-guarded
 * FIFOs, enqueue steps and reject records; the thread sleeps on a
 * condition variable while both are empty.
 */
#include "pipeline.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ingress_metrics.h"
#include "log.h"
#include "runtime.h"

#define REJECT_FIELDS_MAX 32 /* name/value pairs of one record */

/* One rejected-stream entry, its strings copied after it (one allocation). */
struct reject_rec {
    struct reject_rec *next;
    const char *fields[2 * REJECT_FIELDS_MAX + 2]; /* into data, NULL-terminated */
    char data[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct pipeline_item *head, **tail = &head;
static struct reject_rec *rhead, **rtail = &rhead;
static size_t nrejects;
static bool running, stopping;
static pthread_t thread;

/* Up to PIPELINE_BATCH_MAX items off the queue into batch, and every
 * reject record waiting into *rejects; blocks while both queues are empty.
 * false once stopping with nothing left. */
static bool take(struct pipeline_item **batch, size_t *n, struct reject_rec **rejects)
{
    pthread_mutex_lock(&lock);
    while (!head && !rhead && !stopping)
        pthread_cond_wait(&wake, &lock);
    for (*n = 0; head && *n < PIPELINE_BATCH_MAX; head = head->next)
        batch[(*n)++] = head;
    if (!head)
        tail = &head;
    *rejects = rhead;
    rhead = NULL, rtail = &rhead, nrejects = 0;
    pthread_mutex_unlock(&lock);
    return *n > 0 || *rejects;
}

/* Writes the records in one pipeline (a flood costs one round trip per
 * batch, not one per record), counts those not written, frees them all. */
static void write_rejects(struct store *st, struct reject_rec *list)
{
    const char *const *records[PIPELINE_REJECTS_MAX];
    int rcs[PIPELINE_REJECTS_MAX];
    size_t n = 0;

    for (struct reject_rec *r = list; r && n < PIPELINE_REJECTS_MAX; r = r->next)
        records[n++] = r->fields;
    if (st && n) {
        struct config *cfg = runtime_config();
        store_reject_many(st, n, records, cfg->receiver.rejected_maxlen, rcs);
        config_release(cfg);
    }
    for (size_t i = 0; i < n; i++)
        if (!st || rcs[i] < 0)
            ingress_metrics_reject_dropped();
    while (list) {
        struct reject_rec *next = list->next;
        free(list);
        list = next;
    }
}

/* Sends a batch of steps in one go and answers each: the one place a step
 * runs, on the committer thread or (committer not running) the caller's. */
static void run_batch(struct store *st, const struct config *cfg, struct pipeline_item **batch,
                      size_t n)
{
    struct store_enqueue_job *jobs[PIPELINE_BATCH_MAX] = {0}; /* n may be 0: GCC cannot tell */

    for (size_t i = 0; i < n; i++)
        jobs[i] = batch[i]->job;
    if (st)
        store_enqueue_many(st, n, jobs, cfg->redis.wait_replicas, cfg->redis.wait_timeout_ms);
    else
        for (size_t i = 0; i < n; i++)
            jobs[i]->rc = HOOKD_EREDIS_CONN;
    log_batch_begin();
    for (size_t i = 0; i < n; i++)
        batch[i]->done(batch[i]);
    log_batch_end();
    for (size_t i = 0; i < n; i++)
        batch[i]->wake(batch[i]);
}

static void *committer(void *arg)
{
    struct pipeline_item *batch[PIPELINE_BATCH_MAX];
    struct store *st = runtime_store(); /* this thread's own connection */
    struct reject_rec *rejects;
    size_t n;

    while (take(batch, &n, &rejects)) {
        if (n > 0) {
            struct config *cfg = runtime_config();
            run_batch(st, cfg, batch, n);
            config_release(cfg);
        }
        write_rejects(st, rejects); /* after the answers: diagnostics wait */
    }
    log_batch_release();
    return NULL;
}

int pipeline_start(void)
{
    int rc;

    pthread_mutex_lock(&lock);
    stopping = false;
    rc = pthread_create(&thread, NULL, committer, NULL);
    running = rc == 0;
    pthread_mutex_unlock(&lock);
    if (!running)
        log_msg(LOG_WARN, EV_ERROR, "cannot start the enqueue pipeline (%s): steps go one by one",
                hookd_strerror(-rc));
    return -rc;
}

void pipeline_commit(struct pipeline_item *it, struct store *st, const struct config *cfg)
{
    bool queued;

    it->next = NULL;
    pthread_mutex_lock(&lock);
    queued = running && !stopping;
    if (queued) {
        *tail = it;
        tail = &it->next;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    if (!queued)
        run_batch(st, cfg, &it, 1);
}

/* A copy of FIELDS in one allocation, or NULL. */
static struct reject_rec *reject_copy(const char *const *fields)
{
    size_t bytes = 0, nf = 0;
    struct reject_rec *r;

    while (nf < 2 * REJECT_FIELDS_MAX && fields[nf] && fields[nf + 1]) {
        bytes += strlen(fields[nf]) + strlen(fields[nf + 1]) + 2;
        nf += 2;
    }
    if (!(r = malloc(sizeof *r + bytes)))
        return NULL;
    char *p = r->data;
    for (size_t i = 0; i < nf; i++) {
        size_t len = strlen(fields[i]) + 1;
        memcpy(p, fields[i], len);
        r->fields[i] = p;
        p += len;
    }
    r->fields[nf] = r->fields[nf + 1] = NULL;
    r->next = NULL;
    return r;
}

void pipeline_reject(const char *const *fields, struct store *st, const struct config *cfg)
{
    struct reject_rec *r = reject_copy(fields);
    bool running_now, queued = false;

    pthread_mutex_lock(&lock);
    running_now = running && !stopping;
    if (running_now && r && nrejects < PIPELINE_REJECTS_MAX) {
        *rtail = r, rtail = &r->next;
        nrejects++;
        queued = true;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    if (queued)
        return;
    free(r);
    if (running_now || !st || store_reject(st, fields, cfg->receiver.rejected_maxlen) < 0)
        ingress_metrics_reject_dropped(); /* full, out of memory, or Redis failed */
}

void pipeline_stop(void)
{
    pthread_mutex_lock(&lock);
    bool was = running;
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    if (was)
        pthread_join(thread, NULL);
    pthread_mutex_lock(&lock);
    running = false;
    pthread_mutex_unlock(&lock);
}
