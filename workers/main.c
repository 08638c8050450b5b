/*
 * main.c — hookd-worker: flags, config, signals, threads, shutdown.
 *
 *   hookd-worker -c FILE [-r ROUTE]... [--concurrency N] [--consumer NAME]
 *
 * Without -r the worker serves every route of the config. The consumer name
 * (default HOST:PID) identifies this process in each route's consumer group
 * "hookd-workers"; all its threads share it (see worker.h).
 *
 * Lifecycle: load the config (errors: exit 2), ensure each route's group
 * (waiting for Redis if needed), start the maintenance thread and N worker
 * threads, then wait for signals in this thread (the others block them).
 * SIGTERM / SIGINT / SIGQUIT: take no new events, finish those in hand, stop
 * the maintenance thread last, leave the group if nothing is pending under
 * our name, exit 0.
 *
 * SIGHUP (systemctl reload): route settings and handlers are read at start
 * and shared by every thread, so rather than swap them under running events
 * the worker checks the file first — invalid: logged, the running config
 * stays — then drains exactly as for SIGTERM and re-executes itself in place
 * with the same arguments: same pid, same consumer name, new config.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "err.h"
#include "log.h"
#include "retry.h"
#include "worker.h"

#define EXIT_USAGE 2
#define BLOCK_MAX_MS 1000
#define BLOCK_MIN_MS 50

struct opts {
    const char *config;
    const char *routes[WORKER_MAX_ROUTES];
    size_t nroutes;
    int concurrency;
    const char *consumer;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hookd-worker -c FILE [-r ROUTE]... [--concurrency N] [--consumer NAME]\n"
            "  -c, --config FILE     hookd config (INI)\n"
            "  -r, --route ROUTE     a route to serve; repeatable (default: every route)\n"
            "  -n, --concurrency N   events handled at once (default 1, max %d)\n"
            "      --consumer NAME   consumer name in the group (default HOST:PID)\n",
            WORKER_MAX_CONCURRENCY);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"route", required_argument, NULL, 'r'},
                                             {"concurrency", required_argument, NULL, 'n'},
                                             {"consumer", required_argument, NULL, 'C'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    char *end;
    long v;

    o->concurrency = 1;
    while ((ch = getopt_long(argc, argv, "c:r:n:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'r':
            if (o->nroutes == WORKER_MAX_ROUTES)
                return fprintf(stderr, "hookd-worker: at most %d routes\n", WORKER_MAX_ROUTES), HOOKD_ECONFIG;
            o->routes[o->nroutes++] = optarg;
            break;
        case 'n':
            v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > WORKER_MAX_CONCURRENCY)
                return fprintf(stderr, "hookd-worker: --concurrency must be 1..%d\n",
                               WORKER_MAX_CONCURRENCY),
                       HOOKD_ECONFIG;
            o->concurrency = (int)v;
            break;
        case 'C':
            if (!*optarg || strlen(optarg) >= WORKER_CONSUMER_MAX)
                return fprintf(stderr, "hookd-worker: bad --consumer\n"), HOOKD_ECONFIG;
            o->consumer = optarg;
            break;
        case 'h': usage(stdout); exit(0);
        default: return HOOKD_ECONFIG;
        }
    }
    if (!o->config || optind != argc)
        return HOOKD_ECONFIG;
    return 0;
}

/* Adds one handler of route RT (LABEL NULL: its plain one), once; it is
 * parsed here so that a bad one fails the start, not the first event. */
static int add_handler(struct worker *w, const struct route_cfg *rt, const char *label,
                       const char *spec, char *err, size_t errlen)
{
    struct worker_route *wr = &w->routes[w->nroutes];
    char name[STORE_ROUTE_MAX + 1], herr[160];

    snprintf(name, sizeof name, "%s%s%s", rt->name, label ? ":" : "", label ? label : "");
    if (worker_route_index(w, name) >= 0)
        return 0;
    if (w->nroutes == WORKER_MAX_ROUTES) {
        snprintf(err, errlen, "at most %d handlers per worker", WORKER_MAX_ROUTES);
        return HOOKD_ECONFIG;
    }
    wr->cfg = rt, wr->label = label;
    memcpy(wr->name, name, sizeof name);
    if (handler_parse(spec, &wr->handler, herr, sizeof herr) < 0) {
        snprintf(err, errlen, "[route %s] handler%s%s: %s", rt->name, label ? "." : "",
                 label ? label : "", herr);
        return HOOKD_ECONFIG;
    }
    wr->runner = runner_for(&wr->handler, rt->exec_mode);
    w->nroutes++;
    return 0;
}

/* Adds what -r SPEC names: ROUTE (its plain handler and every handler.LABEL
 * of it), ROUTE:default (the plain one) or ROUTE:LABEL (that one). */
static int add_route(struct worker *w, const char *spec, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':'), *label = colon ? colon + 1 : NULL;
    char name[CONFIG_NAME_MAX + 1];
    const struct route_cfg *rt;
    int rc = 0;

    snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
    if (!(rt = config_route(w->cfg, name))) {
        snprintf(err, errlen, "no [route %s] in %s", name, w->cfg->path);
        return HOOKD_ECONFIG;
    }
    if (rt->drop) {
        snprintf(err, errlen, "[route %s] has handler = drop: the receiver answers its events "
                              "and stores none, there is nothing to work on", name);
        return HOOKD_ECONFIG;
    }
    if (!label || strcmp(label, "default") == 0)
        rc = add_handler(w, rt, NULL, rt->handler, err, errlen);
    for (size_t i = 0; rc == 0 && i < rt->nhandlers; i++)
        if (!label || strcmp(label, rt->handlers[i].label) == 0)
            rc = add_handler(w, rt, rt->handlers[i].label, rt->handlers[i].handler, err, errlen);
    if (rc == 0 && label && strcmp(label, "default") != 0 && worker_route_index(w, spec) < 0) {
        snprintf(err, errlen, "[route %s] has no handler.%s", name, label);
        return HOOKD_ECONFIG;
    }
    return rc;
}

static int setup_routes(struct worker *w, const struct opts *o, char *err, size_t errlen)
{
    size_t n = o->nroutes ? o->nroutes : w->cfg->nroutes;

    if (!(w->routes = calloc(WORKER_MAX_ROUTES, sizeof *w->routes))) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if ((o->nroutes || !w->cfg->routes[i].drop) &&
            add_route(w, o->nroutes ? o->routes[i] : w->cfg->routes[i].name, err, errlen) < 0)
            return HOOKD_ECONFIG;
    /* Highest priority first; stable, so config order decides within a level. */
    for (size_t i = 1; i < w->nroutes; i++)
        for (size_t j = i; j > 0 && w->routes[j - 1].cfg->priority < w->routes[j].cfg->priority;
             j--) {
            struct worker_route t = w->routes[j];
            w->routes[j] = w->routes[j - 1];
            w->routes[j - 1] = t;
        }
    return 0;
}

/* BLOCK of an idle read: short enough to notice SIGTERM and to claim stale
 * entries soon, and below the Redis command timeout. */
static int64_t idle_block_ms(const struct worker *w)
{
    int64_t b = BLOCK_MAX_MS;

    if (w->cfg->redis.timeout_ms / 2 < b)
        b = w->cfg->redis.timeout_ms / 2;
    for (size_t i = 0; i < w->nroutes; i++)
        if (w->routes[i].cfg->visibility_timeout_ms / 4 < b)
            b = w->routes[i].cfg->visibility_timeout_ms / 4;
    return b < BLOCK_MIN_MS ? BLOCK_MIN_MS : b;
}

static int setup(struct worker *w, const struct opts *o)
{
    char err[2048];
    int lvl;

    /* A worker verifies nothing: of the secrets it reads only Redis's. */
    if (!(w->cfg = config_load_opts(o->config, CONFIG_SKIP_SECRETS, err, sizeof err))) {
        fprintf(stderr, "hookd-worker: %s\n", err);
        return HOOKD_ECONFIG;
    }
    if ((lvl = log_level_parse(w->cfg->receiver.log_level)) >= 0)
        log_set_level((enum log_level)lvl);
    if (setup_routes(w, o, err, sizeof err) < 0) {
        fprintf(stderr, "hookd-worker: %s\n", err);
        return HOOKD_ECONFIG;
    }
    if (o->consumer)
        snprintf(w->consumer, sizeof w->consumer, "%s", o->consumer);
    else {
        char host[128] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(w->consumer, sizeof w->consumer, "%s:%ld", host, (long)getpid());
    }
    w->concurrency = o->concurrency;
    w->block_ms = idle_block_ms(w);
    w->batch = 1;
    /* More threads than CPUs: each handler run also waits for a CPU, so a
     * run's wall time grows with the threads per CPU while the reads the
     * process makes per second, all threads together, do not. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    w->budget_us = BATCH_BUDGET_US * (cpus > 0 && w->concurrency > cpus ? w->concurrency / cpus : 1);
    for (size_t i = 0; i < w->nroutes; i++)
        if (w->routes[i].cfg->worker_batch > w->batch)
            w->batch = w->routes[i].cfg->worker_batch;
    if (!(w->inflight = calloc((size_t)w->concurrency * (size_t)w->batch, sizeof *w->inflight)))
        return fprintf(stderr, "hookd-worker: out of memory\n"), HOOKD_ENOMEM;
    for (size_t i = 0; i < (size_t)w->concurrency * (size_t)w->batch; i++)
        w->inflight[i].route = -1;
    return -pthread_mutex_init(&w->inflight_mu, NULL);
}

/* True when a stop signal is pending (consumed); for waits before sigwait. */
static bool stop_requested(const sigset_t *sigs)
{
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(sigs, NULL, &zero);

    return sig == SIGTERM || sig == SIGINT || sig == SIGQUIT;
}

/* Creates each route's group, waiting out a Redis outage (a worker may
 * start before its Redis). The wait is logged once when it begins and once
 * when it ends: a store that never connected logs neither by itself. */
static int ensure_groups(struct worker *w, struct store *st, const sigset_t *sigs)
{
    unsigned tries = 0;
    int rc;

    for (size_t i = 0; i < w->nroutes;) {
        /* the group, then this worker in it: stats shows an idle route's
         * workers (after a SIGHUP restart too, which retired the old name) */
        if ((rc = store_group_ensure(st, w->routes[i].name)) == 0 &&
            (rc = store_consumer_join(st, w->routes[i].name, w->consumer)) == 0) {
            i++;
            continue;
        }
        if (tries == 0)
            log_msg(LOG_WARN, EV_REDIS_DOWN, "[route %s] consumer group: %s (%s); waiting for Redis",
                    w->routes[i].name, hookd_strerror(rc), store_last_error(st));
        if (stop_requested(sigs))
            return HOOKD_ESTATE;
        worker_redis_wait(w, &tries, 0);
    }
    if (tries > 0)
        log_msg(LOG_INFO, EV_REDIS_UP, "Redis answered: consumer groups ready");
    return 0;
}

static bool any_http(const struct worker *w)
{
    for (size_t i = 0; i < w->nroutes; i++)
        if (w->routes[i].runner->needs_curl)
            return true;
    return false;
}

static int slots_open(struct worker *w, struct slot *slots)
{
    char err[200];
    int rc;

    for (int i = 0; i < w->concurrency; i++) {
        struct slot *s = &slots[i];
        s->w = w, s->index = i, s->rng = retry_seed();
        if ((rc = event_slot_init(s)) < 0)
            return rc;
        for (size_t r = 0; r < w->nroutes; r++)
            if ((rc = store_streams_init(&s->streams[r], w->routes[r].name)) < 0)
                return rc;
        if (!(s->st = store_open(&w->cfg->redis, err, sizeof err))) {
            log_msg(LOG_ERROR, EV_ERROR, "%s", err);
            return HOOKD_ECONFIG;
        }
        if (any_http(w) && !(s->curl = curl_easy_init())) {
            log_msg(LOG_ERROR, EV_ERROR, "curl_easy_init failed");
            return HOOKD_ENOMEM;
        }
    }
    return 0;
}

static void slots_close(struct worker *w, struct slot *slots)
{
    for (int i = 0; slots && i < w->concurrency; i++) {
        for (size_t r = 0; r < w->nroutes; r++)
            store_streams_clear(&slots[i].streams[r]);
        store_close(slots[i].st);
        event_slot_free(&slots[i]);
        if (slots[i].curl)
            curl_easy_cleanup(slots[i].curl);
    }
    free(slots);
}

static void log_start(const struct worker *w)
{
    struct logline l;
    char routes[512];
    size_t n = 0;

    routes[0] = '\0';
    for (size_t i = 0; i < w->nroutes && n < sizeof routes; i++) {
        int k =
            snprintf(routes + n, sizeof routes - n, "%s%s", i ? "," : "", w->routes[i].name);
        n += k > 0 ? (size_t)k : 0;
    }
    if (log_begin(&l, LOG_INFO, EV_START)) {
        log_str(&l, "consumer", w->consumer);
        log_str(&l, "routes", routes);
        log_int(&l, "concurrency", w->concurrency);
        log_int(&l, "pid", (int64_t)getpid());
        log_end(&l);
    }
}

/* SIGHUP: would the file, as it is now, start a worker with these flags? */
static int config_check(const struct opts *o, char *err, size_t errlen)
{
    struct worker t = {0};
    int rc = HOOKD_ECONFIG;

    if ((t.cfg = config_load_opts(o->config, CONFIG_SKIP_SECRETS | CONFIG_RELOAD, err, errlen)) != NULL)
        rc = setup_routes(&t, o, err, errlen);
    for (size_t i = 0; i < t.nroutes; i++)
        handler_free(&t.routes[i].handler);
    free(t.routes);
    config_release(t.cfg);
    return rc;
}

/* Waits for a stop signal; true when it was a SIGHUP with a valid config
 * (stop, then re-execute in place). */
static bool wait_for_stop(const sigset_t *sigs, const struct opts *o)
{
    char err[2048];

    for (;;) {
        int sig = sigwaitinfo(sigs, NULL);
        if (sig == SIGHUP) {
            if (config_check(o, err, sizeof err) == 0) {
                log_msg(LOG_INFO, EV_RELOAD,
                        "SIGHUP: new config valid; finishing the events "
                        "in hand, then restarting in place with it");
                return true;
            }
            log_msg(LOG_ERROR, EV_RELOAD_FAILED, "SIGHUP: %s; the running config stays", err);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
            log_msg(LOG_INFO, EV_STOP, "signal %d: finishing the events in hand", sig);
            return false;
        }
    }
}

/* Threads up, wait for the signal, threads down (maintenance last). */
static int run(struct worker *w, struct store *st, const sigset_t *sigs, const struct opts *o,
               bool *reexec)
{
    struct slot *slots = calloc((size_t)w->concurrency, sizeof *slots);
    pthread_t maint;
    int started = 0, rc = 1;
    bool maint_up = false;

    if (!slots || slots_open(w, slots) < 0)
        goto out;
    if (pthread_create(&maint, NULL, maint_thread, w) != 0)
        goto out;
    maint_up = true;
    for (; started < w->concurrency; started++)
        if (pthread_create(&((pthread_t *)w->threads)[started], NULL, loop_thread,
                           &slots[started]) != 0)
            goto out;
    log_start(w);
    *reexec = wait_for_stop(sigs, o);
    rc = 0;
out:
    atomic_store(&w->stopping, 1);
    for (int i = 0; i < started; i++)
        pthread_join(((pthread_t *)w->threads)[i], NULL);
    if (maint_up) {
        maint_stop();
        pthread_join(maint, NULL);
    }
    for (size_t i = 0; rc == 0 && i < w->nroutes; i++)
        store_consumer_retire(st, w->routes[i].name, w->consumer);
    slots_close(w, slots);
    return rc;
}

static void teardown(struct worker *w)
{
    for (size_t i = 0; i < w->nroutes; i++)
        handler_free(&w->routes[i].handler);
    free(w->routes);
    free(w->inflight);
    free(w->threads);
    config_release(w->cfg);
}

int main(int argc, char **argv)
{
    struct worker w = {0};
    struct opts o = {0};
    struct store *st = NULL;
    sigset_t sigs;
    char err[200];
    int rc = EXIT_USAGE;
    bool reexec = false;

    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    /* Before any thread exists: every thread inherits the mask, and only
     * this one takes the signals (sigwaitinfo). */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM), sigaddset(&sigs, SIGINT), sigaddset(&sigs, SIGQUIT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a handler that closes its stdin early: EPIPE, not death */
    if (setup(&w, &o) < 0 || !(w.threads = calloc((size_t)w.concurrency, sizeof(pthread_t))))
        goto out;
    if (!(st = store_open(&w.cfg->redis, err, sizeof err))) {
        fprintf(stderr, "hookd-worker: %s\n", err);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = 1;
        goto out;
    }
    rc = ensure_groups(&w, st, &sigs) < 0 ? 0 : run(&w, st, &sigs, &o, &reexec);
    curl_global_cleanup();
out:
    store_close(st);
    teardown(&w);
    if (rc == 0 && reexec) {
        /* Same pid (systemd keeps tracking it), same consumer name, the
         * signal mask carried over: a SIGTERM meanwhile waits for the new
         * image. getopt only permuted argv, which stays valid. */
        execv("/proc/self/exe", argv);
        log_msg(LOG_ERROR, EV_ERROR, "SIGHUP: cannot re-execute /proc/self/exe: %s",
                hookd_strerror(-errno));
        rc = 1;
    }
    return rc;
}
