/*
 * store_why.c — what the operator reads when Redis cannot be used: the
 * address that was tried and the cause (refused, timed out, auth failed,
 * READONLY...), kept per handle by the connection code (store.c,
 * store_sentinel.c) and printed by hookctl, the receiver's start and the
 * workers. The cause comes from hiredis's errstr or Redis's own error
 * reply; neither ever holds the password.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store_conn.h"

void store_address(const struct store *st, char *buf, size_t cap)
{
    if (st->nsentinels)
        snprintf(buf, cap, "sentinels for %s", st->master_name ? st->master_name : "?");
    else if (st->unix_path)
        snprintf(buf, cap, "unix:%s", st->unix_path);
    else if (strchr(st->host ? st->host : "", ':'))
        snprintf(buf, cap, "[%s]:%d", st->host, st->port);
    else
        snprintf(buf, cap, "%s:%d", st->host ? st->host : "?", st->port);
}

void store_why(struct store *st, const char *fmt, ...)
{
    char addr[96], cause[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    store_address(st, addr, sizeof addr);
    snprintf(st->why, sizeof st->why, "%.96s: %.150s", addr, cause);
}

const char *store_last_error(const struct store *st)
{
    return st->why;
}
