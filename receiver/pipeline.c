/*
 * pipeline.c — the committer thread (see pipeline.h). A mutex-guarded FIFO
 * of items; the thread sleeps on a condition variable while it is empty.
 */
#include "pipeline.h"

#include <pthread.h>
#include <stddef.h>

#include "err.h"
#include "log.h"
#include "runtime.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct pipeline_item *head, **tail = &head;
static bool running, stopping;
static pthread_t thread;

/* Up to PIPELINE_BATCH_MAX items off the queue into batch; blocks while the
 * queue is empty. 0 once stopping with nothing left. */
static size_t take(struct pipeline_item **batch)
{
    size_t n = 0;

    pthread_mutex_lock(&lock);
    while (!head && !stopping)
        pthread_cond_wait(&wake, &lock);
    while (head && n < PIPELINE_BATCH_MAX) {
        batch[n++] = head;
        head = head->next;
    }
    if (!head)
        tail = &head;
    pthread_mutex_unlock(&lock);
    return n;
}

static void *committer(void *arg)
{
    struct pipeline_item *batch[PIPELINE_BATCH_MAX];
    struct store_enqueue_job *jobs[PIPELINE_BATCH_MAX];
    struct store *st = runtime_store(); /* this thread's own connection */
    size_t n;

    while ((n = take(batch)) > 0) {
        struct config *cfg = runtime_config();
        for (size_t i = 0; i < n; i++)
            jobs[i] = batch[i]->job;
        if (st)
            store_enqueue_many(st, n, jobs, cfg->redis.wait_replicas, cfg->redis.wait_timeout_ms);
        else
            for (size_t i = 0; i < n; i++)
                jobs[i]->rc = HOOKD_EREDIS_CONN;
        config_release(cfg);
        log_batch_begin();
        for (size_t i = 0; i < n; i++)
            batch[i]->done(batch[i]);
        log_batch_end();
        for (size_t i = 0; i < n; i++)
            batch[i]->wake(batch[i]);
    }
    log_batch_release();
    return NULL;
}

int pipeline_start(void)
{
    pthread_mutex_lock(&lock);
    stopping = false;
    running = pthread_create(&thread, NULL, committer, NULL) == 0;
    pthread_mutex_unlock(&lock);
    if (!running)
        log_msg(LOG_WARN, EV_ERROR, "cannot start the enqueue pipeline: steps go one by one");
    return running ? 0 : -1;
}

bool pipeline_submit(struct pipeline_item *it)
{
    bool ok;

    it->next = NULL;
    pthread_mutex_lock(&lock);
    ok = running && !stopping;
    if (ok) {
        *tail = it;
        tail = &it->next;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    return ok;
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
