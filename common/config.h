/*
 * config.h — hookd's one INI file, parsed into an immutable struct config.
 *
 * Sections: [receiver], [redis], [source NAME]..., [route NAME]...; every key
 * is described once in config.c's key tables. A loaded config is never
 * modified: a reload builds a new one and the receiver swaps the pointer
 * (config_acquire/config_release keep the old one alive for requests still
 * using it).
 *
 * Ownership: config_load() returns a new config with refcount 1; every string
 * and array inside belongs to it and is freed by the last config_release().
 */
#ifndef HOOKD_CONFIG_H
#define HOOKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_NAME_MAX 64 /* source, route and secret-version names */
#define CONFIG_MAX_KEYS 16 /* secret versions per source */

struct scheme;

struct secret {
    char *version;      /* "v1", from the key name secret.v1 */
    unsigned char *key; /* HMAC key bytes (decoded where the scheme says so) */
    size_t key_len;
};

struct keyset {
    struct secret keys[CONFIG_MAX_KEYS];
    size_t n;
};

/* Where an event's id, type or tenant comes from. */
enum field_kind {
    FIELD_NONE = 0, /* unset: use the scheme default */
    FIELD_HEADER,   /* header:NAME */
    FIELD_JSON,     /* json:/pointer (RFC 6901) */
    FIELD_SHA256,   /* sha256 of the raw body (ids only) */
    FIELD_SOURCE,   /* the source's own name (tenants only) */
    FIELD_ANY_OF,   /* alternatives "A|B": arg holds the whole spec text */
};

struct field_spec {
    enum field_kind kind;
    char *arg; /* header name or JSON pointer; NULL otherwise */
};

enum mac_algo { MAC_SHA1, MAC_SHA256, MAC_SHA512 };
enum mac_encoding { ENC_HEX, ENC_BASE64 };

struct source_cfg {
    char *name;
    const struct scheme *scheme; /* static, from the scheme registry */
    struct keyset keys;
    size_t max_body;     /* bytes */
    int64_t tolerance_s; /* timestamp tolerance, both directions */
    struct field_spec id, type, tenant;
    double rate_limit; /* events per second, 0 = unlimited */
    int burst;
    /* scheme = hmac only */
    char *sig_header;      /* signature_header */
    enum mac_algo algo;    /* algorithm */
    enum mac_encoding enc; /* encoding */
    char *sig_prefix;      /* signature_prefix, e.g. "sha256=" (may be NULL) */
    char *ts_header;       /* timestamp_header (may be NULL) */
    char *signed_content;  /* template: {body} {timestamp} {id}; default "{body}" */
    int line;              /* where the section starts, for messages */
};

struct route_match {
    char *source; /* exact source name, or "*" */
    char *glob;   /* fnmatch(3) pattern on the event type */
};

enum route_priority { PRIORITY_LOW = 0, PRIORITY_NORMAL = 1, PRIORITY_HIGH = 2 };

/* How an exec: handler runs: one process per event, or one long-lived
 * process per worker thread fed event after event (workers/runner_persistent.c). */
enum exec_mode { EXEC_SPAWN = 0, EXEC_PERSISTENT = 1 };

struct route_cfg {
    char *name;
    struct route_match *match;
    size_t nmatch;
    enum route_priority priority;
    char *handler; /* "exec:PATH ARGS" or an http(s):// URL */
    enum exec_mode exec_mode;
    int exec_mode_line; /* where exec_mode was set (0: not set), for messages */
    int max_attempts;
    int64_t *retry_schedule_ms;
    size_t nschedule;
    int64_t max_backoff_ms;
    int64_t handler_timeout_ms;
    int64_t visibility_timeout_ms;
    int *permanent_exit_codes;
    size_t npermanent;
    int64_t high_watermark; /* per route; 0 = the receiver's */
    int line;
};

struct receiver_cfg {
    char *listen;       /* host:port */
    char *admin_listen; /* host:port, "" disables */
    char *admin_token;  /* secret; NULL = admin API refused */
    size_t max_body;
    int64_t high_watermark;
    int64_t low_watermark;
    unsigned threads; /* libmicrohttpd thread pool */
    bool epoll;       /* polling = epoll (default poll) */
    unsigned max_connections;
    size_t connection_memory_limit; /* bytes per connection */
    int64_t connection_timeout_s;   /* idle/slow peer timeout */
    unsigned max_concurrent_requests;
    int64_t retry_after_s;  /* Retry-After on 503 */
    char **trusted_proxies; /* addresses whose X-Forwarded-For is believed */
    size_t ntrusted_proxies;
    char *log_level;
    char *user;             /* drop privileges to this user when root */
    size_t rejected_maxlen; /* cap of the rejected stream */
};

struct redis_cfg {
    char *url; /* redis://host:port/db or unix:/path */
    char *prefix;
    int64_t dedupe_ttl_s;
    int64_t timeout_ms; /* connect and command timeout */
    int wait_replicas;
    int64_t wait_timeout_ms;
    char **sentinels;
    size_t nsentinels;
    char *master_name;
    char *password; /* secret */
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
 * Loads and validates PATH. On failure returns NULL and writes one sentence
 * naming file:line and the key into err. Never prints secrets.
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Same, from a string (tests, fuzzing); NAME stands for the file in messages. */
struct config *config_parse(const char *name, const char *text, size_t len, char *err,
                            size_t errlen);

/* Reference counting, thread-safe. config_release(NULL) does nothing. */
struct config *config_ref(struct config *cfg);
void config_release(struct config *cfg);

/* Lookups; borrowed pointers valid while the config is. NULL when absent. */
const struct source_cfg *config_source(const struct config *cfg, const char *name, size_t len);
const struct route_cfg *config_route(const struct config *cfg, const char *name);

/* The route an event goes to: first route whose match list matches, else
 * "default". Never NULL for a validated config (it requires route default). */
const struct route_cfg *config_route_for(const struct config *cfg, const char *source,
                                         const char *type);

/* Duration text ("30s", "250ms", "2h", "90") to milliseconds; -1 if malformed. */
int64_t config_parse_duration_ms(const char *s, size_t len);

#endif
