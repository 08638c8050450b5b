/*
 * rate.c — a constant-rate (open-loop) HTTP/1.1 load generator for the
 * latency-at-a-given-load figure. wrk is closed-loop: each connection waits
 * for its answer before sending again, so a slow answer delays the requests
 * behind it and they are never counted as late (coordinated omission). Here
 * request k is due at start + k/RATE whatever happened before; its latency
 * runs from that due time to the end of its answer, so time spent waiting
 * for a free connection counts too.
 *
 *   rate HOST PORT FILEPREFIX NFILES RATE SECONDS CONNECTIONS
 *
 * Replays the records of bench/gen's files (round robin over the files).
 * Prints one RESULT line in the same form as bench/ingress.lua.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 8192
#define MAX_CONNS 4096

struct req {
    char *p;
    size_t n;
};

struct conn {
    int fd;
    const struct req *rq; /* in flight, or NULL when idle */
    size_t sent;
    double due;
    char buf[RBUF];
    size_t got;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct req *load(const char *prefix, int nfiles, size_t *count)
{
    size_t cap = 1024, n = 0;
    struct req *v = malloc(cap * sizeof *v);
    FILE *f[64];

    for (int i = 0; i < nfiles && i < 64; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s.%d", prefix, i);
        if (!(f[i] = fopen(path, "rb")))
            return perror(path), NULL;
    }
    for (int live = nfiles; live > 0;) {
        live = 0;
        for (int i = 0; i < nfiles; i++) {
            char hdr[32];
            if (!f[i] || !fgets(hdr, sizeof hdr, f[i]))
                continue;
            live++;
            size_t len = strtoul(hdr, NULL, 10);
            if (n == cap)
                v = realloc(v, (cap *= 2) * sizeof *v);
            v[n].p = malloc(len);
            v[n].n = fread(v[n].p, 1, len, f[i]);
            n++;
        }
    }
    *count = n;
    return v;
}

static int dial(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    inet_pton(AF_INET, host, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* A complete answer in c->buf: its status, else 0 (need more), -1 bad. */
static int answer_done(struct conn *c)
{
    char *end = memmem(c->buf, c->got, "\r\n\r\n", 4), *cl;
    size_t body = 0;

    if (!end)
        return c->got == RBUF ? -1 : 0;
    *end = '\0';
    cl = strcasestr(c->buf, "\r\ncontent-length:");
    if (cl)
        body = strtoul(cl + 17, NULL, 10);
    if ((size_t)(end + 4 - c->buf) + body > c->got) {
        *end = '\r';
        return 0;
    }
    int status = c->got > 12 ? (int)strtol(c->buf + 9, NULL, 10) : -1;
    size_t used = (size_t)(end + 4 - c->buf) + body;
    memmove(c->buf, c->buf + used, c->got - used);
    c->got -= used;
    return status;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 8)
        return fprintf(stderr, "usage: rate HOST PORT FILEPREFIX NFILES RATE SECONDS CONNS\n"), 2;
    size_t nreq, next = 0, done = 0, n202 = 0, n200 = 0, nother = 0, errors = 0;
    struct req *reqs = load(argv[3], (int)strtol(argv[4], NULL, 10), &nreq);
    double rate = strtod(argv[5], NULL), secs = strtod(argv[6], NULL);
    int nconns = (int)strtol(argv[7], NULL, 10), ep = epoll_create1(0);
    size_t total = (size_t)(rate * secs);
    static struct conn conns[MAX_CONNS];
    int idle[MAX_CONNS], nidle = 0;
    double *lat = malloc(total * sizeof *lat);

    if (!reqs || nreq == 0 || nconns < 1 || nconns > MAX_CONNS || !lat)
        return fprintf(stderr, "rate: bad arguments or empty files\n"), 2;
    for (int i = 0; i < nconns; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if ((conns[i].fd = dial(argv[1], (int)strtol(argv[2], NULL, 10))) < 0)
            return perror("connect"), 1;
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        idle[nidle++] = i;
    }
    double t0 = now_s() + 0.05;
    while (done + errors < total) {
        double t = now_s();
        if (t - t0 > secs + 10)
            break; /* answers owed for 10 s past the end: give up on them */
        /* hand every due request to an idle connection */
        while (next < total && t0 + (double)next / rate <= t && nidle > 0) {
            struct conn *c = &conns[idle[--nidle]];
            c->rq = &reqs[next % nreq], c->sent = 0, c->due = t0 + (double)next / rate;
            next++;
            ssize_t w = write(c->fd, c->rq->p, c->rq->n);
            if (w < 0 || (size_t)w != c->rq->n) {
                errors++;
                c->rq = NULL; /* short writes do not happen for 1 KiB on loopback */
            }
        }
        /* sleep until the next request is due, or an answer comes */
        double wait_ms = next < total ? (t0 + (double)next / rate - now_s()) * 1000 : 50;
        int timeout = nidle == 0 ? 50 : wait_ms < 0 ? 0 : (int)wait_ms;
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[evs[i].data.u32];
            ssize_t r = read(c->fd, c->buf + c->got, RBUF - c->got);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                return fprintf(stderr, "rate: connection closed by the server\n"), 1;
            }
            c->got += (size_t)r;
            int st;
            while (c->rq && (st = answer_done(c)) != 0) {
                double l = now_s() - c->due;
                if (st == 202)
                    n202++;
                else if (st == 200)
                    n200++;
                else
                    nother++;
                if (done < total)
                    lat[done] = l;
                done++;
                c->rq = NULL;
                idle[nidle++] = (int)evs[i].data.u32;
            }
        }
    }
    double elapsed = now_s() - t0;
    qsort(lat, done, sizeof *lat, cmp);
#define PCT(p) (done ? lat[(size_t)((double)(done - 1) * (p))] * 1000 : 0)
    printf("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f requests=%zu n202=%zu n200=%zu "
           "nother=%zu errors=%zu wrapped=%zu target_rps=%.0f\n",
           (double)done / elapsed, PCT(0.50), PCT(0.99), PCT(0.999), done, n202, n200, nother,
           total - done, nreq < total ? total / nreq : 0, rate);
    return 0;
}
