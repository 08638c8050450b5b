/*
 * fuzz_scheme_shopify.c — the shopify signature header(s) and verification, through
 * verify_request against the fixed source "shopify" (fuzz_common.c). Input:
 * header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_shopify(const uint8_t *data, size_t size)
{
    return fuzz_verify("shopify", data, size);
}

FUZZ_ENTRY(fuzz_scheme_shopify)
