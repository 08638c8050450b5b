/*
 * fuzz_scheme_twilio.c — Twilio's signature: the query string, the form
 * body (repeated and percent-encoded names), bodySHA256. Input: the query
 * string on the first line, then header lines, a blank line, the body.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_common.h"
#include "verify.h"

int fuzz_scheme_twilio(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    struct verify_http http = {"POST", (const char *)data, nl ? (size_t)(nl - data) : size};

    if (!nl)
        return 0;
    return fuzz_verify_http("twilio", &http, nl + 1, size - http.query_len - 1);
}

FUZZ_ENTRY(fuzz_scheme_twilio)
