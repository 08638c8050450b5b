/*
 * pipeline.h — group commit of the receiver's enqueue steps.
 *
 * A request that reaches its enqueue step (ingress_commit) hands it to one
 * committer thread. The committer takes every step
 * waiting at that moment and sends them to Redis together on its own
 * connection (store_enqueue_many: one write, one read, one WAIT), then
 * calls each item's done() with the outcome in its job (which decides the
 * answer and logs it: the batch's log lines go out in one write), and then
 * each item's wake(); only then is a request answered. While Redis works on
 * one batch the next one gathers, so batches grow with the load and no
 * request waits for a timer.
 *
 * The committer also writes the rejected-events stream (P:rejected) for
 * the pool threads, after the batch at hand and in one pipeline: a flood of bad signatures
 * never has a pool thread wait on Redis, and never delays an answer. Those
 * records are diagnostics, capped (PIPELINE_REJECTS_MAX waiting; beyond,
 * dropped and counted); the log line of each was written either way.
 */
#ifndef HOOKD_PIPELINE_H
#define HOOKD_PIPELINE_H

#include <stdbool.h>

#include "config.h"
#include "store_ingress.h"

#define PIPELINE_BATCH_MAX 64     /* steps sent in one go */
#define PIPELINE_REJECTS_MAX 1024 /* rejected-stream records waiting, at most */

struct pipeline_item {
    struct store_enqueue_job *job;        /* in: the step; out: rc and res */
    void (*done)(struct pipeline_item *); /* on the committer thread, logs batched */
    void (*wake)(struct pipeline_item *); /* then this, once every line is written */
    struct pipeline_item *next;           /* the pipeline's */
};

/* Starts the committer thread: 0, or -errno. */
int pipeline_start(void);

/* Commits the item's step: queued for the committer, or, when it is not
 * running (stopping, never started, a test), run at once on st, the
 * caller's connection (NULL: the step fails as Redis unavailable), with
 * cfg's WAIT settings. Either way done() and then wake() are called exactly
 * once: on the committer thread, or before this returns. */
void pipeline_commit(struct pipeline_item *it, struct store *st, const struct config *cfg);

/* Queues an entry for the rejected-events stream (capped at the config's
 * rejected_maxlen): FIELDS are name/value pairs ending in NULL (copied).
 * Beyond PIPELINE_REJECTS_MAX waiting, dropped and counted; when the
 * committer is not running, written at once on st with cfg's cap. */
void pipeline_reject(const char *const *fields, struct store *st, const struct config *cfg);

/* Refuses new items, finishes those queued (each gets its done(); each
 * reject record is written), and joins the thread. */
void pipeline_stop(void);

#endif
