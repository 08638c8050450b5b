/*
 * enqstep.c — Redis's cost of the enqueue step alone, without HTTP: the
 * receiver's committed batches replayed straight into store_enqueue_many
 * (the code the committer calls), so that Redis's CPU per event can be
 * compared between two builds in a minute, on a loaded machine too.
 *
 * It sends COUNT new events (1 KiB JSON bodies, the fields the receiver
 * gives: tenant and order key none, a traceparent) in batches of BATCH on
 * one route, then prints Redis's process CPU (utime+stime from /proc, so
 * Redis must run on this host) and INFO commandstats (top-level calls and
 * every inner command) per event, and its own CPU per event (the client's
 * share: arguments, RESP, parsing). Redis is flushed first (FLUSHALL);
 * CONFIG RESETSTAT is sent before the run. Point it at a Redis of its own.
 *
 * usage: enqstep REDIS_PORT [COUNT [BATCH]]
 */
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "store_internal.h"
#include "store_shared.h"

#define BODY_BYTES 1024

static long long redis_ticks(struct store *st)
{
    const char *argv[] = {"INFO", "server"};
    size_t len[] = {4, 6};
    int rc;
    redisReply *r = store_command(st, 2, argv, len, &rc);
    char path[64], buf[1024];
    long long pid = 0, t = -1;

    if (r && r->type == REDIS_REPLY_STRING && strstr(r->str, "process_id:"))
        pid = atoll(strstr(r->str, "process_id:") + 11);
    freeReplyObject(r);
    snprintf(path, sizeof path, "/proc/%lld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f && fgets(buf, sizeof buf, f)) {
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, stm = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                        &stm) == 2)
            t = (long long)(ut + stm);
    }
    if (f)
        fclose(f);
    return t;
}

/* This process's CPU (user + system) in µs: the client's share of the step
 * (arguments, RESP formatting, the round trip's system calls, parsing). */
static double self_cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void plain(struct store *st, const char *a0, const char *a1)
{
    const char *argv[] = {a0, a1};
    size_t len[] = {strlen(a0), strlen(a1)};
    int rc;
    freeReplyObject(store_command(st, a1[0] ? 2 : 1, argv, len, &rc));
}

/* Every cmdstat_NAME line: calls and usec per event. */
static void commandstats(struct store *st, long n)
{
    const char *argv[] = {"INFO", "commandstats"};
    size_t len[] = {4, 12};
    int rc;
    redisReply *r = store_command(st, 2, argv, len, &rc);
    double top = 0, inner = 0;

    for (char *p = r ? strstr(r->str, "cmdstat_") : NULL; p; p = strstr(p + 1, "cmdstat_")) {
        char name[64];
        long long calls, usec;
        if (sscanf(p, "cmdstat_%63[^:]:calls=%lld,usec=%lld", name, &calls, &usec) != 3)
            continue;
        bool is_top = strcmp(name, "evalsha") == 0 || strcmp(name, "eval") == 0;
        if (strcmp(name, "config|resetstat") == 0 || strcmp(name, "info") == 0)
            continue;
        printf("  %-10s calls/event %5.2f  usec/event %6.2f\n", name, (double)calls / n,
               (double)usec / n);
        *(is_top ? &top : &inner) += (double)usec / n;
    }
    printf("commandstats: top-level %.2f µs/event, inner %.2f µs/event\n", top, inner);
    freeReplyObject(r);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: enqstep REDIS_PORT [COUNT [BATCH]]\n"), 2;
    char url[64], err[256];
    long count = argc > 2 ? atol(argv[2]) : 50000, batch = argc > 3 ? atol(argv[3]) : 25;
    snprintf(url, sizeof url, "redis://127.0.0.1:%s/0", argv[1]);
    char prefix[] = "enqstep";
    struct redis_cfg cfg = {.url = url, .prefix = prefix, .dedupe_ttl_s = 86400,
                            .timeout_ms = 5000};
    struct store *st = store_open(&cfg, err, sizeof err);
    if (!st)
        return fprintf(stderr, "enqstep: %s\n", err), 1;

    static char body[BODY_BYTES + 1];
    for (int i = 0; i < BODY_BYTES; i++)
        body[i] = "{\"action\":\"opened\",\"number\":1234567} "[i % 37];
    body[0] = '{', body[BODY_BYTES - 1] = '}';
    struct store_event_in *evs = calloc((size_t)batch, sizeof *evs);
    struct store_enqueue_job *jobs = calloc((size_t)batch, sizeof *jobs);
    struct store_enqueue_job **jp = calloc((size_t)batch, sizeof *jp);
    char (*ids)[64] = calloc((size_t)batch, sizeof *ids);
    if (!evs || !jobs || !jp || !ids)
        return 1;

    plain(st, "FLUSHALL", "");
    store_enqueue(st, "warm", &(struct store_event_in){.event_id = "w", .event_id_len = 1,
                                                       .source = "github", .type = "t",
                                                       .body_sha256 = "0", .headers_json = "{}",
                                                       .request_id = "r"},
                  60, 0, 0, 0, &jobs[0].res);
    plain(st, "CONFIG", "RESETSTAT");
    long long t0 = redis_ticks(st);
    double u0 = self_cpu_us();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    long queued = 0, sent = 0;
    while (sent < count) {
        long n = count - sent < batch ? count - sent : batch;
        for (long i = 0; i < n; i++, sent++) {
            snprintf(ids[i], sizeof ids[i], "%08lx-0000-4000-8000-%012lx", sent, sent * 7919);
            evs[i] = (struct store_event_in){
                .event_id = ids[i], .event_id_len = strlen(ids[i]), .source = "github",
                .type = "pull_request", .type_len = 12, .body = body, .body_len = BODY_BYTES,
                .body_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                .headers_json = "{\"content-type\":\"application/json\",\"user-agent\":"
                                "\"GitHub-Hookshot/abc\",\"x-github-event\":\"pull_request\"}",
                .sig_version = "v1", .received_at_ms = 1764000000000 + sent,
                .request_id = "0123456789abcdef0123456789abcdef",
                .traceparent = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"};
            jobs[i] = (struct store_enqueue_job){.route = "github", .ev = &evs[i],
                                                 .ttl_s = 86400, .watermark = 10000000};
            jp[i] = &jobs[i];
        }
        store_enqueue_many(st, (size_t)n, jp, 0, 0);
        for (long i = 0; i < n; i++)
            queued += jobs[i].rc == 0 && jobs[i].res.status == ENQ_QUEUED;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double u1 = self_cpu_us();
    long long t1 = redis_ticks(st);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%ld events, %ld queued, batches of %ld, %.2f s\n", count, queued, batch, secs);
    printf("redis process CPU: %.2f µs/event\n",
           (double)(t1 - t0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)count);
    printf("client CPU: %.2f µs/event\n", (u1 - u0) / (double)count);
    commandstats(st, count);
    store_close(st);
    free(evs), free(jobs), free(jp), free(ids);
    return queued == count ? 0 : 1;
}
