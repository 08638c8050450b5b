/*
 * config_internal.h — shared by config.c (sections, validation, lifecycle)
 * and config_keys.c (the key table and value setters). Not for other modules.
 */
#ifndef HOOKD_CONFIG_INTERNAL_H
#define HOOKD_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define DEFAULT_RETRY_SCHEDULE "0s,10s,30s,60s,120s,300s,600s"

enum section { SEC_NONE, SEC_RECEIVER, SEC_REDIS, SEC_SOURCE, SEC_ROUTE };

struct parse_ctx {
    struct config *cfg;
    const char *file;
    int line;
    enum section sec;
    void *target; /* the struct the current section fills */
    uint64_t seen[2]; /* keys[] rows already set in this section: duplicates are errors */
    bool had_receiver, had_redis;
    bool skip_section; /* its header was bad: its keys are not checked */
    unsigned flags;    /* CONFIG_* of config_load_opts */
    int nerrors;       /* errors so far: every line is read, each error reported */
    int top_line[128];  /* per keys[] row of [receiver] and [redis]: the line that set it */
    char *err;
    size_t errlen;
};

typedef int (*setter_fn)(struct parse_ctx *c, void *field, const char *key, const char *val);

/* Appends "FILE:LINE: KEY: message" to c->err (one line per error, as
 * many as fit), counts it; returns -1. */
int config_fail(struct parse_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Applies one "key = value" of the current section through the key table. */
int config_set_key(struct parse_ctx *c, const char *key, const char *val);

/* The line where KEY of section SEC ([receiver] or [redis]) was set, for
 * the errors of checks made after reading (0: not in the file). */
int config_key_line(const struct parse_ctx *c, enum section sec, const char *key);

/* Sets a route's retry schedule from text (used for the default). */
int config_set_schedule(struct parse_ctx *c, struct route_cfg *r, const char *text);

/* The secret keys' setters (config_secrets.c), used by the key table. */
int config_set_secret_str(struct parse_ctx *c, void *f, const char *key, const char *val);
int config_set_secret_ref(struct parse_ctx *c, void *f, const char *key, const char *val);
int config_set_secret_version(struct parse_ctx *c, const char *key, const char *val);

/* Fan-out (config_fanout.c): a handler.LABEL key, and the route's checks. */
int config_set_route_handler(struct parse_ctx *c, const char *label, const char *val);
int config_check_fanout(struct parse_ctx *c, const struct route_cfg *r);
void config_free_fanout(struct route_cfg *r);

#endif
