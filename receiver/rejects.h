/*
 * rejects.h — diagnostics of a request whose signature did not verify: one
 * structured log line and one entry in the capped P:rejected stream.
 * Carries the source, the body's SHA-256, the signature as received
 * (truncated), the first bytes of each locally computed signature with its
 * secret version, timestamp and skew, and the reason. Never a secret, never
 * a full computed signature (verify.c only ever keeps prefixes).
 */
#ifndef HOOKD_REJECTS_H
#define HOOKD_REJECTS_H

#include "config.h"
#include "ingress.h"
#include "store_ingress.h"
#include "verify.h"

/* st: the caller's Redis connection, used only while the committer is not
 * running (pipeline_reject). */
void rejects_record(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    const struct headers *headers, const struct source_cfg *src,
                    const struct verify_result *vr, const char *traceparent);

#endif
