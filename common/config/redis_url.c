/*
 * redis_url.c — [redis] url to host, port, db, socket path and password
 * (see redis_url.h). Strict: a URL of another scheme (http://…), a port out
 * of range or a db that is not a number is an error here, at `--check` and
 * start, rather than a connection that fails forever.
 */
#include "redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"

#define REDIS_MAX_DB 65535

void redis_url_free(struct redis_url *u)
{
    free(u->host), free(u->unix_path);
    if (u->password)
        OPENSSL_cleanse(u->password, strlen(u->password));
    free(u->password);
    memset(u, 0, sizeof *u);
}

/* Decimal digits only, within [lo, hi]; -1 otherwise. */
static long parse_number(const char *p, size_t n, long lo, long hi)
{
    long v = 0;

    if (n == 0 || n > 6)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

static int parse_unix(const char *url, struct redis_url *out, char *err, size_t errlen)
{
    const char *path = url + 5, *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    long db = 0;

    if (plen == 0 || path[0] != '/') {
        snprintf(err, errlen, "a unix: url needs an absolute socket path (unix:/run/redis.sock)");
        return HOOKD_ECONFIG;
    }
    if (q && (strncmp(q, "?db=", 4) != 0 ||
              (db = parse_number(q + 4, strlen(q + 4), 0, REDIS_MAX_DB)) < 0)) {
        snprintf(err, errlen, "after the socket path only ?db=N may follow");
        return HOOKD_ECONFIG;
    }
    out->db = (int)db;
    if (!(out->unix_path = strndup(path, plen))) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    return 0;
}

/* HOST[:PORT] or [V6]:PORT between p and end. */
static int parse_host_port(const char *p, const char *end, struct redis_url *out, char *err,
                           size_t errlen)
{
    const char *hend, *colon;

    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) {
            snprintf(err, errlen, "unclosed [ in the redis url's host");
            return HOOKD_ECONFIG;
        }
        hend = close + 1;
        colon = hend < end && *hend == ':' ? hend : NULL;
        if (hend < end && !colon) {
            snprintf(err, errlen, "unexpected text after ] in the redis url's host");
            return HOOKD_ECONFIG;
        }
        p++, hend = close;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        hend = colon ? colon : end;
    }
    if (hend == p) {
        snprintf(err, errlen, "no host in the redis url (redis://HOST:PORT/DB)");
        return HOOKD_ECONFIG;
    }
    long port = REDIS_DEFAULT_PORT;
    if (colon && (port = parse_number(colon + 1, (size_t)(end - colon - 1), 1, 65535)) < 0) {
        snprintf(err, errlen, "the redis url's port must be a number from 1 to 65535");
        return HOOKD_ECONFIG;
    }
    out->port = (int)port;
    if (!(out->host = strndup(p, (size_t)(hend - p)))) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    return 0;
}

int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = REDIS_DEFAULT_PORT;
    if (strncmp(url, "unix:", 5) == 0) {
        int rc = parse_unix(url, out, err, errlen);
        if (rc < 0)
            redis_url_free(out);
        return rc;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        /* Only a scheme (the text before a ':'): the rest, or text that
         * ends at '@' or '/' ("PASSWORD@host"), may be a password. */
        size_t n = strcspn(url, ":/@");
        if (url[n] == ':' && n <= 16)
            snprintf(err, errlen, "must start with redis:// or unix:, got \"%.*s\"", (int)n, url);
        else
            snprintf(err, errlen, "must start with redis:// or unix:");
        return HOOKD_ECONFIG;
    }
    const char *p = url + 8, *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if (at > pw && !(out->password = strndup(pw, (size_t)(at - pw)))) {
            snprintf(err, errlen, "out of memory");
            return HOOKD_ENOMEM;
        }
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    long db = 0;
    int rc;
    if ((rc = parse_host_port(p, end, out, err, errlen)) < 0)
        goto fail;
    if (slash && slash[1] && (db = parse_number(slash + 1, strlen(slash + 1), 0, REDIS_MAX_DB)) < 0) {
        snprintf(err, errlen, "the redis url's database (after the /) must be a number");
        rc = HOOKD_ECONFIG;
        goto fail;
    }
    out->db = (int)db;
    return 0;
fail:
    redis_url_free(out);
    return rc;
}
