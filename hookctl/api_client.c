/*
 * api_client.c — the transfers of api.h: one libcurl easy handle reused
 * for every request of a run (one connection, kept alive), TLS peer and
 * host verification on, redirects not followed (a moved hook is a
 * configuration to fix, and the credential must not follow a Location),
 * protocols limited to http and https, bounded time and body size.
 *
 * Owner of the credential: the Authorization line lives in the client's
 * header list only, and is wiped when the client is freed. Error messages
 * name the method, the URL (which never carries the credential) and the
 * status or libcurl's reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api.h"
#include "clock.h"
#include "err.h"

struct api_client {
    CURL *curl;
    struct curl_slist *headers; /* owned; holds the Authorization line */
    char *auth_line;            /* owned, wiped at free: "Authorization: ..." */
    char *base;                 /* owned, without a trailing '/' */
    const char *provider;       /* static text */
    size_t requests, retries;
    char errbuf[CURL_ERROR_SIZE];
};

struct xfer {
    struct api_response *r;
    size_t cap;
    bool too_big;
};

void api_response_free(struct api_response *r)
{
    free(r->body);
    free(r->link_next);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    struct api_response *r = x->r;
    size_t len = size * n;

    if (r->body_len + len > API_MAX_BODY_BYTES) {
        x->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (r->body_len + len + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 16384;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b, x->cap = cap;
    }
    memcpy(r->body + r->body_len, p, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* HEADER's value when LINE (N bytes, "Name: value\r\n") is that header,
 * NUL-terminated in buf; NULL otherwise. */
static const char *header_value(const char *line, size_t n, const char *name, char *buf,
                                size_t cap)
{
    size_t nl = strlen(name), vl;

    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    line += nl + 1, n -= nl + 1;
    while (n && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    vl = n < cap - 1 ? n : cap - 1;
    memcpy(buf, line, vl);
    buf[vl] = '\0';
    return buf;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct api_response *r = ((struct xfer *)arg)->r;
    size_t len = size * n;
    char v[API_HEADER_MAX]; /* one thread: a CLI; a longer value is cut */

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new answer: forget the last */
        free(r->link_next);
        r->link_next = NULL;
        r->hint = (struct api_hint){-1, -1, -1, -1};
    } else if (header_value(line, len, "link", v, sizeof v)) {
        free(r->link_next);
        r->link_next = api_link_next(v, strlen(v));
    } else if (header_value(line, len, "retry-after", v, sizeof v)) {
        r->hint.retry_after_ms = api_parse_retry_after(v, clock_wall_ms());
    } else if (header_value(line, len, "x-ratelimit-remaining", v, sizeof v)) {
        r->hint.ratelimit_remaining = strtoll(v, NULL, 10);
    } else if (header_value(line, len, "x-ratelimit-reset", v, sizeof v)) {
        r->hint.ratelimit_reset_s = strtoll(v, NULL, 10);
    } else if (header_value(line, len, "stripe-should-retry", v, sizeof v)) {
        r->hint.should_retry = strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -1;
    }
    return len;
}

struct api_client *api_client_new(const char *provider, const char *base, const char *auth,
                                  const char *const *extra, char *err, size_t errlen)
{
    struct api_client *c = calloc(1, sizeof *c);
    size_t n = strlen(auth) + 32;
    struct curl_slist *h;

    if (!api_url_allowed(base)) {
        snprintf(err, errlen, "api_base %s: must be https:// (http:// only to a loopback address)",
                 base);
        free(c);
        return NULL;
    }
    if (!c || !(c->auth_line = malloc(n)) || !(c->base = strdup(base)) ||
        !(c->curl = curl_easy_init()))
        goto nomem;
    c->provider = provider;
    while (c->base[0] && c->base[strlen(c->base) - 1] == '/')
        c->base[strlen(c->base) - 1] = '\0';
    snprintf(c->auth_line, n, "Authorization: %s", auth);
    if (!(c->headers = curl_slist_append(NULL, c->auth_line)))
        goto nomem;
    for (size_t i = 0; extra && extra[i]; i++) {
        if (!(h = curl_slist_append(c->headers, extra[i])))
            goto nomem;
        c->headers = h;
    }
    return c;
nomem:
    snprintf(err, errlen, "out of memory");
    api_client_free(c);
    return NULL;
}

void api_client_free(struct api_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    if (c->auth_line)
        OPENSSL_cleanse(c->auth_line, strlen(c->auth_line));
    free(c->auth_line);
    free(c->base);
    free(c);
}

void api_client_counts(const struct api_client *c, size_t *requests, size_t *retries)
{
    *requests = c->requests;
    *retries = c->retries;
}

/* One transfer; 0 (out->status set) or a libcurl code. */
static CURLcode perform(struct api_client *c, const char *method, const char *url,
                        struct api_response *out)
{
    struct xfer x = {.r = out};
    CURL *k = c->curl;
    CURLcode rc;

    curl_easy_reset(k);
    out->hint = (struct api_hint){-1, -1, -1, -1};
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)API_TIMEOUT_MS);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)API_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_USERAGENT, "hookctl (hookd)");
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(k, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->errbuf);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POST, 1L);
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, 0L);
    }
    c->errbuf[0] = '\0';
    c->requests++;
    rc = curl_easy_perform(k);
    if (rc == CURLE_OK)
        curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &out->status);
    else if (x.too_big)
        snprintf(c->errbuf, sizeof c->errbuf, "answer over %u bytes", API_MAX_BODY_BYTES);
    if (!out->body && rc == CURLE_OK && !(out->body = calloc(1, 1)))
        return CURLE_OUT_OF_MEMORY;
    return rc;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The absolute URL for PATH_OR_URL into *out (malloc'd), or an error. */
static int resolve(const struct api_client *c, const char *url, char **out, char *err,
                   size_t errlen)
{
    size_t n = strlen(c->base) + strlen(url) + 1;

    if (url[0] != '/') {
        if (!api_same_origin(c->base, url)) {
            snprintf(err, errlen, "%s: refusing to send the credential to %.200s (not the origin of %s)",
                     c->provider, url, c->base);
            return HOOKD_EAPI;
        }
        return (*out = strdup(url)) ? 0 : HOOKD_ENOMEM;
    }
    if (!(*out = malloc(n)))
        return HOOKD_ENOMEM;
    snprintf(*out, n, "%s%s", c->base, url);
    return 0;
}

int api_request(struct api_client *c, const char *method, const char *url,
                struct api_response *out, char *err, size_t errlen)
{
    char *abs = NULL;
    int rc = resolve(c, url, &abs, err, errlen);

    memset(out, 0, sizeof *out);
    for (unsigned attempt = 1; rc == 0; attempt++) {
        uint32_t rnd = 0;
        api_response_free(out);
        CURLcode cc = perform(c, method, abs, out);
        if (cc == CURLE_OUT_OF_MEMORY) {
            rc = HOOKD_ENOMEM;
            break;
        }
        RAND_bytes((unsigned char *)&rnd, sizeof rnd);
        int64_t wait = api_retry_delay_ms(&out->hint, cc == CURLE_OK ? out->status : 0, attempt,
                                          clock_wall_ms(), rnd);
        if (wait < 0 && cc == CURLE_OK &&
            api_retry_delay_ms(&out->hint, out->status, 1, 0, 0) < 0)
            break; /* a final answer: the caller judges its status */
        if (wait < 0 || wait > API_MAX_WAIT_MS) {
            if (cc != CURLE_OK)
                snprintf(err, errlen, "%s %s: %s (%u attempts)", method, abs,
                         c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc), attempt);
            else if (wait < 0)
                snprintf(err, errlen, "%s %s: answered %ld (%u attempts)", method, abs,
                         out->status, attempt);
            else
                snprintf(err, errlen, "%s %s: answered %ld, retry in %llds: longer than %ds",
                         method, abs, out->status, (long long)(wait / 1000),
                         API_MAX_WAIT_MS / 1000);
            rc = HOOKD_EAPI;
            break;
        }
        c->retries++;
        sleep_ms(wait);
    }
    free(abs);
    if (rc < 0)
        api_response_free(out);
    return rc;
}
