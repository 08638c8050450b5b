/*
 * runner.c — runs the tests registered with TEST(): each in a forked child,
 * with a timeout, in registration order sorted by name. Last line of output:
 * "N passed, M failed, K skipped"; exit status 1 if any failed.
 */
#define _GNU_SOURCE
#include "test.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS 1024
#define EXIT_SKIP 77
#define TIMEOUT_GRACE_S 2

struct test_entry {
    const char *name;
    test_fn fn;
    int timeout_s;
};

static struct test_entry tests[MAX_TESTS];
static size_t ntests;

/* Per test child: the hooks it registered (the parent never registers any). */
static void (*fail_hooks[TEST_MAX_HOOKS])(void);
static void (*pass_hooks[TEST_MAX_HOOKS])(void);
static size_t nfail_hooks, npass_hooks;
static int failing;

void test_on_fail(void (*fn)(void))
{
    if (nfail_hooks < TEST_MAX_HOOKS)
        fail_hooks[nfail_hooks++] = fn;
}

void test_on_pass(void (*fn)(void))
{
    if (npass_hooks < TEST_MAX_HOOKS)
        pass_hooks[npass_hooks++] = fn;
}

void test_register(const char *name, test_fn fn, int timeout_s)
{
    if (ntests < MAX_TESTS)
        tests[ntests++] = (struct test_entry){name, fn, timeout_s};
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "    FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    /* A hook that fails again only adds its message. */
    if (!failing) {
        failing = 1;
        for (size_t i = 0; i < nfail_hooks; i++)
            fail_hooks[i]();
    }
    fflush(NULL);
    _exit(1);
}

void test_skip(const char *why)
{
    fprintf(stderr, "    skipped: %s\n", why);
    fflush(stderr);
    _exit(EXIT_SKIP);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct test_entry *)a)->name, ((const struct test_entry *)b)->name);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one test in a child process group; returns 0 pass, 1 fail, 2 skip. */
static int run_one(const struct test_entry *t)
{
    double start = now_s();
    pid_t pid = fork();
    int status = 0;

    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        alarm(0);
        t->fn();
        for (size_t i = npass_hooks; i > 0; i--)
            pass_hooks[i - 1]();
        fflush(NULL);
        _exit(0);
    }
    setpgid(pid, pid);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("waitpid");
            return 1;
        }
        if (now_s() - start > t->timeout_s) {
            fprintf(stderr, "    FAIL: timed out after %d s\n", t->timeout_s);
            /* SIGTERM first, so the test can print its servers' logs. */
            kill(pid, SIGTERM);
            for (double grace = now_s() + TIMEOUT_GRACE_S; now_s() < grace;) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                    break;
                usleep(2000);
            }
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 1;
        }
        usleep(2000);
    }
    /* The test's own children (servers it started) die with its group. */
    kill(-pid, SIGKILL);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP)
        return 2;
    if (WIFSIGNALED(status))
        fprintf(stderr, "    FAIL: killed by signal %d\n", WTERMSIG(status));
    return 1;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return 1;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' && fnmatch(argv[i], name, 0) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    size_t passed = 0, failed = 0, skipped = 0;
    int any_filter = 0;

    qsort(tests, ntests, sizeof tests[0], by_name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (size_t j = 0; j < ntests; j++)
                printf("%s\n", tests[j].name);
            return 0;
        }
        any_filter = 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < ntests; i++) {
        if (any_filter && !selected(tests[i].name, argc, argv))
            continue;
        double start = now_s();
        fflush(stdout);
        int r = run_one(&tests[i]);
        const char *word = r == 0 ? "ok  " : r == 2 ? "skip" : "FAIL";
        printf("%s %-60s %6.2fs\n", word, tests[i].name, now_s() - start);
        if (r == 0)
            passed++;
        else if (r == 2)
            skipped++;
        else
            failed++;
    }
    printf("%zu passed, %zu failed", passed, failed);
    if (skipped)
        printf(", %zu skipped", skipped);
    printf("\n");
    return failed ? 1 : 0;
}
