/*
 * noop_persistent.c — the benchmark's no-op persistent exec handler
 * (exec_mode = persistent): for each event, reads the header line and
 * body_length body bytes, replies "0". Linked statically, like noop.c, and
 * reads with plain read(2) so that what the row measures is the worker's
 * side of the protocol, not the handler's.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 16];
static size_t len, pos;

/* Something in buf: false at EOF. */
static int fill(void)
{
    ssize_t r;

    if (pos < len)
        return 1;
    if ((r = read(0, buf, sizeof buf)) <= 0)
        return 0;
    len = (size_t)r, pos = 0;
    return 1;
}

/* The next byte of stdin; -1 at EOF. */
static int next(void)
{
    return fill() ? (unsigned char)buf[pos++] : -1;
}

int main(void)
{
    static const char key[] = "\"body_length\":";
    char line[8192];

    for (;;) {
        size_t n = 0;
        int c;
        while ((c = next()) >= 0 && c != '\n')
            if (n < sizeof line - 1)
                line[n++] = (char)c;
        if (c < 0)
            return 0;
        line[n] = '\0';
        char *p = strstr(line, key);
        unsigned long long body = p ? strtoull(p + sizeof key - 1, NULL, 10) : 0;
        while (body > 0) { /* skip the body */
            if (!fill())
                return 0;
            size_t k = len - pos < body ? len - pos : (size_t)body;
            pos += k, body -= k;
        }
        if (write(1, "0\n", 2) != 2)
            return 1;
    }
}
