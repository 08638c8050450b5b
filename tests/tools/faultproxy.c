/*
 * faultproxy.c — a loopback TCP proxy for tests that injects network faults
 * between a client (the receiver) and a server (Redis).
 *
 *   faultproxy LISTEN_PORT TARGET_PORT CONTROL_PORT
 *
 * Everything listens on and connects to 127.0.0.1 only. It prints "ready"
 * once listening. A test connects to CONTROL_PORT and writes one command a
 * line; each is answered "ok" (or "error") and applies at once, to the
 * connections open and to new ones:
 *
 *   pass        forward both ways (the default)
 *   delay MS    forward both ways, each chunk MS milliseconds late
 *   blackhole   read and drop everything, answer nothing (a partition)
 *   drop        reset every connection, and every new one on accept
 *   halfclose   shut down the proxy-to-client direction of every connection
 *               (the client reads EOF while its writes still go through);
 *               new connections get the same right after accept
 *   cutreply W  once: the next request holding the bytes W goes through and
 *               so does its reply; then that connection is closed (FIN to
 *               the client), as Redis's CLIENT KILL would close it between
 *               two commands. The mode stays as it was.
 *
 * One thread, one poll loop; at most MAX_PAIRS connections, each direction
 * holding at most MAX_CHUNKS chunks in flight (reading stops while full).
 * SIGTERM or SIGINT ends it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define MAX_CHUNKS 64
#define CHUNK_BYTES 16384
#define IDLE_POLL_MS 100

enum mode { MODE_PASS, MODE_BLACKHOLE, MODE_DROP, MODE_HALFCLOSE };

struct chunk {
    char data[CHUNK_BYTES];
    size_t len, off;
    int64_t due_ms;
};

/* One direction: bytes read from `from`, waiting to be written to `to`. */
struct flow {
    struct chunk *q[MAX_CHUNKS]; /* owned; FIFO from head */
    size_t head, n;
};

struct pair {
    int client, server;   /* -1 when closed */
    struct flow up, down; /* up: client -> server; down: server -> client */
    int cut;              /* cutreply: 1 request seen, 2 its reply queued */
};

static struct pair pairs[MAX_PAIRS];
static enum mode mode = MODE_PASS;
static int64_t delay_ms;
static char cut_word[96]; /* armed cutreply, "" when none */
static volatile sig_atomic_t stopping;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listen_on(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Closes with RST rather than FIN: a dropped link, not a polite close. */
static void reset_fd(int *fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (*fd < 0)
        return;
    setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(*fd);
    *fd = -1;
}

static void flow_clear(struct flow *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->q[(f->head + i) % MAX_CHUNKS]);
    f->head = f->n = 0;
}

static void pair_close(struct pair *p)
{
    reset_fd(&p->client);
    reset_fd(&p->server);
    flow_clear(&p->up);
    flow_clear(&p->down);
    p->cut = 0;
}

static void apply_to_open_pairs(void)
{
    for (int i = 0; i < MAX_PAIRS; i++) {
        struct pair *p = &pairs[i];
        if (p->client < 0)
            continue;
        if (mode == MODE_DROP)
            pair_close(p);
        else if (mode == MODE_HALFCLOSE)
            shutdown(p->client, SHUT_WR), flow_clear(&p->down);
        else if (mode == MODE_BLACKHOLE)
            flow_clear(&p->up), flow_clear(&p->down);
        else if (p->server < 0) /* back to pass: a blackholed link stays dead */
            pair_close(p);
    }
}

/* One control line; returns the answer. */
static const char *control(const char *line)
{
    long ms;

    if (strncmp(line, "pass", 4) == 0)
        mode = MODE_PASS, delay_ms = 0;
    else if (sscanf(line, "delay %ld", &ms) == 1 && ms >= 0 && ms <= 600000)
        mode = MODE_PASS, delay_ms = ms;
    else if (strncmp(line, "blackhole", 9) == 0)
        mode = MODE_BLACKHOLE;
    else if (strncmp(line, "drop", 4) == 0)
        mode = MODE_DROP;
    else if (strncmp(line, "halfclose", 9) == 0)
        mode = MODE_HALFCLOSE;
    else if (sscanf(line, "cutreply %95s", cut_word) == 1)
        return fprintf(stderr, "faultproxy: %s", line), "ok\n";
    else
        return "error\n";
    apply_to_open_pairs();
    fprintf(stderr, "faultproxy: %s", line);
    return "ok\n";
}

static void serve_control(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    char line[128];
    size_t n = 0;

    if (fd < 0)
        return;
    /* Blocking, bounded: one short line from a local test. */
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (n < sizeof line - 1) {
        ssize_t r = read(fd, line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\n';
    line[n + 1 < sizeof line ? n + 1 : n] = '\0';
    const char *ans = control(line);
    if (write(fd, ans, strlen(ans)) < 0)
        perror("faultproxy: control write");
    close(fd);
}

static void accept_client(int lfd, int target_port)
{
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), slot = -1;

    if (c < 0)
        return;
    for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
        if (pairs[i].client < 0)
            slot = i;
    if (mode == MODE_DROP || slot < 0) {
        reset_fd(&c);
        return;
    }
    int s = mode == MODE_BLACKHOLE ? -1 : connect_to(target_port);
    if (s < 0 && mode != MODE_BLACKHOLE) {
        reset_fd(&c);
        return;
    }
    pairs[slot].client = c;
    pairs[slot].server = s;
    if (mode == MODE_HALFCLOSE)
        shutdown(c, SHUT_WR);
}

/* The pair's connection closed as Redis closes a killed client: what was
 * sent arrives, then EOF. */
static void pair_cut(struct pair *p)
{
    shutdown(p->client, SHUT_RDWR);
    close(p->client);
    p->client = -1;
    pair_close(p);
    fprintf(stderr, "faultproxy: cut a connection after its reply\n");
}

/* Reads what from has into a new chunk of f (or drops it in a blackhole).
 * Returns -1 when from closed or failed. */
static int pump_in(int from, struct flow *f, int down)
{
    struct chunk *ch = malloc(sizeof *ch);
    ssize_t r;

    if (!ch)
        return 0;
    r = recv(from, ch->data, sizeof ch->data, MSG_DONTWAIT);
    if (r <= 0) {
        free(ch);
        return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    if (mode == MODE_BLACKHOLE || (mode == MODE_HALFCLOSE && down)) {
        free(ch); /* halfclose: the answers have nowhere to go */
        return 0;
    }
    ch->len = (size_t)r, ch->off = 0, ch->due_ms = now_ms() + delay_ms;
    f->q[(f->head + f->n) % MAX_CHUNKS] = ch;
    f->n++;
    return 1;
}

/* True when the newest chunk of f holds word. */
static int chunk_has(const struct flow *f, const char *word)
{
    const struct chunk *ch = f->q[(f->head + f->n - 1) % MAX_CHUNKS];

    return memmem(ch->data, ch->len, word, strlen(word)) != NULL;
}

/* Writes the due chunks of f to `to`. Returns -1 when `to` failed. */
static int pump_out(int to, struct flow *f)
{
    int64_t now = now_ms();

    while (f->n > 0) {
        struct chunk *ch = f->q[f->head];
        if (ch->due_ms > now)
            return 0;
        ssize_t w = send(to, ch->data + ch->off, ch->len - ch->off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        ch->off += (size_t)w;
        if (ch->off < ch->len)
            return 0;
        free(ch);
        f->head = (f->head + 1) % MAX_CHUNKS;
        f->n--;
    }
    return 0;
}

/* The soonest due chunk, as a poll timeout. */
static int next_timeout(void)
{
    int64_t now = now_ms(), t = IDLE_POLL_MS;

    for (int i = 0; i < MAX_PAIRS; i++) {
        struct flow *fl[2] = {&pairs[i].up, &pairs[i].down};
        for (int k = 0; k < 2; k++)
            if (fl[k]->n > 0 && fl[k]->q[fl[k]->head]->due_ms - now < t)
                t = fl[k]->q[fl[k]->head]->due_ms - now;
    }
    return t < 0 ? 0 : (int)t;
}

static void on_signal(int sig)
{
    stopping = 1;
}

/* One poll round over the listeners and every pair. */
static void poll_round(int lfd, int cfd, int target_port)
{
    struct pollfd pfd[2 + 2 * MAX_PAIRS];
    int n = 2;

    pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = cfd, .events = POLLIN};
    for (int i = 0; i < MAX_PAIRS; i++) {
        struct pair *p = &pairs[i];
        pfd[n++] =
            (struct pollfd){.fd = p->client, .events = (short)(p->up.n < MAX_CHUNKS ? POLLIN : 0)};
        pfd[n++] = (struct pollfd){.fd = p->server,
                                   .events = (short)(p->down.n < MAX_CHUNKS ? POLLIN : 0)};
    }
    if (poll(pfd, (nfds_t)n, next_timeout()) < 0)
        return;
    if (pfd[0].revents & POLLIN)
        accept_client(lfd, target_port);
    if (pfd[1].revents & POLLIN)
        serve_control(cfd);
    for (int i = 0; i < MAX_PAIRS; i++) {
        struct pair *p = &pairs[i];
        short rc = pfd[2 + 2 * i].revents, rs = pfd[3 + 2 * i].revents;
        if (p->client < 0)
            continue;
        int bad = 0, in;
        if ((rc & (POLLIN | POLLHUP | POLLERR)) && (in = pump_in(p->client, &p->up, 0)) != 0) {
            bad |= in < 0;
            if (in > 0 && cut_word[0] && chunk_has(&p->up, cut_word))
                p->cut = 1, cut_word[0] = '\0';
        }
        if (p->server >= 0 && (rs & (POLLIN | POLLHUP | POLLERR)) &&
            (in = pump_in(p->server, &p->down, 1)) != 0) {
            bad |= in < 0;
            if (in > 0 && p->cut == 1 && p->up.n == 0)
                p->cut = 2;
        }
        if (p->server >= 0)
            bad |= pump_out(p->server, &p->up);
        bad |= pump_out(p->client, &p->down);
        if (bad)
            pair_close(p);
        else if (p->cut == 2 && p->down.n == 0)
            pair_cut(p);
    }
}

int main(int argc, char **argv)
{
    char *end;
    long lport, tport, cport;

    if (argc != 4 || (lport = strtol(argv[1], &end, 10)) <= 0 || *end ||
        (tport = strtol(argv[2], &end, 10)) <= 0 || *end ||
        (cport = strtol(argv[3], &end, 10)) <= 0 || *end) {
        fprintf(stderr, "usage: faultproxy LISTEN_PORT TARGET_PORT CONTROL_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    for (int i = 0; i < MAX_PAIRS; i++)
        pairs[i].client = pairs[i].server = -1;
    int lfd = listen_on((int)lport), cfd = listen_on((int)cport);
    if (lfd < 0 || cfd < 0) {
        fprintf(stderr, "faultproxy: cannot listen on %ld or %ld\n", lport, cport);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (!stopping)
        poll_round(lfd, cfd, (int)tport);
    for (int i = 0; i < MAX_PAIRS; i++)
        pair_close(&pairs[i]);
    close(lfd), close(cfd);
    return 0;
}
