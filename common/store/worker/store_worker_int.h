/*
 * store_worker_int.h — shared by store_worker.c, store_streams.c and
 * store_event.c and store_steps.c only: turning stream entries of a Redis
 * reply into struct store_event, and outcome steps built as commands (so a
 * read can be pipelined after one).
 */
#ifndef HOOKD_STORE_WORKER_INT_H
#define HOOKD_STORE_WORKER_INT_H

#include <hiredis/hiredis.h>

#include "store_internal.h"
#include "store_worker.h"

/*
 * Parses one [id, [field, value, ...]] element of an XREADGROUP, XRANGE or
 * XAUTOCLAIM reply for ROUTE. Returns a new event (the caller's), or NULL
 * when the element is malformed or memory ran out; id_out then holds the
 * entry id when it was readable ("" otherwise), so the caller can ack a
 * malformed entry. *no_memory (when not NULL) tells the two apart: an entry
 * that only met a failed allocation must stay pending, never be acked.
 */
struct store_event *store_event_parse(const char *route, const redisReply *entry,
                                      char id_out[STORE_STREAM_ID_MAX], bool *no_memory);

/* Parses a list of entries of ROUTE's stream TENANT into out[*n..cap);
 * unparseable entries are acked and logged (they can never be handled, and
 * would be claimed forever). */
void store_take_entries(struct store *st, const char *route, const char *tenant,
                        const redisReply *list, struct store_event **out, size_t cap, size_t *n);

#define STORE_MEMBER_MAX (STORE_KEY_MAX + 64) /* a retry zset member */

/* A batch of outcome steps (FINISH, RETRY, DEAD) of one route as one
 * EVALSHA of SCRIPT_OUTCOMES; argv[0..2] are left for store_script. Owns
 * its buffers (store_steps_free); argv points into them and into the
 * events, which must outlive the call. */
struct store_steps {
    int nkeys, argc;
    const char **argv;             /* owned */
    size_t *len;                   /* owned */
    char (*keys)[STORE_KEY_MAX];   /* owned: 4 + 2 per event */
    char (*nums)[24];              /* owned: 2 per event, then now, ttl, nhist */
    char (*members)[STORE_MEMBER_MAX]; /* owned: one per event */
    struct {
        char field[64];
        long long n;
        char num[24];
    } *hist; /* owned: the summed samples, 2 per event at most */
    size_t nhist;
    char group[STORE_GROUP_MAX];
};

/* Builds the N steps of O (all of one route) into C: 0, HOOKD_ENOMEM,
 * HOOKD_ETOO_LARGE or HOOKD_ESTATE (routes differ). Free C either way. */
int store_steps_build(struct store *st, const struct store_outcome *o, size_t n,
                      struct store_steps *c);
void store_steps_free(struct store_steps *c);
/* BEGIN of the N events EV (all of one stream) in one call, answers in
 * OUT; CONSUMER (the reader: NULL for none) asks for the paused check: a
 * paused route begins nothing, sets *paused and leaves the entries
 * pending for the first claim pass after the resume (SCRIPT_BEGIN). */
int store_begin_many(struct store *st, struct store_event *const *ev, size_t n, int64_t ttl_s,
                     const char *token, const char *consumer, struct store_begin_result *out,
                     bool *paused);
/* Checks the reply R to N steps (not freed): 0 with applied[0..n) set, or
 * HOOKD_EREDIS_REPLY (logged). */
int store_steps_reply(const redisReply *r, size_t n, bool *applied);

#endif
