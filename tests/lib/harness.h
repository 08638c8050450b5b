/*
 * harness.h — the integration-test harness: what a test needs to run real
 * hookd processes against a real redis-server and talk to them over real
 * sockets. Include this one header; it brings in the runner (test.h) and the
 * harness's parts:
 *
 *   proc.h         child processes with a log file each
 *   redis_srv.h    a private redis-server per test
 *   http_client.h  an HTTP/1.1 client that sends exact bytes
 *   signing.h      providers' signatures, computed with OpenSSL directly
 *
 * Each test runs in its own forked child (runner.c), so all harness state is
 * per test. At the end of a test the harness stops every process it started;
 * if the test passed it removes the test's temp dir, if it failed it prints
 * the tail of every process's log and keeps the dir. Under a sanitizer build,
 * a sanitizer report in any child's log fails the test.
 *
 * Ownership: a returned `const char *` is owned by the harness and valid until
 * the test ends; a returned `char *` is the caller's to free() unless stated.
 * Functions documented as "fails the test" call test_fail and do not return.
 */
#ifndef HOOKD_HARNESS_H
#define HOOKD_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "test.h"

#include "http_client.h"
#include "proc.h"
#include "redis_srv.h"
#include "signing.h"

/* ---- paths ---- */

/* A built binary: "hookd-receiver", "hookd-worker", "hookctl", or a tool
 * ("NAME" or "tools/NAME"), from the build dir of the running test binary
 * (build/ or build-san/). Fails the test if it is not there. */
const char *harness_bin(const char *name);
const char *harness_build_dir(void);
const char *harness_repo_dir(void); /* the build dir's parent */

/* This test's temp dir, created on first use under $TMPDIR or /tmp. */
const char *harness_tmpdir(void);
/* tmpdir/name (not created). */
const char *harness_path(const char *name);

/* ---- files ---- */

/* Writes content to tmpdir/name (parent dirs created); returns the path.
 * Fails the test on error. */
const char *harness_write_file(const char *name, const char *content);
const char *harness_write_bytes(const char *name, const void *data, size_t len);
/* The whole file, NUL-terminated (malloc'd; *len_out if not NULL), or NULL. */
char *harness_read_file(const char *path, size_t *len_out);
/* TEMPLATE with each placeholder VARS[2i] replaced by VARS[2i + 1] (VARS
 * ends with NULL); malloc'd. Fails the test when out of room. */
char *harness_expand(const char *template_text, const char *const *vars);
/* The opening of a test config, for the placeholders the fixtures expand
 * (@PORT@, @ADMIN@, @REDIS@): both listeners, the admin token, two threads,
 * and [redis] open, with TIMEOUT (a string literal): more [redis] keys may
 * follow. A string literal, so a template is this followed by its own. */
#define HARNESS_CONF_HEAD(timeout)                                                                 \
    "[receiver]\nlisten = 127.0.0.1:@PORT@\nadmin_listen = 127.0.0.1:@ADMIN@\n"                    \
    "admin_token = test-admin-token\nthreads = 2\n[redis]\nurl = @REDIS@\ntimeout = " timeout "\n"

/* ---- ports, time, waiting ---- */

/* A loopback TCP port that was free a moment ago (bind 127.0.0.1:0); never
 * the same one twice in a test. */
int harness_free_port(void);
int64_t harness_now_ms(void); /* monotonic */
/* Sleeps a little longer each call (1 ms doubling to 20 ms); for poll loops. */
void harness_backoff(unsigned attempt);

/* Polls cond(arg) until it returns non-zero: 0, or -1 after timeout_ms. */
int wait_until(int (*cond)(void *arg), void *arg, int timeout_ms);

/* Polls expr until true; fails the test with its text after timeout_ms. */
#define WAIT_FOR(expr, timeout_ms)                                                                 \
    do {                                                                                           \
        int64_t wf_deadline_ = harness_now_ms() + (timeout_ms);                                    \
        for (unsigned wf_i_ = 0; !(expr); wf_i_++) {                                               \
            if (harness_now_ms() >= wf_deadline_)                                                  \
                test_fail(__FILE__, __LINE__, "timed out after %d ms waiting for: %s",             \
                          (int)(timeout_ms), #expr);                                               \
            harness_backoff(wf_i_);                                                                \
        }                                                                                          \
    } while (0)

/* ---- running commands ---- */

/* Runs argv (argv[0] searched in PATH) to completion with stdout and stderr
 * captured together into *out (malloc'd, NUL-terminated; may be NULL).
 * Returns the exit code, 128 + N if killed by signal N, or -1 if it could not
 * start or ran past timeout_ms (then it is killed). */
int harness_run(const char *const argv[], char **out, int timeout_ms);
/* Same, with extra environment ("K=V"; "K" alone unsets K; NULL-terminated
 * or NULL) and bytes for stdin (NULL: /dev/null). */
int harness_run_env(const char *const argv[], const char *const extra_env[], const void *input,
                    size_t input_len, char **out, int timeout_ms);

/* ---- hookd processes ---- */

#define HARNESS_READY_TIMEOUT_MS 10000

/* Starts `hookd-receiver -c config_path` (log "receiver") and waits up to
 * 10 s for GET /healthz on 127.0.0.1:admin_port to answer 200; fails the test
 * with the log tail otherwise. */
struct proc *receiver_start(const char *config_path, int admin_port);
struct proc *receiver_start_env(const char *config_path, int admin_port,
                                const char *const extra_env[]);
/* Starts `hookd-worker -c config_path -r route` (log "worker-ROUTE"); no wait. */
struct proc *worker_start(const char *config_path, const char *route,
                          const char *const extra_env[]);

/* The first line of a sanitizer report in text, or NULL. */
const char *harness_sanitizer_report(const char *text);
/* 1 in an ASan/UBSan build: end-of-test log scanning is on. */
int harness_sanitizer_build(void);

#endif
