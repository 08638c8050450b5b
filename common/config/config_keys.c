/*
 * config_keys.c — the table of every config key (section, name, where it
 * goes, how its value is parsed) and the setters it uses. Adding a key is
 * one row here plus its field in config.h and its line in the README.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config_internal.h"
#include "config_values.h"
#include "err.h"
#include "extract.h"
#include "filter.h"
#include "hostport.h"
#include "log.h"
#include "scheme.h"

void config_secret_free(void *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
    free(p);
}

int config_fail(struct parse_ctx *c, const char *key, const char *fmt, ...)
{
    char msg[300];
    size_t used = strnlen(c->err, c->errlen);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->nerrors++;
    /* Later errors go on new lines while they fit; a cut line is dropped. */
    if (used > 0 && used + 2 < c->errlen)
        c->err[used++] = '\n', c->err[used] = '\0';
    else if (used > 0)
        return HOOKD_ECONFIG;
    int n = key ? snprintf(c->err + used, c->errlen - used, "%s:%d: %s: %s", c->file, c->line, key, msg)
                : snprintf(c->err + used, c->errlen - used, "%s:%d: %s", c->file, c->line, msg);
    if (used > 0 && (n < 0 || (size_t)n >= c->errlen - used))
        c->err[used - 1] = '\0';
    return HOOKD_ECONFIG;
}

/* ---------------------------------------------------------------- setters */

static int set_str(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char **dst = f;
    free(*dst);
    if (!(*dst = strdup(val)))
        return config_fail(c, key, "out of memory");
    return 0;
}

static int set_size(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char msg[200];
    if (cv_size(val, f, msg, sizeof msg) < 0)
        return config_fail(c, key, "%s", msg);
    return 0;
}

#define INT_SETTER(fname, type, lo, hi)                                                            \
    static int fname(struct parse_ctx *c, void *f, const char *key, const char *val)               \
    {                                                                                              \
        char msg[200];                                                                             \
        int64_t v;                                                                                 \
        if (cv_int(val, lo, hi, &v, msg, sizeof msg) < 0)                                          \
            return config_fail(c, key, "%s", msg);                                                 \
        *(type *)f = (type)v;                                                                      \
        return 0;                                                                                  \
    }
INT_SETTER(set_i64, int64_t, 0, INT64_MAX / 2)
INT_SETTER(set_uint, unsigned, 1, 1000000)
INT_SETTER(set_int, int, 0, 1000000)
INT_SETTER(set_attempts, int, 1, 1000)
INT_SETTER(set_worker_batch, int, 1, 64)

static int set_ms(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char msg[200];
    if (cv_duration_ms(val, f, msg, sizeof msg) < 0)
        return config_fail(c, key, "%s", msg);
    return 0;
}

static int set_s(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    int64_t ms;
    if (set_ms(c, &ms, key, val) < 0)
        return HOOKD_ECONFIG;
    if (ms % 1000) /* kept in whole seconds: 500ms would silently become 0 */
        return config_fail(c, key, "expected whole seconds, got \"%.40s\"", val);
    *(int64_t *)f = ms / 1000;
    return 0;
}

static int set_list(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char ***dst = f, msg[200];
    size_t *n = (size_t *)((char *)f + sizeof(char **));

    cv_list_free(*dst, *n);
    *dst = NULL, *n = 0;
    if (cv_list(val, dst, n, msg, sizeof msg) < 0)
        return config_fail(c, key, "%s", msg);
    return 0;
}

static int set_cidrs(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    struct cidr_set *dst = f;
    char msg[200];

    if (cidr_set_parse(val, dst, msg, sizeof msg) < 0)
        return config_fail(c, key, "%s", msg);
    return 0;
}

static int set_log_level(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    if (log_level_parse(val) < 0)
        return config_fail(c, key, "expected debug, info, warn or error, got \"%.40s\"", val);
    return set_str(c, f, key, val);
}

/* A value that is one of a few words; *out gets the word's number. */
struct word_value {
    const char *word;
    int value;
};

static int pick_word(struct parse_ctx *c, const char *key, const char *val,
                     const struct word_value *words, const char *expected, int *out)
{
    for (; words->word; words++)
        if (strcmp(val, words->word) == 0) {
            *out = words->value;
            return 0;
        }
    return config_fail(c, key, "expected %s, got \"%.40s\"", expected, val);
}

/* A bool spelled by one of two words: NO (false) or YES (true). */
static int set_two_words(struct parse_ctx *c, bool *f, const char *key, const char *val,
                         const char *no, const char *yes)
{
    if ((*f = strcmp(val, yes) == 0) || strcmp(val, no) == 0)
        return 0;
    return config_fail(c, key, "expected %s or %s, got \"%.40s\"", no, yes, val);
}

static int set_polling(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    return set_two_words(c, f, key, val, "poll", "epoll");
}

static int set_yes_no(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    return set_two_words(c, f, key, val, "no", "yes");
}

static int set_algo(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    static const struct word_value w[] = {
        {"sha1", MAC_SHA1}, {"sha256", MAC_SHA256}, {"sha512", MAC_SHA512}, {NULL, 0}};
    int v = 0, rc = pick_word(c, key, val, w, "sha1, sha256 or sha512", &v);

    if (rc == 0)
        *(enum mac_algo *)f = (enum mac_algo)v;
    return rc;
}

static int set_encoding(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    static const struct word_value w[] = {{"hex", ENC_HEX}, {"base64", ENC_BASE64}, {NULL, 0}};
    int v = 0, rc = pick_word(c, key, val, w, "hex or base64", &v);

    if (rc == 0)
        *(enum mac_encoding *)f = (enum mac_encoding)v;
    return rc;
}

static int set_ts_format(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    static const struct word_value w[] = {
        {"seconds", TS_SECONDS}, {"milliseconds", TS_MILLISECONDS}, {"rfc3339", TS_RFC3339}, {0}};
    int v = 0, rc = pick_word(c, key, val, w, "seconds, milliseconds or rfc3339", &v);

    if (rc == 0)
        *(enum ts_format *)f = (enum ts_format)v;
    return rc;
}

/* The exact URL the provider calls: http(s)://, no query, no fragment
 * (the request's own query string is appended when signing). */
static int set_url(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    if ((strncmp(val, "https://", 8) != 0 && strncmp(val, "http://", 7) != 0) ||
        strpbrk(val, "?# \t"))
        return config_fail(c, key, "expected the http(s):// URL the provider calls, without a "
                                   "query string, got \"%.60s\"", val);
    return set_str(c, f, key, val);
}

/* A listen address is bound as written: an IP literal and a port, so a
 * typo is a config error (exit 2) and never a failed start. */
static int set_listen(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char host[INET6_ADDRSTRLEN + 2];
    unsigned char addr[sizeof(struct in6_addr)];
    int port;

    if (hostport_parse(val, host, sizeof host, &port) < 0 ||
        (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1))
        return config_fail(c, key, "expected IP:PORT or [IPV6]:PORT with a port up to 65535, "
                                   "got \"%.60s\"", val);
    return set_str(c, f, key, val);
}

static int set_priority(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    static const struct word_value w[] = {
        {"high", PRIORITY_HIGH}, {"normal", PRIORITY_NORMAL}, {"low", PRIORITY_LOW}, {NULL, 0}};
    int v = 0, rc = pick_word(c, key, val, w, "high, normal or low", &v);

    if (rc == 0)
        *(enum route_priority *)f = (enum route_priority)v;
    return rc;
}

/* Checked against the handler in validate_route (the keys come in any order). */
static int set_exec_mode(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    static const struct word_value w[] = {
        {"spawn", EXEC_SPAWN}, {"persistent", EXEC_PERSISTENT}, {NULL, 0}};
    int v = 0, rc = pick_word(c, key, val, w, "spawn or persistent", &v);

    if (rc == 0) {
        *(enum exec_mode *)f = (enum exec_mode)v;
        ((struct route_cfg *)c->target)->exec_mode_line = c->line;
    }
    return rc;
}

static int set_scheme(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    const struct scheme **dst = f;
    if (!(*dst = scheme_find(val)))
        return config_fail(c, key, "unknown scheme \"%.40s\" (known: %s)", val, scheme_names());
    return 0;
}

static int set_field(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    struct field_spec *dst = f;
    char msg[200];

    free(dst->arg);
    memset(dst, 0, sizeof *dst);
    if (extract_parse_spec(val, dst, msg, sizeof msg) < 0)
        return config_fail(c, key, "%s", msg);
    return 0;
}

/* "N/s", "N/m" or a bare N (per second). */
static int set_rate(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    char *end;
    double v, per = 1;

    errno = 0;
    v = strtod(val, &end);
    if (strcmp(end, "/s") == 0 || *end == '\0')
        per = 1;
    else if (strcmp(end, "/m") == 0)
        per = 60;
    else
        end = NULL;
    if (errno || !end || end == val || v < 0)
        return config_fail(c, key, "expected a rate like 100/s, got \"%.40s\"", val);
    *(double *)f = v / per;
    return 0;
}

static int set_order_on_dead(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    return set_two_words(c, f, key, val, "continue", "hold");
}

/* ---- a route's list values: one parser per item, one loop for all ---- */

typedef int (*item_fn)(const char *item, void *slot, char *msg, size_t cap);

/* VAL's comma-separated items, each parsed by ONE into the next slot of
 * SIZE bytes of a new array, returned in *ARR with *COUNT the slots filled
 * (also on failure: the config's free covers them). An item that fails
 * leaves its slot with nothing to free and its reason in msg. */
static int set_items(struct parse_ctx *c, const char *key, const char *val, size_t size,
                     item_fn one, void **arr, size_t *count)
{
    char **items = NULL, msg[200] = "";
    size_t n = 0;
    int rc = HOOKD_ECONFIG;

    *arr = NULL, *count = 0;
    if (cv_list(val, &items, &n, msg, sizeof msg) < 0)
        return config_fail(c, key, "%s", msg);
    if (!(*arr = calloc(n, size))) {
        config_fail(c, key, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++, (*count)++)
        if (one(items[i], (char *)*arr + i * size, msg, sizeof msg) < 0) {
            config_fail(c, key, "%s", msg[0] ? msg : "out of memory");
            goto out;
        }
    rc = 0;
out:
    cv_list_free(items, n);
    return rc;
}

/* match: SOURCE:TYPE-GLOB */
static int match_item(const char *item, void *slot, char *msg, size_t cap)
{
    struct route_match *m = slot;
    const char *colon = strchr(item, ':');

    if (!colon || colon == item || !colon[1]) {
        snprintf(msg, cap, "expected SOURCE:TYPE-GLOB, got \"%.60s\"", item);
        return HOOKD_ECONFIG;
    }
    m->source = strndup(item, (size_t)(colon - item));
    m->glob = strdup(colon + 1);
    if (m->source && m->glob)
        return 0;
    free(m->source), free(m->glob);
    m->source = m->glob = NULL;
    return HOOKD_ENOMEM;
}

/* filter: FIELD-SPEC OP VALUE (filter.h) */
static int filter_item(const char *item, void *slot, char *msg, size_t cap)
{
    return filter_parse(item, slot, msg, cap) < 0 ? HOOKD_ECONFIG : 0;
}

static int duration_item(const char *item, void *slot, char *msg, size_t cap)
{
    return cv_duration_ms(item, slot, msg, cap);
}

static int exit_code_item(const char *item, void *slot, char *msg, size_t cap)
{
    int64_t v;

    if (cv_int(item, 1, 255, &v, msg, cap) < 0)
        return HOOKD_ECONFIG;
    *(int *)slot = (int)v;
    return 0;
}

static int set_match(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    struct route_cfg *r = c->target;
    void *arr;
    int rc = set_items(c, key, val, sizeof *r->match, match_item, &arr, &r->nmatch);

    r->match = arr;
    return rc;
}

static int set_filter(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    struct route_cfg *r = c->target;
    void *arr;
    int rc = set_items(c, key, val, sizeof *r->filter, filter_item, &arr, &r->nfilter);

    r->filter = arr;
    return rc;
}

/* Also called for the default schedule: replaces what was there. */
static int set_schedule(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    struct route_cfg *r = c->target;
    void *arr;
    int rc;

    free(r->retry_schedule_ms);
    rc = set_items(c, key, val, sizeof *r->retry_schedule_ms, duration_item, &arr, &r->nschedule);
    r->retry_schedule_ms = arr;
    return rc;
}

static int set_exit_codes(struct parse_ctx *c, void *f, const char *key, const char *val)
{
    struct route_cfg *r = c->target;
    void *arr;
    int rc = set_items(c, key, val, sizeof(int), exit_code_item, &arr, &r->npermanent);

    r->permanent_exit_codes = arr;
    return rc;
}

/* ------------------------------------------------------------- key table */

#define RCV(f) SEC_RECEIVER, #f, offsetof(struct receiver_cfg, f)
#define RDS(f) SEC_REDIS, #f, offsetof(struct redis_cfg, f)
#define SRC(f) SEC_SOURCE, #f, offsetof(struct source_cfg, f)
#define RTE(f) SEC_ROUTE, #f, offsetof(struct route_cfg, f)

struct key_row {
    enum section sec;
    const char *name;
    size_t offset;
    setter_fn set;
};

static const struct key_row keys[] = {
    {RCV(listen), set_listen},
    {RCV(admin_listen), set_listen},
    {RCV(admin_token), config_set_secret_str},
    {RCV(max_body), set_size},
    {RCV(high_watermark), set_i64},
    {RCV(low_watermark), set_i64},
    {RCV(threads), set_uint},
    {RCV(max_connections), set_uint},
    {RCV(connection_memory_limit), set_size},
    {SEC_RECEIVER, "connection_timeout", offsetof(struct receiver_cfg, connection_timeout_s),
     set_s},
    {RCV(max_concurrent_requests), set_uint},
    {SEC_RECEIVER, "retry_after", offsetof(struct receiver_cfg, retry_after_s), set_s},
    {RCV(trusted_proxies), set_cidrs},
    {RCV(log_level), set_log_level},
    {SEC_RECEIVER, "polling", offsetof(struct receiver_cfg, epoll), set_polling},
    {RCV(user), set_str},
    {RCV(rejected_maxlen), set_size},
    {RDS(url), set_str}, /* checked in validate, once the password is known */
    {RDS(prefix), set_str},
    {SEC_REDIS, "dedupe_ttl", offsetof(struct redis_cfg, dedupe_ttl_s), set_s},
    {SEC_REDIS, "timeout", offsetof(struct redis_cfg, timeout_ms), set_ms},
    {RDS(wait_replicas), set_int},
    {SEC_REDIS, "wait_timeout", offsetof(struct redis_cfg, wait_timeout_ms), set_ms},
    {RDS(sentinels), set_list},
    {RDS(master_name), set_str},
    {RDS(password), config_set_secret_str},
    {RDS(require_durable), set_yes_no},
    {SEC_REDIS, "durable_check_interval", offsetof(struct redis_cfg, durable_check_ms), set_ms},
    {SRC(scheme), set_scheme},
    {SRC(max_body), set_size},
    {SEC_SOURCE, "tolerance", offsetof(struct source_cfg, tolerance_s), set_s},
    {SEC_SOURCE, "id", offsetof(struct source_cfg, id), set_field},
    {SEC_SOURCE, "type", offsetof(struct source_cfg, type), set_field},
    {SEC_SOURCE, "tenant", offsetof(struct source_cfg, tenant), set_field},
    {SRC(rate_limit), set_rate},
    {SRC(burst), set_int},
    {SRC(allow_from), set_cidrs},
    {SEC_SOURCE, "signature_header", offsetof(struct source_cfg, sig_header), set_str},
    {SEC_SOURCE, "algorithm", offsetof(struct source_cfg, algo), set_algo},
    {SEC_SOURCE, "encoding", offsetof(struct source_cfg, enc), set_encoding},
    {SEC_SOURCE, "signature_prefix", offsetof(struct source_cfg, sig_prefix), set_str},
    {SEC_SOURCE, "timestamp_header", offsetof(struct source_cfg, ts_header), set_str},
    {SRC(signed_content), set_str},
    {SRC(api_token), config_set_secret_ref},
    {SRC(api_hook), set_str},
    {SRC(api_base), set_str},
    {SRC(api_app_id), set_str},
    {SEC_SOURCE, "timestamp_format", offsetof(struct source_cfg, ts_format), set_ts_format},
    {SRC(public_url), set_url},
    {SRC(verify_token), config_set_secret_str},
    {SRC(token_header), set_str},
    {RTE(match), set_match},
    {SEC_ROUTE, "filter", 0, set_filter},
    {RTE(priority), set_priority},
    {RTE(handler), set_str},
    {RTE(exec_mode), set_exec_mode},
    {RTE(max_attempts), set_attempts},
    {SEC_ROUTE, "retry_schedule", 0, set_schedule},
    {SEC_ROUTE, "max_backoff", offsetof(struct route_cfg, max_backoff_ms), set_ms},
    {SEC_ROUTE, "handler_timeout", offsetof(struct route_cfg, handler_timeout_ms), set_ms},
    {SEC_ROUTE, "visibility_timeout", offsetof(struct route_cfg, visibility_timeout_ms), set_ms},
    {RTE(worker_batch), set_worker_batch},
    {SEC_ROUTE, "permanent_exit_codes", 0, set_exit_codes},
    {RTE(high_watermark), set_i64},
    {RTE(order_by), set_field},
    {SEC_ROUTE, "order_on_dead", offsetof(struct route_cfg, order_hold_on_dead), set_order_on_dead},
};

static const char *const section_names[] = {"", "[receiver]", "[redis]", "[source NAME]",
                                             "[route NAME]"};

/* An unknown key: the nearest one of this section (a typo), or the section
 * where a key of that name belongs. */
static int unknown_key(struct parse_ctx *c, const char *key)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, n = sizeof keys / sizeof keys[0];

    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, key) == 0)
            return config_fail(c, key, "unknown key in this section (it belongs in %s)",
                               section_names[keys[i].sec]);
    for (size_t i = 0; i < n; i++) {
        size_t d = keys[i].sec == c->sec ? cv_edit_distance(key, keys[i].name) : SIZE_MAX;
        if (d < best_d)
            best_d = d, best = keys[i].name;
    }
    if (c->sec == SEC_SOURCE && cv_edit_distance(key, "secret.v1") <= 3)
        best = "secret.VERSION", best_d = 1;
    if (best && best_d <= 2 + strlen(key) / 6)
        return config_fail(c, key, "unknown key in this section; did you mean %s?", best);
    return config_fail(c, key, "unknown key in this section");
}

int config_set_key(struct parse_ctx *c, const char *key, const char *val)
{
    if (c->sec == SEC_SOURCE &&
        (strncmp(key, "secret.", 7) == 0 || strncmp(key, "public_key.", 11) == 0))
        return config_set_secret_version(c, key, val);
    if (c->sec == SEC_ROUTE && strncmp(key, "handler.", 8) == 0)
        return config_set_route_handler(c, key + 8, val);
    _Static_assert(sizeof keys / sizeof keys[0] <= 128, "seen[] holds 128 bits");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (keys[i].sec != c->sec || strcmp(keys[i].name, key) != 0)
            continue;
        if (c->seen[i / 64] & (1ULL << (i % 64)))
            return config_fail(c, key, "duplicate key");
        c->seen[i / 64] |= 1ULL << (i % 64);
        if (c->sec == SEC_RECEIVER || c->sec == SEC_REDIS)
            c->top_line[i] = c->line;
        return keys[i].set(c, (char *)c->target + keys[i].offset, key, val);
    }
    return unknown_key(c, key);
}

int config_key_line(const struct parse_ctx *c, enum section sec, const char *key)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].sec == sec && strcmp(keys[i].name, key) == 0)
            return c->top_line[i];
    return 0;
}

int config_set_schedule(struct parse_ctx *c, struct route_cfg *r, const char *text)
{
    void *saved = c->target;
    int rc;

    c->target = r;
    rc = set_schedule(c, NULL, "retry_schedule", text);
    c->target = saved;
    return rc;
}
