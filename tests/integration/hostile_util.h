/*
 * hostile_util.h — helpers for the hostile-input and chaos tests: exact
 * request bytes, a raw exchange that reads until the server goes quiet or
 * closes, every status line in what came back, a process's resident memory.
 *
 * Returned `char *` are the caller's to free(); nothing here fails the test
 * unless stated.
 */
#ifndef HOOKD_HOSTILE_UTIL_H
#define HOOKD_HOSTILE_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#define HX_MAX_STATUSES 16

/* "POST /hooks/github HTTP/1.1" with a valid GitHub signature of body by
 * secret, delivery id, event type "push", Content-Length, and EXTRA (raw
 * header lines each ending in "\r\n", or NULL) before the blank line; then
 * the body. Malloc'd; *len set. Fails the test on out of memory. */
char *hx_github_request(const char *secret, const char *id, const char *body, size_t body_len,
                        const char *extra, size_t *len);

/* Connects, sends bytes (stopping quietly if the server closes first) and
 * reads until the server closes, or nothing arrived for quiet_ms after the
 * first byte, or timeout_ms passed. Returns what arrived (malloc'd,
 * NUL-terminated, *n set), or NULL if the connection failed. *closed is 1
 * when the server closed the connection. */
char *hx_exchange(int port, const void *bytes, size_t len, int quiet_ms, int timeout_ms, size_t *n,
                  int *closed);

/* The status codes of every "HTTP/1.x NNN" response head in raw, in order;
 * returns how many (at most max). */
int hx_statuses(const char *raw, size_t n, int *out, int max);

/* Sends everything, tolerating a peer that closed: 0, or -1 on error. */
int hx_send_all(int fd, const void *p, size_t n);

/* Waits up to timeout_ms for fd's peer to close (reading and dropping what
 * arrives): 1 closed, 0 still open. */
int hx_wait_closed(int fd, int timeout_ms);

/* VmRSS of pid in KiB, or -1. */
long hx_rss_kb(pid_t pid);

#endif
