/*
 * extract.c — field specs: parsing them (config load) and applying them to
 * a request (the receiver, hookctl). See extract.h for the contract.
 *
 * Specs are parsed twice on purpose: once at load time into struct
 * field_spec (errors name the config line), and again as (pointer, length)
 * views when a default or an "A|B" text is applied, which costs a few
 * comparisons and needs no allocation on the request path.
 */
#include "extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "form.h"

struct spec_view {
    enum field_kind kind;
    const char *arg; /* header name or pointer (not NUL-terminated) */
    size_t arg_len;
};

/* ------------------------------------------------------------ spec syntax */

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t'))
        (*p)++, (*n)--;
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

/* RFC 9110 token characters. */
static bool header_name_ok(const char *p, size_t n)
{
    if (n == 0 || n > EXTRACT_HEADER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`~", c)) ||
            c == '\0')
            return false;
    }
    return true;
}

/* RFC 6901: "" or "/tok/tok", where '~' is followed by '0' or '1'. */
static bool pointer_ok(const char *p, size_t n)
{
    if (n > EXTRACT_POINTER_MAX || (n > 0 && p[0] != '/'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\0')
            return false;
        if (p[i] == '~' && (i + 1 >= n || (p[i + 1] != '0' && p[i + 1] != '1')))
            return false;
    }
    return true;
}

static bool has_prefix(const char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

/* One alternative, already trimmed. */
static int view_parse(const char *p, size_t n, struct spec_view *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (has_prefix(p, n, "header:")) {
        v->kind = FIELD_HEADER, v->arg = p + 7, v->arg_len = n - 7;
        if (!header_name_ok(v->arg, v->arg_len))
            return hookd_errf(HOOKD_ECONFIG, err, errlen, "\"%.*s\": not a valid header name",
                             (int)(n > 80 ? 80 : n), p);
    } else if (has_prefix(p, n, "json:")) {
        v->kind = FIELD_JSON, v->arg = p + 5, v->arg_len = n - 5;
        if (!pointer_ok(v->arg, v->arg_len))
            return hookd_errf(HOOKD_ECONFIG, err, errlen,
                             "\"%.*s\": not a JSON pointer (\"/a/b\", ~0 for ~, ~1 for /)",
                             (int)(n > 80 ? 80 : n), p);
    } else if (has_prefix(p, n, "form:")) {
        v->kind = FIELD_FORM, v->arg = p + 5, v->arg_len = n - 5;
        if (!header_name_ok(v->arg, v->arg_len))
            return hookd_errf(HOOKD_ECONFIG, err, errlen, "\"%.*s\": not a valid form parameter name",
                             (int)(n > 80 ? 80 : n), p);
    } else if (n == 6 && memcmp(p, "sha256", 6) == 0) {
        v->kind = FIELD_SHA256;
    } else if (n == 6 && memcmp(p, "source", 6) == 0) {
        v->kind = FIELD_SOURCE;
    } else {
        return hookd_errf(HOOKD_ECONFIG, err, errlen,
                         "\"%.*s\": expected header:NAME, json:/pointer, form:NAME, sha256 or "
                         "source",
                         (int)(n > 80 ? 80 : n), p);
    }
    return 0;
}

/* Calls fn on each trimmed '|' alternative of text; stops at the first
 * non-zero return. */
static int each_alternative(const char *text, size_t n,
                            int (*fn)(void *arg, const char *p, size_t n), void *arg)
{
    const char *end = text + n;

    for (const char *p = text; p <= end;) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        const char *alt = p;
        size_t alen = (size_t)((bar ? bar : end) - p);
        int rc;

        trim(&alt, &alen);
        if ((rc = fn(arg, alt, alen)) != 0)
            return rc;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

struct check_arg {
    char *err;
    size_t errlen;
};

static int check_one(void *arg, const char *p, size_t n)
{
    struct check_arg *c = arg;
    struct spec_view v;

    if (n == 0)
        return hookd_errf(HOOKD_ECONFIG, c->err, c->errlen, "empty alternative in a field spec");
    return view_parse(p, n, &v, c->err, c->errlen);
}

int extract_parse_spec(const char *text, struct field_spec *out, char *err, size_t errlen)
{
    struct check_arg c = {err, errlen};
    struct spec_view v;
    const char *p = text;
    size_t n = text ? strlen(text) : 0;
    int rc;

    memset(out, 0, sizeof *out);
    trim(&p, &n);
    if (n == 0)
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "empty field spec");
    if (memchr(p, '|', n)) {
        if ((rc = each_alternative(p, n, check_one, &c)) < 0)
            return rc;
        if (!(out->arg = strndup(p, n)))
            return HOOKD_ENOMEM;
        out->kind = FIELD_ANY_OF;
        return 0;
    }
    if ((rc = view_parse(p, n, &v, err, errlen)) < 0)
        return rc;
    if (v.arg_len > 0 || v.kind == FIELD_JSON)
        if (!(out->arg = strndup(v.arg, v.arg_len)))
            return HOOKD_ENOMEM;
    out->kind = v.kind;
    return 0;
}

void extract_spec_free(struct field_spec *spec)
{
    if (!spec)
        return;
    free(spec->arg);
    memset(spec, 0, sizeof *spec);
}

/* ------------------------------------------------------------ values */

/* Validates a value and copies it out. */
static int emit(const char *p, size_t n, char *out, size_t cap, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)p;

    if (n == 0)
        return HOOKD_ENOT_FOUND;
    if (n > EXTRACT_MAX_LEN || n + 1 > cap)
        return HOOKD_ETOO_LARGE;
    for (size_t i = 0, k; i < n; i += k) {
        if (u[i] < 0x20 || u[i] == 0x7f || !(k = codec_utf8_seq_len(u + i, n - i)))
            return HOOKD_EPARSE;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    *out_len = n;
    return 0;
}

json_t *extract_json(struct extract_ctx *x)
{
    json_error_t jerr;

    if (!x->json_tried) {
        x->json_tried = true;
        /* JSON_ALLOW_NUL: a \u0000 elsewhere in the body is not our concern;
         * emit() refuses NUL in the value we take. */
        x->json = json_loadb(x->body ? x->body : "", x->body_len,
                             JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!x->json)
            x->json_err =
                json_error_code(&jerr) == json_error_out_of_memory ? HOOKD_ENOMEM : HOOKD_ENOT_JSON;
    }
    return x->json;
}

/* Array index token: "0" or [1-9][0-9]*, below the array's size. */
static json_t *array_step(json_t *arr, const char *tok, size_t n)
{
    size_t idx = 0;

    if (n == 0 || (n > 1 && tok[0] == '0') || n > 9)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return NULL;
        idx = idx * 10 + (size_t)(tok[i] - '0');
    }
    return json_array_get(arr, idx);
}

/* Walks an RFC 6901 pointer; NULL when it leads nowhere. */
static json_t *pointer_walk(json_t *doc, const char *p, size_t n)
{
    char tok[EXTRACT_POINTER_MAX];
    json_t *cur = doc;
    size_t i = 0;

    while (cur && i < n) {
        size_t k = 0;
        for (i++; i < n && p[i] != '/'; i++) {
            if (p[i] == '~')
                tok[k++] = p[++i] == '1' ? '/' : '~'; /* pointer_ok checked the escape */
            else
                tok[k++] = p[i];
        }
        if (json_is_object(cur))
            cur = json_object_getn(cur, tok, k);
        else if (json_is_array(cur))
            cur = array_step(cur, tok, k);
        else
            cur = NULL;
    }
    return cur;
}

json_t *extract_json_at(struct extract_ctx *x, const char *pointer)
{
    json_t *doc = extract_json(x);
    size_t n = strlen(pointer);

    return doc && pointer_ok(pointer, n) ? pointer_walk(doc, pointer, n) : NULL;
}

static int from_json(struct extract_ctx *x, const struct spec_view *v, char *out, size_t cap,
                     size_t *out_len)
{
    char num[32];
    json_t *doc = extract_json(x), *val;
    int len;

    if (!doc)
        return x->json_err ? x->json_err : HOOKD_ENOT_JSON;
    if (!pointer_ok(v->arg, v->arg_len))
        return HOOKD_ECONFIG;
    val = pointer_walk(doc, v->arg, v->arg_len);
    if (!val || json_is_null(val))
        return HOOKD_ENOT_FOUND;
    if (json_is_string(val))
        return emit(json_string_value(val), json_string_length(val), out, cap, out_len);
    if (!json_is_integer(val))
        return HOOKD_EPARSE;
    len = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(val));
    return emit(num, (size_t)len, out, cap, out_len);
}

static int from_header(struct extract_ctx *x, const struct spec_view *v, char *out, size_t cap,
                       size_t *out_len)
{
    char name[EXTRACT_HEADER_NAME_MAX + 1];
    const struct header *hd;
    const char *val;
    size_t n;

    if (!header_name_ok(v->arg, v->arg_len))
        return HOOKD_ECONFIG;
    memcpy(name, v->arg, v->arg_len);
    name[v->arg_len] = '\0';
    if (!x->h || !(hd = headers_find(x->h, name)) || !hd->value)
        return HOOKD_ENOT_FOUND;
    val = hd->value;
    n = hd->value_len;
    trim(&val, &n);
    return emit(val, n, out, cap, out_len);
}

/* form:NAME: the first parameter NAME of a form-encoded body, decoded. */
static int from_form(struct extract_ctx *x, const struct spec_view *v, char *out, size_t cap,
                     size_t *out_len)
{
    char name[EXTRACT_HEADER_NAME_MAX + 1], val[3 * EXTRACT_MAX_LEN];
    long got;

    if (!header_name_ok(v->arg, v->arg_len))
        return HOOKD_ECONFIG;
    if (!form_is_form(x->h))
        return HOOKD_ENOT_FOUND;
    memcpy(name, v->arg, v->arg_len);
    name[v->arg_len] = '\0';
    got = form_get(x->body ? x->body : "", x->body_len, name, val, sizeof val);
    if (got < 0)
        return (int)got;
    return emit(val, (size_t)got, out, cap, out_len);
}

static int one(struct extract_ctx *x, const struct spec_view *v, char *out, size_t cap,
               size_t *out_len)
{
    char hex[CODEC_SHA256_HEX_LEN + 1];

    if (x->headers_only && v->kind != FIELD_HEADER)
        return HOOKD_ENOT_FOUND;
    switch (v->kind) {
    case FIELD_HEADER: return from_header(x, v, out, cap, out_len);
    case FIELD_JSON: return from_json(x, v, out, cap, out_len);
    case FIELD_FORM: return from_form(x, v, out, cap, out_len);
    case FIELD_SHA256:
        codec_sha256_hex(x->body ? x->body : "", x->body_len, hex);
        return emit(hex, CODEC_SHA256_HEX_LEN, out, cap, out_len);
    case FIELD_SOURCE:
        return x->source ? emit(x->source, strlen(x->source), out, cap, out_len) : HOOKD_ENOT_FOUND;
    default: return HOOKD_ECONFIG;
    }
}

struct run_arg {
    struct extract_ctx *x;
    char *out;
    size_t cap, *out_len;
    int rc;        /* last result */
    bool not_json; /* some alternative failed because the body is not JSON */
};

/* Returns 1 to stop (found, or a hard error), 0 to try the next one. */
static int run_one(void *arg, const char *p, size_t n)
{
    struct run_arg *r = arg;
    struct spec_view v;

    if (view_parse(p, n, &v, NULL, 0) < 0) {
        r->rc = HOOKD_ECONFIG;
        return 1;
    }
    r->rc = one(r->x, &v, r->out, r->cap, r->out_len);
    if (r->rc == HOOKD_ENOT_JSON)
        r->not_json = true;
    return r->rc == HOOKD_ENOT_FOUND || r->rc == HOOKD_ENOT_JSON ? 0 : 1;
}

static int run_text(struct extract_ctx *x, const char *text, char *out, size_t cap, size_t *out_len)
{
    struct run_arg r = {x, out, cap, out_len, HOOKD_ENOT_FOUND, false};

    each_alternative(text, strlen(text), run_one, &r);
    if (r.rc == HOOKD_ENOT_FOUND && r.not_json)
        return HOOKD_ENOT_JSON;
    return r.rc;
}

int extract_field(struct extract_ctx *x, const struct field_spec *spec, const char *default_text,
                  char *out, size_t out_cap, size_t *out_len)
{
    struct spec_view v = {0};
    int rc;

    *out_len = 0;
    if (out_cap == 0)
        return HOOKD_ETOO_LARGE;
    out[0] = '\0';
    if (spec && spec->kind == FIELD_ANY_OF)
        rc = spec->arg ? run_text(x, spec->arg, out, out_cap, out_len) : HOOKD_ECONFIG;
    else if (spec && spec->kind != FIELD_NONE) {
        v.kind = spec->kind;
        v.arg = spec->arg ? spec->arg : "";
        v.arg_len = strlen(v.arg);
        rc = one(x, &v, out, out_cap, out_len);
    } else if (default_text)
        rc = run_text(x, default_text, out, out_cap, out_len);
    else
        rc = 0;
    if (rc < 0) {
        out[0] = '\0';
        *out_len = 0;
    }
    return rc;
}

int extract_key(struct extract_ctx *x, const struct field_spec *spec, char *out, size_t out_cap,
                size_t *out_len)
{
    int rc = extract_field(x, spec, NULL, out, out_cap, out_len);
    const struct header *hd = NULL;
    const char *v = NULL;
    size_t n = 0;
    json_t *j;

    if (rc != HOOKD_ETOO_LARGE || out_cap < EXTRACT_MAX_LEN + 1)
        return rc;
    if (spec->kind == FIELD_JSON && json_is_string(j = extract_json_at(x, spec->arg)))
        v = json_string_value(j), n = json_string_length(j);
    else if (spec->kind == FIELD_HEADER && x->h && (hd = headers_find(x->h, spec->arg)))
        v = hd->value, n = hd->value_len;
    if (!v)
        return rc;
    memcpy(out, "sha256:", 7);
    codec_sha256_hex(v, n, out + 7);
    *out_len = 7 + CODEC_SHA256_HEX_LEN;
    return 0;
}

const char *extract_reason(int code)
{
    switch (code) {
    case 0: return "ok";
    case HOOKD_ENOT_FOUND: return "missing_field";
    case HOOKD_ENOT_JSON: return "body_not_json";
    case HOOKD_ETOO_LARGE: return "field_too_long";
    case HOOKD_EPARSE: return "invalid_field";
    case HOOKD_ENOMEM: return "out_of_memory";
    default: return "bad_spec";
    }
}

void extract_init(struct extract_ctx *x, const char *source, const struct headers *h,
                  const char *body, size_t body_len)
{
    memset(x, 0, sizeof *x);
    x->source = source;
    x->h = h;
    x->body = body;
    x->body_len = body_len;
}

void extract_init_headers(struct extract_ctx *x, const struct headers *h)
{
    extract_init(x, NULL, h, NULL, 0);
    x->headers_only = true;
}

void extract_release(struct extract_ctx *x)
{
    if (!x)
        return;
    json_decref(x->json);
    x->json = NULL;
    x->json_tried = false;
    x->json_err = 0;
}
