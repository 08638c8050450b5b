/* fproxy.c — see fproxy.h. */
#include "fproxy.h"

#include <stdio.h>
#include <unistd.h>

#include "harness.h"

void fproxy_start(struct fproxy *fp, int target_port)
{
    char lp[16], tp[16], cp[16];

    fp->port = harness_free_port();
    fp->control_port = harness_free_port();
    snprintf(lp, sizeof lp, "%d", fp->port);
    snprintf(tp, sizeof tp, "%d", target_port);
    snprintf(cp, sizeof cp, "%d", fp->control_port);
    const char *const argv[] = {harness_bin("tools/faultproxy"), lp, tp, cp, NULL};
    fp->proc = proc_start(argv, NULL, "faultproxy");
    ASSERT_INT_EQ(proc_log_wait_for(fp->proc, "ready", 5000), 0);
}

void fproxy_cmd(const struct fproxy *fp, const char *cmd)
{
    char line[128], ans[16] = "";
    int fd = http_connect(fp->control_port);
    int n = snprintf(line, sizeof line, "%s\n", cmd);

    ASSERT_INT_OP(fd, >=, 0);
    ASSERT(n > 0 && (size_t)n < sizeof line);
    ASSERT_INT_EQ(write(fd, line, (size_t)n), n);
    ASSERT(read(fd, ans, sizeof ans - 1) > 0);
    close(fd);
    ASSERT_STR_EQ(ans, "ok\n");
}
