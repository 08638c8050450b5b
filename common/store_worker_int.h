/*
 * store_worker_int.h — shared by store_worker.c and store_event.c only:
 * turning one stream entry of a Redis reply into a struct store_event.
 */
#ifndef HOOKD_STORE_WORKER_INT_H
#define HOOKD_STORE_WORKER_INT_H

#include <hiredis/hiredis.h>

#include "store_worker.h"

/*
 * Parses one [id, [field, value, ...]] element of an XREADGROUP, XRANGE or
 * XAUTOCLAIM reply for ROUTE. Returns a new event (the caller's), or NULL
 * when the element is malformed or memory ran out; id_out then holds the
 * entry id when it was readable ("" otherwise), so the caller can ack it.
 */
struct store_event *store_event_parse(const char *route, const redisReply *entry,
                                      char id_out[STORE_STREAM_ID_MAX]);

#endif
