/*
 * store_worker_int.h — shared by store_worker.c, store_streams.c and
 * store_event.c only: turning stream entries of a Redis reply into struct
 * store_event.
 */
#ifndef HOOKD_STORE_WORKER_INT_H
#define HOOKD_STORE_WORKER_INT_H

#include <hiredis/hiredis.h>

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

#endif
