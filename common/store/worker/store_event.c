/*
 * store_event.c — a stream entry as a struct store_event (store_worker.h):
 * owned, binary-safe copies of its fields, plus named views for the fields
 * the receiver writes (store_enqueue.c). Used by store_worker.c when it reads
 * or claims entries; the worker owns each event until store_event_free.
 *
 * Entry values come from the network (provider bytes): they are copied by
 * length, never by strlen, and every copy gets a NUL so that text fields can
 * also be used as C strings (a value holding a NUL is then cut there).
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_worker_int.h"

void store_event_free(struct store_event *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->nfields; i++) {
        free(ev->names[i]);
        free(ev->values[i]);
    }
    free(ev);
}

bool store_event_valid(const struct store_event *ev)
{
    return ev->event_id && ev->event_id_len > 0 && ev->source && ev->source[0];
}

const char *store_event_field(const struct store_event *ev, const char *name, size_t *len)
{
    for (size_t i = 0; i < ev->nfields; i++)
        if (strcmp(ev->names[i], name) == 0) {
            if (len)
                *len = ev->value_lens[i];
            return ev->values[i];
        }
    return NULL;
}

/* Small non-negative integer text ("3") to int; 0 when malformed. */
static int parse_small_int(const char *s)
{
    char *end;
    long v;

    if (!s)
        return 0;
    v = strtol(s, &end, 10);
    return end != s && *end == '\0' && v >= 0 && v <= 1000000 ? (int)v : 0;
}

/* Points the named views at the copied values. */
static void bind_views(struct store_event *ev)
{
    ev->event_id = store_event_field(ev, "event_id", &ev->event_id_len);
    ev->source = store_event_field(ev, "source", NULL);
    ev->type = store_event_field(ev, "type", NULL);
    ev->body = store_event_field(ev, "body", &ev->body_len);
    ev->headers = store_event_field(ev, "headers", NULL);
    ev->request_id = store_event_field(ev, "request_id", NULL);
    ev->traceparent = store_event_field(ev, "traceparent", NULL);
    ev->tenant = store_event_field(ev, "tenant", NULL);
    ev->attempt = parse_small_int(store_event_field(ev, "attempt", NULL));
    if (!ev->body)
        ev->body = "", ev->body_len = 0;
}

static bool is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

struct store_event *store_event_parse(const char *route, const redisReply *entry,
                                      char id_out[STORE_STREAM_ID_MAX], bool *no_memory)
{
    struct store_event *ev = NULL;
    const redisReply *fields;
    size_t route_len = strlen(route);
    bool oom = false;

    id_out[0] = '\0';
    if (!store_reply_array(entry, 2) ||
        !store_reply_text(entry->element[0], id_out, STORE_STREAM_ID_MAX))
        goto bad;
    fields = entry->element[1];
    /* A nil here is an entry deleted while it was pending (Redis < 7). */
    if (!fields || fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0 ||
        fields->elements / 2 > STORE_EVENT_MAX_FIELDS || route_len > STORE_ROUTE_MAX)
        goto bad;
    if (!(ev = calloc(1, sizeof *ev))) {
        oom = true;
        goto bad;
    }
    memcpy(ev->route, route, route_len + 1);
    memcpy(ev->stream_id, id_out, strlen(id_out) + 1);
    for (size_t i = 0; i < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (!is_str(k) || !is_str(v))
            goto bad;
        ev->names[ev->nfields] = store_dup_bytes(k->str, k->len);
        ev->values[ev->nfields] = store_dup_bytes(v->str, v->len);
        ev->value_lens[ev->nfields] = v->len;
        ev->nfields++;
        if (!ev->names[ev->nfields - 1] || !ev->values[ev->nfields - 1]) {
            oom = true;
            goto bad;
        }
    }
    bind_views(ev);
    return ev;
bad:
    if (no_memory)
        *no_memory = oom;
    store_event_free(ev);
    return NULL;
}
