/*
 * fuzz_scheme_sendgrid.c — the sendgrid signature header(s), verification and
 * handshake hook, through verify_request against the fixed source "sendgrid"
 * (fuzz_common.c). Input: header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_sendgrid(const uint8_t *data, size_t size)
{
    return fuzz_verify("sendgrid", data, size);
}

FUZZ_ENTRY(fuzz_scheme_sendgrid)
