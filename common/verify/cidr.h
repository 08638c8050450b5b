/*
 * cidr.h — client addresses and sets of CIDR blocks: a source's allow_from,
 * the receiver's trusted_proxies, and the client address a request comes
 * from (the TCP peer, or, when the peer is a trusted proxy, the right-most
 * X-Forwarded-For address that is not one).
 *
 * Addresses are parsed by inet_pton(3) alone; the only text parsed here by
 * hand is the "/PREFIX" of a block and the commas between list items. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack listener sees
 * for an IPv4 peer) is the IPv4 address a.b.c.d everywhere, so one block
 * matches a client however it arrived; otherwise an IPv4 block never
 * matches an IPv6 address, nor the other way round.
 *
 * No I/O and no allocation on the request path: the receiver's http.c and
 * the fuzz target call cidr_client with header views. A struct cidr_set is
 * built once when the config is loaded and belongs to its config.
 */
#ifndef HOOKD_CIDR_H
#define HOOKD_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "headers.h"

#define CIDR_ADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN, with its NUL */
#define CIDR_SET_MAX_ITEMS 1024

struct sockaddr;

struct cidr_addr {
    unsigned char family; /* 4 or 6; 0: no address */
    unsigned char b[16];  /* network order; an IPv4 address in b[0..3], the rest 0 */
};

struct cidr {
    struct cidr_addr net; /* host bits are zero (cidr_set_parse refuses others) */
    unsigned prefix;      /* 0..32 or 0..128 */
};

/* An empty set (n == 0) is "not configured". */
struct cidr_set {
    struct cidr *items; /* owned: cidr_set_free */
    size_t n;
};

/* An address of exactly N bytes (no spaces, brackets or port): 0, or
 * HOOKD_EPARSE when inet_pton takes it for neither family. */
int cidr_addr_parse(const char *p, size_t n, struct cidr_addr *out);

/* The address of an AF_INET or AF_INET6 socket address; family 0 otherwise. */
void cidr_addr_from_sockaddr(const struct sockaddr *sa, struct cidr_addr *out);

/* Text form (inet_ntop), "" for no address. */
void cidr_addr_format(const struct cidr_addr *a, char out[CIDR_ADDR_TEXT_MAX]);

/* "ADDR[/PREFIX], ..." into a new set (ADDR alone: that one address).
 * HOOKD_ECONFIG (HOOKD_ENOMEM) with a sentence in err naming the item and what is wrong (not an
 * address, prefix too long, host bits set, empty item); *out is then
 * empty. */
int cidr_set_parse(const char *text, struct cidr_set *out, char *err, size_t errlen);

/* Frees the blocks and empties the set; a zeroed set does nothing. */
void cidr_set_free(struct cidr_set *s);

/* Whether A is inside one of the set's blocks (never, for family 0). */
bool cidr_set_contains(const struct cidr_set *s, const struct cidr_addr *a);

enum cidr_client_from {
    CIDR_FROM_PEER,      /* the peer is not a trusted proxy, or sent no X-Forwarded-For */
    CIDR_FROM_FORWARDED, /* taken from X-Forwarded-For */
    CIDR_FROM_MALFORMED, /* a trusted proxy's X-Forwarded-For has an entry that is no
                            address where the walk reached it: the client is unknown */
};

/*
 * The client of a request from PEER with headers H: the peer, unless it is
 * in TRUSTED; then every X-Forwarded-For header (in order, as one list) is
 * read right to left, and the first address not in TRUSTED is the client
 * (the left-most, when all are). Entries are separated by commas, with
 * optional spaces or tabs around them; an empty or malformed entry reached
 * by the walk gives CIDR_FROM_MALFORMED and *client = *peer. Entries left
 * of the client are never parsed: they are whatever the client claimed.
 */
enum cidr_client_from cidr_client(const struct cidr_set *trusted, const struct cidr_addr *peer,
                                  const struct headers *h, struct cidr_addr *client);

#endif
