/*
 * proc.h — child processes of a test (servers, workers), each with stdout and
 * stderr in its own log file in the test's temp dir. Part of harness.h.
 *
 * A struct proc is owned by the harness and stays valid until the test ends
 * (also after the process exits). Processes still running at the end of the
 * test are stopped; on failure the tail of every log is printed. Children get
 * SIGKILL if the test process dies (PR_SET_PDEATHSIG) and share its process
 * group, which the runner kills after each test.
 */
#ifndef HOOKD_TEST_PROC_H
#define HOOKD_TEST_PROC_H

#include <sys/types.h>

struct proc;

#define PROC_STOP_TIMEOUT_MS 5000
#define PROC_TAIL_LINES 40

/* Starts argv (argv[0] searched in PATH) with extra_env ("K=V"; "K" alone
 * unsets K; NULL-terminated or NULL), stdin from /dev/null, output to
 * tmpdir/LOG_NAME.log (made unique: "redis", "redis.2", …). Fails the test if
 * it cannot fork; a failed exec shows in the log and exit code 127. */
struct proc *proc_start(const char *const argv[], const char *const extra_env[],
                        const char *log_name);

pid_t proc_pid(const struct proc *p);
const char *proc_name(const struct proc *p); /* the unique log name */
const char *proc_log_path(const struct proc *p);

/* kill(pid, sig) unless it has been reaped: 0, or -errno. */
int proc_signal(struct proc *p, int sig);
/* 1 while running (reaps it once it has exited). */
int proc_alive(struct proc *p);
/* Waits up to timeout_ms (< 0: no limit): the exit code, 128 + N if killed
 * by signal N, or -1 on timeout. */
int proc_wait(struct proc *p, int timeout_ms);
/* SIGTERM (and SIGCONT, in case it was stopped), up to 5 s, then SIGKILL;
 * returns the status as proc_wait. Already exited: its status. */
int proc_stop(struct proc *p);
/* SIGKILL and reap; returns the status as proc_wait. */
int proc_kill(struct proc *p);

/* The log so far (malloc'd, NUL-terminated; "" if empty). */
char *proc_log(const struct proc *p);
/* Polls the log for needle: 0 when found, -1 after timeout_ms or as soon as
 * the process has exited without writing it. */
int proc_log_wait_for(struct proc *p, const char *needle, int timeout_ms);
/* How many times needle occurs in the log now. */
int proc_log_count(const struct proc *p, const char *needle);

#endif
