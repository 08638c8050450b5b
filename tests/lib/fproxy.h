/*
 * fproxy.h — a test's handle on tests/tools/faultproxy: started on free
 * loopback ports in front of a target port, owned by the harness (stopped
 * at the end of the test), steered with one command a line (see the modes
 * at the top of faultproxy.c). Used by the chaos and durability tests.
 */
#ifndef HOOKD_TEST_FPROXY_H
#define HOOKD_TEST_FPROXY_H

struct proc;

struct fproxy {
    struct proc *proc;
    int port;         /* where clients connect */
    int control_port; /* where commands go */
};

/* Starts a proxy to 127.0.0.1:target_port and waits until it listens. */
void fproxy_start(struct fproxy *fp, int target_port);

/* Sends one command ("pass", "delay 800", "drop", "cutreply ID", ...) and
 * fails the test unless the proxy answers "ok". */
void fproxy_cmd(const struct fproxy *fp, const char *cmd);

#endif
