/*
 * fuzz_scheme_standard.c — the standard signature header(s) and verification, through
 * verify_request against the fixed source "standard" (fuzz_common.c). Input:
 * header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_standard(const uint8_t *data, size_t size)
{
    return fuzz_verify("standard", data, size);
}

FUZZ_ENTRY(fuzz_scheme_standard)
