/*
 * fuzz_config.c — the INI config parser (config_parse) and the duration
 * parser, on arbitrary text. A loaded config is walked (route lookup for a
 * few types) and released; an error message must be one NUL-terminated
 * sentence.
 *
 * Inputs naming a "file:" secret are skipped: reading the file a config
 * names is config_load's contract with the operator, not untrusted input,
 * and a path like /dev/stdin would block the fuzzer.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

int fuzz_config(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[512];
    struct config *cfg;

    if (memmem(text, size, "file:", 5))
        return 0;
    config_parse_duration_ms(text, size < 32 ? size : 32);
    memset(err, 'x', sizeof err);
    cfg = config_parse("fuzz.conf", text, size, err, sizeof err);
    if (!cfg) {
        if (!memchr(err, '\0', sizeof err))
            abort();
        return 0;
    }
    static const char *const types[] = {"", "invoice.paid", "push", "a*b"};
    for (size_t s = 0; s < cfg->nsources; s++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            if (!config_route_for(cfg, cfg->sources[s].name, types[t], NULL))
                abort(); /* route "default" is required, so never NULL */
    config_release(cfg);
    return 0;
}

FUZZ_ENTRY(fuzz_config)
