/*
 * api_policy.c — the pure half of api.h: when to retry a provider's API
 * and after how long, the Link header's next page, and which URLs may
 * carry the credential. No I/O (curl_getdate only parses a date).
 *
 * Retry rules, after GitHub's "Rate limits for the REST API" and Stripe's
 * "Rate limits" and error-handling pages:
 *   Stripe-Should-Retry: false      never (Stripe knows the request cannot succeed)
 *   Stripe-Should-Retry: true       yes, whatever the status
 *   no answer, 429, 5xx             yes
 *   403 with Retry-After, or with   yes (GitHub's primary and secondary rate
 *     X-RateLimit-Remaining: 0        limits answer 403 as well as 429)
 *   anything else                   no: the answer is final
 * The wait: Retry-After when given; else, with X-RateLimit-Remaining: 0,
 * until X-RateLimit-Reset (plus a second of clock slack); else exponential
 * backoff with full jitter (0..API_BACKOFF_BASE_MS * 2^(n-1), capped).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"

static bool retryable(const struct api_hint *h, long status)
{
    if (h->should_retry == 0)
        return false;
    if (h->should_retry == 1 || status == 0 || status == 429 || (status >= 500 && status <= 599))
        return true;
    return status == 403 && (h->retry_after_ms >= 0 || h->ratelimit_remaining == 0);
}

int64_t api_retry_delay_ms(const struct api_hint *h, long status, unsigned attempt,
                           int64_t now_ms, uint32_t rnd)
{
    int64_t cap = API_BACKOFF_BASE_MS;

    if (attempt >= API_MAX_ATTEMPTS || !retryable(h, status))
        return -1;
    if (h->retry_after_ms >= 0)
        return h->retry_after_ms;
    if (h->ratelimit_remaining == 0 && h->ratelimit_reset_s >= 0) {
        int64_t wait = h->ratelimit_reset_s * 1000 + 1000 - now_ms;
        return wait > 0 ? wait : 0;
    }
    for (unsigned i = 1; i < attempt && cap < API_BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > API_BACKOFF_CAP_MS)
        cap = API_BACKOFF_CAP_MS;
    return (int64_t)(rnd % (uint32_t)(cap + 1));
}

int64_t api_parse_retry_after(const char *v, int64_t now_ms)
{
    char *end;
    long long s;
    time_t t;

    while (*v == ' ' || *v == '\t')
        v++;
    if (isdigit((unsigned char)*v)) {
        s = strtoll(v, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        return *end || s > 86400 * 365 ? -1 : s * 1000;
    }
    if ((t = curl_getdate(v, NULL)) < 0)
        return -1;
    return (int64_t)t * 1000 > now_ms ? (int64_t)t * 1000 - now_ms : 0;
}

/* Does the parameter text P..E hold rel="next" (or rel=next, or next among
 * several space-separated relation types)? */
static bool rel_is_next(const char *p, const char *e)
{
    for (; p < e; p++) {
        const char *q;
        if (strncasecmp(p, "rel", 3) != 0)
            continue;
        for (q = p + 3; q < e && *q == ' '; q++)
            ;
        if (q >= e || *q++ != '=')
            continue;
        for (; q < e && (*q == ' ' || *q == '"'); q++)
            ;
        while (q < e && *q != '"' && *q != ';') {
            const char *w = q;
            while (q < e && *q != ' ' && *q != '"' && *q != ';')
                q++;
            if (q - w == 4 && strncasecmp(w, "next", 4) == 0)
                return true;
            while (q < e && *q == ' ')
                q++;
        }
    }
    return false;
}

char *api_link_next(const char *v, size_t n)
{
    const char *p = v, *end = v + n;

    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *next;
        if (!lt || !(gt = memchr(lt, '>', (size_t)(end - lt))))
            return NULL;
        next = memchr(gt, ',', (size_t)(end - gt));
        if (!next)
            next = end;
        if (rel_is_next(gt + 1, next))
            return strndup(lt + 1, (size_t)(gt - lt - 1));
        p = next;
    }
    return NULL;
}

/* Length of URL's "scheme://authority" part, or 0 when it has none. */
static size_t origin_len(const char *url)
{
    const char *sep = strstr(url, "://"), *p;

    if (!sep)
        return 0;
    p = sep + 3;
    p += strcspn(p, "/?#");
    return (size_t)(p - url);
}

bool api_same_origin(const char *base, const char *url)
{
    size_t n = origin_len(base);

    return n > 0 && origin_len(url) == n && strncasecmp(base, url, n) == 0;
}

bool api_url_allowed(const char *url)
{
    static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    const char *host = url + 7;

    if (strncasecmp(url, "https://", 8) == 0)
        return url[8] != '\0';
    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    for (size_t i = 0; loopback[i]; i++) {
        size_t n = strlen(loopback[i]);
        if (strncasecmp(host, loopback[i], n) == 0 && strchr(":/", host[n]))
            return true; /* strchr also matches the terminating NUL */
    }
    return false;
}
