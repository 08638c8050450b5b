/*
 * fuzz_scheme_meta.c — the meta signature header(s), verification and
 * handshake hook, through verify_request against the fixed source "meta"
 * (fuzz_common.c). Input: header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_meta(const uint8_t *data, size_t size)
{
    return fuzz_verify("meta", data, size);
}

FUZZ_ENTRY(fuzz_scheme_meta)
