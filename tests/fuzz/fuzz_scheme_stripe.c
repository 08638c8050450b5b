/*
 * fuzz_scheme_stripe.c — the stripe signature header(s) and verification, through
 * verify_request against the fixed source "stripe" (fuzz_common.c). Input:
 * header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_stripe(const uint8_t *data, size_t size)
{
    return fuzz_verify("stripe", data, size);
}

FUZZ_ENTRY(fuzz_scheme_stripe)
