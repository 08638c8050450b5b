/*
 * store_keys.c — the one place hookd's Redis key names are spelled.
 * Every per-route key carries the hash tag {ROUTE} (see store.h), so that a
 * route's streams (the default one and each tenant's), its dedupe records
 * and its other keys all live in one cluster slot.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "codec.h"
#include "err.h"
#include "store_internal.h"

#define TENANT_KEPT_CHARS 40 /* of a value that is not a name as it is */
#define TENANT_HASH_HEX 16

/*
 * Fan-out: a route's labelled handler is named "ROUTE:LABEL" where the store
 * takes a route (':' is never in a route name). Its own keys are
 * P:{ROUTE}:h:LABEL:WHAT, in the route's slot; what belongs to the route
 * (paused, tenants, the shared streams) keeps the route's name.
 */
static void split(const char *route, int *rlen, const char **label)
{
    const char *colon = strchr(route, ':');

    *rlen = colon ? (int)(colon - route) : (int)strlen(route);
    *label = colon ? colon + 1 : NULL;
}

static bool route_wide(const char *what)
{
    return strcmp(what, "paused") == 0 || strcmp(what, "tenants") == 0;
}

int store_key_route(const struct store *st, char *buf, size_t cap, const char *route,
                    const char *what)
{
    const char *label;
    int rl, n;

    split(route, &rl, &label);
    n = label && !route_wide(what)
            ? snprintf(buf, cap, "%s:{%.*s}:h:%s:%s", st->prefix, rl, route, label, what)
            : snprintf(buf, cap, "%s:{%.*s}:%s", st->prefix, rl, route, what);
    return n < 0 || (size_t)n >= cap ? HOOKD_ETOO_LARGE : n;
}

int store_key_stream(const struct store *st, char *buf, size_t cap, const char *route,
                     const char *tenant)
{
    const char *label;
    int rl, n;

    split(route, &rl, &label);
    if (label && tenant && strcmp(tenant, STORE_OWN_STREAM) == 0)
        n = snprintf(buf, cap, "%s:{%.*s}:h:%s:stream", st->prefix, rl, route, label);
    else if (tenant && tenant[0])
        n = snprintf(buf, cap, "%s:{%.*s}:stream:%s", st->prefix, rl, route, tenant);
    else
        n = snprintf(buf, cap, "%s:{%.*s}:stream", st->prefix, rl, route);
    return n < 0 || (size_t)n >= cap ? HOOKD_ETOO_LARGE : n;
}

int store_key_seen_prefix(const struct store *st, char *buf, size_t cap, const char *route)
{
    return store_key_route(st, buf, cap, route, "seen:");
}

const char *store_group(const char *route, char *buf, size_t cap)
{
    const char *colon = strchr(route, ':');

    if (!colon)
        return STORE_GROUP;
    snprintf(buf, cap, "%s:%s", STORE_GROUP, colon + 1);
    return buf;
}

int store_key_seen(const struct store *st, char *buf, size_t cap, const char *route,
                   const char *source, const char *event_id, size_t event_id_len)
{
    /* SCRIPT_READ builds the same name from store_key_seen_prefix. */
    int n = store_key_seen_prefix(st, buf, cap, route);

    if (n < 0 || (size_t)n + strlen(source) + 1 + event_id_len >= cap)
        return HOOKD_ETOO_LARGE;
    n += snprintf(buf + n, cap - (size_t)n, "%s:", source);
    /* The id is length-delimited and may hold any byte: keys are binary-safe. */
    memcpy(buf + n, event_id, event_id_len);
    buf[n + event_id_len] = '\0';
    return n + (int)event_id_len;
}

int store_key_order(const struct store *st, char *buf, size_t cap, const char *route,
                    const char *key, size_t key_len)
{
    int n = snprintf(buf, cap, "%s:{%s}:order:", st->prefix, route);

    if (n < 0 || (size_t)n + key_len >= cap)
        return HOOKD_ETOO_LARGE;
    memcpy(buf + n, key, key_len);
    buf[n + key_len] = '\0';
    return n + (int)key_len;
}

int store_key_global(const struct store *st, char *buf, size_t cap, const char *what)
{
    int n = snprintf(buf, cap, "%s:%s", st->prefix, what);
    return n < 0 || (size_t)n >= cap ? HOOKD_ETOO_LARGE : n;
}

static bool tenant_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

bool store_tenant_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    for (size_t i = 0; i < n; i++)
        if (!tenant_char(name[i]))
            return false;
    return n >= 1 && n <= STORE_TENANT_MAX;
}

int store_tenant_name(const char *tenant, size_t len, char out[STORE_TENANT_MAX + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    bool as_is = len >= 1 && len <= STORE_TENANT_MAX;
    size_t n = 0;

    out[0] = '\0';
    if (!tenant || len == 0)
        return HOOKD_ENOT_FOUND;
    for (size_t i = 0; as_is && i < len; i++)
        as_is = tenant_char(tenant[i]);
    if (as_is) {
        memcpy(out, tenant, len);
        out[len] = '\0';
        return (int)len;
    }
    for (; n < len && n < TENANT_KEPT_CHARS; n++)
        out[n] = tenant_char(tenant[n]) ? tenant[n] : '_';
    SHA256((const unsigned char *)tenant, len, md);
    codec_hex_encode(md, sizeof md, hex);
    out[n++] = '.';
    memcpy(out + n, hex, TENANT_HASH_HEX);
    n += TENANT_HASH_HEX;
    out[n] = '\0';
    return (int)n;
}
