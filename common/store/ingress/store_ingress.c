/*
 * store_ingress.c — the receiver's own write: the capped stream of
 * rejected requests. Its other write, the atomic enqueue, is shared with
 * hookctl (store_enqueue.c). And one read: whether Redis persists what it
 * is given (the durability check of receiver/durable.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store_ingress.h"
#include "store_internal.h"

#define REJECT_ARGV_MAX 64

int store_reject(struct store *st, const char *const *fields, size_t maxlen)
{
    int rc;

    store_reject_many(st, 1, &fields, maxlen, &rc);
    return rc;
}

void store_reject_many(struct store *st, size_t count, const char *const *const *records,
                       size_t maxlen, int *rcs)
{
    char key[STORE_KEY_MAX], cap[24];
    const char **argvs = count ? malloc(count * REJECT_ARGV_MAX * sizeof *argvs) : NULL;
    size_t *lens = count ? malloc(count * REJECT_ARGV_MAX * sizeof *lens) : NULL;
    struct store_argv *cmds = count ? malloc(count * sizeof *cmds) : NULL;
    redisReply **replies = count ? calloc(count, sizeof *replies) : NULL;

    for (size_t k = 0; k < count; k++)
        rcs[k] = HOOKD_ENOMEM;
    if (!argvs || !lens || !cmds || !replies)
        goto out;
    if (store_key_global(st, key, sizeof key, "rejected") < 0) {
        for (size_t k = 0; k < count; k++)
            rcs[k] = HOOKD_ETOO_LARGE;
        goto out;
    }
    snprintf(cap, sizeof cap, "%zu", maxlen);
    for (size_t k = 0; k < count; k++) {
        const char **argv = argvs + k * REJECT_ARGV_MAX;
        size_t *len = lens + k * REJECT_ARGV_MAX;
        const char *const *fields = records[k];
        int n = 0; /* ADD_STR's */

        ADD_STR("XADD"), ADD_STR(key), ADD_STR("MAXLEN"), ADD_STR("~"), ADD_STR(cap), ADD_STR("*");
        for (size_t i = 0; fields[i] && fields[i + 1] && n + 2 <= REJECT_ARGV_MAX; i += 2)
            ADD_STR(fields[i]), ADD_STR(fields[i + 1]);
        cmds[k] = (struct store_argv){n, argv, len};
    }
    /* One write for all of them: a flood of bad signatures costs the
     * committer one round trip per batch, not one per record. */
    store_command_many(st, count, cmds, replies, rcs);
    for (size_t k = 0; k < count; k++) {
        if (replies[k])
            rcs[k] = replies[k]->type == REDIS_REPLY_ERROR ? HOOKD_EREDIS_REPLY : 0;
        freeReplyObject(replies[k]);
    }
out:
    free(argvs), free(lens), free(cmds), free(replies);
}

int store_aof_enabled(struct store *st, bool *on)
{
    const char *argv[2] = {"INFO", "persistence"};
    size_t len[2] = {4, 11};
    int rc;
    redisReply *r = store_command(st, 2, argv, len, &rc);
    const char *p;

    if (!r)
        return rc;
    rc = HOOKD_EREDIS_REPLY;
    if (r->type == REDIS_REPLY_STRING) {
        /* "...\r\naof_enabled:1\r\n...": one line of the section. */
        for (p = r->str; (p = strstr(p, "aof_enabled:")); p++)
            if (p == r->str || p[-1] == '\n') {
                *on = p[12] == '1';
                rc = 0;
                break;
            }
    }
    if (rc < 0)
        log_msg(LOG_WARN, EV_ERROR, "INFO persistence: no aof_enabled line in the reply");
    freeReplyObject(r);
    return rc;
}
