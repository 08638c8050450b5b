/*
 * fuzz_scheme_hmac.c — the generic HMAC scheme, both ways it is configured
 * in the fixed fuzz config: hex with prefix, timestamp and an
 * "{timestamp}.{id}.{body}" template (source "hmac"), and base64 SHA-512
 * with no timestamp (source "hmac64"). The first byte picks the source;
 * the rest is header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_hmac(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    return fuzz_verify(data[0] & 1 ? "hmac64" : "hmac", data + 1, size - 1);
}

FUZZ_ENTRY(fuzz_scheme_hmac)
