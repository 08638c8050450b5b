/*
 * fuzz_log_escape.c — log_json_escape, through which every untrusted value
 * reaches a log line. The first byte sets the output capacity (1..256
 * bytes, allocated exactly so that AddressSanitizer sees any overrun); the
 * rest is the value. Checked: the length stays below the capacity, and a
 * complete escape is a valid JSON string that jansson decodes.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"

int fuzz_log_escape(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = (size_t)data[0] + 1, len = 0;
    char *dst = malloc(cap);
    if (!dst)
        return 0;
    bool ok = log_json_escape(dst, cap, &len, (const char *)data + 1, size - 1);
    if (len >= cap)
        abort();
    if (ok) {
        char *quoted = malloc(len + 2);
        json_error_t e;
        if (!quoted)
            abort();
        quoted[0] = '"';
        memcpy(quoted + 1, dst, len);
        quoted[len + 1] = '"';
        json_t *v = json_loadb(quoted, len + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!json_is_string(v))
            abort();
        json_decref(v);
        free(quoted);
    }
    free(dst);
    return 0;
}

FUZZ_ENTRY(fuzz_log_escape)
