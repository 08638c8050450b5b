/* store_control.c — pause/resume and throttle overrides; see store_shared.h. */
#include "store_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"

/* Runs a command of up to 4 string arguments; returns the reply or NULL. */
static redisReply *run(struct store *st, int *rc, int argc, const char *a0, const char *a1,
                       const char *a2, const char *a3)
{
    const char *argv[4] = {a0, a1, a2, a3};
    size_t len[4];

    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return store_command(st, argc, argv, len, rc);
}

static int finish(redisReply *r, int rc)
{
    if (!r)
        return rc;
    rc = r->type == REDIS_REPLY_ERROR ? HOOKD_EREDIS_REPLY : 0;
    freeReplyObject(r);
    return rc;
}

int store_route_pause(struct store *st, const char *route, bool paused)
{
    char key[STORE_KEY_MAX];
    int rc;

    if (store_key_route(st, key, sizeof key, route, "paused") < 0)
        return HOOKD_ETOO_LARGE;
    redisReply *r = paused ? run(st, &rc, 3, "SET", key, "1", NULL)
                           : run(st, &rc, 2, "DEL", key, NULL, NULL);
    return finish(r, rc);
}

int store_route_paused(struct store *st, const char *route, bool *paused)
{
    char key[STORE_KEY_MAX];
    int rc;

    if (store_key_route(st, key, sizeof key, route, "paused") < 0)
        return HOOKD_ETOO_LARGE;
    redisReply *r = run(st, &rc, 2, "EXISTS", key, NULL, NULL);
    if (!r)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? 0 : HOOKD_EREDIS_REPLY;
    *paused = rc == 0 && r->integer == 1;
    freeReplyObject(r);
    return rc;
}

int store_throttle_set(struct store *st, const char *source, double rate)
{
    char key[STORE_KEY_MAX], val[32];
    int rc;

    if (store_key_global(st, key, sizeof key, "throttle") < 0)
        return HOOKD_ETOO_LARGE;
    if (rate < 0)
        return finish(run(st, &rc, 3, "HDEL", key, source, NULL), rc);
    snprintf(val, sizeof val, "%.6g", rate);
    return finish(run(st, &rc, 4, "HSET", key, source, val), rc);
}

int store_throttle_list(struct store *st, struct store_throttle *out, size_t cap, size_t *n)
{
    char key[STORE_KEY_MAX];
    int rc;

    *n = 0;
    if (store_key_global(st, key, sizeof key, "throttle") < 0)
        return HOOKD_ETOO_LARGE;
    redisReply *r = run(st, &rc, 2, "HGETALL", key, NULL, NULL);
    if (!r)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return HOOKD_EREDIS_REPLY;
    }
    for (size_t i = 0; i + 1 < r->elements && *n < cap; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            k->len > CONFIG_NAME_MAX)
            continue;
        memcpy(out[*n].source, k->str, k->len);
        out[*n].source[k->len] = '\0';
        out[*n].rate = strtod(v->str, NULL);
        (*n)++;
    }
    freeReplyObject(r);
    return 0;
}
