/*
 * fuzz_scheme_standard_v1a.c — the standard_v1a signature header(s), verification and
 * handshake hook, through verify_request against the fixed source "standard_v1a"
 * (fuzz_common.c). Input: header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_standard_v1a(const uint8_t *data, size_t size)
{
    return fuzz_verify("standard_v1a", data, size);
}

FUZZ_ENTRY(fuzz_scheme_standard_v1a)
