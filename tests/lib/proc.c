/*
 * proc.c — the test's child processes: long-running ones (proc_*), each with
 * its own log file, and commands run to completion (harness_run*), whose
 * output is captured through a pipe.
 *
 * Every process is registered here so that, at the end of the test, the
 * harness can stop what is still running, print each log's tail when the test
 * failed, and, under a sanitizer build, fail the test on a sanitizer report in
 * any child's output. A log is scanned once, when its process is reaped.
 *
 * Children are forked from a test that may have threads (an in-test HTTP
 * server), so everything exec needs — argv, the environment, descriptors — is
 * prepared before fork, and the child only calls async-signal-safe functions.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 64
#define MAX_RUN_OUTPUT_BYTES (64u << 20)
#define RUN_POLL_MS 20
#define REPORT_LINES 60

struct proc {
    pid_t pid;
    char *name;     /* unique log name within the test */
    char *log_path; /* tmpdir/NAME.log */
    int reaped;     /* waitpid has collected it */
    int status;     /* once reaped: exit code, 128 + signal, or -1 unknown */
};

static struct proc *procs[MAX_PROCS]; /* owned, freed by proc_teardown */
static size_t nprocs;

/* The last harness_run, printed when the test fails. */
static char *last_run_cmd, *last_run_output;
static int last_run_code;

/* ---- starting ---- */

static void child_exec(const char *const argv[], char **env, int in_fd, int out_fd, pid_t parent)
    __attribute__((noreturn));
static void child_exec(const char *const argv[], char **env, int in_fd, int out_fd, pid_t parent)
{
    static const char msg[] = "harness: exec failed: ";
    sigset_t none;

    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    harness_close_from_3();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Die with the test, even if it dies before the runner can kill us. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    execvpe(argv[0], (char *const *)argv, env);
    if (write(2, msg, sizeof msg - 1) < 0 || write(2, argv[0], strlen(argv[0])) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(127);
    _exit(127);
}

static int name_taken(const char *name)
{
    for (size_t i = 0; i < nprocs; i++)
        if (strcmp(procs[i]->name, name) == 0)
            return 1;
    return 0;
}

static char *unique_name(const char *log_name)
{
    char *name = strdup(log_name);

    for (int n = 2; name && name_taken(name); n++) {
        free(name);
        if (asprintf(&name, "%s.%d", log_name, n) < 0)
            name = NULL;
    }
    if (!name)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    return name;
}

struct proc *proc_start(const char *const argv[], const char *const extra_env[],
                        const char *log_name)
{
    struct proc *p = calloc(1, sizeof *p);
    int log_fd, null_fd;
    char **env;

    harness_init();
    if (!p || nprocs == MAX_PROCS)
        test_fail(__FILE__, __LINE__, "harness: too many processes (max %d)", MAX_PROCS);
    p->name = unique_name(log_name);
    if (asprintf(&p->log_path, "%s/%s.log", harness_tmpdir(), p->name) < 0)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    log_fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0)
        test_fail(__FILE__, __LINE__, "harness: open %s: errno %d", p->log_path, errno);
    env = harness_env_build(extra_env);
    fflush(NULL);
    pid_t parent = getpid();
    p->pid = fork();
    if (p->pid == 0)
        child_exec(argv, env, null_fd, log_fd, parent);
    harness_env_free(env);
    close(log_fd);
    close(null_fd);
    if (p->pid < 0)
        test_fail(__FILE__, __LINE__, "harness: fork: errno %d", errno);
    p->status = -1;
    procs[nprocs++] = p;
    return p;
}

pid_t proc_pid(const struct proc *p)
{
    return p->pid;
}

const char *proc_name(const struct proc *p)
{
    return p->name;
}

const char *proc_log_path(const struct proc *p)
{
    return p->log_path;
}

/* ---- waiting and stopping ---- */

static int status_code(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return -1;
}

/* Collects the exit status if it has exited (block: wait for it); 1 if reaped.
 * scan: check the log for sanitizer reports on reaping (may fail the test). */
static int reap(struct proc *p, int block, int scan)
{
    int wstatus = 0;
    pid_t r;

    if (p->reaped)
        return 1;
    do
        r = waitpid(p->pid, &wstatus, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    p->reaped = 1;
    /* ECHILD: not our child (a fork of the test inherited this registry). */
    p->status = r == p->pid ? status_code(wstatus) : -1;
    if (scan && harness_sanitizer_build()) {
        char *log = proc_log(p);
        harness_check_sanitizer(p->name, log);
        free(log);
    }
    return 1;
}

int proc_signal(struct proc *p, int sig)
{
    if (p->reaped)
        return -ESRCH;
    return kill(p->pid, sig) == 0 ? 0 : -errno;
}

int proc_alive(struct proc *p)
{
    return !reap(p, 0, 1);
}

int proc_wait(struct proc *p, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;

    if (timeout_ms < 0) {
        reap(p, 1, 1);
        return p->status;
    }
    for (unsigned i = 0;; i++) {
        if (reap(p, 0, 1))
            return p->status;
        if (harness_now_ms() >= deadline)
            return -1;
        harness_backoff(i);
    }
}

int proc_kill(struct proc *p)
{
    if (!reap(p, 0, 1)) {
        kill(p->pid, SIGKILL);
        reap(p, 1, 1);
    }
    return p->status;
}

int proc_stop(struct proc *p)
{
    if (reap(p, 0, 1))
        return p->status;
    kill(p->pid, SIGTERM);
    kill(p->pid, SIGCONT);
    proc_wait(p, PROC_STOP_TIMEOUT_MS);
    if (!p->reaped) {
        fprintf(stderr, "    note: %s (pid %d) ignored SIGTERM for %d ms; sending SIGKILL\n",
                p->name, (int)p->pid, PROC_STOP_TIMEOUT_MS);
        proc_kill(p);
    }
    return p->status;
}

/* ---- logs ---- */

char *proc_log(const struct proc *p)
{
    char *log = harness_read_file(p->log_path, NULL);

    if (!log)
        log = strdup("");
    if (!log)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    return log;
}

int proc_log_count(const struct proc *p, const char *needle)
{
    size_t len = 0, nlen = strlen(needle);
    char *log = harness_read_file(p->log_path, &len);
    const char *at = log, *end = log + len;
    int count = 0;

    while (log && nlen && (at = memmem(at, (size_t)(end - at), needle, nlen)) != NULL) {
        count++;
        at += nlen;
    }
    free(log);
    return count;
}

int proc_log_wait_for(struct proc *p, const char *needle, int timeout_ms)
{
    int64_t deadline = harness_now_ms() + timeout_ms;

    for (unsigned i = 0;; i++) {
        /* Checked before reading: a log read after the exit is complete. */
        int exited = !proc_alive(p);
        if (proc_log_count(p, needle) > 0)
            return 0;
        if (exited || harness_now_ms() >= deadline)
            return -1;
        harness_backoff(i);
    }
}

/* Where the last max_lines lines of text[0..len) start. */
static const char *tail_start(const char *text, size_t len, int max_lines)
{
    size_t i = len;
    int lines = 0;

    if (i > 0 && text[i - 1] == '\n')
        i--;
    while (i > 0) {
        if (text[i - 1] == '\n' && ++lines == max_lines)
            break;
        i--;
    }
    return text + i;
}

static void print_tail(const char *title, const char *text, size_t len)
{
    const char *tail = tail_start(text, len, PROC_TAIL_LINES);
    const char *report = harness_sanitizer_report(text);

    fprintf(stderr, "    ---- %s: last %d lines ----\n", title, PROC_TAIL_LINES);
    if (report && report < tail) {
        harness_print_lines(report, REPORT_LINES);
        fprintf(stderr, "    | …\n");
    }
    harness_print_lines(tail, PROC_TAIL_LINES);
}

void proc_print_tails(void)
{
    for (size_t i = 0; i < nprocs; i++) {
        struct proc *p = procs[i];
        size_t len = 0;
        char *log = harness_read_file(p->log_path, &len);
        char title[512];

        reap(p, 0, 0);
        if (p->reaped)
            snprintf(title, sizeof title, "%s (pid %d, exited with %d) %s", p->name, (int)p->pid,
                     p->status, p->log_path);
        else
            snprintf(title, sizeof title, "%s (pid %d, running) %s", p->name, (int)p->pid,
                     p->log_path);
        print_tail(title, log ? log : "", log ? len : 0);
        free(log);
    }
    if (last_run_cmd) {
        char title[512];
        snprintf(title, sizeof title, "last command: %.400s (exit %d)", last_run_cmd,
                 last_run_code);
        print_tail(title, last_run_output, strlen(last_run_output));
    }
}

void proc_teardown(int passed)
{
    for (size_t i = 0; i < nprocs; i++) {
        /* A sanitizer build stops gently so leak reports get written. */
        if (harness_sanitizer_build())
            proc_stop(procs[i]);
        else
            proc_kill(procs[i]);
    }
    for (size_t i = 0; passed && i < nprocs; i++) {
        free(procs[i]->name);
        free(procs[i]->log_path);
        free(procs[i]);
    }
    nprocs = passed ? 0 : nprocs;
    free(last_run_cmd);
    free(last_run_output);
    last_run_cmd = last_run_output = NULL;
}

/* ---- commands run to completion ---- */

static void remember_run(const char *const argv[], const char *output, int code)
{
    struct hbuf cmd = {.max = 4096};

    for (size_t i = 0; argv[i]; i++)
        if (hbuf_printf(&cmd, "%s%s", i ? " " : "", argv[i]) < 0)
            break;
    free(last_run_cmd);
    free(last_run_output);
    last_run_cmd = cmd.data ? cmd.data : strdup("");
    last_run_output = strdup(output);
    last_run_code = code;
}

/* Reads fd into out until EOF, the child's exit, or the deadline; 0, or -1
 * on timeout. Output past the maximum is read and dropped. */
static int read_output(int fd, pid_t pid, int *wstatus, int *exited, int64_t deadline,
                       struct hbuf *out)
{
    char chunk[65536];

    for (;;) {
        int64_t left = deadline - harness_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            return -1;
        int r = poll(&pfd, 1, left < RUN_POLL_MS ? (int)left : RUN_POLL_MS);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0) {
            ssize_t n = read(fd, chunk, sizeof chunk);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return 0;
            if (n > 0)
                hbuf_append(out, chunk, (size_t)n);
        } else if (r == 0 && !*exited && waitpid(pid, wstatus, WNOHANG) == pid) {
            /* Exited, but a grandchild may hold the pipe: drain what is there. */
            *exited = 1;
            fcntl(fd, F_SETFL, O_NONBLOCK);
        } else if (r == 0 && *exited) {
            return 0;
        }
    }
}

/* Waits for pid until the deadline; 0, or -1 on timeout. */
static int wait_exit(pid_t pid, int *wstatus, int64_t deadline)
{
    for (unsigned i = 0;; i++) {
        pid_t r = waitpid(pid, wstatus, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return 0;
        if (harness_now_ms() >= deadline)
            return -1;
        harness_backoff(i);
    }
}

static int open_input(const void *input, size_t input_len)
{
    static unsigned seq;
    char name[64];

    if (!input)
        return open("/dev/null", O_RDONLY | O_CLOEXEC);
    snprintf(name, sizeof name, "run-stdin-%u", ++seq);
    return open(harness_write_bytes(name, input, input_len), O_RDONLY | O_CLOEXEC);
}

int harness_run_env(const char *const argv[], const char *const extra_env[], const void *input,
                    size_t input_len, char **out, int timeout_ms)
{
    struct hbuf output = {.max = MAX_RUN_OUTPUT_BYTES};
    int64_t deadline = harness_now_ms() + timeout_ms;
    int pipefd[2], in_fd, wstatus = 0, exited = 0, code;
    pid_t pid, parent = getpid();
    char **env;

    harness_init();
    if (out)
        *out = NULL;
    in_fd = open_input(input, input_len);
    if (in_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
        test_fail(__FILE__, __LINE__, "harness: pipe/open: errno %d", errno);
    env = harness_env_build(extra_env);
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        child_exec(argv, env, in_fd, pipefd[1], parent);
    harness_env_free(env);
    close(pipefd[1]);
    close(in_fd);
    if (pid < 0)
        test_fail(__FILE__, __LINE__, "harness: fork: errno %d", errno);
    int timed_out = read_output(pipefd[0], pid, &wstatus, &exited, deadline, &output) < 0 ||
                    (!exited && wait_exit(pid, &wstatus, deadline) < 0);
    close(pipefd[0]);
    if (timed_out) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    code = timed_out ? -1 : status_code(wstatus);
    if (!output.data && hbuf_append(&output, "", 0) < 0)
        test_fail(__FILE__, __LINE__, "harness: out of memory");
    remember_run(argv, output.data, code);
    harness_check_sanitizer(argv[0], output.data);
    if (out)
        *out = output.data;
    else
        hbuf_free(&output);
    return code;
}

int harness_run(const char *const argv[], char **out, int timeout_ms)
{
    return harness_run_env(argv, NULL, NULL, 0, out, timeout_ms);
}
