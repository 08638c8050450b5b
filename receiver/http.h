/*
 * http.h — the receiver's libmicrohttpd glue: the public listener
 * (POST /hooks/SOURCE) and the admin listener, started from the config.
 */
#ifndef HOOKD_HTTP_H
#define HOOKD_HTTP_H

#include <stdbool.h>

#include "config.h"

struct http_server;

/* Starts the public and admin daemons into *out: 0, or with a sentence in
 * err -EADDRINUSE (an address already has a listener: never shared) or -1. */
int http_start(const struct config *cfg, struct http_server **out, char *err, size_t errlen);

/* Stops accepting new connections (SIGTERM's first step). */
void http_quiesce(struct http_server *srv);

/* Stops both daemons: in-flight callbacks complete first. Frees srv. */
void http_stop(struct http_server *srv);

#endif
