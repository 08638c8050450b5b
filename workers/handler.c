/*
 * handler.c — a route's handler text turned into something runnable, once
 * at start: "exec:PATH [ARGS]" split on spaces (no shell, no quoting, no
 * expansion: what the config says is exactly what runs) or an http(s) URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "runner.h"

static int parse_exec(const char *text, struct handler *h, char *err, size_t errlen)
{
    size_t argc = 0;
    char *p;

    if (!(h->argbuf = strdup(text))) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    for (p = h->argbuf; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (argc == HANDLER_MAX_ARGS) {
            snprintf(err, errlen, "handler has more than %d arguments", HANDLER_MAX_ARGS);
            return HOOKD_ECONFIG;
        }
        h->argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    h->argv[argc] = NULL;
    if (argc == 0) {
        snprintf(err, errlen, "handler exec: names no program");
        return HOOKD_ECONFIG;
    }
    return 0;
}

int handler_parse(const char *spec, struct handler *h, char *err, size_t errlen)
{
    int rc = HOOKD_ECONFIG;

    memset(h, 0, sizeof *h);
    if (strncmp(spec, "exec:", 5) == 0) {
        h->kind = HANDLER_EXEC;
        if ((rc = parse_exec(spec + 5, h, err, errlen)) == 0)
            return 0;
    } else if (strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0) {
        h->kind = HANDLER_HTTP;
        if (strpbrk(spec, " \t\r\n"))
            snprintf(err, errlen, "handler URL contains white space");
        else if (!(h->url = strdup(spec)))
            snprintf(err, errlen, "out of memory"), rc = HOOKD_ENOMEM;
        else
            return 0;
    } else {
        snprintf(err, errlen, "handler must be exec:PATH [ARGS] or an http(s):// URL");
    }
    handler_free(h);
    return rc;
}

void handler_free(struct handler *h)
{
    if (!h)
        return;
    free(h->argbuf);
    free(h->url);
    memset(h, 0, sizeof *h);
}
