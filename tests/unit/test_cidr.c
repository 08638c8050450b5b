/*
 * test_cidr.c — CIDR sets and the client address (common/verify/cidr.c):
 * parsing, matching at every prefix boundary, both families and mapped
 * addresses, and the X-Forwarded-For walk over spoofed and malformed chains.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "err.h"
#include "test.h"

static struct cidr_set set_of(const char *text)
{
    struct cidr_set s;
    char err[256];

    if (cidr_set_parse(text, &s, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "cidr_set_parse(\"%s\"): %s", text, err);
    return s;
}

static struct cidr_addr addr(const char *text)
{
    struct cidr_addr a;

    if (cidr_addr_parse(text, strlen(text), &a) < 0)
        test_fail(__FILE__, __LINE__, "cidr_addr_parse(\"%s\") failed", text);
    return a;
}

static bool in(const struct cidr_set *s, const char *text)
{
    struct cidr_addr a = addr(text);
    return cidr_set_contains(s, &a);
}

TEST(cidr_addresses_by_inet_pton)
{
    struct cidr_addr a;
    char text[CIDR_ADDR_TEXT_MAX];
    static const char *const bad[] = {"",           "1.2.3",      "1.2.3.4.5", "01.2.3.4",
                                      "1.2.3.256",  " 1.2.3.4",   "1.2.3.4 ",  "[::1]",
                                      "1.2.3.4:80", "fe80::1%lo", "::g",       "0x7f.0.0.1"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cidr_addr_parse(bad[i], strlen(bad[i]), &a) == 0)
            test_fail(__FILE__, __LINE__, "\"%s\" taken for an address", bad[i]);
    ASSERT_INT_EQ(cidr_addr_parse("1.2.3.4\0", 8, &a), HOOKD_EPARSE); /* a NUL inside */
    ASSERT_INT_EQ(cidr_addr_parse("1.2.3.4x", 7, &a), 0);             /* length-delimited */
    ASSERT_INT_EQ(a.family, 4);
    a = addr("2001:DB8::1");
    ASSERT_INT_EQ(a.family, 6);
    cidr_addr_format(&a, text);
    ASSERT_STR_EQ(text, "2001:db8::1");
    /* A mapped address is its IPv4 address. */
    a = addr("::ffff:192.0.2.1");
    ASSERT_INT_EQ(a.family, 4);
    cidr_addr_format(&a, text);
    ASSERT_STR_EQ(text, "192.0.2.1");

    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);
    cidr_addr_from_sockaddr((const struct sockaddr *)&s6, &a);
    cidr_addr_format(&a, text);
    ASSERT_STR_EQ(text, "127.0.0.1");
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
    cidr_addr_from_sockaddr((const struct sockaddr *)&s4, &a);
    cidr_addr_format(&a, text);
    ASSERT_STR_EQ(text, "10.0.0.1");
    cidr_addr_from_sockaddr(NULL, &a);
    ASSERT_INT_EQ(a.family, 0);
    cidr_addr_format(&a, text);
    ASSERT_STR_EQ(text, "");
}

TEST(cidr_match_at_prefix_boundaries)
{
    struct cidr_set s = set_of("10.0.0.0/8, 192.168.1.128/25,203.0.113.7 , 172.16.0.0/12");

    ASSERT_INT_EQ(s.n, 4);
    ASSERT(in(&s, "10.0.0.0") && in(&s, "10.255.255.255"));
    ASSERT(!in(&s, "9.255.255.255") && !in(&s, "11.0.0.0"));
    ASSERT(in(&s, "192.168.1.128") && in(&s, "192.168.1.255"));
    ASSERT(!in(&s, "192.168.1.127") && !in(&s, "192.168.2.128"));
    ASSERT(in(&s, "203.0.113.7") && !in(&s, "203.0.113.6") && !in(&s, "203.0.113.8"));
    ASSERT(in(&s, "172.16.0.1") && in(&s, "172.31.255.255") && !in(&s, "172.32.0.0"));
    ASSERT(in(&s, "::ffff:10.1.2.3")); /* mapped: the IPv4 block holds it */
    ASSERT(!in(&s, "::a01:203"));      /* ::10.1.2.3 is IPv6, not mapped */
    ASSERT(!in(&s, "2001:db8::1"));
    cidr_set_free(&s);

    s = set_of("2001:db8::/32, fe80::/10, ::1, 2001:db8:abcd:12::/63");
    ASSERT(in(&s, "2001:db8::") && in(&s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    ASSERT(!in(&s, "2001:db9::") && !in(&s, "2001:db7:ffff::"));
    ASSERT(in(&s, "fe80::1") && in(&s, "febf::1") && !in(&s, "fec0::1"));
    ASSERT(in(&s, "::1") && !in(&s, "::2") && !in(&s, "127.0.0.1"));
    cidr_set_free(&s);

    /* /0 holds its whole family, and only it. */
    s = set_of("0.0.0.0/0");
    ASSERT(in(&s, "1.2.3.4") && in(&s, "255.255.255.255") && !in(&s, "::1"));
    cidr_set_free(&s);
    s = set_of("::/0");
    ASSERT(in(&s, "::1") && !in(&s, "1.2.3.4"));
    cidr_set_free(&s);
    /* A mapped block is the IPv4 block. */
    s = set_of("::ffff:10.0.0.0/104");
    ASSERT_INT_EQ(s.items[0].net.family, 4);
    ASSERT_INT_EQ(s.items[0].prefix, 8);
    ASSERT(in(&s, "10.9.9.9") && !in(&s, "11.0.0.0"));
    cidr_set_free(&s);
    cidr_set_free(&s); /* freeing an empty set twice does nothing */
    struct cidr_addr none = {0};
    s = set_of("0.0.0.0/0, ::/0");
    ASSERT(!cidr_set_contains(&s, &none));
    cidr_set_free(&s);
}

TEST(cidr_set_parse_errors)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"", "empty item"},
        {"10.0.0.0/8,", "empty item"},
        {" , 10.0.0.0/8", "empty item"},
        {"10.0.0.0/33", "from 0 to 32"},
        {"10.0.0.0/1000", "from 0 to 32"},
        {"10.0.0.0/8/8", "from 0 to 32"},
        {"10.0.0.0/ 8", "from 0 to 32"},
        {"10.0.0.0/+8", "from 0 to 32"},
        {"::/129", "from 0 to 128"},
        {"10.0.0.1/31", "has host bits set (the block would be 10.0.0.0/31)"},
        {"2001:db8::1/64", "the block would be 2001:db8::/64"},
        {"10.0.0.0 /8", "not an IPv4 or IPv6 address"},
        {"localhost", "not an IPv4 or IPv6 address"},
        {"::ffff:10.0.0.0/95", "prefix of 96 or more"},
    };
    struct cidr_set s;
    char err[256];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (cidr_set_parse(bad[i].text, &s, err, sizeof err) == 0)
            test_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i].text);
        ASSERT_INT_EQ(s.n, 0);
        ASSERT_NULL(s.items);
        ASSERT_STR_CONTAINS(err, bad[i].needle);
    }
    char many[CIDR_SET_MAX_ITEMS * 3 + 8];
    size_t n = 0;
    for (int i = 0; i <= CIDR_SET_MAX_ITEMS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s::", i ? "," : "");
    ASSERT_INT_EQ(cidr_set_parse(many, &s, err, sizeof err), HOOKD_ECONFIG);
    ASSERT_STR_CONTAINS(err, "at most");
}

/* The client of a request from PEER with the X-Forwarded-For values XFF
 * (NULL-terminated; each one header), as text; "!" + the peer when
 * malformed. */
static const char *client_of(const struct cidr_set *trusted, const char *peer,
                             const char *const xff[])
{
    static char out[CIDR_ADDR_TEXT_MAX + 1];
    struct headers h = {.n = 0};
    struct cidr_addr p = addr(peer), c;

    headers_add(&h, "Content-Type", 12, "application/json", 16);
    for (size_t i = 0; xff && xff[i]; i++)
        headers_add(&h, i % 2 ? "x-forwarded-for" : "X-Forwarded-For", 15, xff[i], strlen(xff[i]));
    enum cidr_client_from from = cidr_client(trusted, &p, &h, &c);
    out[0] = from == CIDR_FROM_MALFORMED ? '!' : '\0';
    cidr_addr_format(&c, out + (out[0] == '!'));
    if (from == CIDR_FROM_PEER && memcmp(&c, &p, sizeof c) != 0)
        test_fail(__FILE__, __LINE__, "from the peer but not the peer's address");
    return out;
}

#define XFF(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(cidr_client_right_most_untrusted)
{
    struct cidr_set t = set_of("10.0.0.0/8, 2001:db8:1::/48");

    /* An untrusted peer: X-Forwarded-For is never read. */
    ASSERT_STR_EQ(client_of(&t, "198.51.100.1", XFF("203.0.113.9")), "198.51.100.1");
    ASSERT_STR_EQ(client_of(&t, "198.51.100.1", XFF("not an address")), "198.51.100.1");
    /* A trusted peer without the header is the client itself. */
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", NULL), "10.0.0.5");
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("203.0.113.9")), "203.0.113.9");
    /* A spoofed chain: the client's own claims sit left of what the proxies
     * appended, and the right-most untrusted entry wins. */
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("192.0.2.66, 10.1.1.1, 203.0.113.9, 10.0.0.7")),
                  "203.0.113.9");
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("10.9.9.9, 203.0.113.9")), "203.0.113.9");
    /* Entries left of the client are never parsed. */
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("<script>, ,junk,203.0.113.9")), "203.0.113.9");
    /* All trusted: the left-most. */
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("10.3.3.3,\t10.2.2.2 ,10.1.1.1")), "10.3.3.3");
    /* Several headers are one list, in order. */
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("203.0.113.1", "10.1.1.1", "10.2.2.2")),
                  "203.0.113.1");
    ASSERT_STR_EQ(client_of(&t, "10.0.0.5", XFF("203.0.113.1", "198.51.100.2, 10.2.2.2")),
                  "198.51.100.2");
    /* IPv6, and a mapped peer or entry. */
    ASSERT_STR_EQ(client_of(&t, "2001:db8:1::9", XFF("2001:db8:2::1, 2001:db8:1::8")),
                  "2001:db8:2::1");
    ASSERT_STR_EQ(client_of(&t, "::ffff:10.0.0.5", XFF("::ffff:203.0.113.4")), "203.0.113.4");
    cidr_set_free(&t);
}

TEST(cidr_client_malformed_forwarded_for)
{
    struct cidr_set t = set_of("127.0.0.0/8");
    static const char *const bad[] = {
        "",
        " ",
        ",",
        "203.0.113.9,",
        "203.0.113.9, ",
        "garbage",
        "1.2.3.4:80",
        "[2001:db8::1]",
        "203.0.113.9;x",
        "203.0.113.9 198.51.100.1",
        "unknown",
        "127.0.0.2,,",
        "1.2.3.4, bad, 127.0.0.9",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *got = client_of(&t, "127.0.0.1", XFF(bad[i]));
        if (strcmp(got, "!127.0.0.1") != 0)
            test_fail(__FILE__, __LINE__, "X-Forwarded-For \"%s\": got %s", bad[i], got);
    }
    /* A value with a NUL inside, length-delimited. */
    struct headers h = {.n = 0};
    struct cidr_addr p = addr("127.0.0.1"), c;
    headers_add(&h, "X-Forwarded-For", 15, "1.2.3.4\0", 8);
    ASSERT_INT_EQ(cidr_client(&t, &p, &h, &c), CIDR_FROM_MALFORMED);
    /* An empty trusted set trusts nobody. */
    struct cidr_set none = {0};
    ASSERT_STR_EQ(client_of(&none, "127.0.0.1", XFF("garbage")), "127.0.0.1");
    cidr_set_free(&t);
}
