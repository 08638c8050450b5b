/* hostile_util.c — see hostile_util.h. */
#define _GNU_SOURCE
#include "hostile_util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define HX_MAX_REPLY_BYTES (1u << 20)

char *hx_github_request(const char *secret, const char *id, const char *body, size_t body_len,
                        const char *extra, size_t *len)
{
    char sig[SIG_BUF_SIZE];
    size_t cap = body_len + (extra ? strlen(extra) : 0) + strlen(id) + 512;
    char *buf = malloc(cap);
    int n;

    ASSERT_NOT_NULL(buf);
    github_signature(secret, body, body_len, sig);
    n = snprintf(buf, cap,
                 "POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "X-Hub-Signature-256: %s\r\nX-GitHub-Delivery: %s\r\nX-GitHub-Event: push\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                 sig, id, body_len, extra ? extra : "");
    ASSERT(n > 0 && (size_t)n + body_len < cap);
    memcpy(buf + n, body, body_len);
    *len = (size_t)n + body_len;
    return buf;
}

int hx_send_all(int fd, const void *p, size_t n)
{
    const char *b = p;

    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w, n -= (size_t)w;
    }
    return 0;
}

/* Reads what is there into buf; returns bytes read, 0 on EOF/reset, -1 if
 * nothing came within wait_ms. */
static ssize_t read_some(int fd, char *buf, size_t cap, int wait_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr = poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms);
    ssize_t r;

    if (pr <= 0)
        return -1;
    r = recv(fd, buf, cap, 0);
    return r < 0 ? 0 : r;
}

char *hx_exchange(int port, const void *bytes, size_t len, int quiet_ms, int timeout_ms, size_t *n,
                  int *closed)
{
    int fd = http_connect(port);
    int64_t deadline = harness_now_ms() + timeout_ms, last = 0;
    size_t used = 0;
    char *out;

    *n = 0, *closed = 0;
    if (fd < 0)
        return NULL;
    out = malloc(HX_MAX_REPLY_BYTES + 1);
    ASSERT_NOT_NULL(out);
    hx_send_all(fd, bytes, len); /* an early answer and close is fine */
    while (harness_now_ms() < deadline && used < HX_MAX_REPLY_BYTES) {
        int wait = (int)(deadline - harness_now_ms());
        if (used > 0 && harness_now_ms() - last >= quiet_ms)
            break;
        if (used > 0 && wait > quiet_ms)
            wait = quiet_ms;
        ssize_t r = read_some(fd, out + used, HX_MAX_REPLY_BYTES - used, wait);
        if (r == 0) {
            *closed = 1;
            break;
        }
        if (r > 0)
            used += (size_t)r, last = harness_now_ms();
    }
    close(fd);
    out[used] = '\0';
    *n = used;
    return out;
}

/* Content-Length in head[0..n), or -1. */
static long head_content_length(const char *head, size_t n)
{
    static const char name[] = "\r\ncontent-length:";
    size_t nl = sizeof name - 1;

    for (size_t i = 0; i + nl < n; i++)
        if (strncasecmp(head + i, name, nl) == 0)
            return strtol(head + i + nl, NULL, 10);
    return -1;
}

int hx_statuses(const char *raw, size_t n, int *out, int max)
{
    int count = 0;
    size_t pos = 0;

    while (count < max && pos + 12 <= n) {
        const char *h = memmem(raw + pos, n - pos, "HTTP/1.", 7);
        if (!h || (size_t)(h - raw) + 12 > n)
            break;
        size_t at = (size_t)(h - raw);
        if (h[8] == ' ' && h[9] >= '1' && h[9] <= '5')
            out[count++] = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
        const char *end = memmem(h, n - at, "\r\n\r\n", 4);
        if (!end)
            break;
        long cl = head_content_length(h, (size_t)(end - h) + 2);
        pos = (size_t)(end - raw) + 4 + (cl > 0 ? (size_t)cl : 0);
    }
    return count;
}

int hx_wait_closed(int fd, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;
    char buf[4096];

    while (harness_now_ms() < deadline) {
        ssize_t r = read_some(fd, buf, sizeof buf, (int)(deadline - harness_now_ms()));
        if (r == 0)
            return 1;
    }
    return 0;
}

long hx_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "re")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}
