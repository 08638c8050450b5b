/*
 * store_admin.c — operator-facing reads and writes; see store_admin.h.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_admin.h"
#include "store_internal.h"

int store_route_backlog(struct store *st, const char *route, int64_t *out)
{
    char key[STORE_KEY_MAX];
    const char *argv[3] = {"HGET", key, "backlog"};
    size_t len[3] = {4, 0, 7};
    int rc;
    redisReply *r;

    if (store_key_route(st, key, sizeof key, route, "counters") < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = strlen(key);
    if (!(r = store_command(st, 3, argv, len, &rc)))
        return rc;
    if (r->type == REDIS_REPLY_NIL)
        *out = 0;
    else if (r->type == REDIS_REPLY_STRING)
        *out = strtoll(r->str, NULL, 10);
    else
        rc = HOOKD_EREDIS_REPLY;
    freeReplyObject(r);
    return rc;
}
