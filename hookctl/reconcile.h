/*
 * reconcile.h — the comparison that every `hookctl reconcile` runs, from a
 * provider log file (reconcile.c) or from the provider's API
 * (reconcile_api.c with reconcile_github.c, reconcile_stripe.c): each
 * provider event id is looked up as P:{ROUTE}:seen:SOURCE:ID in every
 * route of the config and classified; a row is listed, the counts kept,
 * and with --replay a failed event is replayed from its dead letter.
 */
#ifndef HOOKCTL_RECONCILE_H
#define HOOKCTL_RECONCILE_H

#include <jansson.h>

#include "ctl.h"
#include "extract.h"
#include "store_admin.h"

enum recon_status {
    RECON_PROCESSED,
    RECON_PENDING,
    RECON_FAILED,
    RECON_MISSING,
    RECON_DROPPED, /* no record, but its route is a handler = drop route */
    RECON_NSTATUS
};

/* "processed", "pending", "failed", "missing", "dropped" */
extern const char *const recon_status_names[RECON_NSTATUS];

struct recon {
    struct ctl *c;
    const char *source;
    bool replay;        /* --replay */
    bool problems_only; /* list the events that are not processed, count all */
    size_t counts[RECON_NSTATUS], scanned, replayed;
    struct ctl_table table; /* text output */
    json_t *events;         /* --json: the rows listed (owned) */
};

/* One provider event; id and type borrowed. */
struct recon_event {
    const char *id;
    const char *type;   /* may be NULL */
    int64_t created_ms; /* < 0: unknown */
    enum recon_status status;
    const char *route; /* the route holding its record; NULL when missing */
    struct store_seen seen;
};

void recon_init(struct recon *r, struct ctl *c, const char *source);
void recon_free(struct recon *r);

/* Looks EV up, sets its status and route, counts it. An event without a
 * record is dropped rather than missing when the route ingress would pick
 * for it, from what X holds of its headers and body (NULL: neither), is a
 * handler = drop route. 0, or a store error. */
int recon_check(struct recon *r, struct recon_event *ev, struct extract_ctx *x);

/* Lists EV (unless processed or dropped and problems_only) with NOTE (may be NULL),
 * and with --replay replays it when failed. 0, or a store error. */
int recon_report(struct recon *r, const struct recon_event *ev, const char *note);

/* True when EV is missing and older than the dedupe records live. */
bool recon_expired(const struct recon *r, const struct recon_event *ev);

/* The outcome: the table and "name = value" lines (scanned, the four
 * counts, then NAMES[i] = VALUES[i] up to a NULL name), or with --json one
 * document holding the same figures and the events listed. */
void recon_print(struct recon *r, const char *const *names, const size_t *values);

/* 1 when any event was missing or failed, else 0. */
int recon_exit_code(const struct recon *r);

/* ---- reconcile SOURCE --api (reconcile_api.c) ---- */

struct api_client;

/* One scan of a provider's log through its API. */
struct api_run {
    struct recon r;
    const struct source_cfg *src;
    struct api_client *api; /* owned */
    int64_t since_ms;
    bool redeliver, enqueue, undelivered; /* the options */
    size_t redelivered, enqueued, not_recovered, pages;
    int64_t started_ms, progress_ms; /* monotonic; last progress line */
    bool progress_shown;
    char request_id[40]; /* of the events --enqueue queues */
};

/* reconcile SOURCE --api ...: argc/argv as cmd_reconcile got them. */
int reconcile_api(struct ctl *c, int argc, char **argv);

/* After each page: a progress line on stderr once a scan is long. */
void api_run_progress(struct api_run *run);

/* The providers: page through the log since run->since_ms, check every
 * event (recon_check), recover the missing ones as asked, report. 0, a
 * store error, or HOOKD_EAPI with a sentence in err. */
int reconcile_github(struct api_run *run, char *err, size_t errlen);
int reconcile_stripe(struct api_run *run, char *err, size_t errlen);

/* "Bearer JWT" for a GitHub App (api_hook = app): a JWT signed with the
 * App's private key PEM (api_token's value), issued by api_app_id; malloc'd
 * (the caller wipes it), or NULL with a sentence in err. */
char *github_app_auth(const struct source_cfg *src, const char *pem, size_t pem_len, char *err,
                      size_t errlen);

#endif
