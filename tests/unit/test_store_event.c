/*
 * test_store_event.c — turning a stream entry of a Redis reply into a
 * struct store_event: fields copied by length, named views, and every
 * malformed shape refused without a crash (replies built by hand).
 */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store_worker_int.h"

#define POOL_MAX 128

static redisReply pool[POOL_MAX];
static redisReply *ptrs[POOL_MAX];
static size_t used, used_ptrs;

static redisReply *str_n(const char *s, size_t n)
{
    redisReply *r = &pool[used++];

    memset(r, 0, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->str = (char *)s;
    r->len = n;
    return r;
}

static redisReply *str(const char *s)
{
    return str_n(s, strlen(s));
}

static redisReply *integer(long long v)
{
    redisReply *r = &pool[used++];

    memset(r, 0, sizeof *r);
    r->type = REDIS_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static redisReply *nil(void)
{
    redisReply *r = &pool[used++];

    memset(r, 0, sizeof *r);
    r->type = REDIS_REPLY_NIL;
    return r;
}

/* An array of the n replies given. */
static redisReply *array(size_t n, ...)
{
    redisReply *r = &pool[used++];
    va_list ap;

    memset(r, 0, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = &ptrs[used_ptrs];
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        ptrs[used_ptrs++] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

TEST(store_event_parse_copies_fields)
{
    static const char body[] = "raw\0bytes";
    char id[STORE_STREAM_ID_MAX];
    struct store_event *ev;

    used = used_ptrs = 0;
    redisReply *fields =
        array(12, str("event_id"), str("evt_1"), str("source"), str("stripe"), str("type"),
              str("invoice.paid"), str("body"), str_n(body, sizeof body - 1), str("attempt"),
              str("3"), str("traceparent"), str("00-ab-cd-01"));
    ev = store_event_parse("billing", array(2, str("1700000000000-0"), fields), id, NULL);
    ASSERT_NOT_NULL(ev);
    ASSERT_STR_EQ(id, "1700000000000-0");
    ASSERT_STR_EQ(ev->stream_id, "1700000000000-0");
    ASSERT_STR_EQ(ev->route, "billing");
    ASSERT_INT_EQ(ev->event_id_len, 5);
    ASSERT(memcmp(ev->event_id, "evt_1", 5) == 0);
    ASSERT_STR_EQ(ev->source, "stripe");
    ASSERT_STR_EQ(ev->type, "invoice.paid");
    ASSERT_INT_EQ(ev->body_len, sizeof body - 1);
    ASSERT(memcmp(ev->body, body, sizeof body - 1) == 0);
    ASSERT_INT_EQ(ev->attempt, 3);
    ASSERT_STR_EQ(ev->traceparent, "00-ab-cd-01");
    ASSERT_NULL(ev->request_id);
    ASSERT_NULL(ev->tenant);
    ASSERT(store_event_valid(ev));
    store_event_free(ev);
}

TEST(store_event_parse_refuses_malformed)
{
    char id[STORE_STREAM_ID_MAX];
    struct store_event *ev;

    used = used_ptrs = 0;
    /* deleted while pending: nil fields; the id is still reported for XACK */
    bool no_memory = true;
    ASSERT_NULL(store_event_parse("r", array(2, str("1-0"), nil()), id, &no_memory));
    ASSERT_STR_EQ(id, "1-0");
    ASSERT(!no_memory); /* malformed, not out of memory: the caller may ack it */
    /* odd number of field elements */
    ASSERT_NULL(store_event_parse("r", array(2, str("1-1"), array(1, str("x"))), id, NULL));
    /* a field of the wrong type */
    ASSERT_NULL(
        store_event_parse("r", array(2, str("1-2"), array(2, str("a"), integer(5))), id, NULL));
    /* not an entry at all */
    ASSERT_NULL(store_event_parse("r", integer(1), id, NULL));
    ASSERT_STR_EQ(id, "");
    ASSERT_NULL(store_event_parse("r", array(1, str("1-3")), id, NULL));
    ASSERT_NULL(store_event_parse("r", NULL, id, NULL));
    /* an id too long for a stream id */
    ASSERT_NULL(store_event_parse(
        "r",
        array(2, str("123456789012345678901234567890123456789012345678901234567890"), array(0)), id,
        NULL));
    /* parses, but names no event: not valid */
    ev = store_event_parse("r", array(2, str("1-4"), array(2, str("type"), str("x"))), id, NULL);
    ASSERT_NOT_NULL(ev);
    ASSERT(!store_event_valid(ev));
    ASSERT_STR_EQ(ev->body, "");
    store_event_free(ev);
    store_event_free(NULL);
}
