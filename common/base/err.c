/*
 * err.c — messages for the codes of err.h. Thread-safe: no static buffers;
 * -errno values are named through strerrordesc_np()-free lookups via
 * strerror_r into a thread-local buffer.
 */
#define _GNU_SOURCE
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[] = {
#define HOOKD_ERR_MSG_(name, msg) msg,
    HOOKD_ERRORS(HOOKD_ERR_MSG_)
#undef HOOKD_ERR_MSG_
};

const char *hookd_strerror(int code)
{
    static _Thread_local char buf[128];
    int pos;

    if (code == 0)
        return "success";
    pos = -code - HOOKD_ERR_BASE;
    if (pos >= 0 && (size_t)pos < sizeof messages / sizeof messages[0])
        return messages[pos];
    if (code < 0 && -code < HOOKD_ERR_BASE)
        return strerror_r(-code, buf, sizeof buf); /* GNU variant: returns a string */
    return "unknown error";
}

int hookd_errf(int code, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
