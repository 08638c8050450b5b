/*
 * verify_cmd.c — `hookctl verify SOURCE --headers FILE --body FILE [--at T]`:
 * offline signature diagnosis of a captured request, with the receiver's
 * own verifier (common/verify.c). Prints which header was read, the body's
 * SHA-256, the signatures the request carries, every configured secret
 * version with the first bytes of the signature it computes and whether it
 * matches, the timestamp skew against T (default: now), and the verdict the
 * receiver would have given at T. This is how rotation drift shows: the
 * provider signs with a version that is no longer (or not yet) configured.
 *
 * The headers file holds "Name: value" lines as captured (a request line
 * and anything after the first blank line are ignored), or a JSON object
 * such as a stored event's "headers" field. The body file is used byte for
 * byte. --url gives the request target as received (`/hooks/twilio?a=1`,
 * or only `?a=1`) for schemes that sign the query string (twilio, hmac's
 * {url}); --method the method for hmac's {method} (default POST). Needs no
 * Redis. Exit 0 valid, 1 invalid, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "codec.h"
#include "ctl.h"
#include "err.h"
#include "verify.h"

#define HEADERS_FILE_MAX (1u << 20)
#define BODY_FILE_MAX (64u << 20)

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* "Name: value" lines, in place; views borrow TEXT. */
static int headers_from_text(char *text, struct headers *h)
{
    char *line = text, *next;

    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *end = line + strlen(line), *colon = strchr(line, ':');
        if (trim(line, end)[0] == '\0') {
            if (h->n)
                break; /* the blank line before a body */
            continue;
        }
        if (!colon || strstr(line, " HTTP/"))
            continue; /* a request or status line */
        *colon = '\0';
        char *name = trim(line, colon), *value = trim(colon + 1, end);
        if (headers_add(h, name, strlen(name), value, strlen(value)) < 0)
            return HOOKD_ETOO_LARGE;
    }
    return 0;
}

static int headers_from_json(json_t *obj, struct headers *h)
{
    const char *name;
    json_t *v;

    json_object_foreach(obj, name, v) {
        if (json_is_string(v) &&
            headers_add(h, name, strlen(name), json_string_value(v), json_string_length(v)) < 0)
            return HOOKD_ETOO_LARGE;
    }
    return 0;
}

static void print_candidates(const struct sig_input *in)
{
    char hex[VERIFY_PREFIX_HEX + 1];

    printf("%-14s =", "signatures");
    for (size_t i = 0; i < in->nsigs; i++) {
        size_t n = in->sigs[i].len < VERIFY_PREFIX_HEX / 2 ? in->sigs[i].len : VERIFY_PREFIX_HEX / 2;
        codec_hex_encode(in->sigs[i].mac, n, hex);
        printf("%s %s", i ? "," : "", hex);
    }
    printf("%s   (first bytes, hex, of each signature the request carries)\n",
           in->nsigs ? "" : " (none parsed)");
}

/* Every configured version alone: its computed prefix and whether it matches. */
static void print_versions(const struct source_cfg *src, const struct headers *h,
                           const struct verify_http *http, const char *body, size_t len,
                           int64_t at_s)
{
    for (size_t i = 0; i < src->keys.n; i++) {
        struct source_cfg one = *src;
        struct verify_result vr;
        one.keys.keys[0] = src->keys.keys[i];
        one.keys.n = 1;
        verify_request_http(&one, h, http, body, len, at_s, false, &vr);
        printf("%-14s = %s  %s\n", src->keys.keys[i].version,
               vr.ntried ? vr.tried[0].prefix : "-",
               vr.status == VERIFY_OK ? "MATCH" : vr.ntried ? "no match" : "not computed");
    }
}

static void print_report(const struct source_cfg *src, const struct verify_result *vr,
                         const char *body, size_t len, int64_t at_s)
{
    char sha[CODEC_SHA256_HEX_LEN + 1], when[40];

    codec_sha256_hex(body, len, sha);
    printf("%-14s = %s (scheme %s)\n", "source", src->name, src->scheme->name);
    printf("%-14s = %s\n", "header", vr->header_name ? vr->header_name : "(none found)");
    printf("%-14s = %s\n", "received", vr->received[0] ? vr->received : "-");
    printf("%-14s = %zu\n", "body_bytes", len);
    printf("%-14s = %s\n", "body_sha256", sha);
    if (vr->has_timestamp) {
        int64_t tol = verify_tolerance_s(src);
        ctl_format_time(vr->timestamp * 1000, when, sizeof when);
        printf("%-14s = %lld (%s)\n", "timestamp", (long long)vr->timestamp, when);
        ctl_format_time(at_s * 1000, when, sizeof when);
        printf("%-14s = %lld s at %s (tolerance %lld s)\n", "skew", (long long)vr->skew_s, when,
               (long long)tol);
    } else {
        printf("%-14s = (the scheme signs no timestamp)\n", "timestamp");
    }
    print_candidates(&vr->input);
}

static void print_verdict(const struct verify_result *vr)
{
    if (vr->status == VERIFY_OK)
        printf("%-14s = valid (signed with %s)\n", "verdict", vr->matched_version);
    else if (vr->status == VERIFY_STALE)
        printf("%-14s = invalid: %s (the signature matches, the timestamp is outside "
               "tolerance)\n", "verdict", vr->reason);
    else if (vr->status == VERIFY_MISMATCH)
        printf("%-14s = invalid: %s (no configured secret version produced a signature the "
               "request carries: the provider signs with another secret)\n", "verdict",
               vr->reason);
    else
        printf("%-14s = invalid: %s (HTTP %d)\n", "verdict", vr->reason,
               verify_http_status(vr->status));
}

struct verify_args {
    const char *headers, *body, *at, *url, *method;
};

#define VERIFY_USAGE                                                                               \
    "verify: usage: verify SOURCE --headers FILE --body FILE [--at T] [--url TARGET] "            \
    "[--method M]"

/*
 * The method and query string: --method and --url, else the captured
 * request line ("POST /hooks/x?a=1 HTTP/1.1") when the headers file starts
 * with one. line (64 + target bytes) holds what the views point into.
 */
static struct verify_http http_of(const struct verify_args *a, const char *htext, char *line,
                                  size_t cap)
{
    const char *url = a->url, *method = a->method, *sp, *sp2;
    size_t eol = strcspn(htext, "\r\n");

    if ((!url || !method) && eol < cap && (sp = memchr(htext, ' ', eol)) &&
        (sp2 = memchr(sp + 1, ' ', eol - (size_t)(sp + 1 - htext))) &&
        strncmp(sp2 + 1, "HTTP/", 5) == 0 && !memchr(htext, ':', (size_t)(sp - htext))) {
        memcpy(line, htext, eol);
        line[sp - htext] = line[sp2 - htext] = '\0';
        method = method ? method : line;
        url = url ? url : line + (sp - htext) + 1;
    }
    const char *q = url ? strchr(url, '?') : NULL;
    return (struct verify_http){method ? method : "POST", q ? q + 1 : NULL, q ? strlen(q + 1) : 0};
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
    for (int i = 1; i < argc; i++) {
        int got = ctl_opt_value(argc, argv, &i, "--headers", &a->headers);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--body", &a->body);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--at", &a->at);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--url", &a->url);
        if (got == 0)
            got = ctl_opt_value(argc, argv, &i, "--method", &a->method);
        if (got == 0)
            ctl_err("verify: unexpected argument \"%s\"", argv[i]);
        if (got <= 0)
            return CTL_USAGE;
    }
    if (!a->headers || !a->body) {
        ctl_err(VERIFY_USAGE);
        return CTL_USAGE;
    }
    return CTL_OK;
}

/* Reads the two files into *htext / *body and fills h; CTL_OK or CTL_USAGE. */
static int load_request(const struct verify_args *a, char **htext, json_t **hjson,
                        struct headers *h, char **body, size_t *body_len)
{
    size_t hlen;

    if (!(*htext = ctl_read_file(a->headers, HEADERS_FILE_MAX, &hlen))) {
        ctl_err("cannot read headers file %s", a->headers);
        return CTL_USAGE;
    }
    if (!(*body = ctl_read_file(a->body, BODY_FILE_MAX, body_len))) {
        ctl_err("cannot read body file %s", a->body);
        return CTL_USAGE;
    }
    if ((*htext)[strspn(*htext, " \t\r\n")] == '{') {
        if (!(*hjson = json_loadb(*htext, hlen, 0, NULL)) || !json_is_object(*hjson) ||
            headers_from_json(*hjson, h) < 0) {
            ctl_err("headers file %s: not a JSON object of strings", a->headers);
            return CTL_USAGE;
        }
    } else if (headers_from_text(*htext, h) < 0) {
        ctl_err("headers file %s: more than %d headers", a->headers, HEADERS_MAX_COUNT);
        return CTL_USAGE;
    }
    return CTL_OK;
}

int cmd_verify(struct ctl *c, int argc, char **argv)
{
    struct verify_args a = {0};
    const struct source_cfg *src;
    struct headers *h = calloc(1, sizeof *h);
    struct verify_result vr;
    struct verify_http http;
    char *htext = NULL, *body = NULL, *line = NULL;
    json_t *hjson = NULL;
    size_t len = 0;
    int64_t at_s = time(NULL);
    int code;

    if (!h || argc < 1 || argv[0][0] == '-') {
        ctl_err(VERIFY_USAGE);
        code = CTL_USAGE;
        goto out;
    }
    if ((code = parse_args(argc, argv, &a)) != CTL_OK)
        goto out;
    if (!(src = config_source(c->cfg, argv[0], strlen(argv[0])))) {
        ctl_err("unknown source \"%s\" in %s", argv[0], c->config_path);
        code = CTL_USAGE;
        goto out;
    }
    if (a.at && (at_s = ctl_parse_time(a.at, ctl_now_ms())) < 0) {
        ctl_err("verify: --at wants a time (RFC 3339, epoch seconds or 2h ago), got \"%s\"", a.at);
        code = CTL_USAGE;
        goto out;
    }
    if (a.at)
        at_s /= 1000;
    if ((code = load_request(&a, &htext, &hjson, h, &body, &len)) != CTL_OK)
        goto out;
    if (!(line = malloc(strlen(htext) + 1))) {
        code = CTL_USAGE;
        goto out;
    }
    http = http_of(&a, htext, line, strlen(htext) + 1);
    verify_request_http(src, h, &http, body, len, at_s, true, &vr);
    print_report(src, &vr, body, len, at_s);
    print_versions(src, h, &http, body, len, at_s);
    print_verdict(&vr);
    code = vr.status == VERIFY_OK ? CTL_OK : CTL_PROBLEM;
out:
    json_decref(hjson);
    free(htext), free(body), free(h), free(line);
    return code;
}
