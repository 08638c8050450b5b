/*
 * ingress_headers.c — which of a request's headers are kept with its event
 * (the stream entry's `headers` field): all but hop-by-hop headers and
 * credentials — Authorization, Cookie, and the header a scheme names as a
 * credential (scheme token's token_header), which is a secret.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "ingress.h"
#include "scheme.h"

#define HEADERS_JSON_MAX (64 * 1024)

/* The scheme's credential header (compared case-insensitively), or NULL. */
static const char *credential(const struct source_cfg *src)
{
    return src && src->scheme && src->scheme->credential_header
               ? src->scheme->credential_header(src)
               : NULL;
}

struct kept_header {
    char name[128]; /* lower-cased */
    size_t name_len;
    const struct header *h;
};

static int cmp_kept(const void *a, const void *b)
{
    const struct kept_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    /* equal names keep their request order: the last one wins below */
    return c ? c : (x->h > y->h) - (x->h < y->h);
}

/* Provider headers kept with the event: all but hop-by-hop and credentials,
 * as a JSON object with lower-cased names in sorted order (a repeated name
 * keeps its last value; values that are not UTF-8 are left out rather than
 * mangled). "{}" when it would exceed HEADERS_JSON_MAX. */
char *ingress_headers_json(const struct headers *h, const struct source_cfg *src)
{
    static const struct {
        const char *name;
        size_t len; /* compared first: most names differ in length from all nine */
    } dropped[] = {{"authorization", 13},  {"cookie", 6},   {"connection", 10},
                   {"keep-alive", 10},     {"proxy-authorization", 19},
                   {"te", 2},              {"transfer-encoding", 17},
                   {"upgrade", 7},         {"content-length", 14}};
    const char *cred = credential(src);
    struct kept_header *kept = malloc(sizeof *kept * (h->n ? h->n : 1));
    size_t nk = 0, cap = 3, len = 0;
    char *out = NULL;

    for (size_t i = 0; kept && i < h->n; i++) {
        const struct header *hd = &h->items[i];
        struct kept_header *k = &kept[nk];
        bool drop = hd->name_len >= sizeof k->name || !codec_utf8_valid(hd->value, hd->value_len);
        for (size_t c = 0; !drop && c < hd->name_len; c++)
            k->name[c] =
                (char)(hd->name[c] >= 'A' && hd->name[c] <= 'Z' ? hd->name[c] + 32 : hd->name[c]);
        if (!drop)
            k->name[hd->name_len] = '\0';
        for (size_t d = 0; !drop && d < sizeof dropped / sizeof *dropped; d++)
            drop = hd->name_len == dropped[d].len &&
                   memcmp(k->name, dropped[d].name, dropped[d].len) == 0;
        drop = drop || (cred && strcasecmp(k->name, cred) == 0);
        if (drop)
            continue;
        k->name_len = hd->name_len, k->h = hd;
        cap += 6 * (hd->name_len + hd->value_len) + 6;
        nk++;
    }
    if (kept && cap <= 6 * HEADERS_JSON_MAX + 3)
        out = malloc(cap);
    if (out) {
        qsort(kept, nk, sizeof *kept, cmp_kept);
        out[len++] = '{';
        for (size_t i = 0; i < nk; i++) {
            if (i + 1 < nk && strcmp(kept[i].name, kept[i + 1].name) == 0)
                continue; /* a later value of the same name replaces this one */
            if (len > 1)
                out[len++] = ',';
            ingress_put_json_str(out, cap, &len, kept[i].name, kept[i].name_len);
            out[len++] = ':';
            ingress_put_json_str(out, cap, &len, kept[i].h->value, kept[i].h->value_len);
        }
        out[len++] = '}';
        out[len] = '\0';
    }
    free(kept);
    if (out && len > HEADERS_JSON_MAX) {
        free(out);
        out = strdup("{}");
    }
    return out;
}
