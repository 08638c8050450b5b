/*
 * loadgen.c — the burst drill's provider: floods the receiver with signed
 * events over a few keep-alive connections and behaves as a provider does
 * when pushed back: whatever did not get a 2xx is sent again after its
 * Retry-After (429, 503) or after a second (a connection error), until
 * accepted or the deadline passes. Some accepted events are delivered a
 * second time (a provider's redelivery), which must answer 200 duplicate.
 *
 *   loadgen --port P --secret S --events N --accepted FILE [--conns C]
 *           [--dup-pct D] [--heavy-pct H] [--tenants T] [--body-bytes B]
 *           [--deadline-s S] [--run ID] [--seed X]
 *
 * Events: GitHub-signed (X-Hub-Signature-256 over the body), id
 * X-GitHub-Delivery "burst-RUN-NNNNNNN", type "push", tenant in X-Tenant:
 * "heavy" for H% of them, the rest spread over t1..t(T-1), in a random mix.
 * FILE gets one line per event accepted, at its first 2xx:
 * "EVENT_ID TENANT ACCEPTED_MS" (-1 when the first 2xx was a 200 duplicate:
 * an earlier answer was lost, the time of the write is unknown).
 * stdout: one "name = value" line per figure at the end; stderr: progress
 * every 5 s. Exit 0 when every event was accepted before the deadline,
 * 1 otherwise, 2 on bad usage.
 *
 * One thread, poll(2), one request at a time per connection (no pipelining):
 * the load is bounded by C, as a provider's delivery workers bound theirs.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "signing.h"

#define CONNS_MAX 256
#define TENANTS_MAX 64
#define REQ_MAX 16384
#define RESP_MAX 16384
#define REQUEST_TIMEOUT_MS 10000
#define ERROR_RETRY_MS 1000
#define DUP_DELAY_MAX_MS 2000
#define PROGRESS_EVERY_MS 5000

enum kind { FIRST, RETRY, DUP };
enum conn_state { CLOSED, CONNECTING, SENDING, READING };

struct job {
    int64_t due_ms;
    uint32_t ev;
    uint8_t dup;
};

struct conn {
    int fd;
    enum conn_state state;
    struct job job;
    bool busy;
    int64_t started_ms;
    char req[REQ_MAX];
    size_t req_len, req_off;
    char resp[RESP_MAX];
    size_t resp_len;
};

struct opts {
    int port, conns, dup_pct, heavy_pct, tenants, body_bytes, deadline_s;
    long events;
    const char *secret, *accepted, *run;
    uint64_t seed;
};

struct figures {
    long sent, a202, a200, a429, a503, other, errors, accepted;
    long dups, dup_sent, dup_200, dup_202; /* redeliveries: made, requests, outcomes */
};

static struct opts o = {.conns = 8,
                        .dup_pct = 5,
                        .heavy_pct = 80,
                        .tenants = 5,
                        .body_bytes = 512,
                        .deadline_s = 300,
                        .run = "0",
                        .seed = 1};
static struct figures fig;
static uint8_t *tenant_of; /* per event */
static uint8_t *accepted;  /* per event: 1 once a 2xx came */
static struct job *heap;   /* retries and duplicates, by due time */
static size_t heap_n, heap_cap;
static long next_new;
static FILE *acc_out;
static uint64_t rng;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd(void) /* xorshift64* */
{
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

/* ---- the job heap ---- */

static void heap_push(struct job j)
{
    size_t i = heap_n++;

    if (heap_n > heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 1024;
        if (!(heap = realloc(heap, heap_cap * sizeof *heap))) {
            fprintf(stderr, "loadgen: out of memory\n");
            exit(1);
        }
    }
    for (; i > 0 && heap[(i - 1) / 2].due_ms > j.due_ms; i = (i - 1) / 2)
        heap[i] = heap[(i - 1) / 2];
    heap[i] = j;
}

static struct job heap_pop(void)
{
    struct job top = heap[0], last = heap[--heap_n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_n)
            break;
        if (c + 1 < heap_n && heap[c + 1].due_ms < heap[c].due_ms)
            c++;
        if (heap[c].due_ms >= last.due_ms)
            break;
        heap[i] = heap[c], i = c;
    }
    if (heap_n)
        heap[i] = last;
    return top;
}

/* ---- requests ---- */

static void tenant_name(uint8_t t, char *buf, size_t cap)
{
    if (t == 0)
        snprintf(buf, cap, "heavy");
    else
        snprintf(buf, cap, "t%u", (unsigned)t);
}

static void event_id(uint32_t ev, char *buf, size_t cap)
{
    snprintf(buf, cap, "burst-%s-%07u", o.run, (unsigned)ev);
}

/* The whole request for event EV into c->req. */
static void build_request(struct conn *c, uint32_t ev)
{
    char id[96], tenant[16], body[8192], sig[SIG_BUF_SIZE];
    int n;

    event_id(ev, id, sizeof id);
    tenant_name(tenant_of[ev], tenant, sizeof tenant);
    n = snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"seq\":%u,\"pad\":\"", tenant,
                 (unsigned)ev);
    while (n < o.body_bytes - 2 && n < (int)sizeof body - 3)
        body[n] = 'a' + (char)((ev + (uint32_t)n) % 26), n++;
    n += snprintf(body + n, sizeof body - (size_t)n, "\"}");
    if (github_signature(o.secret, body, (size_t)n, sig) < 0)
        sig[0] = '\0'; /* the receiver's 401 will say so */
    c->req_len = (size_t)snprintf(c->req, sizeof c->req,
                                  "POST /hooks/burst HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
                                  "X-GitHub-Delivery: %s\r\nX-Tenant: %s\r\n"
                                  "X-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n%s",
                                  id, tenant, sig, n, body);
    c->req_off = 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = CLOSED;
}

static bool conn_open(struct conn *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)o.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;

    if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return false;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0)
        c->state = SENDING;
    else if (errno == EINPROGRESS)
        c->state = CONNECTING;
    else {
        conn_close(c);
        return false;
    }
    return true;
}

/* ---- outcomes ---- */

static void mark_accepted(uint32_t ev, int64_t at_ms)
{
    char id[96], tenant[16];

    if (accepted[ev])
        return;
    accepted[ev] = 1;
    fig.accepted++;
    event_id(ev, id, sizeof id);
    tenant_name(tenant_of[ev], tenant, sizeof tenant);
    fprintf(acc_out, "%s %s %lld\n", id, tenant, (long long)at_ms);
    if (o.dup_pct > 0 && (int)(rnd() % 100) < o.dup_pct && ++fig.dups)
        heap_push((struct job){mono_ms() + (int64_t)(rnd() % DUP_DELAY_MAX_MS), ev, 1});
}

static void retry_later(struct job j, int64_t delay_ms)
{
    j.due_ms = mono_ms() + delay_ms + (int64_t)(rnd() % (uint64_t)(delay_ms / 10 + 1));
    heap_push(j);
}

/* "Retry-After: N" in the response head, in ms (1 s when absent). */
static int64_t retry_after_ms(const char *head)
{
    const char *p = strcasestr(head, "\r\nRetry-After:");
    long s = p ? strtol(p + 14, NULL, 10) : 1;
    return (s < 1 ? 1 : s) * 1000;
}

static void on_answer(struct conn *c, int status, const char *head)
{
    struct job j = c->job;

    if (status == 202) {
        fig.a202++;
        fig.dup_202 += j.dup;
        mark_accepted(j.ev, wall_ms());
    } else if (status == 200) {
        fig.a200++;
        fig.dup_200 += j.dup;
        mark_accepted(j.ev, -1);
    } else if (status == 429 || status == 503) {
        *(status == 429 ? &fig.a429 : &fig.a503) += 1;
        retry_later(j, retry_after_ms(head));
    } else {
        fig.other++;
        if (fig.other <= 5)
            fprintf(stderr, "loadgen: unexpected %d: %.200s\n", status, head);
    }
}

/* A complete response in c->resp: 1 handled, 0 need more, -1 broken. */
static int parse_response(struct conn *c)
{
    char *end, *cl;
    long body = 0;
    int status;

    c->resp[c->resp_len] = '\0';
    if (!(end = strstr(c->resp, "\r\n\r\n")))
        return c->resp_len >= RESP_MAX - 1 ? -1 : 0;
    if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    *end = '\0';
    if ((cl = strcasestr(c->resp, "\r\nContent-Length:")))
        body = strtol(cl + 17, NULL, 10);
    if ((size_t)(end + 4 - c->resp) + (size_t)body > c->resp_len) {
        *end = '\r';
        return 0;
    }
    on_answer(c, status, c->resp);
    if (strcasestr(c->resp, "\r\nConnection: close"))
        conn_close(c);
    else
        c->state = SENDING; /* idle, kept alive */
    c->busy = false;
    return 1;
}

static void on_error(struct conn *c)
{
    if (c->busy) {
        fig.errors++;
        retry_later(c->job, ERROR_RETRY_MS);
        c->busy = false;
    }
    conn_close(c);
}

/* ---- the loop ---- */

static bool next_job(struct job *j, int64_t now)
{
    if (heap_n && heap[0].due_ms <= now) {
        *j = heap_pop();
        return true;
    }
    if (next_new < o.events) {
        *j = (struct job){now, (uint32_t)next_new++, 0};
        return true;
    }
    return false;
}

static void start_request(struct conn *c, int64_t now)
{
    if (c->busy || c->state == CONNECTING || c->state == READING)
        return;
    if (!next_job(&c->job, now))
        return;
    if (c->state == CLOSED && !conn_open(c)) {
        fig.errors++;
        retry_later(c->job, ERROR_RETRY_MS);
        return;
    }
    c->busy = true;
    c->started_ms = now;
    c->resp_len = 0;
    fig.sent++;
    fig.dup_sent += c->job.dup;
    build_request(c, c->job.ev);
}

static void on_ready(struct conn *c, short revents)
{
    ssize_t n;

    if (revents & (POLLERR | POLLHUP | POLLNVAL) && !(revents & POLLIN))
        return on_error(c);
    if (c->state == CONNECTING)
        c->state = SENDING;
    if (c->state == SENDING && c->busy) {
        n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN)
            return on_error(c);
        c->req_off += n > 0 ? (size_t)n : 0;
        if (c->req_off == c->req_len)
            c->state = READING;
        return;
    }
    if (c->state == READING && (revents & POLLIN)) {
        n = recv(c->fd, c->resp + c->resp_len, RESP_MAX - 1 - c->resp_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            return on_error(c);
        c->resp_len += n > 0 ? (size_t)n : 0;
        if (parse_response(c) < 0)
            on_error(c);
    } else if (c->state == SENDING && !c->busy && (revents & POLLIN)) {
        char junk[256];
        if (recv(c->fd, junk, sizeof junk, 0) <= 0) /* the server closed an idle connection */
            conn_close(c);
    }
}

static void progress(int64_t t0)
{
    fprintf(stderr,
            "loadgen: %5.1fs sent %ld accepted %ld/%ld 202 %ld 200 %ld 429 %ld 503 %ld "
            "errors %ld waiting %zu\n",
            (double)(mono_ms() - t0) / 1000, fig.sent, fig.accepted, o.events, fig.a202, fig.a200,
            fig.a429, fig.a503, fig.errors, heap_n);
}

static bool all_idle(const struct conn *cs)
{
    for (int i = 0; i < o.conns; i++)
        if (cs[i].busy)
            return false;
    return true;
}

static int64_t poll_timeout(const struct conn *cs, int64_t now)
{
    int64_t t = 200;

    for (int i = 0; i < o.conns; i++)
        if (!cs[i].busy && heap_n && heap[0].due_ms - now < t)
            t = heap[0].due_ms - now;
    return t < 1 ? 1 : t;
}

static void run(struct conn *cs)
{
    struct pollfd pfd[CONNS_MAX];
    int64_t t0 = mono_ms(), deadline = t0 + (int64_t)o.deadline_s * 1000, last = t0;

    for (;;) {
        int64_t now = mono_ms();
        if (now >= deadline)
            break;
        for (int i = 0; i < o.conns; i++)
            start_request(&cs[i], now);
        if (next_new >= o.events && heap_n == 0 && all_idle(cs))
            break;
        for (int i = 0; i < o.conns; i++) {
            struct conn *c = &cs[i];
            pfd[i].fd = c->fd;
            pfd[i].events =
                c->state == CONNECTING || (c->state == SENDING && c->busy) ? POLLOUT : POLLIN;
            if (c->busy && now - c->started_ms > REQUEST_TIMEOUT_MS)
                on_error(c), pfd[i].fd = -1;
        }
        if (poll(pfd, (nfds_t)o.conns, (int)poll_timeout(cs, now)) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < o.conns; i++)
            if (pfd[i].fd >= 0 && pfd[i].revents)
                on_ready(&cs[i], pfd[i].revents);
        if (mono_ms() - last >= PROGRESS_EVERY_MS)
            progress(t0), last = mono_ms();
    }
    progress(t0);
    printf("load_seconds = %.1f\n", (double)(mono_ms() - t0) / 1000);
}

/* ---- arguments ---- */

static bool int_arg(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    return !errno && *s && !*end && *out >= lo && *out <= hi;
}

static bool parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        long n = 0;
        bool ok = true;
        if (strcmp(k, "--secret") == 0)
            o.secret = v;
        else if (strcmp(k, "--accepted") == 0)
            o.accepted = v;
        else if (strcmp(k, "--run") == 0)
            o.run = v;
        else if ((ok = int_arg(v, 0, 100000000, &n))) {
            if (strcmp(k, "--port") == 0)
                o.port = (int)n;
            else if (strcmp(k, "--events") == 0)
                o.events = n;
            else if (strcmp(k, "--conns") == 0)
                o.conns = (int)n;
            else if (strcmp(k, "--dup-pct") == 0)
                o.dup_pct = (int)n;
            else if (strcmp(k, "--heavy-pct") == 0)
                o.heavy_pct = (int)n;
            else if (strcmp(k, "--tenants") == 0)
                o.tenants = (int)n;
            else if (strcmp(k, "--body-bytes") == 0)
                o.body_bytes = (int)n;
            else if (strcmp(k, "--deadline-s") == 0)
                o.deadline_s = (int)n;
            else if (strcmp(k, "--seed") == 0)
                o.seed = (uint64_t)n + 1;
            else
                ok = false;
        }
        if (!ok) {
            fprintf(stderr, "loadgen: bad option %s %s\n", k, v);
            return false;
        }
    }
    return argc % 2 == 1 && o.secret && o.accepted && o.port > 0 && o.port < 65536 &&
           o.events > 0 && o.events <= 10000000 && o.conns >= 1 && o.conns <= CONNS_MAX &&
           o.dup_pct <= 100 && o.heavy_pct <= 100 && o.tenants >= 2 && o.tenants <= TENANTS_MAX &&
           o.body_bytes >= 64 && o.body_bytes <= 8000 && o.deadline_s >= 1;
}

int main(int argc, char **argv)
{
    static struct conn cs[CONNS_MAX];

    if (!parse_args(argc, argv)) {
        fprintf(stderr,
                "usage: loadgen --port P --secret S --events N --accepted FILE [--conns C]\n"
                "  [--dup-pct D] [--heavy-pct H] [--tenants T] [--body-bytes B]\n"
                "  [--deadline-s S] [--run ID] [--seed X]\n");
        return 2;
    }
    rng = o.seed * 0x9E3779B97F4A7C15ULL;
    tenant_of = malloc((size_t)o.events);
    accepted = calloc((size_t)o.events, 1);
    if (!tenant_of || !accepted || !(acc_out = fopen(o.accepted, "w"))) {
        fprintf(stderr, "loadgen: cannot set up (memory, or %s)\n", o.accepted);
        return 1;
    }
    setvbuf(acc_out, NULL, _IOFBF, 1 << 20);
    for (long i = 0; i < o.events; i++)
        tenant_of[i] =
            (int)(rnd() % 100) < o.heavy_pct ? 0 : (uint8_t)(1 + rnd() % (uint64_t)(o.tenants - 1));
    for (int i = 0; i < o.conns; i++)
        cs[i].fd = -1;
    run(cs);
    fclose(acc_out);
    printf("events = %ld\nrequests_sent = %ld\naccepted = %ld\nanswers_202 = %ld\n"
           "answers_200_duplicate = %ld\nanswers_429 = %ld\nanswers_503 = %ld\n"
           "answers_other = %ld\ntransport_errors = %ld\nduplicates = %ld\nduplicate_requests = %ld\n"
           "duplicates_answered_200 = %ld\nduplicates_answered_202 = %ld\nnever_accepted = %ld\n",
           o.events, fig.sent, fig.accepted, fig.a202, fig.a200, fig.a429, fig.a503, fig.other,
           fig.errors, fig.dups, fig.dup_sent, fig.dup_200, fig.dup_202, o.events - fig.accepted);
    return fig.accepted == o.events ? 0 : 1;
}
