/*
 * test_allow_from.c — allow_from and trusted_proxies through the real
 * receiver over real sockets. Every address of 127.0.0.0/8 is the loopback
 * interface on Linux, so a test picks its TCP peer by binding its socket to
 * 127.0.0.1, 127.0.0.2 or 127.0.0.3 (and ::1 for IPv6): a trusted proxy and
 * an untrusted sender are two local addresses.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingress_fixture.h"

#define PROXY "127.0.0.2"
#define OTHER "127.0.0.3"

static const char conf[] = "[receiver]\nlisten = 127.0.0.1:@PORT@\n"
                           "admin_listen = 127.0.0.1:@ADMIN@\nadmin_token = test-admin-token\n"
                           "max_body = 4096\nthreads = 2\ntrusted_proxies = " PROXY "\n"
                           "[redis]\nurl = @REDIS@\n"
                           "[source open]\nscheme = github\nsecret.v1 = s\n"
                           "[source local]\nscheme = github\nsecret.v1 = s\n"
                           "allow_from = 127.0.0.0/8\n"
                           "[source closed]\nscheme = github\nsecret.v1 = s\n"
                           "allow_from = 192.0.2.0/24, 10.0.0.0/8, 2001:db8::/32\n"
                           "[source partner]\nscheme = github\nsecret.v1 = s\n"
                           "allow_from = 203.0.113.0/24\n"
                           "[route default]\nhandler = exec:/bin/true\n";

/* The receiver's public address (NULL: 127.0.0.1). */
static const char *target;

/* POSTs a GitHub-signed event to /hooks/SOURCE from the address FROM
 * (NULL: the kernel's choice, 127.0.0.1), with up to two extra header
 * lines; the status. */
static int post_from(struct fixture *f, const char *from, const char *source, const char *id,
                     const char *extra1, const char *extra2)
{
    static const char body[] = "{\"zen\":\"allow\"}";
    char sig[SIG_BUF_SIZE], h1[300], h2[300], path[128];
    struct http_response r;
    int status;

    github_signature("s", body, strlen(body), sig);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", sig);
    snprintf(h2, sizeof h2, "X-GitHub-Delivery: %s", id);
    snprintf(path, sizeof path, "/hooks/%s", source);
    const char *headers[] = {h1,     h2,  "X-GitHub-Event: push", extra1 ? extra1 : "X-Pad: 1",
                             extra2, NULL};
    http_client_endpoints(from, target);
    ASSERT_INT_EQ(http_request(f->port, "POST", path, headers, body, strlen(body), &r), 0);
    http_client_endpoints(NULL, NULL);
    status = r.status;
    if (status == 403) {
        ASSERT_STR_CONTAINS(r.body, "\"status\":\"rejected\"");
        ASSERT_NOT_NULL(http_header(&r, "X-Request-Id"));
    }
    http_response_free(&r);
    return status;
}

/* The value of the metric line that starts with PREFIX, or 0. */
static long long metric(struct fixture *f, const char *prefix)
{
    const char *const auth[] = {"Authorization: Bearer test-admin-token", NULL};
    struct http_response r;
    long long n = 0;

    if (http_request(f->admin_port, "GET", "/metrics", auth, NULL, 0, &r) == 0) {
        const char *p = strstr(r.body, prefix);
        if (p)
            n = strtoll(p + strlen(prefix), NULL, 10);
        http_response_free(&r);
    }
    return n;
}

/* Some "request" log line of the receiver contains both A and B. */
static void log_line_has(struct fixture *f, const char *a, const char *b)
{
    char *log = proc_log(f->receiver), *line, *end;

    for (line = log; line && *line; line = end ? end + 1 : NULL) {
        end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (strstr(line, "\"event\":\"request\"") && strstr(line, a) && strstr(line, b)) {
            free(log);
            return;
        }
    }
    free(log);
    test_fail(__FILE__, __LINE__, "no request log line with %s and %s", a, b);
}

TEST(allow_from_refuses_peer_outside_before_the_body)
{
    struct fixture f;
    struct http_response r;
    char head[512];

    fixture_start(&f, conf);
    ASSERT_INT_EQ(post_from(&f, NULL, "open", "a-1", NULL, NULL), 202);
    ASSERT_INT_EQ(post_from(&f, NULL, "local", "a-2", NULL, NULL), 202);
    ASSERT_INT_EQ(post_from(&f, OTHER, "local", "a-3", NULL, NULL), 202);
    ASSERT_INT_EQ(post_from(&f, NULL, "closed", "a-4", NULL, NULL), 403);
    ASSERT_INT_EQ(post_from(&f, OTHER, "closed", "a-5", NULL, NULL), 403);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 3);
    ASSERT_INT_EQ(redis_int(f.rc, "EXISTS hookd:{default}:seen:closed:a-4"), 0);
    /* Logged with the address, counted per source. */
    log_line_has(&f, "\"outcome\":\"client_not_allowed\"", "\"client\":\"127.0.0.1\"");
    log_line_has(&f, "\"source\":\"closed\"", "\"client\":\"" OTHER "\"");
    ASSERT_INT_EQ(metric(&f, "hookd_ingress_forbidden_total{source=\"closed\","
                             "reason=\"client_not_allowed\"} "),
                  2);
    /* Nothing read past the headers: a request that announces 100 kB and
     * sends none of it is answered at once, and a 100-continue is never
     * granted. 403, not 413: an outsider learns nothing of the limits. */
    snprintf(head, sizeof head,
             "POST /hooks/closed HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
             "Expect: 100-continue\r\nX-Hub-Signature-256: sha256=00\r\n\r\n");
    ASSERT_INT_EQ(http_raw(f.port, head, strlen(head), 3000, &r), 0);
    ASSERT_INT_EQ(r.status, 403);
    ASSERT(strstr(r.raw, "100 Continue") == NULL);
    http_response_free(&r);
    /* The same from an allowed peer waits for its body instead. */
    snprintf(head, sizeof head,
             "POST /hooks/local HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
             "X-Hub-Signature-256: sha256=00\r\n\r\n");
    ASSERT_INT_EQ(http_raw(f.port, head, strlen(head), 500, &r), -1);
    ASSERT_INT_EQ(r.status, 0);
    http_response_free(&r);
    ASSERT_INT_EQ(metric(&f, "hookd_ingress_forbidden_total{source=\"closed\","
                             "reason=\"client_not_allowed\"} "),
                  3);
}

TEST(allow_from_forwarded_for_only_from_trusted_proxy)
{
    struct fixture f;

    fixture_start(&f, conf);
    /* From the trusted proxy, X-Forwarded-For names the client. */
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "p-1", "X-Forwarded-For: 203.0.113.9", NULL),
                  202);
    log_line_has(&f, "\"event_id\":\"p-1\"", "\"client\":\"203.0.113.9\",\"peer\":\"" PROXY "\"");
    /* From any other peer it is ignored: the peer is the client. */
    ASSERT_INT_EQ(post_from(&f, NULL, "partner", "p-2", "X-Forwarded-For: 203.0.113.9", NULL), 403);
    ASSERT_INT_EQ(post_from(&f, OTHER, "partner", "p-3", "X-Forwarded-For: 203.0.113.9", NULL),
                  403);
    log_line_has(&f, "\"source\":\"partner\"", "\"client\":\"" OTHER "\"");
    /* A spoofed chain: what the sender claimed sits left of what the proxy
     * appended; the right-most untrusted entry is the client. */
    ASSERT_INT_EQ(
        post_from(&f, PROXY, "partner", "p-4", "X-Forwarded-For: 203.0.113.9, 198.51.100.7", NULL),
        403);
    log_line_has(&f, "\"outcome\":\"client_not_allowed\"", "\"client\":\"198.51.100.7\"");
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "p-5",
                            "X-Forwarded-For: 198.51.100.7, not-an-ip, 203.0.113.9", NULL),
                  202);
    /* Trusted hops are skipped; two headers are one list. */
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "p-6",
                            "X-Forwarded-For: 203.0.113.9, " PROXY ", " PROXY, NULL),
                  202);
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "p-7", "X-Forwarded-For: 203.0.113.9",
                            "X-Forwarded-For: 198.51.100.7"),
                  403);
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "p-8", "X-Forwarded-For: 198.51.100.7",
                            "x-forwarded-for: 203.0.113.9"),
                  202);
    /* Without the header, the proxy itself is the client. */
    ASSERT_INT_EQ(post_from(&f, PROXY, "local", "p-9", NULL, NULL), 202);
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "p-10", NULL, NULL), 403);
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 5);
}

TEST(allow_from_malformed_forwarded_for)
{
    struct fixture f;
    static const char *const bad[] = {
        "X-Forwarded-For: 203.0.113.9, garbage",
        "X-Forwarded-For: 203.0.113.9,",
        "X-Forwarded-For: ,",
        "X-Forwarded-For: 203.0.113.9:443",
        "X-Forwarded-For: [2001:db8::1]",
        "X-Forwarded-For: 203.0.113.9 203.0.113.8",
        "X-Forwarded-For: 203.0.113.0/24",
        "X-Forwarded-For: 0x7f.0.0.1",
    };
    char id[32];

    fixture_start(&f, conf);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(id, sizeof id, "m-%zu", i);
        /* From the trusted proxy: the client is unknown, allow_from refuses. */
        if (post_from(&f, PROXY, "partner", id, bad[i], NULL) != 403)
            test_fail(__FILE__, __LINE__, "\"%s\" from the proxy was not refused", bad[i]);
        /* A source without allow_from does not care. */
        snprintf(id, sizeof id, "o-%zu", i);
        ASSERT_INT_EQ(post_from(&f, PROXY, "open", id, bad[i], NULL), 202);
        /* From an untrusted peer the header is never read. */
        snprintf(id, sizeof id, "l-%zu", i);
        ASSERT_INT_EQ(post_from(&f, OTHER, "local", id, bad[i], NULL), 202);
    }
    log_line_has(&f, "\"outcome\":\"forwarded_for_malformed\"", "\"client\":\"" PROXY "\"");
    ASSERT_INT_EQ(metric(&f, "hookd_ingress_forbidden_total{source=\"partner\","
                             "reason=\"forwarded_for_malformed\"} "),
                  (long long)(sizeof bad / sizeof bad[0]));
    ASSERT(proc_alive(f.receiver));
}

TEST(allow_from_ipv6_listener)
{
    struct fixture f;
    static const char conf6[] = "[receiver]\nlisten = [::1]:@PORT@\n"
                                "admin_listen = 127.0.0.1:@ADMIN@\nthreads = 1\n"
                                "trusted_proxies = ::1/128\n"
                                "[redis]\nurl = @REDIS@\n"
                                "[source local]\nscheme = github\nsecret.v1 = s\n"
                                "allow_from = ::1\n"
                                "[source doc]\nscheme = github\nsecret.v1 = s\n"
                                "allow_from = 2001:db8::/32, 192.0.2.0/24\n"
                                "[route default]\nhandler = exec:/bin/true\n";
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    if (fd < 0)
        SKIP("no IPv6 on this machine");
    close(fd);
    fixture_start(&f, conf6);
    target = "::1";
    ASSERT_INT_EQ(post_from(&f, "::1", "local", "v6-1", NULL, NULL), 202);
    ASSERT_INT_EQ(post_from(&f, "::1", "doc", "v6-2", NULL, NULL), 403);
    ASSERT_INT_EQ(post_from(&f, "::1", "doc", "v6-3", "X-Forwarded-For: 2001:db8::77", NULL), 202);
    ASSERT_INT_EQ(post_from(&f, "::1", "doc", "v6-4", "X-Forwarded-For: 2001:db9::77", NULL), 403);
    /* A forwarded IPv4 client, plain or mapped, against the IPv4 block. */
    ASSERT_INT_EQ(post_from(&f, "::1", "doc", "v6-5", "X-Forwarded-For: 192.0.2.5", NULL), 202);
    ASSERT_INT_EQ(post_from(&f, "::1", "doc", "v6-6", "X-Forwarded-For: ::ffff:192.0.2.6", NULL),
                  202);
    log_line_has(&f, "\"event_id\":\"v6-3\"", "\"client\":\"2001:db8::77\",\"peer\":\"::1\"");
    ASSERT_INT_EQ(fixture_stream_len(&f, "default"), 4);
}

TEST_T(allow_from_reloaded_on_sighup, 60)
{
    struct fixture f;
    static const char moved[] =
        "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\n"
        "trusted_proxies = " OTHER "\n[redis]\nurl = @REDIS@\n"
        "[source local]\nscheme = github\nsecret.v1 = s\nallow_from = 10.0.0.0/8\n"
        "[source partner]\nscheme = github\nsecret.v1 = s\nallow_from = 203.0.113.0/24\n"
        "[route default]\nhandler = exec:/bin/true\n";

    fixture_start(&f, conf);
    ASSERT_INT_EQ(post_from(&f, NULL, "local", "r-1", NULL, NULL), 202);
    ASSERT_INT_EQ(post_from(&f, OTHER, "partner", "r-2", "X-Forwarded-For: 203.0.113.9", NULL),
                  403);
    fixture_rewrite_config(&f, moved);
    proc_signal(f.receiver, SIGHUP);
    WAIT_FOR(proc_log_count(f.receiver, "config reloaded") == 1, 5000);
    ASSERT_INT_EQ(post_from(&f, NULL, "local", "r-3", NULL, NULL), 403);
    ASSERT_INT_EQ(post_from(&f, OTHER, "partner", "r-4", "X-Forwarded-For: 203.0.113.9", NULL),
                  202);
    ASSERT_INT_EQ(post_from(&f, PROXY, "partner", "r-5", "X-Forwarded-For: 203.0.113.9", NULL),
                  403);
    /* A malformed block: the reload fails naming file:line, the config stays. */
    fixture_reload_fails(&f, "[receiver]\ntrusted_proxies = 10.0.0.1/8\n",
                         "receiver.conf:2: trusted_proxies:");
    ASSERT_INT_EQ(post_from(&f, OTHER, "partner", "r-6", "X-Forwarded-For: 203.0.113.9", NULL),
                  202);
}
