/*
 * hostport.c — HOST:PORT and [IPV6]:PORT, split without copying more than
 * the caller's buffer holds.
 */
#include "hostport.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int hostport_parse(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':'), *h = s;
    size_t hlen;
    char *end;
    long p;

    if (!colon || !colon[1])
        return HOOKD_EPARSE;
    hlen = (size_t)(colon - s);
    if (s[0] == '[') { /* [::1]:8080 */
        if (hlen < 2 || s[hlen - 1] != ']')
            return HOOKD_EPARSE;
        h = s + 1, hlen -= 2;
    }
    p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535 || hlen == 0 || hlen >= cap)
        return HOOKD_EPARSE;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}
