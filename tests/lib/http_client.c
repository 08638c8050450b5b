/*
 * http_client.c — HTTP/1.1 over a loopback socket for tests (http_client.h).
 *
 * A connection keeps the bytes received but not yet consumed, so pipelined
 * and kept-alive responses are read in order. Parsing works on those bytes
 * alone (parse_response), apart from the I/O:
 *
 *   status line, headers, "\r\n\r\n"   1xx: skipped, parse again after it
 *   body framing:  HEAD / 204 / 304    none
 *                  Transfer-Encoding   chunked (trailers skipped)
 *                  Content-Length      that many bytes
 *                  neither             until the server closes
 *
 * The socket is non-blocking and every wait is a poll() bounded by the call's
 * deadline. While sending, whatever arrives is read too: a server may answer
 * early (413) and stop reading, and neither side must block forever.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD_BYTES (64u << 10)
#define MAX_CHUNK_LINE 1024
#define RECV_CHUNK 65536

struct http_conn {
    int fd;
    int port;
    int eof;        /* the server closed (or reset) the connection */
    struct hbuf in; /* received, not yet consumed */
};

void http_response_free(struct http_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r->raw);
    memset(r, 0, sizeof *r);
}

const char *http_header(const struct http_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* ---- parsing ---- */

/* Length of the head including its blank line, or 0 if not all there yet. */
static size_t head_length(const char *p, size_t n)
{
    const char *end = memmem(p, n, "\r\n\r\n", 4);

    return end ? (size_t)(end - p) + 4 : 0;
}

static void trim(const char **p, const char **end)
{
    while (*p < *end && (**p == ' ' || **p == '\t'))
        (*p)++;
    while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

static void add_header(struct http_response *r, const char *line, const char *end)
{
    const char *colon = memchr(line, ':', (size_t)(end - line));
    const char *value;
    struct http_header_field *grown;

    if (!colon || colon == line)
        return; /* not a header line: ignored (raw still has it) */
    value = colon + 1;
    trim(&value, &end);
    grown = realloc(r->headers, (r->nheaders + 1) * sizeof *grown);
    if (!grown)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    r->headers = grown;
    r->headers[r->nheaders].name = dup_bytes(line, (size_t)(colon - line));
    r->headers[r->nheaders].value = dup_bytes(value, (size_t)(end - value));
    r->nheaders++;
}

/* Parses "HTTP/1.x NNN reason\r\n" and the header lines of p[0..head_len). */
static int parse_head(const char *p, size_t head_len, struct http_response *r)
{
    const char *end = p + head_len - 2, *line = p;

    if (head_len < 14 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return -1;
    r->status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        r->status = r->status * 10 + (p[i] - '0');
    }
    line = memchr(p, '\n', head_len);
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line) + 1);
        const char *stop = eol && eol > line && eol[-1] == '\r' ? eol - 1 : eol;
        if (!eol)
            break;
        add_header(r, line, stop);
        line = eol;
    }
    return 0;
}

/* Content-Length as a number: 0, or -1 if malformed. */
static int content_length(const char *v, size_t *out)
{
    size_t n = 0;

    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (SIZE_MAX - 9) / 10)
            return -1;
        n = n * 10 + (size_t)(*v - '0');
    }
    *out = n;
    return 0;
}

/* Hex chunk size at the start of a chunk line; -1 if none. */
static int chunk_size(const char *p, const char *eol, size_t *out)
{
    size_t n = 0;
    const char *start = p;

    for (; p < eol; p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        if (n > (SIZE_MAX >> 4) - 1)
            return -1;
        n = n * 16 + (size_t)d;
    }
    if (p == start || (p < eol && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r'))
        return -1;
    *out = n;
    return 0;
}

/* Walks a chunked body in p[0..n): 1 complete (*used; data appended to body
 * if not NULL), 0 incomplete, -1 malformed. */
static int dechunk(const char *p, size_t n, struct hbuf *body, size_t *used)
{
    size_t pos = 0, size;

    for (;;) {
        const char *eol = memchr(p + pos, '\n', n - pos);
        if (!eol)
            return n - pos > MAX_CHUNK_LINE ? -1 : 0;
        if (chunk_size(p + pos, eol, &size) < 0)
            return -1;
        pos = (size_t)(eol - p) + 1;
        if (size == 0)
            break;
        if (n - pos < size || n - pos - size < 2)
            return 0;
        if (memcmp(p + pos + size, "\r\n", 2) != 0)
            return -1;
        if (body && hbuf_append(body, p + pos, size) < 0)
            return -1;
        pos += size + 2;
    }
    for (;;) { /* trailers, up to the empty line */
        const char *eol = memchr(p + pos, '\n', n - pos);
        if (!eol)
            return 0;
        size_t len = (size_t)(eol - (p + pos));
        pos += len + 1;
        if (len == 0 || (len == 1 && eol[-1] == '\r'))
            break;
    }
    *used = pos;
    return 1;
}

/* Frames and copies the body that starts at p[0..n): 1, 0 or -1 as dechunk. */
static int parse_body(const char *p, size_t n, int eof, int no_body, struct http_response *r,
                      size_t *used)
{
    const char *te = http_header(r, "Transfer-Encoding");
    const char *cl = http_header(r, "Content-Length");
    size_t len = 0;

    if (no_body || r->status == 204 || r->status == 304) {
        *used = 0;
    } else if (te && strcasestr(te, "chunked")) {
        struct hbuf body = {.max = HTTP_MAX_RESPONSE_BYTES};
        int rc = dechunk(p, n, NULL, used);
        if (rc <= 0)
            return rc;
        if (dechunk(p, n, &body, used) < 0)
            return -1;
        r->body = body.data ? body.data : dup_bytes("", 0);
        r->body_len = body.len;
        return 1;
    } else if (cl) {
        if (content_length(cl, &len) < 0)
            return -1;
        if (n < len)
            return eof ? -1 : 0;
        *used = len;
    } else {
        if (!eof)
            return 0;
        *used = len = n;
    }
    r->body = dup_bytes(p, len);
    r->body_len = len;
    return 1;
}

/* One response from p[0..n): 1 complete (*used bytes), 0 need more, -1 bad.
 * eof: nothing more will come. */
static int parse_response(const char *p, size_t n, int eof, int no_body, struct http_response *r,
                          size_t *used)
{
    size_t off = 0, head_len, body_used = 0;
    int rc;

    for (;;) {
        head_len = head_length(p + off, n - off);
        if (!head_len)
            return eof || n - off > MAX_HEAD_BYTES ? -1 : 0;
        http_response_free(r);
        if (parse_head(p + off, head_len, r) < 0)
            return -1;
        if (r->status >= 200)
            break;
        off += head_len; /* 100 Continue and friends */
    }
    rc = parse_body(p + off + head_len, n - off - head_len, eof, no_body, r, &body_used);
    if (rc == 1)
        *used = off + head_len + body_used;
    return rc;
}

/* ---- connections ---- */

/* Where new connections come from and go to (http_client_endpoints). */
static const char *local_addr, *remote_addr;

void http_client_endpoints(const char *local, const char *remote)
{
    local_addr = local, remote_addr = remote;
}

/* ADDR (an IPv4 or IPv6 literal; NULL: 127.0.0.1) and PORT into *sa. */
static int endpoint(const char *addr, int port, struct sockaddr_storage *sa, socklen_t *len)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

    memset(sa, 0, sizeof *sa);
    if (inet_pton(AF_INET, addr ? addr : "127.0.0.1", &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET, s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6, s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        return 0;
    }
    return -1;
}

int http_connect(int port)
{
    struct sockaddr_storage to, from;
    socklen_t to_len, from_len;
    int fd;

    if (endpoint(remote_addr, port, &to, &to_len) < 0 ||
        (local_addr && endpoint(local_addr, 0, &from, &from_len) < 0))
        return -1;
    if ((fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (local_addr && bind(fd, (struct sockaddr *)&from, from_len) < 0) {
        close(fd);
        return -1;
    }
    while (connect(fd, (struct sockaddr *)&to, to_len) < 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

struct http_conn *http_conn_open(int port)
{
    struct http_conn *c;
    int fd = http_connect(port);

    if (fd < 0)
        return NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    c->port = port;
    c->in.max = HTTP_MAX_RESPONSE_BYTES;
    return c;
}

void http_conn_close(struct http_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    hbuf_free(&c->in);
    free(c);
}

int http_conn_fd(const struct http_conn *c)
{
    return c->fd;
}

static int ms_left(int64_t deadline)
{
    int64_t left = deadline - harness_now_ms();

    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Reads what is available: >0 bytes, 0 nothing now, -1 error (c->eof set on
 * close or reset: the response so far is all there is). */
static int recv_available(struct http_conn *c)
{
    char chunk[RECV_CHUNK];
    ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);

    if (n > 0)
        return hbuf_append(&c->in, chunk, (size_t)n) < 0 ? -1 : (int)n;
    if (n == 0 || errno == ECONNRESET) {
        c->eof = 1;
        return 0;
    }
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static int send_until(struct http_conn *c, const char *p, size_t n, int64_t deadline)
{
    size_t off = 0;

    while (off < n && !c->eof) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN | POLLOUT};
        int r = poll(&pfd, 1, ms_left(deadline));
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && recv_available(c) < 0)
            return -1;
        if (!(pfd.revents & POLLOUT))
            continue;
        ssize_t w = send(c->fd, p + off, n - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (errno == EPIPE || errno == ECONNRESET)
            return 0; /* closed on us: whatever it answered is in c->in */
        else if (errno != EAGAIN && errno != EINTR)
            return -1;
    }
    return 0;
}

int http_conn_send(struct http_conn *c, const void *bytes, size_t n, int timeout_ms)
{
    return send_until(c, bytes, n, harness_now_ms() + timeout_ms);
}

static int read_response(struct http_conn *c, int64_t deadline, int no_body,
                         struct http_response *out)
{
    size_t used = 0;
    int rc;

    memset(out, 0, sizeof *out);
    for (;;) {
        rc = parse_response(c->in.data ? c->in.data : "", c->in.len, c->eof, no_body, out, &used);
        if (rc != 0 || c->eof)
            break;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, ms_left(deadline));
        if (r == 0 || (r < 0 && errno != EINTR) || (r > 0 && recv_available(c) < 0)) {
            rc = -1;
            break;
        }
    }
    out->raw = dup_bytes(c->in.data ? c->in.data : "", c->in.len);
    out->raw_len = c->in.len;
    if (rc == 1)
        hbuf_consume(&c->in, used);
    return rc == 1 ? 0 : -1;
}

int http_conn_read(struct http_conn *c, int timeout_ms, struct http_response *out)
{
    return read_response(c, harness_now_ms() + timeout_ms, 0, out);
}

/* ---- requests ---- */

static int has_header(const char *const headers[], const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, len) == 0 && headers[i][len] == ':')
            return 1;
    return 0;
}

static void build_request(struct hbuf *req, int port, const char *method, const char *path,
                          const char *const headers[], const char *body, size_t body_len,
                          int close_conn)
{
    int ok = hbuf_printf(req, "%s %s HTTP/1.1\r\n", method, path) == 0;

    if (ok && !has_header(headers, "Host"))
        ok = hbuf_printf(req, "Host: 127.0.0.1:%d\r\n", port) == 0;
    for (size_t i = 0; ok && headers && headers[i]; i++)
        ok = hbuf_printf(req, "%s\r\n", headers[i]) == 0;
    if (ok && body && !has_header(headers, "Content-Length") &&
        !has_header(headers, "Transfer-Encoding"))
        ok = hbuf_printf(req, "Content-Length: %zu\r\n", body_len) == 0;
    if (ok && close_conn && !has_header(headers, "Connection"))
        ok = hbuf_printf(req, "Connection: close\r\n") == 0;
    if (ok)
        ok = hbuf_append(req, "\r\n", 2) == 0 && (!body || hbuf_append(req, body, body_len) == 0);
    if (!ok)
        test_fail(__FILE__, __LINE__, "harness: HTTP request too large");
}

static int exchange(struct http_conn *c, const char *method, const char *path,
                    const char *const headers[], const char *body, size_t body_len, int close_conn,
                    int timeout_ms, struct http_response *out)
{
    struct hbuf req = {.max = HTTP_MAX_RESPONSE_BYTES};
    int64_t deadline = harness_now_ms() + timeout_ms;
    int rc;

    memset(out, 0, sizeof *out);
    build_request(&req, c->port, method, path, headers, body, body_len, close_conn);
    rc = send_until(c, req.data, req.len, deadline);
    hbuf_free(&req);
    if (rc < 0)
        return -1;
    return read_response(c, deadline, strcmp(method, "HEAD") == 0, out);
}

int http_conn_request(struct http_conn *c, const char *method, const char *path,
                      const char *const headers[], const char *body, size_t body_len,
                      struct http_response *out)
{
    return exchange(c, method, path, headers, body, body_len, 0, HTTP_DEFAULT_TIMEOUT_MS, out);
}

int http_request_timed(int port, const char *method, const char *path, const char *const headers[],
                       const char *body, size_t body_len, int timeout_ms, struct http_response *out)
{
    struct http_conn *c = http_conn_open(port);
    int rc;

    memset(out, 0, sizeof *out);
    if (!c)
        return -1;
    rc = exchange(c, method, path, headers, body, body_len, 1, timeout_ms, out);
    http_conn_close(c);
    return rc;
}

int http_request(int port, const char *method, const char *path, const char *const headers[],
                 const char *body, size_t body_len, struct http_response *out)
{
    return http_request_timed(port, method, path, headers, body, body_len, HTTP_DEFAULT_TIMEOUT_MS,
                              out);
}

int http_raw(int port, const void *bytes, size_t n, int timeout_ms, struct http_response *out)
{
    struct http_conn *c = http_conn_open(port);
    int64_t deadline = harness_now_ms() + timeout_ms;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!c) {
        out->raw = dup_bytes("", 0);
        return -1;
    }
    if (send_until(c, bytes, n, deadline) == 0)
        rc = read_response(c, deadline, 0, out);
    if (!out->raw) {
        out->raw = dup_bytes(c->in.data ? c->in.data : "", c->in.len);
        out->raw_len = c->in.len;
    }
    http_conn_close(c);
    return rc;
}
