/*
 * runners.c — the table of runners (runner.h): which function runs a
 * route's handler, chosen once per route at start from the handler's kind
 * and the route's exec_mode. A new kind of handler: its runner_KIND.c, its
 * text in handler.c, one row here.
 */
#include "runner.h"

static const struct runner runners[] = {
    {"exec", HANDLER_EXEC, EXEC_SPAWN, false, runner_exec},
    {"persistent", HANDLER_EXEC, EXEC_PERSISTENT, false, runner_persistent},
    {"http", HANDLER_HTTP, EXEC_SPAWN, true, runner_http},
};

const struct runner *runner_for(const struct handler *h, enum exec_mode mode)
{
    /* exec_mode applies to exec: handlers only (the config says so) */
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++)
        if (runners[i].kind == h->kind && (h->kind != HANDLER_EXEC || runners[i].mode == mode))
            return &runners[i];
    return &runners[0];
}
