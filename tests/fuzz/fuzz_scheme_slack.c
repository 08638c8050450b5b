/*
 * fuzz_scheme_slack.c — the slack signature header(s) and verification, through
 * verify_request against the fixed source "slack" (fuzz_common.c). Input:
 * header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_slack(const uint8_t *data, size_t size)
{
    return fuzz_verify("slack", data, size);
}

FUZZ_ENTRY(fuzz_scheme_slack)
