/*
 * test_harness.c — tests of the integration-test harness itself (tests/lib):
 * files and ports, waiting, commands and processes, the failure report,
 * redis-server control (including AOF surviving kill -9), the HTTP client
 * against libmicrohttpd and against a server that writes exact bytes, and
 * the signature helpers against published vectors.
 */
#define _GNU_SOURCE
#include "../lib/harness.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- paths, files, ports, waiting ---- */

TEST(harness_paths_and_files)
{
    struct stat st;
    size_t len = 0;

    ASSERT_STR_CONTAINS(harness_bin("tests"), "/tests");
    char makefile[4096];
    snprintf(makefile, sizeof makefile, "%s/Makefile", harness_repo_dir());
    ASSERT_INT_EQ(access(makefile, R_OK), 0);
    ASSERT_INT_EQ(stat(harness_tmpdir(), &st), 0);
    ASSERT(S_ISDIR(st.st_mode));
    const char *path = harness_write_file("conf/a.ini", "[redis]\nurl = x\n");
    ASSERT_STR_CONTAINS(path, harness_tmpdir());
    char *back = harness_read_file(path, &len);
    ASSERT_STR_EQ(back, "[redis]\nurl = x\n");
    ASSERT_INT_EQ(len, 16);
    free(back);
    ASSERT_NULL(harness_read_file(harness_path("missing"), NULL));
}

TEST(harness_free_port_is_bindable_and_new)
{
    int a = harness_free_port(), b = harness_free_port();
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)a),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ASSERT_INT_OP(a, >, 0);
    ASSERT_INT_OP(b, >, 0);
    ASSERT_INT_OP(a, !=, b);
    ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
}

static int count_to_five(void *arg)
{
    return ++*(int *)arg >= 5;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

TEST(harness_wait_until)
{
    int n = 0;
    int64_t start = harness_now_ms();

    ASSERT_INT_EQ(wait_until(count_to_five, &n, 1000), 0);
    ASSERT_INT_EQ(n, 5);
    ASSERT_INT_EQ(wait_until(never, NULL, 50), -1);
    ASSERT_INT_OP(harness_now_ms() - start, >=, 50);
    n = 0;
    WAIT_FOR(++n == 3, 1000);
    ASSERT_INT_EQ(n, 3);
}

/* ---- commands and processes ---- */

TEST(harness_run_captures_output_and_code)
{
    const char *sh[] = {"/bin/sh", "-c", "echo out; echo err >&2; echo \"$HT_VAR\"; exit 3", NULL};
    const char *env[] = {"HT_VAR=from-env", NULL};
    const char *cat[] = {"cat", NULL};
    const char *slow[] = {"sleep", "10", NULL};
    char *out = NULL;

    ASSERT_INT_EQ(harness_run_env(sh, env, NULL, 0, &out, 5000), 3);
    ASSERT_STR_EQ(out, "out\nerr\nfrom-env\n");
    free(out);
    ASSERT_INT_EQ(harness_run_env(cat, NULL, "a\0b", 3, &out, 5000), 0);
    ASSERT_INT_EQ(memcmp(out, "a\0b", 3), 0);
    free(out);
    int64_t start = harness_now_ms();
    ASSERT_INT_EQ(harness_run(slow, &out, 100), -1);
    ASSERT_INT_OP(harness_now_ms() - start, <, 5000);
    free(out);
}

TEST(harness_proc_lifecycle)
{
    const char *server[] = {"/bin/sh", "-c", "echo \"ready $HT_NAME\"; exec sleep 30", NULL};
    const char *quick[] = {"/bin/sh", "-c", "echo bye; exit 7", NULL};
    const char *env[] = {"HT_NAME=p1", NULL};
    struct proc *p = proc_start(server, env, "srv");
    struct proc *q = proc_start(quick, NULL, "srv");

    ASSERT_STR_EQ(proc_name(q), "srv.2");
    ASSERT_INT_EQ(proc_log_wait_for(p, "ready p1", 5000), 0);
    ASSERT(proc_alive(p));
    ASSERT_INT_OP(proc_pid(p), >, 0);
    ASSERT_INT_EQ(proc_wait(q, 5000), 7);
    ASSERT_INT_EQ(proc_log_wait_for(q, "never written", 5000), -1); /* exited: no wait */
    ASSERT_INT_EQ(proc_log_count(q, "bye"), 1);
    ASSERT_INT_EQ(proc_wait(p, 10), -1);
    ASSERT_INT_EQ(proc_stop(p), 128 + SIGTERM);
    ASSERT(!proc_alive(p));
    char *log = proc_log(p);
    ASSERT_STR_EQ(log, "ready p1\n");
    free(log);
}

TEST(harness_proc_exec_failure_shows_in_log)
{
    const char *argv[] = {"/nonexistent/hookd-nothing", NULL};
    struct proc *p = proc_start(argv, NULL, "missing");

    ASSERT_INT_EQ(proc_wait(p, 5000), 127);
    ASSERT_INT_EQ(proc_log_wait_for(p, "exec failed: /nonexistent/hookd-nothing", 100), 0);
}

/* Runs fn in a forked copy of this test with stderr captured; returns its
 * exit status and output (malloc'd). */
static int run_forked(void (*fn)(void), char **out)
{
    char buf[65536];
    size_t len = 0;
    int pipefd[2], status = 0;
    ssize_t n;

    harness_tmpdir(); /* shared, so this test's cleanup removes its files */
    ASSERT_INT_EQ(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT_INT_OP(pid, >=, 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        fn();
        _exit(0);
    }
    close(pipefd[1]);
    while ((n = read(pipefd[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    *out = strdup(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void fail_after_logging(void)
{
    const char *argv[] = {"/bin/sh", "-c", "echo first-line; echo marker-in-tail", NULL};
    struct proc *p = proc_start(argv, NULL, "chatty");

    proc_wait(p, 5000);
    test_fail(__FILE__, __LINE__, "deliberate failure");
}

TEST(harness_failure_prints_log_tails)
{
    char *out = NULL;

    ASSERT_INT_EQ(run_forked(fail_after_logging, &out), 1);
    ASSERT_STR_CONTAINS(out, "deliberate failure");
    ASSERT_STR_CONTAINS(out, "---- chatty (pid ");
    ASSERT_STR_CONTAINS(out, "| marker-in-tail");
    ASSERT_STR_CONTAINS(out, "kept temp dir");
    free(out);
}

static void crash_report_in_log(void)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "echo '==1==ERROR: AddressSanitizer: heap-use-after-free' >&2", NULL};
    struct proc *p = proc_start(argv, NULL, "crashy");

    proc_wait(p, 5000);
    _exit(0);
}

TEST(harness_sanitizer_reports_are_found)
{
    const char *text = "ok\nsrc/x.c:3:5: runtime error: signed integer overflow\nmore\n";
    char *out = NULL;

    ASSERT_STR_EQ(harness_sanitizer_report(text), text + 3);
    ASSERT_NULL(harness_sanitizer_report("all fine\n"));
    ASSERT_NOT_NULL(harness_sanitizer_report("==7==ERROR: LeakSanitizer: detected"));
    /* Only a sanitizer build fails the test on a report in a child's log. */
    int status = run_forked(crash_report_in_log, &out);
    if (harness_sanitizer_build()) {
        ASSERT_INT_EQ(status, 1);
        ASSERT_STR_CONTAINS(out, "sanitizer report in crashy");
    } else {
        ASSERT_INT_EQ(status, 0);
    }
    free(out);
}

/* ---- redis ---- */

TEST(harness_redis_ping_and_url)
{
    struct redis_srv *r = redis_start(NULL);
    redisContext *c = redis_connect(r);
    char url[64];
    char *pong = redis_str(c, "PING");

    ASSERT_STR_EQ(pong, "PONG");
    free(pong);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", redis_port(r));
    ASSERT_STR_EQ(redis_url(r), url);
    ASSERT_INT_EQ(redis_int(c, "RPUSH %s %s", "list", "a"), 1);
    ASSERT_NULL(redis_str(c, "GET %s", "nothing"));
    redisReply *reply = redis_cmd(c, "DEBUG SLEEP 0");
    ASSERT_INT_EQ(reply->type, REDIS_REPLY_STATUS);
    freeReplyObject(reply);
    redisFree(c);
    redis_stop(r);
    ASSERT(!proc_alive(redis_proc(r)));
}

TEST(harness_redis_aof_survives_kill_9)
{
    struct redis_opts opts = {.appendonly = 1, .appendfsync_always = 1};
    struct redis_srv *r = redis_start(&opts);
    redisContext *c = redis_connect(r);
    int port = redis_port(r);

    freeReplyObject(redis_cmd(c, "SET %s %s", "durable", "yes"));
    redisFree(c);
    redis_kill(r);
    ASSERT(!proc_alive(redis_proc(r)));
    redis_restart(r);
    ASSERT_INT_EQ(redis_port(r), port);
    c = redis_connect(r);
    char *value = redis_str(c, "GET %s", "durable");
    ASSERT_STR_EQ(value, "yes");
    free(value);
    redisFree(c);
}

TEST(harness_redis_unix_socket)
{
    struct redis_opts opts = {.unixsocket = 1};
    struct redis_srv *r = redis_start(&opts);
    redisContext *c = redisConnectUnix(redis_socket_path(r));

    ASSERT(c && !c->err);
    char *pong = redis_str(c, "PING");
    ASSERT_STR_EQ(pong, "PONG");
    free(pong);
    redisFree(c);
}

/* ---- HTTP against libmicrohttpd ---- */

struct upload {
    char data[4096];
    size_t len;
};

static enum MHD_Result echo(void *cls, struct MHD_Connection *conn, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_size, void **con_cls)
{
    struct upload *up = *con_cls;
    char text[8192];

    (void)cls, (void)version;
    if (!up) {
        *con_cls = calloc(1, sizeof *up);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        size_t n =
            *upload_size < sizeof up->data - up->len ? *upload_size : sizeof up->data - up->len;
        memcpy(up->data + up->len, upload_data, n);
        up->len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    int n = snprintf(text, sizeof text, "%s %s [%.*s]", method, url, (int)up->len, up->data);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Retry-After", "7");
    enum MHD_Result rc = MHD_queue_response(conn, up->len ? 202 : 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void echo_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

TEST(harness_http_request_against_mhd)
{
    int port = harness_free_port();
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, echo, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, echo_done, NULL, MHD_OPTION_END);
    const char *headers[] = {"X-Test: 1", NULL};
    struct http_response resp = {0};

    ASSERT_NOT_NULL(d);
    ASSERT_INT_EQ(http_request(port, "GET", "/healthz", NULL, NULL, 0, &resp), 0);
    ASSERT_INT_EQ(resp.status, 200);
    ASSERT_STR_EQ(resp.body, "GET /healthz []");
    ASSERT_STR_EQ(http_header(&resp, "retry-after"), "7");
    http_response_free(&resp);
    ASSERT_INT_EQ(http_request(port, "POST", "/hooks/x", headers, "{\"a\":1}", 7, &resp), 0);
    ASSERT_INT_EQ(resp.status, 202);
    ASSERT_STR_EQ(resp.body, "POST /hooks/x [{\"a\":1}]");
    ASSERT_INT_EQ(resp.body_len, strlen(resp.body));
    ASSERT_STR_CONTAINS(resp.raw, "HTTP/1.1 202");
    http_response_free(&resp);

    struct http_conn *c = http_conn_open(port);
    ASSERT_NOT_NULL(c);
    for (int i = 0; i < 3; i++) {
        ASSERT_INT_EQ(http_conn_request(c, "GET", "/again", NULL, NULL, 0, &resp), 0);
        ASSERT_STR_EQ(resp.body, "GET /again []");
        http_response_free(&resp);
    }
    http_conn_close(c);
    MHD_stop_daemon(d);
    ASSERT_INT_EQ(http_request_timed(port, "GET", "/", NULL, NULL, 0, 500, &resp), -1);
    http_response_free(&resp);
}

/* ---- HTTP against a server that writes exact bytes ---- */

struct canned {
    int listen_fd;
    const char *answers[4]; /* one connection: read a request head, answer, … */
    int drain_before_close; /* read to EOF first (an early answer to a big body) */
};

/* Reads until a request head ("\r\n\r\n") arrives; 0, or -1 on EOF/timeout. */
static int read_head(int fd, char *buf, size_t cap, size_t *len)
{
    for (;;) {
        char *end = memmem(buf, *len, "\r\n\r\n", 4);
        if (end) {
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, buf + used, *len - used);
            *len -= used;
            return 0;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (*len == cap || poll(&pfd, 1, 5000) <= 0)
            return -1;
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
    }
}

static void *serve_canned(void *arg)
{
    struct canned *c = arg;
    char buf[8192];
    size_t len = 0;
    int fd = accept(c->listen_fd, NULL, NULL);

    for (int i = 0; fd >= 0 && i < 4 && c->answers[i]; i++) {
        if (read_head(fd, buf, sizeof buf, &len) < 0)
            break;
        if (write(fd, c->answers[i], strlen(c->answers[i])) < 0)
            break;
    }
    if (fd >= 0 && c->drain_before_close) {
        shutdown(fd, SHUT_WR);
        while (read(fd, buf, sizeof buf) > 0)
            ;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int canned_listen(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ASSERT_INT_EQ(listen(fd, 8), 0);
    ASSERT_INT_EQ(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static pthread_t canned_start(struct canned *c, int *port)
{
    pthread_t t;

    c->listen_fd = canned_listen(port);
    ASSERT_INT_EQ(pthread_create(&t, NULL, serve_canned, c), 0);
    return t;
}

static void canned_join(struct canned *c, pthread_t t)
{
    pthread_join(t, NULL);
    close(c->listen_fd);
}

static void expect_canned(const char *answer, int want_status, const char *want_body)
{
    struct canned c = {.answers = {answer}};
    struct http_response resp = {0};
    int port;
    pthread_t t = canned_start(&c, &port);

    ASSERT_INT_EQ(http_request(port, "GET", "/", NULL, NULL, 0, &resp), 0);
    ASSERT_INT_EQ(resp.status, want_status);
    ASSERT_STR_EQ(resp.body, want_body);
    ASSERT_INT_EQ(resp.body_len, strlen(want_body));
    http_response_free(&resp);
    canned_join(&c, t);
}

TEST(harness_http_response_framing)
{
    expect_canned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
                  200, "hello, world");
    expect_canned("HTTP/1.0 503 Busy\r\nRetry-After: 1\r\n\r\nuntil close", 503, "until close");
    expect_canned(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Too Big\r\nContent-Length: 3\r\n\r\nbig", 413,
        "big");
    expect_canned("HTTP/1.1 204 No Content\r\n\r\n", 204, "");
}

TEST(harness_http_raw_and_pipelining)
{
    struct canned c = {.answers = {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                                   "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"}};
    struct http_response resp = {0};
    int port;
    pthread_t t = canned_start(&c, &port);
    static const char two[] =
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct http_conn *conn = http_conn_open(port);

    ASSERT_INT_EQ(http_conn_send(conn, two, sizeof two - 1, 5000), 0);
    ASSERT_INT_EQ(http_conn_read(conn, 5000, &resp), 0);
    ASSERT_STR_EQ(resp.body, "a");
    http_response_free(&resp);
    ASSERT_INT_EQ(http_conn_read(conn, 5000, &resp), 0);
    ASSERT_STR_EQ(resp.body, "b");
    http_response_free(&resp);
    http_conn_close(conn);
    canned_join(&c, t);

    struct canned silent = {.answers = {""}};
    t = canned_start(&silent, &port);
    ASSERT_INT_EQ(http_raw(port, "GET / HTTP/1.1\r\n\r\n", 18, 5000, &resp), -1);
    ASSERT_INT_EQ(resp.raw_len, 0);
    http_response_free(&resp);
    canned_join(&silent, t);
}

TEST(harness_http_early_answer_to_big_body)
{
    struct canned c = {.answers = {"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n"},
                       .drain_before_close = 1};
    size_t big = 8u << 20;
    char *body = malloc(big);
    struct http_response resp = {0};
    int port;

    memset(body, 'x', big);
    pthread_t t = canned_start(&c, &port);
    ASSERT_INT_EQ(http_request(port, "POST", "/hooks/x", NULL, body, big, &resp), 0);
    ASSERT_INT_EQ(resp.status, 413);
    http_response_free(&resp);
    canned_join(&c, t);
    free(body);
}

/* ---- signatures ---- */

TEST(harness_signatures_match_published_vectors)
{
    char sig[SIG_BUF_SIZE];
    static const char slack_body[] =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
        "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
        "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
        "803a0bc887a14d10d2c447fce8b6703c";
    static const char std_body[] = "{\"test\": 2432232314}";

    ASSERT_INT_EQ(github_signature("It's a Secret to Everybody", "Hello, World!", 13, sig), 0);
    ASSERT_STR_EQ(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    ASSERT_INT_EQ(standard_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                     "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, std_body,
                                     sizeof std_body - 1, sig),
                  0);
    ASSERT_STR_EQ(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    ASSERT_INT_EQ(slack_signature("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, slack_body,
                                  sizeof slack_body - 1, sig),
                  0);
    ASSERT_STR_EQ(sig, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    ASSERT_INT_EQ(standard_signature("whsec_not base64!", "id", 1, "", 0, sig), -1);
}

/* Expected values computed with Python's hmac module. */
TEST(harness_signatures_other_schemes)
{
    char sig[SIG_BUF_SIZE], hex[65];

    ASSERT_INT_EQ(stripe_signature("whsec_test", 1700000000, "{\"id\":\"evt_1\"}", 14, sig), 0);
    ASSERT_STR_EQ(
        sig, "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925");
    ASSERT_INT_EQ(shopify_signature("shpss_secret", "{\"id\":1}", 8, sig), 0);
    ASSERT_STR_EQ(sig, "xocA3LkeJ/RvNrkxep1EUtFHuj7rIoIqZYaLU26LyPQ=");
    ASSERT_INT_EQ(hmac_signature("sha512", "key", 3, "{\"a\":1}", 7, 1, NULL, sig), 0);
    ASSERT_STR_EQ(
        sig,
        "3H2KankmBZ6YaX71SmX3Rdkk/D4TwRdoedzchOrEgLrjd/oG0evMb6sTdc2b1hGhiZaUzEyn3A9inYuBM8XIPQ==");
    ASSERT_INT_EQ(hmac_signature("sha1", "key", 3, "{\"a\":1}", 7, 0, "sha1=", sig), 0);
    ASSERT_STR_EQ(sig, "sha1=b5557a4b8f3cc308d19eb4f69f336392a31eef7b");
    ASSERT_INT_EQ(hmac_signature("md5", "key", 3, "", 0, 0, NULL, sig), -1);
    sha256_hex("Hello, World!", 13, hex);
    ASSERT_STR_EQ(hex, "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f");
}

TEST(harness_expand_replaces_every_placeholder)
{
    const char *vars[] = {"@A@", "alpha", "@B@", "", NULL};
    char *out = harness_expand("x=@A@ y=@B@ z=@A@@A@ @C@", vars);

    ASSERT_STR_EQ(out, "x=alpha y= z=alphaalpha @C@");
    free(out);
}
