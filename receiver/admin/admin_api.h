/*
 * admin_api.h — the JSON API of the admin listener, behind the dashboard
 * and for scripts (documented in docs/admin-api.md):
 *
 *   GET  /api/counts          per-route counts; this receiver's signature table
 *   GET  /api/rejected        summary and newest entries of the rejected stream
 *   GET  /api/dead/ROUTE      the newest dead letters, with their event's state
 *   POST /api/replay/ROUTE    {"id": ID} or {"all": true} → the replay summary
 *
 * admin.c authenticates, checks methods and the cross-site guard, then calls
 * these; each fills a struct admin_reply. Replay goes through replay_run()
 * (common/replay.h), the same path as `hookctl replay`.
 */
#ifndef HOOKD_ADMIN_API_H
#define HOOKD_ADMIN_API_H

#include <stddef.h>

#include "config.h"
#include "store_admin.h"

#define ADMIN_DEAD_DEFAULT 50
#define ADMIN_DEAD_MAX 500
#define ADMIN_RECENT_REJECTED 20

struct admin_reply {
    int status;
    char *body; /* malloc'd JSON; the caller frees it */
    size_t len;
};

void admin_api_counts(const struct config *cfg, struct store *st, struct admin_reply *out);
void admin_api_rejected(const struct config *cfg, struct store *st, struct admin_reply *out);
/* LIMIT: the ?limit= text, or NULL for ADMIN_DEAD_DEFAULT. */
void admin_api_dead(const struct config *cfg, struct store *st, const char *route,
                    const char *limit, struct admin_reply *out);
/* GET /api/dead/ROUTE?id=ID: one letter (entry or event id) with body and
 * headers and its event's state now. */
void admin_api_dead_one(const struct config *cfg, struct store *st, const char *route,
                        const char *id, struct admin_reply *out);
/* POST /api/purge/ROUTE {"resolved": true}: deletes the letters of events
 * processed since (store_dead_purge_resolved); {"route", "purged": N}. */
void admin_api_purge(const struct config *cfg, struct store *st, const char *route,
                     const char *body, size_t len, const char *client, struct admin_reply *out);
/* BODY: the request's bytes (not NUL-terminated). CLIENT: for the log. */
void admin_api_replay(const struct config *cfg, struct store *st, const char *route,
                      const char *body, size_t len, const char *client, struct admin_reply *out);

/* {"error": MESSAGE} with STATUS. */
void admin_api_error(struct admin_reply *out, int status, const char *message);

#endif
