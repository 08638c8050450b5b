/*
 * err.h — the one table of hookd error codes.
 *
 * Functions that can fail return int: 0 on success, a negative code on
 * failure. Codes below come from this table; a failed syscall returns -errno
 * (always > -HOOKD_ERR_BASE). hookd_strerror() names either kind.
 */
#ifndef HOOKD_ERR_H
#define HOOKD_ERR_H

#include <stddef.h>

#define HOOKD_ERR_BASE 10000

#define HOOKD_ERRORS(X)                                                        \
    X(CONFIG, "invalid configuration")                                        \
    X(NOMEM, "out of memory")                                                  \
    X(TOO_LARGE, "input exceeds its size limit")                               \
    X(PARSE, "malformed input")                                                \
    X(NOT_FOUND, "not found")                                                  \
    X(REDIS_CONN, "Redis unreachable")                                         \
    X(REDIS_REPLY, "unexpected Redis reply")                                   \
    X(REDIS_TIMEOUT, "Redis timed out")                                        \
    X(CRYPTO, "cryptographic operation failed")                                \
    X(SIG_MISSING, "signature header missing")                                 \
    X(SIG_MALFORMED, "signature header malformed")                             \
    X(SIG_MISMATCH, "signature matches no active key")                         \
    X(SIG_STALE, "timestamp outside tolerance")                                \
    X(HANDLER, "handler failed")                                               \
    X(STATE, "operation not valid in this state")                             \
    X(NOT_JSON, "body is not valid JSON")                                    \
    X(API, "provider API request failed")

enum hookd_err {
    HOOKD_OK = 0,
#define HOOKD_ERR_ENUM_(name, msg) HOOKD_E##name##_SEQ_,
    HOOKD_ERR_FIRST_SEQ_ = HOOKD_ERR_BASE - 1,
    HOOKD_ERRORS(HOOKD_ERR_ENUM_)
#undef HOOKD_ERR_ENUM_
};

/* Negative public codes: HOOKD_ECONFIG, HOOKD_ENOMEM, ... */
#define HOOKD_E(name) (-(int)HOOKD_E##name##_SEQ_)
#define HOOKD_ECONFIG HOOKD_E(CONFIG)
#define HOOKD_ENOMEM HOOKD_E(NOMEM)
#define HOOKD_ETOO_LARGE HOOKD_E(TOO_LARGE)
#define HOOKD_EPARSE HOOKD_E(PARSE)
#define HOOKD_ENOT_FOUND HOOKD_E(NOT_FOUND)
#define HOOKD_EREDIS_CONN HOOKD_E(REDIS_CONN)
#define HOOKD_EREDIS_REPLY HOOKD_E(REDIS_REPLY)
#define HOOKD_EREDIS_TIMEOUT HOOKD_E(REDIS_TIMEOUT)
#define HOOKD_ECRYPTO HOOKD_E(CRYPTO)
#define HOOKD_ESIG_MISSING HOOKD_E(SIG_MISSING)
#define HOOKD_ESIG_MALFORMED HOOKD_E(SIG_MALFORMED)
#define HOOKD_ESIG_MISMATCH HOOKD_E(SIG_MISMATCH)
#define HOOKD_ESIG_STALE HOOKD_E(SIG_STALE)
#define HOOKD_EHANDLER HOOKD_E(HANDLER)
#define HOOKD_ESTATE HOOKD_E(STATE)
#define HOOKD_ENOT_JSON HOOKD_E(NOT_JSON)
#define HOOKD_EAPI HOOKD_E(API)

/* Message for a hookd code or a -errno; never NULL, thread-safe. */
const char *hookd_strerror(int code);

/* Writes one sentence into the caller's error buffer (when err and errlen
 * are set) and returns code: `return hookd_errf(HOOKD_ECONFIG, err, ...)`. */
int hookd_errf(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
