/*
 * fuzz_forwarded_for.c — CIDR lists (cidr_set_parse) and the client address
 * behind a proxy (cidr_client), whose X-Forwarded-For bytes come from the
 * network.
 *
 * Input: the first line is a CIDR list, used as trusted_proxies when it
 * parses (else "127.0.0.0/8, ::1"); the second line the peer's address
 * (else 127.0.0.1); then header lines as fuzz_split reads them. Checked on
 * the way out: a parsed set has host bits clear, prefixes in range, and
 * holds each block's own address, which formats and parses back to itself;
 * the client is the peer unless it came from X-Forwarded-For, and then it
 * is outside the trusted set or the walk found only trusted entries; the
 * same input gives the same client twice.
 */
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "fuzz.h"
#include "fuzz_common.h"

#define LINE_MAX_BYTES 4096

/* The next line of [*p, end) as a C string in out; false if too long or it
 * holds a NUL (config text is a C string). */
static bool take_line(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    bool ok = n < cap && !memchr(*p, '\0', n);

    if (ok) {
        memcpy(out, *p, n);
        out[n] = '\0';
    }
    *p = nl ? nl + 1 : end;
    return ok;
}

static void check_set(const struct cidr_set *s)
{
    char text[CIDR_ADDR_TEXT_MAX];
    struct cidr_addr back;

    for (size_t i = 0; i < s->n; i++) {
        const struct cidr *c = &s->items[i];
        unsigned max = c->net.family == 4 ? 32 : 128;
        if ((c->net.family != 4 && c->net.family != 6) || c->prefix > max ||
            !cidr_set_contains(s, &c->net))
            abort();
        for (unsigned bit = c->prefix; bit < max; bit++)
            if (c->net.b[bit / 8] & (0x80 >> (bit % 8)))
                abort();
        cidr_addr_format(&c->net, text);
        if (cidr_addr_parse(text, strlen(text), &back) < 0 ||
            memcmp(&back, &c->net, sizeof back) != 0)
            abort();
    }
}

int fuzz_forwarded_for(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char line[LINE_MAX_BYTES], err[256];
    struct cidr_set trusted = {0};
    struct cidr_addr peer, client, again;
    struct headers *h = malloc(sizeof *h);
    const char *body;
    size_t body_len;

    if (!h)
        return 0;
    if (take_line(&p, end, line, sizeof line) &&
        cidr_set_parse(line, &trusted, err, sizeof err) == 0)
        check_set(&trusted);
    else if (cidr_set_parse("127.0.0.0/8, ::1", &trusted, err, sizeof err) < 0)
        abort();
    if (!take_line(&p, end, line, sizeof line) || cidr_addr_parse(line, strlen(line), &peer) < 0)
        cidr_addr_parse("127.0.0.1", 9, &peer);
    fuzz_split(p, (size_t)(end - p), h, &body, &body_len);
    enum cidr_client_from from = cidr_client(&trusted, &peer, h, &client);
    if (cidr_client(&trusted, &peer, h, &again) != from || memcmp(&again, &client, sizeof again))
        abort();
    if (from != CIDR_FROM_FORWARDED && memcmp(&client, &peer, sizeof peer) != 0)
        abort();
    if (from == CIDR_FROM_FORWARDED && client.family != 4 && client.family != 6)
        abort();
    if (from != CIDR_FROM_PEER && !cidr_set_contains(&trusted, &peer))
        abort();
    cidr_set_free(&trusted);
    free(h);
    return 0;
}

FUZZ_ENTRY(fuzz_forwarded_for)
