/*
 * store_admin.h — read-mostly operations for operators (readiness, stats,
 * dead letters, pause/resume, replay), shared by the receiver's admin
 * listener and hookctl. Key names stay in store_keys.c.
 */
#ifndef HOOKD_STORE_ADMIN_H
#define HOOKD_STORE_ADMIN_H

#include <stdint.h>

#include "store.h"

/* The route's backlog counter (accepted, not yet processed or dead). */
int store_route_backlog(struct store *st, const char *route, int64_t *out);

#endif
