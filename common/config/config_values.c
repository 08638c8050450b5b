/*
 * config_values.c — parsing of individual config values (sizes, durations,
 * secrets, lists). Kept apart from config.c so the key table stays readable.
 */
#include "config_values.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

#define SECRET_FILE_MAX_BYTES 65536

int cv_size(const char *s, size_t *out, char *err, size_t errlen)
{
    char *end;
    unsigned long long v, mult = 1;

    errno = 0;
    if (!isdigit((unsigned char)s[0]))
        goto bad;
    v = strtoull(s, &end, 10);
    if (errno)
        goto bad;
    switch (tolower((unsigned char)*end)) {
    case 'k': mult = 1024ULL, end++; break;
    case 'm': mult = 1024ULL * 1024, end++; break;
    case 'g': mult = 1024ULL * 1024 * 1024, end++; break;
    default: break;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end != '\0' || v > (unsigned long long)SIZE_MAX / mult)
        goto bad;
    *out = (size_t)(v * mult);
    return 0;
bad:
    snprintf(err, errlen, "expected a size in bytes (e.g. 1048576 or 1m), got \"%.40s\"", s);
    return HOOKD_ECONFIG;
}

int cv_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        snprintf(err, errlen, "expected an integer from %lld to %lld, got \"%.40s\"",
                 (long long)min, (long long)max, s);
        return HOOKD_ECONFIG;
    }
    *out = v;
    return 0;
}

int64_t config_parse_duration_ms(const char *s, size_t len)
{
    int64_t v = 0, mult;
    size_t i = 0;

    if (len == 0 || !isdigit((unsigned char)s[0]))
        return HOOKD_EPARSE;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        if (v > INT64_MAX / 10 - 10)
            return HOOKD_EPARSE;
        v = v * 10 + (s[i] - '0');
    }
    const char *u = s + i;
    size_t ulen = len - i;
    if (ulen == 0 || (ulen == 1 && u[0] == 's'))
        mult = 1000;
    else if (ulen == 2 && memcmp(u, "ms", 2) == 0)
        mult = 1;
    else if (ulen == 1 && u[0] == 'm')
        mult = 60 * 1000;
    else if (ulen == 1 && u[0] == 'h')
        mult = 3600 * 1000;
    else if (ulen == 1 && u[0] == 'd')
        mult = 86400LL * 1000;
    else
        return HOOKD_EPARSE;
    if (v > INT64_MAX / mult)
        return HOOKD_EPARSE;
    return v * mult;
}

int cv_duration_ms(const char *s, int64_t *out, char *err, size_t errlen)
{
    int64_t v = config_parse_duration_ms(s, strlen(s));

    if (v < 0) {
        snprintf(err, errlen,
                 "expected a duration (a number of seconds, or with ms/s/m/h/d), got \"%.40s\"", s);
        return HOOKD_ECONFIG;
    }
    *out = v;
    return 0;
}

static int read_secret_file(const char *path, char **out, size_t *out_len, char *err,
                            size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    ssize_t n;
    size_t len = 0;
    int rc = HOOKD_ECONFIG;

    if (fd < 0) {
        snprintf(err, errlen, "cannot read secret file %.200s: %s", path,
                 errno == ENOENT ? "no such file" : "permission denied or unreadable");
        return HOOKD_ECONFIG;
    }
    buf = malloc(SECRET_FILE_MAX_BYTES + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        rc = HOOKD_ENOMEM;
        goto out;
    }
    while ((n = read(fd, buf + len, SECRET_FILE_MAX_BYTES + 1 - len)) > 0)
        len += (size_t)n;
    if (n < 0 || len > SECRET_FILE_MAX_BYTES) {
        snprintf(err, errlen, "secret file %.200s unreadable or larger than %d bytes", path,
                 SECRET_FILE_MAX_BYTES);
        goto out;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    *out = buf, *out_len = len, buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int cv_secret(const char *s, char **out, size_t *out_len, char *err, size_t errlen)
{
    if (strncmp(s, "env:", 4) == 0) {
        const char *v = getenv(s + 4);
        if (!v || !*v) {
            snprintf(err, errlen, "environment variable %.100s is %s", s + 4,
                     v ? "set but empty" : "not set");
            return HOOKD_ECONFIG;
        }
        *out = strdup(v);
        *out_len = strlen(v);
    } else if (strncmp(s, "file:", 5) == 0) {
        if (read_secret_file(s + 5, out, out_len, err, errlen) < 0)
            return HOOKD_ECONFIG;
    } else {
        *out = strdup(s);
        *out_len = strlen(s);
    }
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    if (*out_len == 0) {
        free(*out);
        *out = NULL;
        snprintf(err, errlen, "secret is empty");
        return HOOKD_ECONFIG;
    }
    return 0;
}

void cv_list_free(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

int cv_list(const char *s, char ***out, size_t *n, char *err, size_t errlen)
{
    char **items = NULL;
    size_t count = 0;
    const char *p = s;

    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *e = end;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        if (e == p) {
            snprintf(err, errlen, "empty item in list \"%.60s\"", s);
            goto fail;
        }
        char **grown = realloc(items, (count + 1) * sizeof *items);
        if (!grown)
            goto nomem;
        items = grown;
        if (!(items[count] = strndup(p, (size_t)(e - p))))
            goto nomem;
        count++;
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = items, *n = count;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    cv_list_free(items, count);
    return HOOKD_ECONFIG;
}

int cv_valid_name(const char *s, size_t n)
{
    if (n == 0 || n > CONFIG_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return 0;
    return 1;
}

/* See config.h: api_token is kept as written at load (config_keys.c) and
 * resolved here, when hookctl reconcile --api needs it. */
int config_api_token(const struct source_cfg *src, char **out, size_t *len, char *err,
                     size_t errlen)
{
    char msg[256];

    *out = NULL, *len = 0;
    if (!src->api_token) {
        snprintf(err, errlen, "[source %s] has no api_token", src->name);
        return HOOKD_ECONFIG;
    }
    if (cv_secret(src->api_token, out, len, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "[source %s] api_token: %s", src->name, msg);
        return HOOKD_ECONFIG;
    }
    return 0;
}

/* Edit distance, for "did you mean": names are short (< 64 bytes). */
size_t cv_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];

    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up, row[j] = best;
        }
    }
    return row[lb];
}
