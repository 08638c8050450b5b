/*
 * cidr.c — addresses, CIDR sets and the X-Forwarded-For walk (cidr.h).
 *
 * Why right to left: each proxy appends the address it received the
 * request from, so the right end of the list was written by the proxies
 * nearest to us, and everything left of the first address that is not a
 * trusted proxy was written by the client itself, which may claim anything.
 * Taking the left-most entry (or the last entry from any peer) would let a
 * sender choose the address that allow_from judges.
 */
#include "cidr.h"
#include "err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define XFF_HEADER "X-Forwarded-For"

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ::ffff:a.b.c.d is a.b.c.d. */
static void unmap(struct cidr_addr *a)
{
    if (a->family != 6 || memcmp(a->b, v4_mapped_prefix, sizeof v4_mapped_prefix) != 0)
        return;
    memmove(a->b, a->b + 12, 4);
    memset(a->b + 4, 0, 12);
    a->family = 4;
}

int cidr_addr_parse(const char *p, size_t n, struct cidr_addr *out)
{
    char text[CIDR_ADDR_TEXT_MAX];

    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof text || memchr(p, '\0', n))
        return HOOKD_EPARSE;
    memcpy(text, p, n);
    text[n] = '\0';
    if (inet_pton(AF_INET, text, out->b) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->b) == 1) {
        out->family = 6;
        unmap(out);
        return 0;
    }
    memset(out, 0, sizeof *out);
    return HOOKD_EPARSE;
}

void cidr_addr_from_sockaddr(const struct sockaddr *sa, struct cidr_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa && sa->sa_family == AF_INET) {
        memcpy(out->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        out->family = 4;
    } else if (sa && sa->sa_family == AF_INET6) {
        memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        out->family = 6;
        unmap(out);
    }
}

void cidr_addr_format(const struct cidr_addr *a, char out[CIDR_ADDR_TEXT_MAX])
{
    out[0] = '\0';
    if (a->family == 4 || a->family == 6)
        if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out, CIDR_ADDR_TEXT_MAX))
            out[0] = '\0';
}

static unsigned max_prefix(const struct cidr_addr *a)
{
    return a->family == 4 ? 32 : 128;
}

/* Whether the first PREFIX bits of A and NET agree. */
static bool prefix_equal(const unsigned char *a, const unsigned char *net, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;

    if (memcmp(a, net, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

/* "/N": digits only, N <= max. HOOKD_EPARSE otherwise. */
static int parse_prefix(const char *p, size_t n, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (n == 0 || n > 3)
        return HOOKD_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return HOOKD_EPARSE;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v > max)
        return HOOKD_EPARSE;
    *out = v;
    return 0;
}

/* Clears the bits of A past PREFIX. */
static void mask_host_bits(struct cidr_addr *a, unsigned prefix)
{
    for (unsigned bit = prefix; bit < max_prefix(a); bit++)
        a->b[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
}

/* One block, "ADDR" or "ADDR/N", of exactly n bytes. An IPv6-mapped IPv4
 * block (::ffff:10.0.0.0/104) is the IPv4 block (10.0.0.0/8). */
static int parse_block(const char *p, size_t n, struct cidr *out, char *err, size_t errlen)
{
    const char *slash = memchr(p, '/', n);
    size_t alen = slash ? (size_t)(slash - p) : n;
    int shown = (int)(n > 60 ? 60 : n);
    struct cidr_addr masked;
    unsigned max, prefix;
    char net[CIDR_ADDR_TEXT_MAX];

    if (cidr_addr_parse(p, alen, &out->net) < 0) {
        snprintf(err, errlen, "\"%.*s\" is not an IPv4 or IPv6 address", shown, p);
        return HOOKD_ECONFIG;
    }
    bool mapped = out->net.family == 4 && memchr(p, ':', alen);
    max = mapped ? 128 : max_prefix(&out->net);
    prefix = max;
    if (slash && parse_prefix(slash + 1, n - alen - 1, max, &prefix) < 0) {
        snprintf(err, errlen, "\"%.*s\": the prefix must be a number from 0 to %u", shown, p, max);
        return HOOKD_ECONFIG;
    }
    if (mapped && prefix < 96) {
        snprintf(err, errlen, "\"%.*s\": an IPv4-mapped block needs a prefix of 96 or more", shown,
                 p);
        return HOOKD_ECONFIG;
    }
    out->prefix = mapped ? prefix - 96 : prefix;
    masked = out->net;
    mask_host_bits(&masked, out->prefix);
    if (memcmp(masked.b, out->net.b, sizeof masked.b) != 0) {
        cidr_addr_format(&masked, net);
        snprintf(err, errlen, "\"%.*s\" has host bits set (the block would be %s/%u)", shown, p,
                 net, out->prefix);
        return HOOKD_ECONFIG;
    }
    return 0;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces and tabs around [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
    while (*n && is_ows(**p))
        (*p)++, (*n)--;
    while (*n && is_ows((*p)[*n - 1]))
        (*n)--;
}

int cidr_set_parse(const char *text, struct cidr_set *out, char *err, size_t errlen)
{
    const char *p = text;
    size_t count = 1;

    memset(out, 0, sizeof *out);
    for (const char *c = text; *c; c++)
        count += *c == ',';
    if (count > CIDR_SET_MAX_ITEMS) {
        snprintf(err, errlen, "at most %d blocks", CIDR_SET_MAX_ITEMS);
        return HOOKD_ECONFIG;
    }
    if (!(out->items = calloc(count, sizeof *out->items))) {
        snprintf(err, errlen, "out of memory");
        return HOOKD_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const char *comma = strchr(p, ','), *item = p;
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        trim(&item, &n);
        if (n == 0) {
            snprintf(err, errlen, "empty item in \"%.60s\"", text);
            goto fail;
        }
        if (parse_block(item, n, &out->items[i], err, errlen) < 0)
            goto fail;
        out->n = i + 1;
        p = comma ? comma + 1 : p + strlen(p);
    }
    return 0;
fail:
    cidr_set_free(out);
    return HOOKD_ECONFIG;
}

void cidr_set_free(struct cidr_set *s)
{
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

bool cidr_set_contains(const struct cidr_set *s, const struct cidr_addr *a)
{
    for (size_t i = 0; a->family && i < s->n; i++)
        if (s->items[i].net.family == a->family &&
            prefix_equal(a->b, s->items[i].net.b, s->items[i].prefix))
            return true;
    return false;
}

/* One step of the walk: the entry at the right end of value[0..*end),
 * which shrinks to what is left of it and of its comma; *more says whether
 * there is an entry (perhaps empty) left of it. */
static int next_entry(const char *value, size_t *end, bool *more, struct cidr_addr *out)
{
    size_t start = *end;
    const char *item;
    size_t len;

    while (start > 0 && value[start - 1] != ',')
        start--;
    item = value + start, len = *end - start;
    *more = start > 0;
    *end = start ? start - 1 : 0;
    trim(&item, &len);
    return cidr_addr_parse(item, len, out);
}

enum cidr_client_from cidr_client(const struct cidr_set *trusted, const struct cidr_addr *peer,
                                  const struct headers *h, struct cidr_addr *client)
{
    enum cidr_client_from from = CIDR_FROM_PEER;
    const size_t xff_len = strlen(XFF_HEADER);

    *client = *peer;
    if (!cidr_set_contains(trusted, peer))
        return CIDR_FROM_PEER;
    for (size_t i = h->n; i-- > 0;) {
        const struct header *hd = &h->items[i];
        size_t end = hd->value_len;
        bool more = true;
        if (hd->name_len != xff_len || strncasecmp(hd->name, XFF_HEADER, xff_len) != 0)
            continue;
        while (more) {
            struct cidr_addr a;
            if (next_entry(hd->value, &end, &more, &a) < 0) {
                *client = *peer;
                return CIDR_FROM_MALFORMED;
            }
            *client = a;
            from = CIDR_FROM_FORWARDED;
            if (!cidr_set_contains(trusted, &a))
                return from;
        }
    }
    return from;
}
