/*
 * handshake.c — building handshake answers (see handshake.h). The schemes
 * decide whether a request is a handshake; this file only formats.
 */
#include "handshake.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"

void handshake_answer_free(struct handshake_answer *a)
{
    if (!a)
        return;
    free(a->body);
    a->body = NULL;
    a->body_len = 0;
}

int handshake_json(struct handshake_answer *a, int status, const char *kind, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

    json_decref(obj);
    if (!text)
        return HOOKD_ENOMEM;
    a->status = status;
    a->content_type = CT_JSON;
    a->kind = kind;
    a->body = text;
    a->body_len = strlen(text);
    return 0;
}

int handshake_text(struct handshake_answer *a, int status, const char *kind, const char *p,
                   size_t n)
{
    char *text = malloc(n + 1);

    if (!text)
        return HOOKD_ENOMEM;
    if (n)
        memcpy(text, p, n);
    text[n] = '\0';
    a->status = status;
    a->content_type = CT_TEXT;
    a->kind = kind;
    a->body = text;
    a->body_len = n;
    return 0;
}

bool handshake_challenge_ok(const char *p, size_t n)
{
    if (!p || n == 0 || n > HANDSHAKE_CHALLENGE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return false;
    return true;
}

const char *handshake_json_str(json_t *body, const char *name, size_t *len)
{
    json_t *v = json_is_object(body) ? json_object_get(body, name) : NULL;

    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}
