/*
 * nullredis.c — a stand-in for Redis that stores nothing, for measuring the
 * receiver's own ceiling (`make bench`, row "github, null store"): every
 * EVALSHA is answered as a new event ({"queued", id, backlog}) at once.
 *
 * It speaks just enough RESP for hookd-receiver: EVALSHA, PING, and +OK /
 * a nil for anything else (printed once to stderr, so a new command in the
 * receiver's start-up shows). One thread, epoll, pipelined replies.
 *
 * Usage: nullredis PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 1024
#define BUFSZ (1 << 20)

struct conn {
    char *in;
    size_t len;
    char *out;
    size_t olen;
};

static struct conn conns[MAXCONN];
static unsigned long long seq;

/* Parses one complete command at in[0..len): its byte length, 0 if
 * incomplete, -1 if malformed; *name gets the first argument (≤ 31 bytes). */
static long parse(const char *in, size_t len, char name[32])
{
    const char *p = in, *end = in + len;
    char *q;
    long n;

    if (p >= end)
        return 0;
    if (*p != '*')
        return -1;
    if (!memchr(p, '\n', (size_t)(end - p)))
        return 0;
    n = strtol(p + 1, &q, 10);
    p = strchr(p, '\n') + 1;
    name[0] = '\0';
    for (long i = 0; i < n; i++) {
        long blen;
        if (p >= end || !memchr(p, '\n', (size_t)(end - p)))
            return 0;
        if (*p != '$')
            return -1;
        blen = strtol(p + 1, &q, 10);
        p = strchr(p, '\n') + 1;
        if (end - p < blen + 2)
            return 0;
        if (i == 0) {
            size_t k = blen < 31 ? (size_t)blen : 31;
            memcpy(name, p, k);
            name[k] = '\0';
        }
        p += blen + 2;
    }
    return p - in;
}

static void reply(struct conn *c, const char *name)
{
    static char unknown[64][32];
    static int nunknown;
    char r[128];
    int n;

    if (strcasecmp(name, "EVALSHA") == 0) {
        seq++;
        char id[40];
        int il = snprintf(id, sizeof id, "1700000000000-%llu", seq);
        n = snprintf(r, sizeof r, "*3\r\n$6\r\nqueued\r\n$%d\r\n%s\r\n$1\r\n1\r\n", il, id);
    } else if (strcasecmp(name, "PING") == 0) {
        n = snprintf(r, sizeof r, "+PONG\r\n");
    } else {
        int known = 0;
        for (int i = 0; i < nunknown; i++)
            known |= strcasecmp(unknown[i], name) == 0;
        if (!known && nunknown < 64) {
            snprintf(unknown[nunknown++], 32, "%s", name);
            fprintf(stderr, "nullredis: answering %s with +OK\n", name);
        }
        n = snprintf(r, sizeof r, "+OK\r\n");
    }
    if (c->olen + (size_t)n <= BUFSZ) {
        memcpy(c->out + c->olen, r, (size_t)n);
        c->olen += (size_t)n;
    }
}

int main(int argc, char **argv)
{
    int ep, ls, one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct epoll_event ev, evs[64];

    if (argc != 2) {
        fprintf(stderr, "usage: nullredis PORT\n");
        return 2;
    }
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0) {
        perror("nullredis: bind");
        return 1;
    }
    ep = epoll_create1(0);
    ev.events = EPOLLIN, ev.data.fd = ls;
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        int k = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c = accept(ls, NULL, NULL);
                if (c < 0)
                    continue;
                if (c >= MAXCONN) {
                    close(c);
                    continue;
                }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[c].in = malloc(BUFSZ), conns[c].out = malloc(BUFSZ);
                conns[c].len = conns[c].olen = 0;
                ev.events = EPOLLIN, ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            struct conn *c = &conns[fd];
            ssize_t r = read(fd, c->in + c->len, BUFSZ - c->len);
            if (r <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                free(c->in), free(c->out);
                memset(c, 0, sizeof *c);
                continue;
            }
            c->len += (size_t)r;
            size_t off = 0;
            long used;
            char name[32];
            while ((used = parse(c->in + off, c->len - off, name)) > 0) {
                reply(c, name);
                off += (size_t)used;
            }
            memmove(c->in, c->in + off, c->len - off);
            c->len -= off;
            /* Replies are small: a blocking write of them is fine here. */
            for (size_t w = 0; w < c->olen;) {
                ssize_t n = write(fd, c->out + w, c->olen - w);
                if (n < 0 && errno != EINTR)
                    break;
                w += n > 0 ? (size_t)n : 0;
            }
            c->olen = 0;
            if (used < 0 || c->len == BUFSZ) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                free(c->in), free(c->out);
                memset(c, 0, sizeof *c);
            }
        }
    }
}
