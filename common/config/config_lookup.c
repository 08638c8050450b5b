/*
 * config_lookup.c — lookups on a loaded config: a source or route by name,
 * and the route an event goes to (match list, then filters, else
 * "default"). Borrowed pointers, valid while the config is (config.h).
 */
#include "config.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "filter.h"

const struct source_cfg *config_source(const struct config *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->nsources; i++)
        if (strlen(cfg->sources[i].name) == len && memcmp(cfg->sources[i].name, name, len) == 0)
            return &cfg->sources[i];
    return NULL;
}

const struct route_cfg *config_route(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nroutes; i++)
        if (strcmp(cfg->routes[i].name, name) == 0)
            return &cfg->routes[i];
    return NULL;
}

const struct route_cfg *config_route_handler(const struct config *cfg, const char *name)
{
    const char *colon = strchr(name, ':');
    char route[CONFIG_NAME_MAX + 1];
    const struct route_cfg *r;

    if (!colon)
        return config_route(cfg, name);
    if ((size_t)(colon - name) > CONFIG_NAME_MAX)
        return NULL;
    memcpy(route, name, (size_t)(colon - name));
    route[colon - name] = '\0';
    if (!(r = config_route(cfg, route)))
        return NULL;
    for (size_t i = 0; i < r->nhandlers; i++)
        if (strcmp(r->handlers[i].label, colon + 1) == 0)
            return r;
    return NULL;
}

void config_handler_name(const struct route_cfg *r, size_t k, char *buf, size_t cap)
{
    if (k == 0 || k > r->nhandlers)
        snprintf(buf, cap, "%s", r->name);
    else
        snprintf(buf, cap, "%s:%s", r->name, r->handlers[k - 1].label);
}

const struct route_cfg *config_route_for(const struct config *cfg, const char *source,
                                         const char *type, struct extract_ctx *x)
{
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct route_cfg *r = &cfg->routes[i];
        bool matched = r->nmatch == 0 && r->nfilter > 0;
        for (size_t m = 0; !matched && m < r->nmatch; m++)
            matched = (strcmp(r->match[m].source, "*") == 0 ||
                       strcmp(r->match[m].source, source) == 0) &&
                      fnmatch(r->match[m].glob, type, 0) == 0;
        if (matched && (r->nfilter == 0 || (x && filter_all_hold(x, r->filter, r->nfilter))))
            return r;
    }
    return config_route(cfg, "default");
}
