/*
 * fuzz_scheme_discord.c — the discord signature header(s), verification and
 * handshake hook, through verify_request against the fixed source "discord"
 * (fuzz_common.c). Input: header lines, a blank line, the body.
 */
#include "fuzz.h"
#include "fuzz_common.h"

int fuzz_scheme_discord(const uint8_t *data, size_t size)
{
    return fuzz_verify("discord", data, size);
}

FUZZ_ENTRY(fuzz_scheme_discord)
