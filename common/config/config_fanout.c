/*
 * config_fanout.c — a route's extra handlers (fan-out): `handler.LABEL = …`
 * beside `handler`. The plain `handler` is the route's handler labelled
 * "default"; each labelled one gets its own consumer group, attempts,
 * retries and dead letters (docs/workers.md, Fan-out).
 */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "err.h"

#define LABEL_MAX 32

/* [a-z0-9_-]{1,32}: a label goes into Redis key names and into
 * `hookd-worker -r ROUTE:LABEL`, so no ':', '{', '}' or spaces. */
static int valid_label(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > LABEL_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int config_set_route_handler(struct parse_ctx *c, const char *label, const char *val)
{
    struct route_cfg *r = c->target;
    struct route_handler *grown;

    if (!valid_label(label))
        return config_fail(c, "handler.LABEL",
                           "[route %s] label \"%.40s\" must be [a-z0-9_-]{1,32}", r->name, label);
    if (strcmp(label, "default") == 0)
        return config_fail(c, "handler.default",
                           "[route %s] \"default\" names the route's plain handler key", r->name);
    for (size_t i = 0; i < r->nhandlers; i++)
        if (strcmp(r->handlers[i].label, label) == 0)
            return config_fail(c, "handler.LABEL", "[route %s] duplicate label \"%s\"", r->name,
                               label);
    grown = realloc(r->handlers, (r->nhandlers + 1) * sizeof *grown);
    if (!grown)
        return config_fail(c, NULL, "out of memory");
    r->handlers = grown;
    struct route_handler *h = &grown[r->nhandlers];
    h->label = strdup(label);
    h->handler = strdup(val);
    h->line = c->line;
    if (!h->label || !h->handler) {
        free(h->label), free(h->handler);
        return config_fail(c, NULL, "out of memory");
    }
    r->nhandlers++;
    return 0;
}

static int runnable(const char *h)
{
    return strncmp(h, "exec:", 5) == 0 || strncmp(h, "http://", 7) == 0 ||
           strncmp(h, "https://", 8) == 0;
}

int config_check_fanout(struct parse_ctx *c, const struct route_cfg *r)
{
    int saved = c->line, rc = 0;

    for (size_t i = 0; i < r->nhandlers && rc == 0; i++) {
        const struct route_handler *h = &r->handlers[i];
        c->line = h->line;
        if (r->drop)
            rc = config_fail(c, "handler.LABEL",
                             "[route %s] is a drop route: it stores nothing for handler.%s to run",
                             r->name, h->label);
        else if (r->order_by.kind != FIELD_NONE)
            rc = config_fail(c, "handler.LABEL",
                             "[route %s] order_by and fan-out (handler.%s) cannot be combined: "
                             "use one route per ordered handler",
                             r->name, h->label);
        else if (!runnable(h->handler))
            rc = config_fail(c, "handler.LABEL",
                             "[route %s] handler.%s must be exec:PATH [ARGS] or an http(s):// URL",
                             r->name, h->label);
    }
    c->line = saved;
    return rc;
}

void config_free_fanout(struct route_cfg *r)
{
    for (size_t i = 0; i < r->nhandlers; i++)
        free(r->handlers[i].label), free(r->handlers[i].handler);
    free(r->handlers);
    r->handlers = NULL, r->nhandlers = 0;
}
