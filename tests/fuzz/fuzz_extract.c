/*
 * fuzz_extract.c — event id/type extraction (extract.h): the field-spec
 * parser and extract_field over hostile headers and JSON bodies.
 *
 * Input: the first line is a field spec ("header:NAME", "json:/pointer",
 * "sha256", "source", alternatives "A|B"); then header lines, a blank line,
 * the body. The spec is used both as a configured spec and as a scheme's
 * default text. Checked on the way out: a value is at most EXTRACT_MAX_LEN
 * bytes of valid UTF-8 with no control characters and NUL-terminated at its
 * length; a failure leaves "" and 0. The first line is also parsed as a
 * route filter ("SPEC OP VALUE", filter.h) and run: the same answer twice,
 * and "!=" always the opposite of "==".
 */
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "filter.h"
#include "fuzz.h"
#include "fuzz_common.h"

#define SPEC_TEXT_MAX 1024

static void check_value(int rc, const char *out, size_t len)
{
    if (!extract_reason(rc))
        abort();
    if (rc != 0) {
        if (len != 0 || out[0] != '\0')
            abort();
        return;
    }
    if (len > EXTRACT_MAX_LEN || out[len] != '\0' || strlen(out) != len)
        abort();
    fuzz_assert_utf8(out, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            abort();
}

static void run_filter(struct extract_ctx *x, const char *text)
{
    struct route_filter f;
    char err[256];
    bool first;

    if (filter_parse(text, &f, err, sizeof err) < 0)
        return;
    first = filter_all_hold(x, &f, 1);
    if (filter_all_hold(x, &f, 1) != first)
        abort();
    if (f.op != FILTER_GLOB) {
        f.op = f.op == FILTER_EQ ? FILTER_NE : FILTER_EQ;
        if (filter_all_hold(x, &f, 1) == first)
            abort();
    }
    filter_free(&f);
}

int fuzz_extract(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t spec_len = nl ? (size_t)(nl - data) : size;
    char spec_text[SPEC_TEXT_MAX + 1], out[EXTRACT_MAX_LEN + 1], err[256];
    struct field_spec spec = {0}, none = {0};
    struct extract_ctx x;
    struct headers *h;
    const char *body;
    size_t body_len, len = 0;

    if (spec_len > SPEC_TEXT_MAX || memchr(data, '\0', spec_len) || !(h = malloc(sizeof *h)))
        return 0; /* config text is a C string of bounded length */
    memcpy(spec_text, data, spec_len);
    spec_text[spec_len] = '\0';
    size_t rest = nl ? size - spec_len - 1 : 0;
    fuzz_split(nl ? nl + 1 : data + size, rest, h, &body, &body_len);
    extract_init(&x, "fuzzsrc", h, body, body_len);
    if (extract_parse_spec(spec_text, &spec, err, sizeof err) == 0) {
        int rc = extract_field(&x, &spec, NULL, out, sizeof out, &len);
        check_value(rc, out, len);
        /* Again: the parsed body is cached, the answer must not change. */
        char again[EXTRACT_MAX_LEN + 1];
        size_t len2 = 0;
        if (extract_field(&x, &spec, NULL, again, sizeof again, &len2) != rc || len2 != len ||
            memcmp(again, out, len) != 0)
            abort();
    } else if (memchr(err, '\0', sizeof err) == NULL) {
        abort();
    }
    check_value(extract_field(&x, &none, spec_text, out, sizeof out, &len), out, len);
    run_filter(&x, spec_text);
    extract_spec_free(&spec);
    extract_release(&x);
    free(h);
    return 0;
}

FUZZ_ENTRY(fuzz_extract)
