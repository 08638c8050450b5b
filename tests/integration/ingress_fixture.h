/*
 * ingress_fixture.h — a running receiver against a fresh redis-server, for
 * the ingress integration tests: one call sets up both, with a config made
 * from a template in which @REDIS@, @PORT@ and @ADMIN@ are replaced.
 */
#ifndef HOOKD_INGRESS_FIXTURE_H
#define HOOKD_INGRESS_FIXTURE_H

#include <hiredis/hiredis.h>

#include "harness.h"

struct fixture {
    struct redis_srv *redis;
    redisContext *rc;
    struct proc *receiver;
    int port, admin_port;
    const char *config_path;
};

/* The default test config: sources github (v1, v2), stripe, slack, shopify,
 * standard, generic hmac; routes billing (stripe invoice.*) and default. */
extern const char fixture_default_conf[];

/* Starts Redis and a receiver with TEMPLATE (NULL = the default config). */
void fixture_start(struct fixture *f, const char *template_text);
/* Writes TEMPLATE (placeholders replaced) over the config file. */
void fixture_rewrite_config(struct fixture *f, const char *template_text);
/* Writes TEXT (as is) over the config file, sends SIGHUP and waits for the
 * receiver's config_reload_failed; its log must contain EXPECT. */
void fixture_reload_fails(struct fixture *f, const char *text, const char *expect);

/* POSTs a GitHub-signed event; returns the status; *resp filled if non-NULL. */
int fixture_post_github(struct fixture *f, const char *secret, const char *delivery,
                        const char *event, const char *body, struct http_response *resp);

/* Number of entries in the route's stream. */
long long fixture_stream_len(struct fixture *f, const char *route);

#endif
