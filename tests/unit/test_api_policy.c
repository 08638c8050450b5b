/*
 * test_api_policy.c — the pure half of hookctl's provider API client
 * (hookctl/api_policy.c): when to retry and how long to wait, the Link
 * header's next page, and which URLs may carry the credential; from
 * libhookctl.a (hookctl without its main()).
 */
#include "test.h"

#include "api.h"

static const struct api_hint none = {-1, -1, -1, -1};

TEST(api_retry_which_answers)
{
    struct api_hint h = none;

    ASSERT_INT_OP(api_retry_delay_ms(&h, 0, 1, 0, 7), >=, 0); /* no answer */
    ASSERT_INT_OP(api_retry_delay_ms(&h, 429, 1, 0, 7), >=, 0);
    ASSERT_INT_OP(api_retry_delay_ms(&h, 500, 1, 0, 7), >=, 0);
    ASSERT_INT_OP(api_retry_delay_ms(&h, 503, 1, 0, 7), >=, 0);
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 200, 1, 0, 7), -1);
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 401, 1, 0, 7), -1);
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 404, 1, 0, 7), -1);
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 403, 1, 0, 7), -1); /* a plain 403: no permission */
    h.ratelimit_remaining = 0;
    ASSERT_INT_OP(api_retry_delay_ms(&h, 403, 1, 0, 7), >=, 0); /* GitHub's primary limit */
    h = none, h.should_retry = 0;
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 503, 1, 0, 7), -1); /* Stripe says no */
    h.should_retry = 1;
    ASSERT_INT_OP(api_retry_delay_ms(&h, 409, 1, 0, 7), >=, 0); /* Stripe says yes */
    h = none;
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 503, API_MAX_ATTEMPTS, 0, 7), -1);
}

TEST(api_retry_waits_as_told)
{
    struct api_hint h = none;

    h.retry_after_ms = 2000;
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 429, 1, 0, 12345), 2000);
    h = none, h.ratelimit_remaining = 0, h.ratelimit_reset_s = 1000;
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 403, 1, 990000, 1), 11000); /* + 1 s slack */
    ASSERT_INT_EQ(api_retry_delay_ms(&h, 403, 1, 1005000, 1), 0);   /* already past */
    h.ratelimit_remaining = 3; /* not exhausted: the reset is no reason to wait */
    ASSERT_INT_OP(api_retry_delay_ms(&h, 429, 1, 990000, 100), <=, API_BACKOFF_BASE_MS);
}

TEST(api_retry_backoff_is_full_jitter_capped)
{
    struct api_hint h = none;

    for (unsigned a = 1; a < API_MAX_ATTEMPTS; a++) {
        int64_t cap = (int64_t)API_BACKOFF_BASE_MS << (a - 1);
        cap = cap > API_BACKOFF_CAP_MS ? API_BACKOFF_CAP_MS : cap;
        ASSERT_INT_EQ(api_retry_delay_ms(&h, 502, a, 0, 0), 0);
        ASSERT_INT_EQ(api_retry_delay_ms(&h, 502, a, 0, (uint32_t)cap), cap);
        ASSERT_INT_EQ(api_retry_delay_ms(&h, 502, a, 0, (uint32_t)cap + 1), 0);
    }
}

TEST(api_retry_after_seconds_and_dates)
{
    int64_t now = 1714564800000LL; /* 2024-05-01T12:00:00Z */

    ASSERT_INT_EQ(api_parse_retry_after("0", now), 0);
    ASSERT_INT_EQ(api_parse_retry_after(" 120", now), 120000);
    ASSERT_INT_EQ(api_parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now), 30000);
    ASSERT_INT_EQ(api_parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now), 0);
    ASSERT_INT_EQ(api_parse_retry_after("12abc", now), -1);
    ASSERT_INT_EQ(api_parse_retry_after("soon", now), -1);
}

TEST(api_link_header_next_page)
{
    const char gh[] = "<https://api.github.com/repositories/1/hooks/7/deliveries?per_page=100"
                      "&cursor=v1_12>; rel=\"next\", <https://api.github.com/x?cursor=v1_0>; "
                      "rel=\"prev\"";
    const char prev_first[] = "<https://h/a?c=1>; rel=\"prev\", <https://h/a?c=3>; rel=\"next\"";
    const char multi[] = "<https://h/b>; title=\"x\"; rel=\"last next\"";
    char *n;

    ASSERT_STR_EQ(n = api_link_next(gh, strlen(gh)),
                  "https://api.github.com/repositories/1/hooks/7/deliveries?per_page=100"
                  "&cursor=v1_12");
    free(n);
    ASSERT_STR_EQ(n = api_link_next(prev_first, strlen(prev_first)), "https://h/a?c=3");
    free(n);
    ASSERT_STR_EQ(n = api_link_next(multi, strlen(multi)), "https://h/b");
    free(n);
    ASSERT(api_link_next("<https://h/a>; rel=\"prev\"", 24) == NULL);
    ASSERT(api_link_next("<https://h/a; rel=next", 22) == NULL); /* no '>' */
    ASSERT(api_link_next("", 0) == NULL);
}

TEST(api_urls_that_may_carry_the_credential)
{
    ASSERT(api_same_origin("https://api.github.com", "https://api.github.com/x?y"));
    ASSERT(api_same_origin("https://ghe.example/api/v3", "https://ghe.example/api/v3/x"));
    ASSERT(!api_same_origin("https://api.github.com", "https://api.github.com.evil.example/x"));
    ASSERT(!api_same_origin("https://api.github.com", "http://api.github.com/x"));
    ASSERT(!api_same_origin("https://api.github.com", "https://evil.example/?https://api.github.com"));
    ASSERT(!api_same_origin("http://127.0.0.1:8080", "http://127.0.0.1:8081/x"));
    ASSERT(api_url_allowed("https://api.stripe.com"));
    ASSERT(api_url_allowed("http://127.0.0.1:9000"));
    ASSERT(api_url_allowed("http://localhost/x"));
    ASSERT(api_url_allowed("http://[::1]:80"));
    ASSERT(!api_url_allowed("http://api.stripe.com"));
    ASSERT(!api_url_allowed("http://127.0.0.1.evil.example/"));
    ASSERT(!api_url_allowed("ftp://127.0.0.1/"));
    ASSERT(!api_url_allowed("https://"));
}
