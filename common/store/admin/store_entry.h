/*
 * store_entry.h — stream entries read back from Redis, binary-safe (a body
 * may hold any byte), and range reads over a route's stream, its dead
 * stream and the rejected stream. Part of the operator API (store_admin.h
 * includes it); implemented in store_admin_entries.c. Return codes as in
 * store_admin.h.
 */
#ifndef HOOKD_STORE_ENTRY_H
#define HOOKD_STORE_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store_shared.h"

/* ---- stream entries, binary-safe ---- */

struct store_field {
    char *name;  /* NUL-terminated */
    char *value; /* value_len bytes plus a NUL (the bytes may hold NULs) */
    size_t value_len;
};

/* One stream entry; owns its fields (store_entry_clear frees them). */
struct store_entry {
    char id[STORE_STREAM_ID_MAX];
    struct store_field *fields;
    size_t nfields;
};

/* The first field NAME (borrowed), or NULL. */
const struct store_field *store_entry_get(const struct store_entry *e, const char *name);
/* Its value as text (borrowed), "" when absent. */
const char *store_entry_str(const struct store_entry *e, const char *name);
void store_entry_clear(struct store_entry *e);
/* Frees v[0..n) and v itself; NULL does nothing. */
void store_entries_free(struct store_entry *v, size_t n);
/* New reference: {"id": ..., FIELD: VALUE, ...}. The body is a JSON string
 * when it is valid UTF-8, else base64 with "body_encoding": "base64".
 * WITH_BODY false leaves out body and headers (for listings). */
json_t *store_entry_json(const struct store_entry *e, bool with_body);

enum store_log { STORE_LOG_STREAM, STORE_LOG_DEAD };

/* XLEN of the route's stream (P:{ROUTE}:stream, without the tenants')
 * or dead stream. */
int store_log_len(struct store *st, const char *route, enum store_log log, int64_t *out);
/* Entries with LO <= id <= HI (XRANGE bounds: "-", "+", "MS-SEQ", "(ID"),
 * at most COUNT, oldest first, or newest first when NEWEST_FIRST. *out is
 * the caller's (store_entries_free); *n may be 0. */
int store_log_range(struct store *st, const char *route, enum store_log log, const char *lo,
                    const char *hi, size_t count, bool newest_first, struct store_entry **out,
                    size_t *n);

/* XLEN and ranges (as store_log_range) of one stream of ROUTE: TENANT NULL
 * or "" is P:{ROUTE}:stream, else P:{ROUTE}:stream:TENANT. */
int store_stream_len(struct store *st, const char *route, const char *tenant, int64_t *out);
int store_stream_range(struct store *st, const char *route, const char *tenant, const char *lo,
                       const char *hi, size_t count, bool newest_first, struct store_entry **out,
                       size_t *n);

/* The same over the global capped stream of rejected requests. */
int store_rejected_range(struct store *st, const char *lo, const char *hi, size_t count,
                         bool newest_first, struct store_entry **out, size_t *n);

#endif
