/*
 * fuzz_form.c — form-encoded text (form_split, form_get), RFC 3339
 * timestamps (scheme_rfc3339) and Meta's GET handshake, whose query string
 * comes straight from the network. Input: any bytes, used as a query
 * string and as a timestamp.
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"
#include "fuzz_common.h"
#include "handshake.h"
#include "scheme.h"
#include "scheme_impl.h"

int fuzz_form(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct form_pair pairs[16];
    struct handshake_answer ans = {0};
    const struct source_cfg *meta = fuzz_source("meta");
    char out[64];
    int64_t ts;
    long n = form_split(p, size, pairs, 16), got;

    for (long i = 0; i < n; i++)
        if (pairs[i].name_len + pairs[i].value_len > size)
            abort();
    got = form_get(p, size, "a", out, sizeof out);
    if (got > (long)sizeof out)
        abort();
    (void)scheme_rfc3339(p, size, &ts);
    if (meta->scheme->handshake_get(meta, p, size, &ans) < 0)
        return 0;
    if ((ans.status != 200 && ans.status != 400 && ans.status != 403) || !ans.body)
        abort();
    if (ans.status == 200 && !handshake_challenge_ok(ans.body, ans.body_len))
        abort();
    handshake_answer_free(&ans);
    return 0;
}

FUZZ_ENTRY(fuzz_form)
