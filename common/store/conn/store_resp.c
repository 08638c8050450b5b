/*
 * store_resp.c — a command as RESP into a connection's output buffer, in
 * one pass: what redisAppendCommandArgv does, without hiredis's formatting
 * of every argument through sdscatfmt and a growing string (a third of the
 * instructions of the receiver's enqueue step, whose batches carry a dozen
 * arguments per event). Every command of store.c goes this way.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "store_conn.h"

/* TYPE, the decimal digits of N, CRLF. */
static char *put_header(char *p, char type, size_t n)
{
    char digits[24], *end = digits + sizeof digits, *d = codec_dec_digits(end, n);

    *p++ = type;
    memcpy(p, d, (size_t)(end - d));
    p += end - d;
    *p++ = '\r', *p++ = '\n';
    return p;
}

int store_append_argv(redisContext *c, int argc, const char **argv, const size_t *len)
{
    size_t total = 24 + 3;
    char *buf, *p;
    int rc;

    for (int i = 0; i < argc; i++)
        total += 24 + 3 + len[i] + 2;
    if (argc < 0 || !(buf = malloc(total)))
        return REDIS_ERR;
    p = put_header(buf, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        p = put_header(p, '$', len[i]);
        memcpy(p, argv[i], len[i]);
        p += len[i];
        *p++ = '\r', *p++ = '\n';
    }
    rc = redisAppendFormattedCommand(c, buf, (size_t)(p - buf));
    free(buf);
    return rc;
}
