/*
 * store_tenants.c — a route's streams: P:{ROUTE}:stream and one
 * P:{ROUTE}:stream:TENANT per name in P:{ROUTE}:tenants (store_shared.h).
 * Workers create groups and retire consumers on each; the admin side
 * counts and lists them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"
#include "store_shared.h"

int store_route_tenants(struct store *st, const char *route, char (**out)[STORE_TENANT_MAX + 1],
                        size_t *n)
{
    char key[STORE_KEY_MAX];
    const char *argv[2] = {"SMEMBERS", key};
    size_t len[2] = {8, 0};
    int rc;
    redisReply *r;

    *out = NULL, *n = 0;
    if (store_key_route(st, key, sizeof key, route, "tenants") < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = strlen(key);
    if (!(r = store_command(st, 2, argv, len, &rc)))
        return rc;
    /* A labelled handler ("ROUTE:LABEL") also reads its own stream, named
     * by STORE_OWN_STREAM: last, since '~' sorts after every tenant name. */
    bool own = strchr(route, ':') != NULL;
    if (r->type != REDIS_REPLY_ARRAY)
        rc = HOOKD_EREDIS_REPLY;
    else if ((r->elements || own) && !(*out = calloc(r->elements + own, sizeof **out)))
        rc = HOOKD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < r->elements; i++)
        if (store_reply_text(r->element[i], (*out)[*n], sizeof **out) &&
            store_tenant_name_valid((*out)[*n]))
            (*n)++;
    freeReplyObject(r);
    if (*n)
        qsort(*out, *n, sizeof **out, store_cmp_names);
    if (rc == 0 && own)
        memcpy((*out)[(*n)++], STORE_OWN_STREAM, sizeof STORE_OWN_STREAM);
    return rc;
}

int store_each_stream(struct store *st, const char *route, store_stream_fn *fn, void *arg)
{
    char(*tenants)[STORE_TENANT_MAX + 1] = NULL;
    size_t n = 0;
    int rc = fn(st, route, "", arg);

    if (rc >= 0)
        rc = store_route_tenants(st, route, &tenants, &n);
    for (size_t i = 0; rc >= 0 && i < n; i++)
        rc = fn(st, route, tenants[i], arg);
    free(tenants);
    return rc < 0 ? rc : 0;
}
