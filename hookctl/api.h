/*
 * api.h — hookctl's client for providers' REST APIs (GitHub, Stripe), for
 * `reconcile --api`: libcurl with TLS verification on, bounded time per
 * request, and retries with backoff on 429, 5xx and transport errors that
 * honour Retry-After, X-RateLimit-Remaining/-Reset (GitHub) and
 * Stripe-Should-Retry.
 *
 * The credential goes only into the Authorization header of requests to
 * the configured API origin: a pagination link to another origin is
 * refused, plain http is accepted for loopback addresses only (tests, a
 * local proxy), and no message ever contains the header.
 *
 * api_policy.c holds the pure parts (retry delays, Link headers, URL
 * checks; unit-tested alone), api_client.c the transfers.
 */
#ifndef HOOKCTL_API_H
#define HOOKCTL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_ATTEMPTS 6          /* per request, the first one included */
#define API_BACKOFF_BASE_MS 500     /* full jitter: 0..base*2^n, capped */
#define API_BACKOFF_CAP_MS 30000
#define API_MAX_WAIT_MS 120000      /* a longer Retry-After / reset fails the run */
#define API_TIMEOUT_MS 30000        /* one transfer */
#define API_CONNECT_TIMEOUT_MS 10000
#define API_MAX_BODY_BYTES (32u << 20)
#define API_HEADER_MAX 16384        /* bytes of a header value read (Link holds URLs) */

/* What a refused answer says about when to try again. */
struct api_hint {
    int64_t retry_after_ms;  /* from Retry-After (seconds or HTTP date); -1 absent */
    int64_t ratelimit_remaining; /* X-RateLimit-Remaining; -1 absent */
    int64_t ratelimit_reset_s;   /* X-RateLimit-Reset, epoch seconds; -1 absent */
    int should_retry;            /* Stripe-Should-Retry: 1 true, 0 false, -1 absent */
};

/*
 * How long to wait before attempt number ATTEMPT + 1 (ATTEMPT >= 1 were
 * made) after an answer STATUS (0: a transport error, no answer), or -1:
 * do not retry (a final answer, or attempts used up). A delay over
 * API_MAX_WAIT_MS is returned as is: the caller gives up and says so.
 * RND is a random number for the jitter.
 */
int64_t api_retry_delay_ms(const struct api_hint *h, long status, unsigned attempt,
                           int64_t now_ms, uint32_t rnd);

/* Retry-After's value (delay-seconds or an HTTP date) in ms from now; -1
 * when malformed. */
int64_t api_parse_retry_after(const char *v, int64_t now_ms);

/* The URL of the rel="next" entry of a Link header value (N bytes), or
 * NULL when none (malloc'd). */
char *api_link_next(const char *v, size_t n);

/* True when URL is BASE's scheme, host and port (BASE: "https://host[:port][/path]"). */
bool api_same_origin(const char *base, const char *url);

/* True for an https:// URL, or an http:// one to 127.0.0.1, [::1] or localhost. */
bool api_url_allowed(const char *url);

/* ---- the client ---- */

struct api_response {
    long status;
    char *body; /* owned, NUL-terminated; never NULL after success */
    size_t body_len;
    char *link_next; /* owned: the Link header's rel="next" URL, or NULL */
    struct api_hint hint;
};
void api_response_free(struct api_response *r);

struct api_client; /* one libcurl handle, the credential's header */

/* PROVIDER names the API in messages ("GitHub API"). BASE is the root URL
 * (no trailing slash needed); AUTH the whole Authorization header value
 * (copied, wiped at api_client_free); EXTRA more headers (NULL-terminated,
 * may be NULL). NULL with a sentence in err. */
struct api_client *api_client_new(const char *provider, const char *base, const char *auth,
                                  const char *const *extra, char *err, size_t errlen);
void api_client_free(struct api_client *c);

/*
 * METHOD ("GET" or "POST", body empty) on URL (a path starting with '/',
 * resolved against the base, or an absolute URL of the same origin),
 * retried per api_retry_delay_ms. 0 with *out holding the last answer,
 * whatever its status; a negative code with a sentence in err (no answer,
 * attempts used up on retryable answers, or a wait too long).
 */
int api_request(struct api_client *c, const char *method, const char *url,
                struct api_response *out, char *err, size_t errlen);

/* Requests made and retries waited for, for the summary. */
void api_client_counts(const struct api_client *c, size_t *requests, size_t *retries);

#endif
