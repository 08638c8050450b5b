/*
 * sink.c — the burst drill's handler: an HTTP endpoint the workers POST each
 * event to (route handler = http://127.0.0.1:PORT/hook). It costs a
 * configurable time per event (a sleep, so the cost is waiting, not CPU)
 * and records each run, so that run.sh can check that every accepted event
 * ran exactly once and measure how long events waited.
 *
 *   sink PORT OUT_FILE HANDLER_MS
 *
 * One line per run in OUT_FILE, written when the request arrives (the
 * handler's start): "EVENT_ID ATTEMPT START_MS" (X-Hookd-Event-Id,
 * X-Hookd-Attempt, wall-clock ms). Answers 200 after HANDLER_MS. A thread
 * per connection (the workers keep theirs alive), so runs overlap as they
 * would in a real service. SIGTERM / SIGINT: stop, flush OUT_FILE, exit 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#define SINK_FILE_BUFFER (4u << 20)
#define SINK_CONNECTIONS 512
#define SINK_ID_MAX 256

static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static long handler_ms;
static volatile sig_atomic_t stopping;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The header's value as printable text without spaces ("-" when absent). */
static void header_word(struct MHD_Connection *c, const char *name, char *buf, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    size_t n = 0;

    for (; v && v[n] && n + 1 < cap; n++)
        buf[n] = v[n] > ' ' && v[n] < 127 ? v[n] : '?';
    buf[n] = '\0';
    if (n == 0)
        snprintf(buf, cap, "-");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    static int started; /* a non-NULL marker: the request's first call is done */
    char id[SINK_ID_MAX], attempt[16];
    struct MHD_Response *r;
    enum MHD_Result rc;

    if (!*state) { /* headers are in: the handler starts */
        header_word(c, "X-Hookd-Event-Id", id, sizeof id);
        header_word(c, "X-Hookd-Attempt", attempt, sizeof attempt);
        pthread_mutex_lock(&out_lock);
        fprintf(out, "%s %s %lld\n", id, attempt, (long long)wall_ms());
        pthread_mutex_unlock(&out_lock);
        *state = &started;
        return MHD_YES;
    }
    if (*size) { /* the body: not needed */
        *size = 0;
        return MHD_YES;
    }
    if (handler_ms > 0) {
        struct timespec ts = {handler_ms / 1000, (handler_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    r = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
    rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static void on_signal(int sig)
{
    stopping = 1;
}

static int usage_error(const char *what, const char *value)
{
    fprintf(stderr, "sink: bad %s \"%s\" (usage: sink PORT OUT_FILE HANDLER_MS)\n", what, value);
    return 2;
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    struct sigaction sa = {.sa_handler = on_signal};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char *end;
    long port;

    if (argc != 4)
        return usage_error("arguments", argc > 1 ? argv[1] : "");
    port = strtol(argv[1], &end, 10);
    if (*end || port < 1 || port > 65535)
        return usage_error("PORT", argv[1]);
    handler_ms = strtol(argv[3], &end, 10);
    if (*end || handler_ms < 0 || handler_ms > 60000)
        return usage_error("HANDLER_MS", argv[3]);
    if (!(out = fopen(argv[2], "w"))) {
        fprintf(stderr, "sink: cannot write %s\n", argv[2]);
        return 1;
    }
    addr.sin_port = htons((uint16_t)port);
    setvbuf(out, NULL, _IOFBF, SINK_FILE_BUFFER);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)SINK_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sink: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    while (!stopping)
        pause();
    MHD_stop_daemon(d);
    pthread_mutex_lock(&out_lock);
    fclose(out);
    pthread_mutex_unlock(&out_lock);
    return 0;
}
