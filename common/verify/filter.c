/*
 * filter.c — a route's payload filters (see filter.h): parsed once at
 * config load, evaluated on every verified request that a route's match
 * list takes.
 */
#include "filter.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const struct {
    const char *text; /* with its surrounding spaces */
    enum filter_op op;
} ops[] = {{" == ", FILTER_EQ}, {" != ", FILTER_NE}, {" ~ ", FILTER_GLOB}};

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t'))
        (*p)++, (*n)--;
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

int filter_parse(const char *text, struct route_filter *out, char *err, size_t errlen)
{
    const char *at = NULL, *spec, *val;
    size_t oplen = 0, nspec, nval;
    char *spec_text;
    int rc;

    memset(out, 0, sizeof *out);
    /* The leftmost operator: a JSON pointer may hold " == " only escaped. */
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const char *p = strstr(text, ops[i].text);
        if (p && (!at || p < at))
            at = p, oplen = strlen(ops[i].text), out->op = ops[i].op;
    }
    if (!at) {
        snprintf(err, errlen, "\"%.80s\": expected FIELD-SPEC OP VALUE, OP one of ==, !=, ~ "
                              "(with spaces around it)", text);
        return HOOKD_ECONFIG;
    }
    spec = text, nspec = (size_t)(at - text);
    val = at + oplen, nval = strlen(val);
    trim(&spec, &nspec);
    trim(&val, &nval);
    if (nval == 0) {
        snprintf(err, errlen, "\"%.80s\": the value after the operator is empty", text);
        return HOOKD_ECONFIG;
    }
    if (!(spec_text = strndup(spec, nspec)))
        return HOOKD_ENOMEM;
    rc = extract_parse_spec(spec_text, &out->field, err, errlen);
    free(spec_text);
    if (rc == 0 && (out->field.kind == FIELD_SHA256 || out->field.kind == FIELD_SOURCE)) {
        snprintf(err, errlen, "\"%.80s\": a filter reads header:NAME or json:/pointer", text);
        rc = HOOKD_ECONFIG;
    }
    if (rc == 0 && !(out->value = strndup(val, nval)))
        rc = HOOKD_ENOMEM;
    if (rc < 0)
        filter_free(out);
    return rc;
}

void filter_free(struct route_filter *f)
{
    if (!f)
        return;
    extract_spec_free(&f->field);
    free(f->value);
    memset(f, 0, sizeof *f);
}

/* The field's value as bytes in buf (or borrowed from the JSON tree);
 * false when it has none that a filter compares. */
static bool field_value(struct extract_ctx *x, const struct field_spec *spec, char *buf,
                        size_t cap, const char **val, size_t *len)
{
    json_t *j;
    int n;

    if (spec->kind != FIELD_JSON) {
        *val = buf;
        return extract_field(x, spec, NULL, buf, cap, len) == 0;
    }
    j = extract_json_at(x, spec->arg);
    if (json_is_string(j)) {
        *val = json_string_value(j), *len = json_string_length(j);
        return *len <= FILTER_VALUE_MAX && !memchr(*val, '\0', *len);
    }
    if (json_is_true(j) || json_is_false(j)) {
        *val = json_is_true(j) ? "true" : "false", *len = strlen(*val);
        return true;
    }
    if (json_is_integer(j))
        n = snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_real(j))
        n = snprintf(buf, cap, "%.15g", json_real_value(j));
    else
        return false; /* absent, null, object, array */
    *val = buf, *len = (size_t)n;
    return n > 0 && (size_t)n < cap;
}

static bool one_holds(struct extract_ctx *x, const struct route_filter *f)
{
    char buf[EXTRACT_MAX_LEN + 1];
    const char *val = NULL;
    size_t len = 0;
    bool has = field_value(x, &f->field, buf, sizeof buf, &val, &len);
    bool equal = has && len == strlen(f->value) && memcmp(val, f->value, len) == 0;

    switch (f->op) {
    case FILTER_EQ: return equal;
    case FILTER_NE: return !equal;
    /* val is NUL-terminated: buf, or a jansson string checked free of NULs */
    case FILTER_GLOB: return has && fnmatch(f->value, val, 0) == 0;
    }
    return false;
}

bool filter_all_hold(struct extract_ctx *x, const struct route_filter *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!one_holds(x, &f[i]))
            return false;
    return true;
}
