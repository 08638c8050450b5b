/*
 * classify.c — the SPEC's failure classification, in one table-like place:
 *
 *   exec handler                          http handler
 *   exit 0                 ok             2xx                    ok
 *   exit 65, 77, or listed
 *     in permanent_exit_codes permanent   other 4xx              permanent
 *   exit 75 (EX_TEMPFAIL)  transient      408, 429, 5xx          transient
 *   killed by a signal     transient      connect error, timeout,
 *   handler_timeout        transient        any transport error  transient
 *   could not be started   transient      1xx, 3xx (no redirects
 *   any other exit code    transient        are followed)        transient
 *
 * A persistent exec handler's reply code reads as an exit status (a run of
 * status RUN_EXITED); one that ends, closes its stdout or answers garbage
 * before a valid reply (RUN_NO_REPLY) is transient: nothing confirmed it.
 *
 * A listed permanent_exit_codes entry wins over the defaults (an operator
 * may list 75). What the worker then does — retry, or dead-letter as
 * "permanent" or, after max_attempts, "exhausted" — is decided in event.c.
 */
#include <stdio.h>
#include <string.h>

#include "runner.h"

#define EXIT_DATAERR 65 /* EX_DATAERR */
#define EXIT_NOPERM 77  /* EX_NOPERM */

static bool listed_permanent(const struct route_cfg *rt, int code)
{
    for (size_t i = 0; i < rt->npermanent; i++)
        if (rt->permanent_exit_codes[i] == code)
            return true;
    return false;
}

static enum verdict classify_exit(const struct route_cfg *rt, int code)
{
    if (code != 0 && listed_permanent(rt, code))
        return VERDICT_PERMANENT;
    if (code == 0)
        return VERDICT_OK;
    if (code == EXIT_DATAERR || code == EXIT_NOPERM)
        return VERDICT_PERMANENT;
    return VERDICT_TRANSIENT;
}

static enum verdict classify_http(int status)
{
    if (status >= 200 && status <= 299)
        return VERDICT_OK;
    if (status == 408 || status == 429 || (status >= 500 && status <= 599))
        return VERDICT_TRANSIENT;
    if (status >= 400 && status <= 499)
        return VERDICT_PERMANENT;
    return VERDICT_TRANSIENT;
}

enum verdict classify(const struct route_cfg *rt, const struct run_result *res)
{
    switch (res->status) {
    case RUN_EXITED: return classify_exit(rt, res->code);
    case RUN_HTTP_STATUS: return classify_http(res->code);
    case RUN_SIGNALED:
    case RUN_TIMEOUT:
    case RUN_SPAWN_FAILED:
    case RUN_HTTP_ERROR:
    case RUN_NO_REPLY: break;
    }
    return VERDICT_TRANSIENT;
}

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_OK: return "ok";
    case VERDICT_PERMANENT: return "permanent";
    case VERDICT_TRANSIENT: break;
    }
    return "transient";
}

size_t run_last_error(const struct run_result *res, char *buf, size_t cap)
{
    const char *head = res->output_cut == RUN_CUT_HEAD ? "…" : "";
    const char *tail = res->output_cut == RUN_CUT_TAIL ? "…" : "";
    const char *parts[5] = {res->what, ": ", head, res->output, tail};
    size_t lens[5] = {strlen(res->what), 2, strlen(head), res->output_len, strlen(tail)};
    size_t n = 0, nparts = res->output_len > 0 ? 5 : 1;

    if (cap == 0)
        return 0;
    for (size_t i = 0; i < nparts; i++) {
        size_t k = lens[i] < cap - 1 - n ? lens[i] : cap - 1 - n;
        memcpy(buf + n, parts[i], k);
        n += k;
    }
    buf[n] = '\0';
    return n;
}
