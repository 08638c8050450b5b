/*
 * admin_fixture.h — what the admin-plane tests share: a redis-server, a
 * receiver (ingress_fixture.h) and, on demand, a worker serving every
 * route, all on one config whose handler (tests/data/handlers/
 * admin-handler.sh) fails permanently while DIR/fail exists. Plus requests
 * to the admin listener with or without the token, and a scrape of
 * /metrics through the strict exposition parser.
 *
 * Config: sources github (secrets v1, v2); routes billing (github:billing.*)
 * and default; admin token AFX_TOKEN.
 */
#ifndef HOOKD_ADMIN_FIXTURE_H
#define HOOKD_ADMIN_FIXTURE_H

#include "ingress_fixture.h"
#include "prom_parse.h"

#define AFX_TOKEN "test-admin-token"

struct afx {
    struct fixture in; /* redis, receiver, ports, config */
    struct proc *worker;
    const char *dir; /* the handler's DIR: the test's temp dir */
};

enum afx_auth { AFX_NONE, AFX_BEARER, AFX_BASIC };

/* Starts Redis and the receiver; FAILING: create DIR/fail first. */
void afx_start(struct afx *f, int failing);
/* Starts `hookd-worker -c CONFIG` (every route). */
void afx_worker(struct afx *f);
/* Makes the handler fail (1) or succeed (0) from now on. */
void afx_set_failing(struct afx *f, int failing);

/* GET PATH on the admin listener; returns the status. */
int afx_get(struct afx *f, const char *path, enum afx_auth auth, struct http_response *out);
/* POST JSON to PATH with the token, as the dashboard does; EXTRA: one more
 * header line or NULL. Returns the status. */
int afx_post_json(struct afx *f, const char *path, const char *json, const char *content_type,
                  const char *extra, struct http_response *out);
/* GET /metrics with the token, parsed strictly into *doc (prom_doc_free);
 * fails the test on a non-200 or any deviation from the format. */
void afx_scrape(struct afx *f, struct prom_doc *doc);
/* One sample's value (summed over matching series), 0 when absent. */
double afx_metric(struct afx *f, const char *name, const char *label, const char *value);

/* POSTs a GitHub event signed with secret v1; TRACEPARENT may be NULL. */
int afx_post_event(struct afx *f, const char *delivery, const char *event,
                   const char *traceparent, struct http_response *out);

/* The state in the dedupe record of github:ID on ROUTE (malloc'd), or NULL. */
char *afx_state(struct afx *f, const char *route, const char *id);
/* 1 when that state is STATE. */
int afx_state_is(struct afx *f, const char *route, const char *id, const char *state);

#endif
