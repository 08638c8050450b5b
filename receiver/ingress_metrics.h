/*
 * ingress_metrics.h — the receiver's own Prometheus metrics (RED metrics of
 * the public listener, signature outcomes, Redis round trips), kept in one
 * process-wide registry that the admin listener renders at /metrics.
 *
 * Callers: ingress.c (one call per request, from its log line; one per
 * rejected signature; one per enqueue round trip) and http.c (answers given
 * before the body is read). Labels are config names and static outcome
 * words only — never bytes from the request — so series stay bounded.
 *
 *   hookd_ingress_requests_total{source,outcome,status}
 *   hookd_ingress_request_duration_seconds{source}              histogram
 *   hookd_ingress_duplicates_total{source}
 *   hookd_ingress_rejected_total{reason,status}                 503 and 429 answers
 *   hookd_signature_verified_total{source,version}              the version that matched
 *   hookd_signature_failures_total{source,reason,version}       one per version tried, or "none"
 *   hookd_redis_roundtrip_seconds{op}                           histogram
 *   hookd_rejected_records_dropped_total                        P:rejected entries not written
 *   hookd_ingress_dropped_total{source,route}                   taken by a handler = drop route
 *   hookd_handshakes_total{source,kind,status}                  providers' handshakes answered
 *   hookd_ingress_forbidden_total{source,reason}                403: client outside allow_from
 */
#ifndef HOOKD_INGRESS_METRICS_H
#define HOOKD_INGRESS_METRICS_H

#include <jansson.h>
#include <stdbool.h>

#include "metrics.h"
#include "verify.h"

/* The registry (created on first use; lives until exit). NULL only when
 * out of memory at that first use. Borrowed. */
struct metrics *ingress_metrics(void);

/* One answered request. SOURCE: the configured source's name, or NULL when
 * the request named none that exists. OUTCOME: the static word of the log
 * line. SIG_VERSION: the secret version that verified it, or NULL. */
void ingress_metrics_request(const char *source, const char *outcome, int status,
                             const char *sig_version, double seconds);

/* A signature that did not verify: one count per secret version tried. */
void ingress_metrics_signature_failure(const char *source, const struct verify_result *vr);

/* One Redis round trip of kind OP ("enqueue", "admin", ...). */
void ingress_metrics_redis(const char *op, double seconds);

/* A verified event that a handler = drop route took: answered, not stored. */
void ingress_metrics_dropped(const char *source, const char *route);

/* A provider's handshake answered (KIND: the scheme's static word). */
void ingress_metrics_handshake(const char *source, const char *kind, int status);

/* A 403 before the body: REASON (a static word) why the client was refused. */
void ingress_metrics_forbidden(const char *source, const char *reason);

/* A rejected-events stream entry dropped (queue full, or Redis failed). */
void ingress_metrics_reject_dropped(void);

/* New reference: [{"source", "version", "verified", "failed": {REASON: N}}]
 * sorted by source then version, from this process's counters (since it
 * started): rotation drift at a glance. */
json_t *ingress_metrics_signatures_json(void);

#endif
