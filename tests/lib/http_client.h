/*
 * http_client.h — an HTTP/1.1 client over a plain loopback socket, for tests
 * that must control every byte (no libcurl). Part of harness.h.
 *
 * Sending and receiving are interleaved, so a server that answers early (413)
 * and closes is seen, not a broken pipe. A response's body is framed by
 * Content-Length, chunked encoding or connection close; 1xx responses are
 * skipped. Every call has a deadline; none of them fails the test itself.
 */
#ifndef HOOKD_TEST_HTTP_CLIENT_H
#define HOOKD_TEST_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_DEFAULT_TIMEOUT_MS 10000
#define HTTP_MAX_RESPONSE_BYTES (64u << 20)

struct http_header_field {
    char *name;
    char *value; /* without surrounding whitespace */
};

/* Zero it before first use; http_response_free releases and re-zeroes it. */
struct http_response {
    int status; /* 0 until a status line was read */
    struct http_header_field *headers;
    size_t nheaders;
    char *body; /* decoded (de-chunked), NUL-terminated; "" when empty */
    size_t body_len;
    char *raw; /* every byte received by the call, NUL-terminated */
    size_t raw_len;
};

void http_response_free(struct http_response *r);
/* The first header named name (case-insensitive), or NULL. Borrowed. */
const char *http_header(const struct http_response *r, const char *name);

/* Sends METHOD PATH HTTP/1.1 to 127.0.0.1:port with headers ("Name: value",
 * NULL-terminated or NULL), then Host, Content-Length (when body != NULL) and
 * Connection: close unless headers already have them; reads one response into
 * *out (overwritten, not freed). Returns 0, or -1 on connect failure,
 * timeout (10 s), an unparseable or unfinished response. */
int http_request(int port, const char *method, const char *path, const char *const headers[],
                 const char *body, size_t body_len, struct http_response *out);
int http_request_timed(int port, const char *method, const char *path, const char *const headers[],
                       const char *body, size_t body_len, int timeout_ms,
                       struct http_response *out);

/* Sends exactly bytes[0..n) and reads one response as http_request does.
 * out->raw holds whatever came back even when -1 is returned (e.g. "" if the
 * server closed without answering). */
int http_raw(int port, const void *bytes, size_t n, int timeout_ms, struct http_response *out);

/* A connected blocking socket (the caller closes it), or -1. */
int http_connect(int port);

/* Every later connection is bound to LOCAL (an address of lo: 127.0.0.2,
 * ::1; NULL: the kernel's choice) and goes to REMOTE (NULL: 127.0.0.1),
 * until the next call: for tests of client addresses. */
void http_client_endpoints(const char *local, const char *remote);

/* ---- a kept-alive connection, for several requests or pipelining ---- */

struct http_conn;

struct http_conn *http_conn_open(int port); /* NULL if connect fails */
void http_conn_close(struct http_conn *c);  /* NULL: no-op */
int http_conn_fd(const struct http_conn *c);
/* As http_request, without adding Connection: close. 0 or -1. */
int http_conn_request(struct http_conn *c, const char *method, const char *path,
                      const char *const headers[], const char *body, size_t body_len,
                      struct http_response *out);
/* Sends exact bytes (reading anything that arrives meanwhile). 0 or -1. */
int http_conn_send(struct http_conn *c, const void *bytes, size_t n, int timeout_ms);
/* Reads the next response (bytes already received count). 0 or -1. */
int http_conn_read(struct http_conn *c, int timeout_ms, struct http_response *out);

#endif
