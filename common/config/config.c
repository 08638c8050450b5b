/*
 * config.c — the INI parser and validator for hookd's one config file.
 *
 * Every key is listed once, in config_keys.c's table, with its section, type
 * and destination; parsing a line is a table lookup, never an if-chain. After
 * the whole file is read, validate() fills defaults that depend on other
 * keys and checks cross-references (routes name known sources, route
 * "default" exists). Errors name file:line and the key; secrets never appear
 * in them.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "filter.h"
#include <openssl/evp.h>

#include "config_internal.h"
#include "config_perms.h"
#include "config_values.h"
#include "err.h"
#include "redis_url.h"
#include "scheme.h"

#define CONFIG_FILE_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_SOURCES 256
#define CONFIG_MAX_ROUTES 256

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_ADMIN_LISTEN "127.0.0.1:9090"
#define DEFAULT_MAX_BODY_BYTES (1024 * 1024)
#define DEFAULT_HIGH_WATERMARK 100000
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_CONN_MEMORY_BYTES (16 * 1024)
#define DEFAULT_CONN_TIMEOUT_S 10
#define DEFAULT_RETRY_AFTER_S 5
#define DEFAULT_REJECTED_MAXLEN 10000
#define DEFAULT_REDIS_URL "redis://127.0.0.1:6379/0"
#define DEFAULT_PREFIX "hookd"
#define DEFAULT_DEDUPE_TTL_S 604800
#define DEFAULT_REDIS_TIMEOUT_MS 2000
#define DEFAULT_WAIT_TIMEOUT_MS 1000
#define DEFAULT_DURABLE_CHECK_MS 30000 /* SPEC: INFO persistence every 30 s */
#define DEFAULT_TOLERANCE_S 300
#define DEFAULT_MAX_ATTEMPTS 8
#define DEFAULT_MAX_BACKOFF_MS (3600 * 1000)
#define DEFAULT_HANDLER_TIMEOUT_MS (30 * 1000)
#define DEFAULT_VISIBILITY_TIMEOUT_MS (60 * 1000)
#define DEFAULT_WORKER_BATCH 16 /* entries per worker read at most (route worker_batch) */

/* ------------------------------------------------------------- sections */

static void source_defaults(struct source_cfg *s)
{
    s->tolerance_s = 0; /* the scheme's default, set in validate_source */
    s->algo = MAC_SHA256;
    s->enc = ENC_HEX;
}

static void route_defaults(struct route_cfg *r)
{
    r->priority = PRIORITY_NORMAL;
    r->max_attempts = DEFAULT_MAX_ATTEMPTS;
    r->max_backoff_ms = DEFAULT_MAX_BACKOFF_MS;
    r->handler_timeout_ms = DEFAULT_HANDLER_TIMEOUT_MS;
    r->visibility_timeout_ms = DEFAULT_VISIBILITY_TIMEOUT_MS;
    r->worker_batch = DEFAULT_WORKER_BATCH;
}

static int open_named_section(struct parse_ctx *c, enum section sec, const char *name,
                              size_t nlen)
{
    struct config *cfg = c->cfg;

    if (!cv_valid_name(name, nlen))
        return config_fail(c, NULL, "section name \"%.*s\" must be [A-Za-z0-9_.-]{1,64}",
                    (int)(nlen > 64 ? 64 : nlen), name);
    if (sec == SEC_SOURCE) {
        if (config_source(cfg, name, nlen))
            return config_fail(c, NULL, "duplicate [source %.*s]", (int)nlen, name);
        if (cfg->nsources >= CONFIG_MAX_SOURCES)
            return config_fail(c, NULL, "too many sources");
        struct source_cfg *grown = realloc(cfg->sources, (cfg->nsources + 1) * sizeof *grown);
        if (!grown)
            return config_fail(c, NULL, "out of memory");
        cfg->sources = grown;
        struct source_cfg *s = memset(&grown[cfg->nsources++], 0, sizeof *s);
        source_defaults(s);
        s->line = c->line;
        s->name = strndup(name, nlen);
        c->target = s;
        return s->name ? 0 : config_fail(c, NULL, "out of memory");
    }
    char tmp[CONFIG_NAME_MAX + 1];
    memcpy(tmp, name, nlen);
    tmp[nlen] = '\0';
    if (config_route(cfg, tmp))
        return config_fail(c, NULL, "duplicate [route %s]", tmp);
    if (cfg->nroutes >= CONFIG_MAX_ROUTES)
        return config_fail(c, NULL, "too many routes");
    struct route_cfg *grown = realloc(cfg->routes, (cfg->nroutes + 1) * sizeof *grown);
    if (!grown)
        return config_fail(c, NULL, "out of memory");
    cfg->routes = grown;
    struct route_cfg *r = memset(&grown[cfg->nroutes++], 0, sizeof *r);
    route_defaults(r);
    r->line = c->line;
    r->name = strdup(tmp);
    c->target = r;
    return r->name ? 0 : config_fail(c, NULL, "out of memory");
}

/* "[receiver]", "[redis]", "[source NAME]", "[route NAME]" */
static int parse_section(struct parse_ctx *c, const char *p, size_t n)
{
    const char *end = memchr(p, ']', n);

    if (!end || end != p + n - 1)
        return config_fail(c, NULL, "malformed section header");
    p++, n -= 2;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    while (n && isspace((unsigned char)*p))
        p++, n--;
    c->seen[0] = c->seen[1] = 0;
    if (n == 8 && memcmp(p, "receiver", 8) == 0) {
        if (c->had_receiver)
            return config_fail(c, NULL, "duplicate [receiver]");
        c->had_receiver = true;
        c->sec = SEC_RECEIVER, c->target = &c->cfg->receiver;
        return 0;
    }
    if (n == 5 && memcmp(p, "redis", 5) == 0) {
        if (c->had_redis)
            return config_fail(c, NULL, "duplicate [redis]");
        c->had_redis = true;
        c->sec = SEC_REDIS, c->target = &c->cfg->redis;
        return 0;
    }
    enum section sec = SEC_NONE;
    size_t skip = 0;
    if (n > 7 && memcmp(p, "source", 6) == 0 && isspace((unsigned char)p[6]))
        sec = SEC_SOURCE, skip = 7;
    else if (n > 6 && memcmp(p, "route", 5) == 0 && isspace((unsigned char)p[5]))
        sec = SEC_ROUTE, skip = 6;
    if (sec == SEC_NONE)
        return config_fail(c, NULL, "unknown section [%.*s]", (int)(n > 60 ? 60 : n), p);
    p += skip, n -= skip;
    while (n && isspace((unsigned char)*p))
        p++, n--;
    c->sec = sec;
    return open_named_section(c, sec, p, n);
}

static int parse_key_value(struct parse_ctx *c, char *line)
{
    char *eq = strchr(line, '=');
    char *key = line, *val, *kend;

    if (!eq)
        return config_fail(c, NULL, "expected key = value");
    kend = eq;
    while (kend > key && isspace((unsigned char)kend[-1]))
        kend--;
    *kend = '\0';
    val = eq + 1;
    while (isspace((unsigned char)*val))
        val++;
    /* An inline comment starts with ';' or '#' after whitespace. */
    for (char *q = val; *q; q++)
        if ((*q == ';' || *q == '#') && q > val && isspace((unsigned char)q[-1])) {
            *q = '\0';
            break;
        }
    size_t vlen = strlen(val);
    while (vlen && isspace((unsigned char)val[vlen - 1]))
        val[--vlen] = '\0';
    if (c->sec == SEC_NONE)
        return config_fail(c, key, "key outside of any section");
    if (!*key)
        return config_fail(c, NULL, "empty key");
    if (!*val)
        return config_fail(c, key, "empty value");
    return config_set_key(c, key, val);
}

/* ----------------------------------------------------------- validation */

static int dup_default(char **dst, const char *def)
{
    if (!*dst && !(*dst = strdup(def)))
        return HOOKD_ENOMEM;
    return 0;
}

/* Half the CPUs, at least one: the pool threads share the machine with
 * Redis, the proxy and the kernel's network work; on 2 cores one pool
 * thread measured 15-25 % faster than four (docs/performance.md). */
static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n >= 4 ? (unsigned)(n / 2) : 1;
}

static int receiver_defaults(struct config *cfg)
{
    struct receiver_cfg *r = &cfg->receiver;
    struct redis_cfg *d = &cfg->redis;

    if (!r->max_body) r->max_body = DEFAULT_MAX_BODY_BYTES;
    if (!r->high_watermark) r->high_watermark = DEFAULT_HIGH_WATERMARK;
    if (!r->low_watermark) r->low_watermark = r->high_watermark * 9 / 10;
    if (!r->threads) r->threads = default_threads();
    if (!r->max_connections) r->max_connections = DEFAULT_MAX_CONNECTIONS;
    if (!r->connection_memory_limit) r->connection_memory_limit = DEFAULT_CONN_MEMORY_BYTES;
    if (!r->connection_timeout_s) r->connection_timeout_s = DEFAULT_CONN_TIMEOUT_S;
    /* every connection may have one request waiting on the group commit */
    if (!r->max_concurrent_requests)
        r->max_concurrent_requests = r->max_connections;
    if (!r->retry_after_s) r->retry_after_s = DEFAULT_RETRY_AFTER_S;
    if (!r->rejected_maxlen) r->rejected_maxlen = DEFAULT_REJECTED_MAXLEN;
    if (!d->dedupe_ttl_s) d->dedupe_ttl_s = DEFAULT_DEDUPE_TTL_S;
    if (!d->timeout_ms) d->timeout_ms = DEFAULT_REDIS_TIMEOUT_MS;
    if (!d->wait_timeout_ms) d->wait_timeout_ms = DEFAULT_WAIT_TIMEOUT_MS;
    if (!d->durable_check_ms) d->durable_check_ms = DEFAULT_DURABLE_CHECK_MS;
    if (dup_default(&r->listen, DEFAULT_LISTEN) || dup_default(&r->admin_listen, DEFAULT_ADMIN_LISTEN) ||
        dup_default(&r->log_level, "info") || dup_default(&d->url, DEFAULT_REDIS_URL) ||
        dup_default(&d->prefix, DEFAULT_PREFIX))
        return HOOKD_ENOMEM;
    return 0;
}

/* Scheme-specific keys set on a source whose scheme does not read them
 * (each reported), or missing where it needs them. */
static int check_scheme_keys(struct parse_ctx *c, const struct source_cfg *s)
{
    const char *name = s->scheme->name;
    bool hmac = strcmp(name, "hmac") == 0;
    int before = c->nerrors;

    if (hmac && !s->sig_header)
        config_fail(c, "signature_header", "[source %s] (scheme hmac) needs signature_header",
                    s->name);
    if (!hmac && s->ts_format != TS_SECONDS)
        config_fail(c, "timestamp_format", "[source %s] applies to scheme hmac only", s->name);
    if (strcmp(name, "twilio") == 0 && !s->public_url)
        config_fail(c, "public_url",
                    "[source %s] (scheme twilio) needs public_url, the exact URL Twilio calls",
                    s->name);
    if (s->public_url && !hmac && strcmp(name, "twilio") != 0)
        config_fail(c, "public_url", "[source %s] applies to schemes twilio and hmac only", s->name);
    if (s->verify_token && strcmp(name, "meta") != 0)
        config_fail(c, "verify_token", "[source %s] applies to scheme meta only", s->name);
    if (s->token_header && strcmp(name, "token") != 0)
        config_fail(c, "token_header", "[source %s] applies to scheme token only", s->name);
    return c->nerrors > before ? HOOKD_ECONFIG : 0;
}

/* Each key's text into what the scheme verifies with: a public key parsed
 * once (EVP), a secret decoded where the scheme encodes it. Errors name
 * the key's own line and what is wrong. */
static int prepare_keys(struct parse_ctx *c, struct source_cfg *s)
{
    unsigned kinds = s->scheme->keys ? s->scheme->keys : SCHEME_KEY_SECRET;

    for (size_t i = 0; i < s->keys.n; i++) {
        struct secret *k = &s->keys.keys[i];
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        char msg[200], key[80];

        c->line = k->line;
        snprintf(key, sizeof key, "%s.%s", k->is_public ? "public_key" : "secret", k->version);
        if (k->is_public && !(kinds & SCHEME_KEY_PUBLIC))
            return config_fail(c, key,
                               "[source %s] scheme %s verifies with secret.VERSION (a shared "
                               "secret), not a public key",
                               s->name, s->scheme->name);
        if (!k->is_public && !(kinds & SCHEME_KEY_SECRET))
            return config_fail(c, key,
                               "[source %s] scheme %s verifies with public_key.VERSION (the "
                               "provider's public key), not a secret",
                               s->name, s->scheme->name);
        if (!k->key)
            continue; /* not loaded (CONFIG_SKIP_SECRETS) */
        if (k->is_public) {
            if (s->scheme->parse_public_key((const char *)k->key, k->key_len, k, msg, sizeof msg) <
                0)
                return config_fail(c, key, "[source %s] %s", s->name, msg);
            config_secret_free(k->key, k->key_len);
            k->key = NULL, k->key_len = 0;
            continue;
        }
        if (!s->scheme->decode_key)
            continue;
        if (s->scheme->decode_key((const char *)k->key, k->key_len, &raw, &rawlen) < 0)
            return config_fail(c, key, "[source %s] is not a valid %s secret%s", s->name,
                               s->scheme->name,
                               k->key_len > 5 && memcmp(k->key, "whpk_", 5) == 0
                                   ? " (whpk_ is a public key: configure it as public_key.VERSION)"
                                   : "");
        config_secret_free(k->key, k->key_len);
        k->key = raw, k->key_len = rawlen;
    }
    return 0;
}

static int validate_source(struct parse_ctx *c, struct source_cfg *s)
{
    int before = c->nerrors;

    c->line = s->line;
    if (!s->scheme)
        return config_fail(c, "scheme", "[source %s] needs a scheme (one of %s)", s->name,
                           scheme_names());
    if (s->keys.n == 0)
        config_fail(c, NULL,
                    "[source %s] needs at least one secret.VERSION (or, for a public-key "
                    "scheme, public_key.VERSION) key",
                    s->name);
    check_scheme_keys(c, s);
    if (c->nerrors > before) /* the rest reads what these checked */
        return HOOKD_ECONFIG;
    if (!s->max_body)
        s->max_body = c->cfg->receiver.max_body;
    if (s->burst == 0 && s->rate_limit > 0)
        s->burst = s->rate_limit < 1 ? 1 : (int)s->rate_limit;
    if (!s->tolerance_s)
        s->tolerance_s =
            s->scheme->default_tolerance_s ? s->scheme->default_tolerance_s : DEFAULT_TOLERANCE_S;
    if (!s->signed_content &&
        !(s->signed_content = strdup(s->ts_header ? "{timestamp}.{body}" : "{body}")))
        return config_fail(c, NULL, "out of memory");
    if (s->scheme->check) {
        char msg[256];
        if (s->scheme->check(s, msg, sizeof msg) < 0)
            return config_fail(c, "signed_content", "[source %s] %s", s->name, msg);
    }
    return prepare_keys(c, s);
}

/* Every error of the route is reported (not only its first): they are
 * independent once it has a handler. */
static int validate_route(struct parse_ctx *c, struct route_cfg *r)
{
    int before = c->nerrors;

    c->line = r->line;
    if (!r->handler)
        return config_fail(c, "handler", "[route %s] needs a handler", r->name);
    r->drop = strcmp(r->handler, "drop") == 0;
    if (r->order_by.kind == FIELD_SHA256 || r->order_by.kind == FIELD_SOURCE)
        config_fail(c, "order_by", "[route %s] orders by header:NAME or json:/pointer", r->name);
    if (r->nfilter && strcmp(r->name, "default") == 0)
        config_fail(c, "filter", "[route default] takes what no other route takes: it "
                                 "cannot have filters");
    if (!r->drop && strncmp(r->handler, "exec:", 5) != 0 && strncmp(r->handler, "http://", 7) != 0 &&
        strncmp(r->handler, "https://", 8) != 0)
        config_fail(c, "handler", "[route %s] handler must be exec:PATH [ARGS], an http(s):// URL or drop",
                    r->name);
    if (r->exec_mode_line && strncmp(r->handler, "exec:", 5) != 0) {
        c->line = r->exec_mode_line;
        config_fail(c, "exec_mode", "[route %s] applies to exec: handlers only", r->name);
        c->line = r->line;
    }
    for (size_t i = 0; i < r->nmatch; i++)
        if (strcmp(r->match[i].source, "*") != 0 &&
            !config_source(c->cfg, r->match[i].source, strlen(r->match[i].source)))
            config_fail(c, "match", "[route %s] names unknown source \"%s\"", r->name,
                        r->match[i].source);
    config_check_fanout(c, r);
    if (!r->retry_schedule_ms)
        config_set_schedule(c, r, DEFAULT_RETRY_SCHEDULE);
    if (!r->high_watermark)
        r->high_watermark = c->cfg->receiver.high_watermark;
    return c->nerrors > before ? HOOKD_ECONFIG : 0;
}

/* The one check of a Redis URL (redis_url.c), the store's own parser: a
 * URL that --check accepts is one that the receiver, the worker and
 * hookctl can all connect with. */
static void validate_redis_url(struct parse_ctx *c)
{
    struct redis_url u;
    char msg[200];

    c->line = config_key_line(c, SEC_REDIS, "url");
    if (redis_url_parse(c->cfg->redis.url, &u, msg, sizeof msg) < 0) {
        config_fail(c, "url", "%s", msg);
        return;
    }
    redis_url_free(&u);
}

static int validate(struct parse_ctx *c)
{
    struct config *cfg = c->cfg;

    if (receiver_defaults(cfg) < 0)
        return config_fail(c, NULL, "out of memory");
    if (cfg->receiver.low_watermark > cfg->receiver.high_watermark) {
        c->line = config_key_line(c, SEC_RECEIVER, "low_watermark");
        config_fail(c, "low_watermark", "must not exceed high_watermark (%lld)",
                    (long long)cfg->receiver.high_watermark);
    }
    if (!cv_valid_name(cfg->redis.prefix, strlen(cfg->redis.prefix))) {
        c->line = config_key_line(c, SEC_REDIS, "prefix");
        config_fail(c, "prefix", "must be [A-Za-z0-9_.-]{1,64}");
    }
    validate_redis_url(c);
    /* Each section on its own: every error of the file in one pass. */
    for (size_t i = 0; i < cfg->nsources; i++)
        validate_source(c, &cfg->sources[i]);
    for (size_t i = 0; i < cfg->nroutes; i++)
        validate_route(c, &cfg->routes[i]);
    c->line = 0;
    if (!config_route(cfg, "default"))
        config_fail(c, NULL, "a [route default] is required: events that match no route go there");
    return c->nerrors ? HOOKD_ECONFIG : 0;
}

/* ------------------------------------------------------------ lifecycle */

static void field_free(struct field_spec *f) { free(f->arg); }

static void config_free(struct config *cfg)
{
    struct receiver_cfg *r = &cfg->receiver;
    struct redis_cfg *d = &cfg->redis;

    free(cfg->path);
    free(r->listen), free(r->admin_listen), free(r->log_level), free(r->user);
    if (r->admin_token)
        config_secret_free(r->admin_token, strlen(r->admin_token));
    cidr_set_free(&r->trusted_proxies);
    free(d->url), free(d->prefix), free(d->master_name);
    if (d->password)
        config_secret_free(d->password, strlen(d->password));
    cv_list_free(d->sentinels, d->nsentinels);
    cv_list_free(cfg->secret_env, cfg->nsecret_env);
    for (size_t i = 0; i < cfg->nsources; i++) {
        struct source_cfg *s = &cfg->sources[i];
        for (size_t k = 0; k < s->keys.n; k++) {
            config_secret_free(s->keys.keys[k].key, s->keys.keys[k].key_len);
            EVP_PKEY_free((EVP_PKEY *)s->keys.keys[k].pkey);
            free(s->keys.keys[k].version);
        }
        field_free(&s->id), field_free(&s->type), field_free(&s->tenant);
        cidr_set_free(&s->allow_from);
        free(s->name), free(s->sig_header), free(s->sig_prefix), free(s->ts_header);
        free(s->signed_content), free(s->api_hook), free(s->api_base), free(s->api_app_id);
        if (s->api_token)
            config_secret_free(s->api_token, strlen(s->api_token));
        free(s->public_url), free(s->token_header);
        if (s->verify_token)
            config_secret_free(s->verify_token, strlen(s->verify_token));
    }
    for (size_t i = 0; i < cfg->nroutes; i++) {
        struct route_cfg *rt = &cfg->routes[i];
        for (size_t m = 0; m < rt->nmatch; m++)
            free(rt->match[m].source), free(rt->match[m].glob);
        for (size_t f = 0; f < rt->nfilter; f++)
            filter_free(&rt->filter[f]);
        field_free(&rt->order_by);
        config_free_fanout(rt);
        free(rt->match), free(rt->filter), free(rt->name), free(rt->handler);
        free(rt->retry_schedule_ms), free(rt->permanent_exit_codes);
    }
    free(cfg->sources);
    free(cfg->routes);
    free(cfg);
}

struct config *config_ref(struct config *cfg)
{
    if (cfg)
        atomic_fetch_add((_Atomic int *)&cfg->refs, 1);
    return cfg;
}

void config_release(struct config *cfg)
{
    if (cfg && atomic_fetch_sub((_Atomic int *)&cfg->refs, 1) == 1)
        config_free(cfg);
}

/* A line's error is counted and reading goes on: every error of the file
 * is reported at once. The keys of a section whose header was bad are
 * skipped (they would only repeat that error). */
static void parse_line(struct parse_ctx *c, char *line)
{
    size_t n = strlen(line);

    while (n && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    while (isspace((unsigned char)*line))
        line++, n--;
    if (n == 0 || line[0] == ';' || line[0] == '#')
        return;
    if (line[0] == '[') {
        c->skip_section = false;
        if (parse_section(c, line, n) < 0)
            c->skip_section = true, c->sec = SEC_NONE;
        return;
    }
    if (!c->skip_section)
        parse_key_value(c, line);
}

struct config *config_parse(const char *name, const char *text, size_t len, char *err,
                            size_t errlen)
{
    return config_parse_opts(name, text, len, 0, err, errlen);
}

struct config *config_parse_opts(const char *name, const char *text, size_t len,
                                 unsigned flags, char *err, size_t errlen)
{
    struct config *cfg = calloc(1, sizeof *cfg);
    struct parse_ctx c = {.cfg = cfg, .file = name, .err = err, .errlen = errlen, .flags = flags};
    char *copy = NULL;

    err[0] = '\0';
    if (!cfg || !(copy = malloc(len + 1)) || !(cfg->path = strdup(name))) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto fail;
    }
    cfg->refs = 1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (memchr(text, '\0', len)) {
        config_fail(&c, NULL, "NUL byte in config file");
        goto fail;
    }
    for (char *p = copy, *nl; p; p = nl) {
        c.line++;
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        parse_line(&c, p);
    }
    c.line = 0;
    if (c.nerrors || validate(&c) < 0)
        goto fail;
    free(copy);
    return cfg;
fail:
    free(copy);
    if (cfg)
        config_free(cfg);
    return NULL;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
    return config_load_opts(path, 0, err, errlen);
}

struct config *config_load_opts(const char *path, unsigned flags, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t n;
    struct config *cfg = NULL;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, hookd_strerror(-errno));
        return NULL;
    }
    if (!(buf = malloc(CONFIG_FILE_MAX_BYTES + 1))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    n = fread(buf, 1, CONFIG_FILE_MAX_BYTES + 1, f);
    if (ferror(f) || n > CONFIG_FILE_MAX_BYTES) {
        snprintf(err, errlen, "%s: unreadable or larger than %d bytes", path, CONFIG_FILE_MAX_BYTES);
        goto out;
    }
    if (config_perms_check(fileno(f), path, buf, n, err, errlen) < 0)
        goto out;
    cfg = config_parse_opts(path, buf, n, flags, err, errlen);
out:
    free(buf);
    fclose(f);
    return cfg;
}
