/*
 * store_ingress.h — the receiver's writes: the atomic enqueue of an event
 * (store_enqueue.h, shared with hookctl), singly or as a batch (the
 * committer's group commit), and the capped stream of rejected requests
 * (store_ingress.c). The receiver's request path includes this header
 * only; store_shared.h (throttle overrides, pause, the enqueue) and
 * store.h (the handle) come with it.
 */
#ifndef HOOKD_STORE_INGRESS_H
#define HOOKD_STORE_INGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "store_shared.h"

/* Diagnostics of a rejected request, as field/value pairs (NULL-terminated
 * array of 2n strings), appended to P:rejected capped at ~maxlen.
 * Best effort: returns 0 or a negative code, never blocks the answer long. */
int store_reject(struct store *st, const char *const *fields, size_t maxlen);
/* Whether the Redis the store writes to logs every write to its AOF
 * (INFO persistence, aof_enabled): 0 with *on set, or a negative code. */
int store_aof_enabled(struct store *st, bool *on);

/* The same for n records in one pipeline; rcs[i] is record i's outcome. */
void store_reject_many(struct store *st, size_t n, const char *const *const *records,
                       size_t maxlen, int *rcs);

#endif
