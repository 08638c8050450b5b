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

#define STORE_STEP_MAXARGS (3 + 5 + 10 + 2 * STORE_EVENT_MAX_FIELDS)
#define STORE_MEMBER_MAX (STORE_KEY_MAX + 64) /* a retry zset member */

/* An outcome step (FINISH, RETRY or DEAD) as one EVALSHA; argv[0..2] are
 * left for store_script. argv points into the struct and into the event. */
struct store_step {
    enum store_script which;
    int nkeys, argc;
    const char *argv[STORE_STEP_MAXARGS];
    size_t len[STORE_STEP_MAXARGS];
    char keys[5][STORE_KEY_MAX];
    char member[STORE_MEMBER_MAX];
    char now[24], due[24], ttl[24], att[24], us[24];
    char group[STORE_GROUP_MAX];
};

/* Builds the step of O into C: 0 or HOOKD_ETOO_LARGE. */
int store_step_build(struct store *st, const struct store_outcome *o, struct store_step *c);
/* Checks the reply R of step WHICH (not freed): 0 with *applied set, or
 * HOOKD_EREDIS_REPLY (logged). */
int store_step_reply(enum store_script which, const redisReply *r, bool *applied);

#endif
