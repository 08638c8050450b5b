/*
 * harness.c — the harness's core: where the binaries are, a temp dir per
 * test, files, free ports, time and waiting, starting hookd's processes, and
 * the end-of-test hooks registered with the runner:
 *
 *   test passed  → stop every process (a sanitizer report in a log still
 *                  fails the test), remove the temp dir, free what we own
 *   test failed  → print the tail of every process's log, keep the temp dir
 *   SIGTERM      → (the runner's timeout) fail, which prints the logs
 *
 * Every test runs in a forked child of the runner, so the static state below
 * starts empty in each test; harness_init() runs on first use.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "port.h"
#include "harness_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS_PER_TEST 256
#define MAX_FILE_BYTES (256u << 20)
#define BACKOFF_MAX_MS 20
#define HEALTH_PROBE_TIMEOUT_MS 1000

extern char **environ;

static int initialised;
static char *tmpdir; /* owned; created on first use */
static void **owned; /* strings handed out as const char *, freed at the end */
static size_t nowned, owned_cap;
static int ports[MAX_PORTS_PER_TEST];
static size_t nports;

/* ---- bounded buffers ---- */

int hbuf_append(struct hbuf *b, const void *p, size_t n)
{
    if (n > b->max - b->len || b->len + n + 1 < b->len)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int hbuf_printf(struct hbuf *b, const char *fmt, ...)
{
    char small[512];
    char *big = NULL;
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return hbuf_append(b, small, (size_t)n);
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    rc = hbuf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void hbuf_consume(struct hbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = '\0';
}

void hbuf_free(struct hbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- ownership of returned strings ---- */

static const char *own(char *s)
{
    if (!s)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    if (nowned == owned_cap) {
        size_t cap = owned_cap ? owned_cap * 2 : 32;
        void **grown = realloc(owned, cap * sizeof *grown);
        if (!grown)
            test_fail(__FILE__, __LINE__, "harness: out of memory");
        owned = grown;
        owned_cap = cap;
    }
    owned[nowned++] = s;
    return s;
}

static const char *own_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *own_printf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return own(s);
}

/* ---- end of test ---- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

static void on_fail(void)
{
    proc_print_tails();
    if (tmpdir)
        fprintf(stderr, "    kept temp dir %s\n", tmpdir);
}

static void on_pass(void)
{
    proc_teardown(1); /* may still fail the test */
    redis_srv_teardown();
    if (tmpdir)
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmpdir);
    tmpdir = NULL;
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    owned = NULL;
    nowned = owned_cap = 0;
}

static void on_sigterm(int sig)
{
    (void)sig;
    test_fail(__FILE__, __LINE__, "test stopped by SIGTERM (the runner's timeout?)");
}

void harness_init(void)
{
    struct sigaction sa;

    if (initialised)
        return;
    initialised = 1;
    test_on_fail(on_fail);
    test_on_pass(on_pass);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- paths ---- */

const char *harness_build_dir(void)
{
    static char dir[PATH_MAX];
    ssize_t n;

    if (dir[0])
        return dir;
    n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0 || (size_t)n >= sizeof dir - 1)
        test_fail(__FILE__, __LINE__, "harness: readlink /proc/self/exe failed");
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return dir;
}

const char *harness_repo_dir(void)
{
    static char dir[PATH_MAX];
    const char *build = harness_build_dir();
    const char *slash = strrchr(build, '/');
    int n;

    if (dir[0])
        return dir;
    n = snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - build) : 0, build);
    if (n <= 0 || (size_t)n >= sizeof dir || !slash)
        snprintf(dir, sizeof dir, "/");
    return dir;
}

const char *harness_bin(const char *name)
{
    const char *build = harness_build_dir();
    const char *path = own_printf("%s/%s", build, name);

    if (access(path, X_OK) != 0 && !strchr(name, '/'))
        path = own_printf("%s/tools/%s", build, name);
    if (access(path, X_OK) != 0)
        test_fail(__FILE__, __LINE__, "harness: no executable %s in %s (run make)", name, build);
    return path;
}

const char *harness_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;

    harness_init();
    if (tmpdir)
        return tmpdir;
    if (!base || !*base)
        base = "/tmp";
    if (asprintf(&path, "%s/hookd-test-XXXXXX", base) < 0)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    if (!mkdtemp(path))
        test_fail(__FILE__, __LINE__, "harness: mkdtemp %s: errno %d", path, errno);
    tmpdir = path;
    return tmpdir;
}

const char *harness_path(const char *name)
{
    if (name[0] == '/')
        return own_printf("%s", name);
    return own_printf("%s/%s", harness_tmpdir(), name);
}

/* ---- files ---- */

/* mkdir -p of path's parent directories. */
static void make_parents(const char *path)
{
    char *copy = strdup(path);

    if (!copy)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            test_fail(__FILE__, __LINE__, "harness: mkdir %s: errno %d", copy, errno);
        *p = '/';
    }
    free(copy);
}

const char *harness_write_bytes(const char *name, const void *data, size_t len)
{
    const char *path = harness_path(name);
    const char *p = data;
    int fd;

    make_parents(path);
    /* Owner-only, as a config holding literal secrets must be (config_perms.h). */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        test_fail(__FILE__, __LINE__, "harness: open %s: errno %d", path, errno);
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            test_fail(__FILE__, __LINE__, "harness: write %s: errno %d", path, errno);
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return path;
}

char *harness_expand(const char *tpl, const char *const *vars)
{
    size_t cap = strlen(tpl) + 1, n = 0;
    char *out;

    for (size_t v = 0; vars[v]; v += 2) /* room for every occurrence */
        for (const char *p = tpl; (p = strstr(p, vars[v])) != NULL; p += strlen(vars[v]))
            cap += strlen(vars[v + 1]);
    ASSERT_NOT_NULL(out = malloc(cap));
    for (const char *p = tpl; *p;) {
        size_t v = 0;
        while (vars[v] && strncmp(p, vars[v], strlen(vars[v])) != 0)
            v += 2;
        if (vars[v]) {
            size_t vl = strlen(vars[v + 1]);
            memcpy(out + n, vars[v + 1], vl), n += vl, p += strlen(vars[v]);
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

const char *harness_write_file(const char *name, const char *content)
{
    return harness_write_bytes(name, content, strlen(content));
}

char *harness_read_file(const char *path, size_t *len_out)
{
    struct hbuf b = {.max = MAX_FILE_BYTES};
    char chunk[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return NULL;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || hbuf_append(&b, chunk, (size_t)n) < 0) {
            close(fd);
            hbuf_free(&b);
            return NULL;
        }
    }
    close(fd);
    if (!b.data && hbuf_append(&b, "", 0) < 0)
        return NULL;
    if (len_out)
        *len_out = b.len;
    return b.data;
}

/* ---- ports, time, waiting ---- */

static int port_handed_out(int port)
{
    for (size_t i = 0; i < nports; i++)
        if (ports[i] == port)
            return 1;
    return 0;
}

/* A port the kernel says is free, released at once for the caller's server. */
static int bind_any_port(void)
{
    int port = -1, fd = port_bind_loopback(&port);

    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

int harness_free_port(void)
{
    harness_init();
    for (int attempt = 0; attempt < 100; attempt++) {
        int port = bind_any_port();
        if (port < 0)
            test_fail(__FILE__, __LINE__, "harness: cannot bind 127.0.0.1:0: errno %d", errno);
        if (port_handed_out(port))
            continue;
        if (nports < MAX_PORTS_PER_TEST)
            ports[nports++] = port;
        return port;
    }
    test_fail(__FILE__, __LINE__, "harness: no new free port after 100 tries");
}

int64_t harness_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_backoff(unsigned attempt)
{
    long ms = attempt < 5 && (1L << attempt) < BACKOFF_MAX_MS ? 1L << attempt : BACKOFF_MAX_MS;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};

    nanosleep(&ts, NULL);
}

int wait_until(int (*cond)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;

    for (unsigned i = 0;; i++) {
        if (cond(arg))
            return 0;
        if (harness_now_ms() >= deadline)
            return -1;
        harness_backoff(i);
    }
}

/* ---- environment for children ---- */

static size_t env_name_len(const char *kv)
{
    return strcspn(kv, "=");
}

char **harness_env_build(const char *const extra[])
{
    size_t n = 0, m = 0, out = 0;
    char **env;

    while (environ && environ[n])
        n++;
    while (extra && extra[m])
        m++;
    env = calloc(n + m + 1, sizeof *env);
    if (!env)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    for (size_t i = 0; i < n; i++)
        env[out++] = environ[i];
    for (size_t j = 0; j < m; j++) {
        size_t len = env_name_len(extra[j]);
        size_t keep = 0;
        for (size_t i = 0; i < out; i++)
            if (!(env_name_len(env[i]) == len && strncmp(env[i], extra[j], len) == 0))
                env[keep++] = env[i];
        out = keep;
        if (extra[j][len] == '=')
            env[out++] = (char *)extra[j];
    }
    env[out] = NULL;
    return env;
}

void harness_env_free(char **env)
{
    free(env); /* the strings are environ's and the caller's */
}

void harness_close_from_3(void)
{
    if (close_range(3, ~0U, 0) == 0)
        return;
    for (int fd = 3; fd < 4096; fd++)
        close(fd);
}

/* ---- sanitizer reports ---- */

int harness_sanitizer_build(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
    return 1;
#else
    return 0;
#endif
#else
    return 0;
#endif
}

const char *harness_sanitizer_report(const char *text)
{
    static const char *const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                          "ERROR: UndefinedBehaviorSanitizer", "runtime error:"};
    const char *first = NULL;

    if (!text)
        return NULL;
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        const char *hit = strstr(text, markers[i]);
        if (hit && (!first || hit < first))
            first = hit;
    }
    while (first && first > text && first[-1] != '\n')
        first--;
    return first;
}

void harness_check_sanitizer(const char *what, const char *text)
{
    const char *report;

    if (!harness_sanitizer_build() || !(report = harness_sanitizer_report(text)))
        return;
    fprintf(stderr, "    sanitizer report in %s:\n", what);
    harness_print_lines(report, 100);
    test_fail(__FILE__, __LINE__, "sanitizer report in %s", what);
}

void harness_print_lines(const char *text, int max_lines)
{
    enum { MAX_LINE_CHARS = 400 };
    const char *p = text;

    for (int i = 0; i < max_lines && *p; i++) {
        size_t len = strcspn(p, "\n");
        int shown = len > MAX_LINE_CHARS ? MAX_LINE_CHARS : (int)len;
        fprintf(stderr, "    | %.*s%s\n", shown, p, len > MAX_LINE_CHARS ? " …" : "");
        p += len;
        if (*p == '\n')
            p++;
    }
}

/* ---- hookd processes ---- */

struct proc *receiver_start_env(const char *config_path, int admin_port,
                                const char *const extra_env[])
{
    const char *argv[] = {harness_bin("hookd-receiver"), "-c", config_path, NULL};
    struct proc *p = proc_start(argv, extra_env, "receiver");
    int64_t deadline = harness_now_ms() + HARNESS_READY_TIMEOUT_MS;
    int last_status = 0;

    for (unsigned i = 0;; i++) {
        struct http_response resp = {0};
        int rc = http_request_timed(admin_port, "GET", "/healthz", NULL, NULL, 0,
                                    HEALTH_PROBE_TIMEOUT_MS, &resp);
        last_status = rc == 0 ? resp.status : last_status;
        http_response_free(&resp);
        if (last_status == 200)
            return p;
        if (!proc_alive(p))
            test_fail(__FILE__, __LINE__,
                      "hookd-receiver exited (status %d) before /healthz answered",
                      proc_wait(p, 0));
        if (harness_now_ms() >= deadline)
            test_fail(
                __FILE__, __LINE__,
                "hookd-receiver: GET /healthz on port %d: no 200 within %d ms (last status %d)",
                admin_port, HARNESS_READY_TIMEOUT_MS, last_status);
        harness_backoff(i);
    }
}

struct proc *receiver_start(const char *config_path, int admin_port)
{
    return receiver_start_env(config_path, admin_port, NULL);
}

struct proc *worker_start(const char *config_path, const char *route, const char *const extra_env[])
{
    const char *argv[] = {harness_bin("hookd-worker"), "-c", config_path, "-r", route, NULL};
    char log_name[128];

    snprintf(log_name, sizeof log_name, "worker-%s", route);
    return proc_start(argv, extra_env, log_name);
}
