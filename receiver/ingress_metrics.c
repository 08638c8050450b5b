/*
 * ingress_metrics.c — see ingress_metrics.h. The families are registered
 * once (pthread_once) in a registry that lives until the process exits;
 * every recording call is lock-free once its series exists.
 */
#include "ingress_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double request_bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const double redis_bounds_s[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,    0.1,    0.25,  0.5,    1};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct metrics *reg;
static struct metrics_family *requests, *duration, *duplicates, *rejected, *verified, *failures,
    *redis_rtt, *rejects_dropped, *dropped, *handshakes, *forbidden;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void init(void)
{
    if (!(reg = metrics_new()))
        return;
    requests = metrics_counter(reg, "hookd_ingress_requests_total",
                               "Requests answered on the public listener, by source, outcome and HTTP status.",
                               (const char *const[]){"source", "outcome", "status", NULL});
    duration = metrics_histogram(reg, "hookd_ingress_request_duration_seconds",
                                 "Time from a request's first byte to its answer.",
                                 (const char *const[]){"source", NULL}, request_bounds_s,
                                 N(request_bounds_s));
    duplicates = metrics_counter(reg, "hookd_ingress_duplicates_total",
                                 "Events already seen, answered 200 without a write.",
                                 (const char *const[]){"source", NULL});
    rejected = metrics_counter(reg, "hookd_ingress_rejected_total",
                               "Requests turned away for capacity (503) or rate (429), by reason.",
                               (const char *const[]){"reason", "status", NULL});
    verified = metrics_counter(reg, "hookd_signature_verified_total",
                               "Signatures verified, by the secret version that matched.",
                               (const char *const[]){"source", "version", NULL});
    failures = metrics_counter(reg, "hookd_signature_failures_total",
                               "Signatures rejected, counted once per secret version tried (\"none\" when none was).",
                               (const char *const[]){"source", "reason", "version", NULL});
    redis_rtt = metrics_histogram(reg, "hookd_redis_roundtrip_seconds",
                                  "Redis round trips made by the receiver, by operation.",
                                  (const char *const[]){"op", NULL}, redis_bounds_s,
                                  N(redis_bounds_s));
    rejects_dropped = metrics_counter(
        reg, "hookd_rejected_records_dropped_total",
        "Rejected-signature records not written to the rejected stream (queue full or Redis down); "
        "their log lines were written.",
        (const char *const[]){NULL});
    dropped = metrics_counter(reg, "hookd_ingress_dropped_total",
                              "Verified events taken by a handler = drop route: answered 200, "
                              "never stored.",
                              (const char *const[]){"source", "route", NULL});
    handshakes = metrics_counter(reg, "hookd_handshakes_total",
                                 "Providers' handshakes answered (never queued), by kind and status.",
                                 (const char *const[]){"source", "kind", "status", NULL});
    forbidden = metrics_counter(reg, "hookd_ingress_forbidden_total",
                                "Requests answered 403 before their body was read: the client "
                                "address is outside the source's allow_from, or unknown.",
                                (const char *const[]){"source", "reason", NULL});
}

struct metrics *ingress_metrics(void)
{
    pthread_once(&once, init);
    return reg;
}

/* The capacity answers operators alert on, named as the SPEC's words. */
static const char *rejected_reason(const char *outcome)
{
    if (strcmp(outcome, "too_many_concurrent_requests") == 0)
        return "concurrency";
    return outcome;
}

void ingress_metrics_request(const char *source, const char *outcome, int status,
                             const char *sig_version, double seconds)
{
    char st[16];
    const char *src = source ? source : "";

    if (!ingress_metrics())
        return;
    snprintf(st, sizeof st, "%d", status);
    metrics_inc(requests, (const char *const[]){src, outcome, st}, 1);
    metrics_observe(duration, (const char *const[]){src}, seconds);
    if (strcmp(outcome, "duplicate") == 0)
        metrics_inc(duplicates, (const char *const[]){src}, 1);
    if (status == 503 || status == 429)
        metrics_inc(rejected, (const char *const[]){rejected_reason(outcome), st}, 1);
    if (source && sig_version)
        metrics_inc(verified, (const char *const[]){source, sig_version}, 1);
}

void ingress_metrics_signature_failure(const char *source, const struct verify_result *vr)
{
    if (!ingress_metrics())
        return;
    if (vr->ntried == 0)
        metrics_inc(failures, (const char *const[]){source, vr->reason, "none"}, 1);
    for (size_t i = 0; i < vr->ntried; i++)
        metrics_inc(failures, (const char *const[]){source, vr->reason, vr->tried[i].version}, 1);
}

void ingress_metrics_redis(const char *op, double seconds)
{
    if (ingress_metrics())
        metrics_observe(redis_rtt, (const char *const[]){op}, seconds);
}

void ingress_metrics_dropped(const char *source, const char *route)
{
    if (ingress_metrics())
        metrics_inc(dropped, (const char *const[]){source, route}, 1);
}

void ingress_metrics_handshake(const char *source, const char *kind, int status)
{
    char code[8];

    snprintf(code, sizeof code, "%d", status);
    if (ingress_metrics())
        metrics_inc(handshakes, (const char *const[]){source, kind, code}, 1);
}

void ingress_metrics_forbidden(const char *source, const char *reason)
{
    if (ingress_metrics())
        metrics_inc(forbidden, (const char *const[]){source, reason}, 1);
}

void ingress_metrics_reject_dropped(void)
{
    if (ingress_metrics())
        metrics_inc(rejects_dropped, (const char *const[]){NULL}, 1);
}

/* ---- the dashboard's signature table ---- */

/* by[source][version] = {"verified": N, "failed": {reason: N}} */
static json_t *slot(json_t *by, const char *source, const char *version)
{
    json_t *s = json_object_get(by, source), *v;

    if (!s)
        json_object_set_new(by, source, s = json_object());
    if (!(v = json_object_get(s, version))) {
        v = json_pack("{s:I,s:{}}", "verified", (json_int_t)0, "failed");
        json_object_set_new(s, version, v);
    }
    return v;
}

static void add_verified(void *arg, const char *const *values, uint64_t n)
{
    json_t *v = slot(arg, values[0], values[1]);
    json_object_set_new(v, "verified", json_integer((json_int_t)n));
}

static void add_failed(void *arg, const char *const *values, uint64_t n)
{
    json_t *v = slot(arg, values[0], values[2]);
    json_object_set_new(json_object_get(v, "failed"), values[1], json_integer((json_int_t)n));
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The object's keys, sorted (borrowed from it); *n set. NULL if empty. */
static const char **sorted_keys(json_t *o, size_t *n)
{
    const char **keys = malloc((json_object_size(o) + 1) * sizeof *keys);
    const char *k;
    json_t *v;

    *n = 0;
    if (!keys)
        return NULL;
    json_object_foreach(o, k, v) keys[(*n)++] = k;
    qsort(keys, *n, sizeof *keys, key_cmp);
    return keys;
}

json_t *ingress_metrics_signatures_json(void)
{
    json_t *by = json_object(), *out = json_array();
    const char **sources, **versions;
    size_t ns, nv;

    if (ingress_metrics()) {
        metrics_foreach(verified, add_verified, by);
        metrics_foreach(failures, add_failed, by);
    }
    sources = sorted_keys(by, &ns);
    for (size_t i = 0; sources && i < ns; i++) {
        json_t *s = json_object_get(by, sources[i]);
        versions = sorted_keys(s, &nv);
        for (size_t k = 0; versions && k < nv; k++) {
            json_t *row = json_deep_copy(json_object_get(s, versions[k]));
            json_object_set_new(row, "source", json_string(sources[i]));
            json_object_set_new(row, "version", json_string(versions[k]));
            json_array_append_new(out, row);
        }
        free(versions);
    }
    free(sources);
    json_decref(by);
    return out;
}
