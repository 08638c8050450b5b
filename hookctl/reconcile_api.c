/*
 * reconcile_api.c — `hookctl reconcile SOURCE --api --since T [--redeliver
 * | --enqueue] [--undelivered] [--replay]`: the provider's own log, read
 * through its REST API instead of a file, compared with hookd's records
 * (reconcile.c), the missing events recovered as asked.
 *
 * This file holds what both providers share: the options, the source's
 * api_* keys and credential (resolved here, wiped when done), the client,
 * the progress line and the summary. reconcile_github.c and
 * reconcile_stripe.c page through their provider's log.
 *
 * Exit: 1 when anything was missing or failed (before recovery), as the
 * file form; 4 when the API could not be read to the end (the figures
 * printed cover what was read); 2 and 3 as every command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "api.h"
#include "clock.h"
#include "codec.h"
#include "err.h"
#include "reconcile.h"
#include "scheme.h"

#define PROGRESS_AFTER_MS 2000 /* a scan shorter than this prints no progress */
#define PROGRESS_TTY_MS 500
#define PROGRESS_LOG_MS 10000 /* stderr not a terminal: a line this often */

static const char usage[] = "reconcile: usage: reconcile SOURCE --api --since T "
                            "[--redeliver | --enqueue] [--undelivered] [--replay]";

struct provider {
    const char *scheme, *name, *default_base;
    int (*run)(struct api_run *, char *, size_t);
};

static const struct provider providers[] = {
    {"github", "GitHub API", "https://api.github.com", reconcile_github},
    {"stripe", "Stripe API", "https://api.stripe.com", reconcile_stripe},
};

static int parse_args(struct api_run *run, int argc, char **argv)
{
    const char *since = NULL;

    for (int i = 1; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--since", &since);
        if (got < 0)
            return CTL_USAGE;
        if (got > 0 || strcmp(argv[i], "--api") == 0)
            continue;
        if (strcmp(argv[i], "--redeliver") == 0)
            run->redeliver = true;
        else if (strcmp(argv[i], "--enqueue") == 0)
            run->enqueue = true;
        else if (strcmp(argv[i], "--undelivered") == 0)
            run->undelivered = true;
        else if (strcmp(argv[i], "--replay") == 0)
            run->r.replay = true;
        else {
            ctl_err("reconcile: unexpected argument \"%s\" (%s)", argv[i], usage + 11);
            return CTL_USAGE;
        }
    }
    if (!since) {
        ctl_err("%s", usage);
        return CTL_USAGE;
    }
    if ((run->since_ms = ctl_parse_time(since, ctl_now_ms())) < 0) {
        ctl_err("reconcile: --since: not a time: \"%s\" (90m, 24h, 3d, RFC 3339, epoch s)",
                since);
        return CTL_USAGE;
    }
    return CTL_OK;
}

/* The provider of SRC's scheme, and the options it takes; NULL after an error. */
static const struct provider *pick(const struct api_run *run, const char *name)
{
    const struct provider *p = NULL;

    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (strcmp(run->src->scheme->name, providers[i].scheme) == 0)
            p = &providers[i];
    if (!p) {
        ctl_err("reconcile --api: source %s has scheme %s; the API is read for github and "
                "stripe sources only", name, run->src->scheme->name);
        return NULL;
    }
    if ((run->redeliver && strcmp(p->scheme, "github") != 0) ||
        (run->enqueue && strcmp(p->scheme, "stripe") != 0) ||
        (run->undelivered && strcmp(p->scheme, "stripe") != 0)) {
        ctl_err("reconcile --api: --redeliver is for github sources, --enqueue and "
                "--undelivered for stripe sources");
        return NULL;
    }
    return p;
}

/* The client, its credential resolved and dropped again; NULL after an error. */
static struct api_client *open_client(const struct provider *p, const struct source_cfg *src)
{
    static const char *const github_headers[] = {"Accept: application/vnd.github+json",
                                                 "X-GitHub-Api-Version: 2022-11-28", NULL};
    const char *base = src->api_base ? src->api_base : p->default_base;
    char err[512], *token = NULL, *auth = NULL;
    size_t len = 0;
    struct api_client *c = NULL;
    bool github = strcmp(p->scheme, "github") == 0;

    if (config_api_token(src, &token, &len, err, sizeof err) < 0) {
        ctl_err("%s", err);
        return NULL;
    }
    if (github && src->api_hook && strcmp(src->api_hook, "app") == 0)
        auth = github_app_auth(src, token, len, err, sizeof err);
    else if ((auth = malloc(len + 8)))
        snprintf(auth, len + 8, "Bearer %s", token);
    else
        snprintf(err, sizeof err, "out of memory");
    if (auth)
        c = api_client_new(p->name, base, auth, github ? github_headers : NULL, err, sizeof err);
    if (!c)
        ctl_err("[source %s] %s", src->name, err);
    config_secret_free(token, len);
    if (auth)
        config_secret_free(auth, strlen(auth));
    return c;
}

void api_run_progress(struct api_run *run)
{
    int64_t now = clock_mono_ms();
    bool tty = isatty(STDERR_FILENO);

    run->pages++;
    if (now - run->started_ms < PROGRESS_AFTER_MS ||
        now - run->progress_ms < (tty ? PROGRESS_TTY_MS : PROGRESS_LOG_MS))
        return;
    run->progress_ms = now;
    run->progress_shown = tty;
    fprintf(stderr, "%sreconcile %s: %zu scanned, %zu missing, %zu pages, %llds%s",
            tty ? "\r" : "hookctl: ", run->r.source, run->r.scanned,
            run->r.counts[RECON_MISSING], run->pages, (long long)(now - run->started_ms) / 1000,
            tty ? "" : "\n");
}

static void print_summary(struct api_run *run)
{
    size_t requests = 0, retries = 0;

    if (run->progress_shown)
        fputc('\n', stderr);
    if (run->api)
        api_client_counts(run->api, &requests, &retries);
    const char *names[] = {"redelivered", "enqueued", "not_recovered", "replayed",
                           "api_requests", "api_retries", NULL};
    size_t values[] = {run->redelivered, run->enqueued, run->not_recovered, run->r.replayed,
                       requests, retries};
    recon_print(&run->r, names, values);
}

static void new_request_id(char out[40])
{
    unsigned char raw[8] = {0};
    char hex[17];

    RAND_bytes(raw, sizeof raw);
    codec_hex_encode(raw, sizeof raw, hex);
    snprintf(out, 40, "reconcile-%s", hex);
}

int reconcile_api(struct ctl *c, int argc, char **argv)
{
    struct api_run run = {0};
    const struct provider *p;
    char err[768] = "";
    int code, rc;

    recon_init(&run.r, c, argv[0]);
    run.r.problems_only = true;
    if ((code = parse_args(&run, argc, argv)) != CTL_OK)
        goto out;
    code = CTL_USAGE;
    if (!(run.src = config_source(c->cfg, argv[0], strlen(argv[0])))) {
        ctl_err("unknown source \"%s\" in %s", argv[0], c->config_path);
        goto out;
    }
    if (!(p = pick(&run, argv[0])) || !(run.api = open_client(p, run.src)))
        goto out;
    if ((code = ctl_store(c)) != 0)
        goto out;
    new_request_id(run.request_id);
    run.started_ms = clock_mono_ms();
    rc = p->run(&run, err, sizeof err);
    print_summary(&run);
    if (rc == HOOKD_EAPI) {
        ctl_err("%s (the figures above cover what was read)", err);
        code = CTL_API;
    } else if (rc == HOOKD_ECONFIG) {
        ctl_err("%s", err);
        code = CTL_USAGE;
    } else if (rc < 0) {
        code = ctl_store_failed(rc, "reconcile");
    } else {
        code = recon_exit_code(&run.r);
    }
out:
    api_client_free(run.api);
    recon_free(&run.r);
    return code;
}
