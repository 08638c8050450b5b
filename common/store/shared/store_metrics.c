/*
 * store_metrics.c — the handler-duration histogram in P:{ROUTE}:handler_hist
 * (see store_shared.h). Bucket field names carry the bound as text so that
 * `redis-cli HGETALL` is readable and the reader needs no schema version.
 */
#include "store_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "metrics.h"
#include "store_internal.h"

const double store_handler_bounds_s[STORE_HANDLER_NBOUNDS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

static bool valid_result(const char *r)
{
    size_t n = r ? strlen(r) : 0;

    if (n == 0 || n > STORE_HANDLER_RESULT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || r[i] == '_'))
            return false;
    return true;
}

void store_handler_sample(struct store_handler_sample *s, const char *result, double seconds)
{
    char le[40];
    size_t i;

    if (!valid_result(result))
        result = "other";
    if (seconds < 0 || seconds != seconds)
        seconds = 0;
    i = metrics_bucket_index(store_handler_bounds_s, STORE_HANDLER_NBOUNDS, seconds);
    if (i < STORE_HANDLER_NBOUNDS)
        metrics_format_value(store_handler_bounds_s[i], le, sizeof le);
    else
        snprintf(le, sizeof le, "+Inf");
    snprintf(s->bucket_field, sizeof s->bucket_field, "%s:le=%s", result, le);
    snprintf(s->sum_field, sizeof s->sum_field, "%s:sum_us", result);
    s->sum_us = (long long)(seconds * 1e6 + 0.5);
}

/* strcmp of a NUL-terminated word with a length-delimited one. */
static int word_cmp(const char *a, const char *b, size_t bn)
{
    size_t an = strlen(a);
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* The entry for RESULT in out[0..*n), inserted in order if new and there
 * is room; NULL otherwise. */
static struct store_handler_hist *hist_for(struct store_handler_hist *out, size_t cap, size_t *n,
                                           const char *result, size_t rlen)
{
    size_t i;

    if (rlen == 0 || rlen > STORE_HANDLER_RESULT_MAX)
        return NULL;
    for (i = 0; i < *n; i++) {
        int c = word_cmp(out[i].result, result, rlen);
        if (c == 0)
            return &out[i];
        if (c > 0)
            break;
    }
    if (*n == cap)
        return NULL;
    memmove(&out[i + 1], &out[i], (*n - i) * sizeof *out);
    memset(&out[i], 0, sizeof out[i]);
    memcpy(out[i].result, result, rlen);
    (*n)++;
    return &out[i];
}

static void read_field(struct store_handler_hist *out, size_t cap, size_t *n, const char *f,
                       const char *v)
{
    const char *colon = strchr(f, ':');
    struct store_handler_hist *h;
    char le[40];

    if (!colon || !(h = hist_for(out, cap, n, f, (size_t)(colon - f))))
        return;
    unsigned long long val = strtoull(v, NULL, 10);
    if (strcmp(colon + 1, "sum_us") == 0) {
        h->sum_s = (double)val / 1e6;
        return;
    }
    if (strncmp(colon + 1, "le=", 3) != 0)
        return;
    if (strcmp(colon + 4, "+Inf") == 0) {
        h->counts[STORE_HANDLER_NBOUNDS] = val;
        return;
    }
    for (size_t i = 0; i < STORE_HANDLER_NBOUNDS; i++) {
        metrics_format_value(store_handler_bounds_s[i], le, sizeof le);
        if (strcmp(colon + 4, le) == 0)
            h->counts[i] = val;
    }
}

int store_handler_hist_read(struct store *st, const char *route, struct store_handler_hist *out,
                            size_t cap, size_t *n)
{
    char key[STORE_KEY_MAX];
    const char *argv[2] = {"HGETALL", key};
    size_t len[2] = {7, 0};
    int rc;
    redisReply *r;

    *n = 0;
    if ((rc = store_key_route(st, key, sizeof key, route, STORE_HANDLER_HIST_KEY)) < 0)
        return HOOKD_ETOO_LARGE;
    len[1] = (size_t)rc;
    if (!(r = store_command(st, 2, argv, len, &rc)))
        return rc;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return HOOKD_EREDIS_REPLY;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            read_field(out, cap, n, r->element[i]->str, r->element[i + 1]->str);
    freeReplyObject(r);
    return 0;
}

/*
 * The route figures (hookd_route_*) are Redis-wide: every receiver reads
 * the same values, so if each exported them, sum() over receivers would
 * count them once per receiver. One receiver at a time exports them: the
 * holder of P:metrics_exporter, taken with SET NX and renewed at each of
 * its scrapes; when it stops scraping, the key expires and the next
 * receiver scraped takes over.
 */
int store_metrics_lease(struct store *st, const char *holder, int64_t ttl_ms, bool *held)
{
    char key[STORE_KEY_MAX], ttl[24];
    const char *set[6] = {"SET", key, holder, "PX", ttl, "NX"}, *get[2] = {"GET", key};
    size_t len[6];
    int rc;
    redisReply *r;

    *held = false;
    if (store_key_global(st, key, sizeof key, "metrics_exporter") < 0)
        return HOOKD_ETOO_LARGE;
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    for (int i = 0; i < 6; i++)
        len[i] = strlen(set[i]);
    if (!(r = store_command(st, 6, set, len, &rc)))
        return rc;
    *held = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (*held)
        return 0;
    size_t glen[2] = {3, len[1]};
    if (!(r = store_command(st, 2, get, glen, &rc)))
        return rc;
    *held = r->type == REDIS_REPLY_STRING && strcmp(r->str, holder) == 0;
    freeReplyObject(r);
    if (!*held)
        return 0;
    /* ours: renew it (SET without NX; XX would fail only if it expired
     * just now, and then it is as much ours as anyone's) */
    if (!(r = store_command(st, 5, set, len, &rc)))
        return rc;
    freeReplyObject(r);
    return 0;
}
