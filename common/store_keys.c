/*
 * store_keys.c — the one place hookd's Redis key names are spelled.
 * Every per-route key carries the hash tag {ROUTE} (see store.h).
 */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

int store_key_route(const struct store *st, char *buf, size_t cap, const char *route,
                    const char *what)
{
    int n = snprintf(buf, cap, "%s:{%s}:%s", st->prefix, route, what);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int store_key_seen(const struct store *st, char *buf, size_t cap, const char *route,
                   const char *source, const char *event_id, size_t event_id_len)
{
    int n = snprintf(buf, cap, "%s:{%s}:seen:%s:", st->prefix, route, source);

    if (n < 0 || (size_t)n + event_id_len >= cap)
        return -1;
    /* The id is length-delimited and may hold any byte: keys are binary-safe. */
    memcpy(buf + n, event_id, event_id_len);
    buf[n + event_id_len] = '\0';
    return n + (int)event_id_len;
}

int store_key_global(const struct store *st, char *buf, size_t cap, const char *what)
{
    int n = snprintf(buf, cap, "%s:%s", st->prefix, what);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
