/*
 * store.h — everything hookd keeps in Redis goes through this module.
 *
 * Key layout (prefix "hookd" by default; every key of a route carries the
 * hash tag {ROUTE} so a route's atomic steps touch one cluster slot):
 *
 *   P:{ROUTE}:stream                  stream of queued events (no tenant)
 *   P:{ROUTE}:stream:TENANT           stream of one tenant's queued events
 *   P:{ROUTE}:tenants                 set: the TENANT names that have a stream
 *   P:{ROUTE}:seen:SOURCE:EVENT_ID    hash: dedupe record and event state
 *   P:{ROUTE}:retry                   zset: stream ids scored by due time (ms)
 *   P:{ROUTE}:dead                    stream of dead letters
 *   P:{ROUTE}:counters                hash: received, duplicates, processed, ...
 *   P:{ROUTE}:paused                  string: present while the route is paused
 *   P:rejected                        capped stream of rejected requests
 *
 * Key names are built only in store_keys.c and Lua scripts live only in
 * store_scripts.c. A struct store is one Redis connection: not thread-safe,
 * use one per thread. It reconnects by itself (at most every
 * STORE_RECONNECT_MIN_MS) after any connection or timeout error.
 *
 * The headers, by layer: this one (the handle, every caller's); then
 * store_shared.h (calls more than one caller makes); then one per caller,
 * the only store header its files include: store_ingress.h (the receiver's
 * request path), store_worker.h (workers), store_admin.h (hookctl, the
 * admin API, common/ops). store_internal.h is the store's own files',
 * store_conn.h conn/'s and store_worker_int.h worker/'s.
 */
#ifndef HOOKD_STORE_H
#define HOOKD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STORE_GROUP "hookd-workers" /* a labelled handler's: hookd-workers:LABEL */
#define STORE_GROUP_MAX 64
#define STORE_OWN_STREAM "~" /* a labelled handler's own stream, P:{ROUTE}:h:LABEL:stream */
#define STORE_RECONNECT_MIN_MS 100
#define STORE_STREAM_ID_MAX 48
#define STORE_TENANT_MAX 64     /* a tenant's name in key names */
#define STORE_TENANTS_MAX 1000  /* tenant streams per route; later tenants share P:{ROUTE}:stream */

struct store;

/*
 * A tenant value as it appears in key names (P:{ROUTE}:stream:NAME): the
 * value itself when it is 1..64 characters of [A-Za-z0-9_.-]; otherwise at
 * most 40 of its characters with every other byte as '_', a '.', and 16
 * hex digits of its SHA-256, so two values never share a name by accident.
 * Returns the name's length (out holds it, NUL-terminated), or HOOKD_ENOT_FOUND for an
 * empty value (no tenant).
 */
int store_tenant_name(const char *tenant, size_t len, char out[STORE_TENANT_MAX + 1]);

/* Opens a connection handle (connecting lazily; never fails for an
 * unreachable Redis). Copies what it needs from cfg. NULL on bad URL or
 * memory, with a sentence in err. Free with store_close. */
struct store *store_open(const struct redis_cfg *cfg, char *err, size_t errlen);
void store_close(struct store *st);

/* 0 when Redis answers PING, else a negative code. */
int store_ping(struct store *st);

/* True while the last operation failed for connection reasons. */
bool store_is_down(const struct store *st);

/* Why the last connection or command failed, with the address tried:
 * "127.0.0.1:6379: connection refused", "…: timed out after 2000 ms",
 * "…: auth failed (WRONGPASS …)", "…: answered READONLY …"; "" when nothing
 * failed yet. Borrowed, valid until the next call on ST. Never a secret. */
const char *store_last_error(const struct store *st);
/* "HOST:PORT", "unix:PATH" or "sentinels for MASTER" into buf. */
void store_address(const struct store *st, char *buf, size_t cap);

/* Milliseconds the last round trip took (for metrics). */
double store_last_rtt_ms(const struct store *st);

#endif
