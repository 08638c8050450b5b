/*
 * handshake.h — the answer a scheme gives to a provider's handshake: a
 * request that proves the endpoint exists (Slack url_verification, Discord
 * PING, Zoom endpoint.url_validation, Twitch webhook_callback_verification,
 * Meta's GET hub.challenge). A scheme's handshake hook (scheme.h) decides;
 * the receiver sends the answer, logs it, counts it, and queues nothing.
 */
#ifndef HOOKD_HANDSHAKE_H
#define HOOKD_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define HANDSHAKE_CHALLENGE_MAX 512 /* bytes of a challenge echoed back */

struct handshake_answer {
    int status;               /* 200, or 403 (Meta: wrong verify_token) */
    const char *content_type; /* static: "application/json" or "text/plain; charset=utf-8" */
    char *body;               /* malloc'd, owned: handshake_answer_free */
    size_t body_len;
    const char *kind; /* static word for logs and metrics: "url_verification", "ping", ... */
};

/* Frees the body; the answer can be reused. NULL does nothing. */
void handshake_answer_free(struct handshake_answer *a);

/* A JSON answer from obj (a new reference, consumed). 0 or HOOKD_ENOMEM. */
int handshake_json(struct handshake_answer *a, int status, const char *kind, json_t *obj);

/* A text/plain answer of n bytes at p. 0 or HOOKD_ENOMEM. */
int handshake_text(struct handshake_answer *a, int status, const char *kind, const char *p,
                   size_t n);

/* A challenge fit to echo: 1..HANDSHAKE_CHALLENGE_MAX printable ASCII bytes. */
bool handshake_challenge_ok(const char *p, size_t n);

/* The JSON body's string member NAME, or NULL (borrowed from the body). */
const char *handshake_json_str(json_t *body, const char *name, size_t *len);

#endif
