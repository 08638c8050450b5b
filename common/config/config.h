/*
 * config.h — hookd's one INI file, parsed into an immutable struct config.
 *
 * Sections: [receiver], [redis], [source NAME]... (source.h), [route
 * NAME]...; every key is in config_keys.c's table. A loaded config is never
 * modified: a reload builds a new one and the receiver swaps the pointer
 * (config_ref/config_release keep the old one alive while in use).
 *
 * Ownership: config_load() returns a new config with refcount 1; all inside
 * belongs to it and is freed by the last config_release().
 */
#ifndef HOOKD_CONFIG_H
#define HOOKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

#define CONFIG_NAME_MAX 64 /* source, route and secret-version names */

struct route_match { char *source, *glob; }; /* exact source name or "*"; type glob */

struct route_filter; /* filter.h */
enum route_priority { PRIORITY_LOW = 0, PRIORITY_NORMAL = 1, PRIORITY_HIGH = 2 };
struct route_handler { char *label, *handler; int line; }; /* handler.LABEL = … */

/* exec: one process per event, or one per worker thread (runner_persistent.c) */
enum exec_mode { EXEC_SPAWN = 0, EXEC_PERSISTENT = 1 };

struct route_cfg {
    char *name;
    struct route_match *match;
    size_t nmatch;
    struct route_filter *filter; /* all must hold (filter.h); checked after match */
    size_t nfilter;
    enum route_priority priority;
    char *handler; /* "exec:PATH ARGS", an http(s):// URL, or "drop" */
    bool drop;     /* handler = drop: answered and counted, never stored */
    struct route_handler *handlers; size_t nhandlers; /* fan-out, in file order */
    enum exec_mode exec_mode;
    int exec_mode_line; /* where exec_mode was set (0: not set), for messages */
    int max_attempts;
    int64_t *retry_schedule_ms;
    size_t nschedule;
    int64_t max_backoff_ms;
    int64_t handler_timeout_ms;
    int64_t visibility_timeout_ms; int worker_batch; /* entries a worker read may take */
    int *permanent_exit_codes;
    size_t npermanent;
    int64_t high_watermark; /* per route; 0 = the receiver's */
    struct field_spec order_by; /* FIELD_NONE: events of the route run in any order */
    bool order_hold_on_dead;    /* order_on_dead = hold (default continue) */
    int line;
};

struct receiver_cfg {
    char *listen;       /* host:port */
    char *admin_listen; /* host:port, "" disables */
    char *admin_token;  /* secret; NULL = admin API refused */
    size_t max_body;
    int64_t high_watermark, low_watermark;
    unsigned threads; /* libmicrohttpd thread pool */
    bool epoll;       /* polling = epoll (default poll) */
    unsigned max_connections;
    size_t connection_memory_limit; /* bytes per connection */
    int64_t connection_timeout_s;   /* idle/slow peer timeout */
    unsigned max_concurrent_requests;
    int64_t retry_after_s;  /* Retry-After on 503 */
    struct cidr_set trusted_proxies; /* peers whose X-Forwarded-For is believed */
    char *log_level;
    char *user;             /* drop privileges to this user when root */
    size_t rejected_maxlen; /* cap of the rejected stream */
};

struct redis_cfg {
    char *url; /* redis://host:port/db or unix:/path */
    char *prefix;
    int64_t dedupe_ttl_s, timeout_ms; /* timeout: connect and command */
    int wait_replicas;
    char **sentinels;
    size_t nsentinels;
    char *master_name;
    char *password;       /* secret */
    bool require_durable; /* 503, /readyz failing while AOF is off */
    int64_t wait_timeout_ms, durable_check_ms; /* WAIT's; how often INFO persistence is read */
};

struct config {
    char *path;
    struct receiver_cfg receiver;
    struct redis_cfg redis;
    struct source_cfg *sources;
    size_t nsources;
    struct route_cfg *routes;
    size_t nroutes;
    char **secret_env; /* names of the env: variables secrets came from */
    size_t nsecret_env;
    int refs; /* atomic; see config_acquire */
};

/*
 * Loads and validates PATH. On failure returns NULL and writes into err
 * every error found, one line each ("file:line: key: reason"; as many as
 * fit). Never prints secrets. config_parse: the same from a string (tests,
 * fuzzing; NAME stands for the file). The _opts forms take flags:
 * CONFIG_SKIP_SECRETS leaves admin_token and secret.VERSION unread (NULL),
 * for hookctl's commands and workers that need none; CONFIG_RELOAD (a
 * SIGHUP) says, of a missing env: secret, that only file: ones can change.
 */
#define CONFIG_SKIP_SECRETS 1u
#define CONFIG_RELOAD 2u
struct config *config_load(const char *path, char *err, size_t errlen);
struct config *config_parse(const char *name, const char *text, size_t len, char *err,
                            size_t errlen);
struct config *config_load_opts(const char *path, unsigned flags, char *err, size_t errlen);
struct config *config_parse_opts(const char *name, const char *text, size_t len,
                                 unsigned flags, char *err, size_t errlen);

/* Reference counting, thread-safe. config_release(NULL) does nothing. */
struct config *config_ref(struct config *cfg);
void config_release(struct config *cfg);
/* Lookups, borrowed while the config lives; NULL when absent. */
const struct source_cfg *config_source(const struct config *cfg, const char *name, size_t len);
const struct route_cfg *config_route(const struct config *cfg, const char *name);
/* NAME "ROUTE" or "ROUTE:LABEL" (one of its handler.LABEL keys): the route.
 * config_handler_name: the K-th (0..nhandlers) handler's name, ROUTE or ROUTE:LABEL. */
const struct route_cfg *config_route_handler(const struct config *cfg, const char *name);
void config_handler_name(const struct route_cfg *r, size_t k, char *buf, size_t cap);

/* The route an event goes to: the first route whose match list matches
 * (every event, for a route with filters and no match) and whose filters
 * all hold for the request in x, else "default". Never NULL for a
 * validated config (it requires route default, which has no filters). */
struct extract_ctx;
const struct route_cfg *config_route_for(const struct config *cfg, const char *source,
                                         const char *type, struct extract_ctx *x);

/* The API credential of SRC (its api_token resolved now: literal, env: or
 * file:). 0 with *out malloc'd (the caller wipes and frees it:
 * config_secret_free); HOOKD_ECONFIG with a sentence (never the secret) in
 * err when the key is absent or does not resolve. */
int config_api_token(const struct source_cfg *src, char **out, size_t *len, char *err,
                     size_t errlen);
void config_secret_free(void *p, size_t n); /* wipes and frees secret bytes; NULL: nothing */
/* Duration text ("30s", "250ms", "2h", "90") to milliseconds; HOOKD_EPARSE if malformed. */
int64_t config_parse_duration_ms(const char *s, size_t len);

#endif
