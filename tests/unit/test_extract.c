/*
 * test_extract.c — field specs (common/extract.c): parsing the config text,
 * and taking ids, types and tenants from headers, JSON bodies (RFC 6901
 * pointers), the body hash and the source name, with the fallbacks of
 * "A|B" and the refusals (missing, not JSON, too long, control characters,
 * invalid UTF-8, nesting bombs, duplicate keys).
 */
#include <string.h>

#include "../lib/test.h"
#include "../lib/testdata.h"
#include "err.h"
#include "extract.h"

struct fx {
    struct headers h;
    struct extract_ctx x;
    char out[EXTRACT_MAX_LEN + 1];
    size_t len;
};

static void fx_init(struct fx *f, const char *body)
{
    memset(f, 0, sizeof *f);
    extract_init(&f->x, "src-a", &f->h, body, body ? strlen(body) : 0);
}

/* Applies spec text (parsed as config.c would) and returns the code. */
static int get(struct fx *f, const char *spec_text)
{
    struct field_spec spec;
    char err[200];
    int rc;

    rc = extract_parse_spec(spec_text, &spec, err, sizeof err);
    if (rc < 0)
        test_fail(__FILE__, __LINE__, "spec \"%s\": %s", spec_text, err);
    rc = extract_field(&f->x, &spec, NULL, f->out, sizeof f->out, &f->len);
    extract_spec_free(&spec);
    return rc;
}

TEST(extract_parse_spec_kinds)
{
    struct field_spec s;
    char err[200];

    ASSERT_INT_EQ(extract_parse_spec("header:X-GitHub-Delivery", &s, err, sizeof err), 0);
    ASSERT_INT_EQ(s.kind, FIELD_HEADER);
    ASSERT_STR_EQ(s.arg, "X-GitHub-Delivery");
    extract_spec_free(&s);
    ASSERT_INT_EQ(extract_parse_spec("json:/event/type", &s, err, sizeof err), 0);
    ASSERT_INT_EQ(s.kind, FIELD_JSON);
    ASSERT_STR_EQ(s.arg, "/event/type");
    extract_spec_free(&s);
    ASSERT_INT_EQ(extract_parse_spec("sha256", &s, err, sizeof err), 0);
    ASSERT_INT_EQ(s.kind, FIELD_SHA256);
    ASSERT_NULL(s.arg);
    ASSERT_INT_EQ(extract_parse_spec("source", &s, err, sizeof err), 0);
    ASSERT_INT_EQ(s.kind, FIELD_SOURCE);
    ASSERT_INT_EQ(extract_parse_spec(" header:A | json:/b|sha256 ", &s, err, sizeof err), 0);
    ASSERT_INT_EQ(s.kind, FIELD_ANY_OF);
    ASSERT_STR_EQ(s.arg, "header:A | json:/b|sha256");
    extract_spec_free(&s);
    extract_spec_free(NULL);
}

TEST(extract_parse_spec_errors)
{
    static const char *const bad[] = {
        "",         "header:", "header:X Y", "header:X|",        "json:abc", "json:/a~2",
        "json:/a~", "sha1",    "json",       "header:A||sha256", "|",        "SHA256",
    };
    struct field_spec s;
    char err[200];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (extract_parse_spec(bad[i], &s, err, sizeof err) != HOOKD_ECONFIG)
            test_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
        ASSERT(err[0] != '\0');
        ASSERT_NULL(s.arg);
    }
    ASSERT_INT_EQ(extract_parse_spec(NULL, &s, err, sizeof err), HOOKD_ECONFIG);
}

TEST(extract_header_case_insensitive_and_trimmed)
{
    struct fx f;

    fx_init(&f, NULL);
    th_add(&f.h, "x-github-delivery", "  72d3162e-cc78-11e3-81ab-4c9367dc0958 ");
    ASSERT_INT_EQ(get(&f, "header:X-GitHub-Delivery"), 0);
    ASSERT_STR_EQ(f.out, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    ASSERT_INT_EQ(f.len, 36);
    ASSERT_INT_EQ(get(&f, "header:X-Missing"), HOOKD_ENOT_FOUND);
    ASSERT_STR_EQ(f.out, "");
    ASSERT_STR_EQ(extract_reason(HOOKD_ENOT_FOUND), "missing_field");
}

TEST(extract_json_pointer_rfc6901)
{
    /* The example document of RFC 6901 section 5, plus integers. */
    struct fx f;

    fx_init(&f, "{\"foo\":[\"bar\",\"baz\"],\"\":\"zero\",\"a/b\":\"one\",\"c%d\":\"two\","
                "\"e^f\":\"three\",\"g|h\":\"four\",\"i\\\\j\":\"five\",\"k\\\"l\":\"six\","
                "\" \":\"seven\",\"m~n\":\"eight\",\"n\":{\"id\":12345678901},\"neg\":-7}");
    ASSERT_INT_EQ(get(&f, "json:/foo/0"), 0);
    ASSERT_STR_EQ(f.out, "bar");
    ASSERT_INT_EQ(get(&f, "json:/foo/1"), 0);
    ASSERT_STR_EQ(f.out, "baz");
    ASSERT_INT_EQ(get(&f, "json:/"), 0);
    ASSERT_STR_EQ(f.out, "zero");
    ASSERT_INT_EQ(get(&f, "json:/a~1b"), 0);
    ASSERT_STR_EQ(f.out, "one");
    ASSERT_INT_EQ(get(&f, "json:/m~0n"), 0);
    ASSERT_STR_EQ(f.out, "eight");
    ASSERT_INT_EQ(get(&f, "json:/e^f"), 0);
    ASSERT_STR_EQ(f.out, "three");
    ASSERT_INT_EQ(get(&f, "json:/c%d"), 0);
    ASSERT_STR_EQ(f.out, "two");
    ASSERT_INT_EQ(get(&f, "json:/k\"l"), 0);
    ASSERT_STR_EQ(f.out, "six");
    ASSERT_INT_EQ(get(&f, "json:/n/id"), 0);
    ASSERT_STR_EQ(f.out, "12345678901");
    ASSERT_INT_EQ(get(&f, "json:/neg"), 0);
    ASSERT_STR_EQ(f.out, "-7");
    ASSERT_INT_EQ(get(&f, "json:/foo/2"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/foo/01"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/foo/-"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/foo/0/x"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/nope"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/foo"), HOOKD_EPARSE); /* an array is no id */
    ASSERT_INT_EQ(get(&f, "json:/n"), HOOKD_EPARSE);
    extract_release(&f.x);
}

TEST(extract_json_value_types)
{
    struct fx f;

    fx_init(&f, "{\"r\":1.5,\"b\":true,\"z\":null,\"e\":\"\",\"s\":\"evt_1\"}");
    ASSERT_INT_EQ(get(&f, "json:/r"), HOOKD_EPARSE);
    ASSERT_INT_EQ(get(&f, "json:/b"), HOOKD_EPARSE);
    ASSERT_INT_EQ(get(&f, "json:/z"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/e"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "json:/s"), 0);
    ASSERT_STR_EQ(extract_reason(HOOKD_EPARSE), "invalid_field");
    extract_release(&f.x);
}

TEST(extract_body_not_json)
{
    static const char *const bodies[] = {
        "token=abc&team_id=T1",    "",
        "{\"id\":\"a\"} trailing", "{\"id\":",
        "\"just a string\"",       "{\"id\":\"a\",\"id\":\"b\"}", /* duplicate keys: ambiguous */
    };

    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct fx f;
        fx_init(&f, bodies[i]);
        if (get(&f, "json:/id") != HOOKD_ENOT_JSON)
            test_fail(__FILE__, __LINE__, "body \"%s\" was taken as JSON", bodies[i]);
        ASSERT_STR_EQ(extract_reason(HOOKD_ENOT_JSON), "body_not_json");
        ASSERT_NULL(extract_json(&f.x));
        extract_release(&f.x);
    }
}

TEST(extract_nesting_bomb_fails_cleanly)
{
    size_t depth = 200000;
    char *body = malloc(2 * depth + 1);
    struct fx f;

    ASSERT_NOT_NULL(body);
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    body[2 * depth] = '\0';
    fx_init(&f, body);
    ASSERT_INT_EQ(get(&f, "json:/0"), HOOKD_ENOT_JSON);
    extract_release(&f.x);
    free(body);
}

TEST(extract_alternatives_fall_back)
{
    struct fx f;

    fx_init(&f, "{\"type\":\"t1\"}");
    th_add(&f.h, "X-Shopify-Webhook-Id", "wh-1");
    ASSERT_INT_EQ(get(&f, "header:X-Shopify-Event-Id|header:X-Shopify-Webhook-Id"), 0);
    ASSERT_STR_EQ(f.out, "wh-1");
    th_add(&f.h, "X-Shopify-Event-Id", "ev-1");
    ASSERT_INT_EQ(get(&f, "header:X-Shopify-Event-Id|header:X-Shopify-Webhook-Id"), 0);
    ASSERT_STR_EQ(f.out, "ev-1");
    ASSERT_INT_EQ(get(&f, "json:/event/type|json:/type"), 0);
    ASSERT_STR_EQ(f.out, "t1");
    ASSERT_INT_EQ(get(&f, "header:A|header:B"), HOOKD_ENOT_FOUND);
    extract_release(&f.x);

    fx_init(&f, "not json");
    ASSERT_INT_EQ(get(&f, "json:/id|sha256"), 0);
    ASSERT_INT_EQ(f.len, 64);
    ASSERT_INT_EQ(get(&f, "header:A|json:/id"), HOOKD_ENOT_JSON);
    extract_release(&f.x);
}

TEST(extract_alternatives_stop_at_invalid_value)
{
    struct fx f;

    fx_init(&f, "{\"id\":1.5}");
    th_add(&f.h, "X-Id", "fine");
    ASSERT_INT_EQ(get(&f, "json:/id|header:X-Id"), HOOKD_EPARSE);
    extract_release(&f.x);
}

TEST(extract_default_text_and_spec_precedence)
{
    struct field_spec spec = {0};
    struct fx f;

    fx_init(&f, "{\"id\":\"from-json\"}");
    th_add(&f.h, "X-Id", "from-header");
    ASSERT_INT_EQ(extract_field(&f.x, NULL, "json:/id", f.out, sizeof f.out, &f.len), 0);
    ASSERT_STR_EQ(f.out, "from-json");
    ASSERT_INT_EQ(extract_field(&f.x, &spec, "header:X-Id", f.out, sizeof f.out, &f.len), 0);
    ASSERT_STR_EQ(f.out, "from-header");
    ASSERT_INT_EQ(extract_parse_spec("source", &spec, NULL, 0), 0);
    ASSERT_INT_EQ(extract_field(&f.x, &spec, "json:/id", f.out, sizeof f.out, &f.len), 0);
    ASSERT_STR_EQ(f.out, "src-a");
    /* No spec and no default: an empty value, not an error. */
    ASSERT_INT_EQ(extract_field(&f.x, NULL, NULL, f.out, sizeof f.out, &f.len), 0);
    ASSERT_INT_EQ(f.len, 0);
    ASSERT_INT_EQ(extract_field(&f.x, NULL, "bogus", f.out, sizeof f.out, &f.len), HOOKD_ECONFIG);
    extract_release(&f.x);
}

TEST(extract_sha256_of_body)
{
    struct fx f;

    fx_init(&f, "abc");
    ASSERT_INT_EQ(get(&f, "sha256"), 0);
    ASSERT_STR_EQ(f.out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fx_init(&f, NULL);
    ASSERT_INT_EQ(get(&f, "sha256"), 0);
    ASSERT_STR_EQ(f.out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(extract_length_limits)
{
    char body[EXTRACT_MAX_LEN + 64];
    struct fx f;

    /* exactly 256 bytes: accepted */
    snprintf(body, sizeof body, "{\"id\":\"%0*d\"}", EXTRACT_MAX_LEN, 0);
    fx_init(&f, body);
    ASSERT_INT_EQ(get(&f, "json:/id"), 0);
    ASSERT_INT_EQ(f.len, EXTRACT_MAX_LEN);
    extract_release(&f.x);
    /* 257: refused */
    snprintf(body, sizeof body, "{\"id\":\"%0*d\"}", EXTRACT_MAX_LEN + 1, 0);
    fx_init(&f, body);
    ASSERT_INT_EQ(get(&f, "json:/id"), HOOKD_ETOO_LARGE);
    ASSERT_STR_EQ(extract_reason(HOOKD_ETOO_LARGE), "field_too_long");
    extract_release(&f.x);
    /* a small caller buffer is respected */
    fx_init(&f, "{\"id\":\"abcdef\"}");
    ASSERT_INT_EQ(extract_field(&f.x, NULL, "json:/id", f.out, 4, &f.len), HOOKD_ETOO_LARGE);
    ASSERT_INT_EQ(extract_field(&f.x, NULL, "sha256", f.out, 64, &f.len), HOOKD_ETOO_LARGE);
    extract_release(&f.x);
}

TEST(extract_rejects_control_and_invalid_utf8)
{
    static const struct {
        const char *v;
        size_t n;
    } bad[] = {
        {"a\nb", 3},
        {"a\tb", 3},
        {"a\0b", 3},
        {"a\x7f", 2},
        {"\xff", 1},
        {"\xc3", 1},
        {"\xc0\xaf", 2} /* overlong */,
        {"\xed\xa0\x80", 3} /* surrogate */,
        {"\xf4\x90\x80\x80", 4} /* > U+10FFFF */,
    };
    struct fx f;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx_init(&f, NULL);
        headers_add(&f.h, "X-Id", 4, bad[i].v, bad[i].n);
        if (get(&f, "header:X-Id") != HOOKD_EPARSE)
            test_fail(__FILE__, __LINE__, "bad value #%zu accepted", i);
    }
    fx_init(&f, "{\"id\":\"a\\u0000b\",\"t\":\"x\\ny\",\"u\":\"caf\\u00e9 \\ud83d\\ude00\"}");
    ASSERT_INT_EQ(get(&f, "json:/id"), HOOKD_EPARSE);
    ASSERT_INT_EQ(get(&f, "json:/t"), HOOKD_EPARSE);
    ASSERT_INT_EQ(get(&f, "json:/u"), 0);
    ASSERT_STR_EQ(f.out, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    extract_release(&f.x);
}

TEST(extract_json_parsed_once)
{
    struct fx f;
    json_t *first;

    fx_init(&f, "{\"id\":\"a\",\"type\":\"b\"}");
    ASSERT_INT_EQ(get(&f, "json:/id"), 0);
    first = f.x.json;
    ASSERT_NOT_NULL(first);
    ASSERT_INT_EQ(get(&f, "json:/type"), 0);
    ASSERT(f.x.json == first);
    ASSERT(extract_json(&f.x) == first);
    extract_release(&f.x);
    extract_release(&f.x); /* twice is fine */
    ASSERT_NULL(f.x.json);
}

/* A request whose signature failed (rejects.c): headers only. A json:,
 * sha256 or source alternative is absent, so "A|B" falls through to the
 * header; a header alone is read as usual, invalid values refused alike. */
TEST(extract_headers_only)
{
    struct fx f;

    memset(&f, 0, sizeof f);
    headers_add(&f.h, "X-Id", 4, "hdr-7", 5);
    headers_add(&f.h, "X-Bad", 5, "a\x01", 2);
    extract_init_headers(&f.x, &f.h);
    ASSERT_INT_EQ(get(&f, "json:/id|header:x-id"), 0);
    ASSERT_STR_EQ(f.out, "hdr-7");
    ASSERT_INT_EQ(get(&f, "sha256|source"), HOOKD_ENOT_FOUND);
    ASSERT_STR_EQ(f.out, "");
    ASSERT_INT_EQ(get(&f, "json:/id"), HOOKD_ENOT_FOUND);
    ASSERT_INT_EQ(get(&f, "header:X-Bad"), HOOKD_EPARSE);
    ASSERT_NULL(f.x.json);
    /* The scheme default when the source sets no spec (rejects.c's call). */
    ASSERT_INT_EQ(extract_field(&f.x, NULL, "header:X-Missing|header:X-Id", f.out, sizeof f.out,
                                &f.len),
                  0);
    ASSERT_STR_EQ(f.out, "hdr-7");
    extract_release(&f.x);
}
