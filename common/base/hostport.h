/*
 * hostport.h — a listen address, HOST:PORT or [IPV6]:PORT, split into its
 * host text and port. Shared by the config check (a bad address is a config
 * error, exit 2) and the listener that binds it, so both read it alike.
 */
#ifndef HOOKD_HOSTPORT_H
#define HOOKD_HOSTPORT_H

#include <stddef.h>

/* Writes the host (brackets removed) into host[cap] and the port (0–65535)
 * into *port; HOOKD_EPARSE for anything else. */
int hostport_parse(const char *s, char *host, size_t cap, int *port);

#endif
