/*
 * metrics_text.c — the Prometheus text exposition format (0.0.4), written
 * into a bounded buffer: HELP/TYPE lines, samples with escaped label
 * values, histogram bucket series. Used by metrics.c to render a registry
 * and by callers that compute values at scrape time (see metrics.h).
 *
 *   # HELP name text            text: \\ and \n escaped
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} 12  value: \\, \" and \n escaped
 *   name_bucket{...,le="0.5"} 3 cumulative, then le="+Inf" == name_count
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "metrics.h"

#define BUF_INITIAL_BYTES 4096
#define NAME_MAX_BYTES 200

void metrics_buf_init(struct metrics_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void metrics_buf_free(struct metrics_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void metrics_buf_append(struct metrics_buf *b, const char *p, size_t n)
{
    if (b->truncated)
        return;
    if (n > b->max || b->len > b->max - n) {
        b->truncated = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : BUF_INITIAL_BYTES;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->truncated = true;
            return;
        }
        b->data = grown, b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof small)
        b->truncated = true; /* callers format short things only */
    else
        metrics_buf_append(b, small, (size_t)n);
}

/* Escapes backslash, newline and (in label values) the double quote. */
static void escape(struct metrics_buf *b, const char *v, bool quote)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t left = strlen(v);

    while (left) {
        size_t n = codec_utf8_seq_len(p, left);
        if (*p == '\\')
            metrics_buf_append(b, "\\\\", 2);
        else if (*p == '\n')
            metrics_buf_append(b, "\\n", 2);
        else if (*p == '"' && quote)
            metrics_buf_append(b, "\\\"", 2);
        else if (n == 0)
            metrics_buf_append(b, "?", 1), n = 1;
        else
            metrics_buf_append(b, (const char *)p, n);
        n = n ? n : 1;
        p += n, left -= n;
    }
}

void metrics_escape_label(struct metrics_buf *b, const char *v)
{
    escape(b, v ? v : "", true);
}

void metrics_format_value(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (v == (double)(int64_t)v && (v < 0 ? -v : v) < 9007199254740992.0) {
        snprintf(out, cap, "%" PRId64, (int64_t)v);
    } else {
        for (int prec = 6; prec <= 17; prec++) { /* shortest text that reads back as v */
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

void metrics_write_header(struct metrics_buf *b, const char *name, const char *help,
                          const char *type)
{
    metrics_buf_printf(b, "# HELP %.*s ", NAME_MAX_BYTES, name);
    escape(b, help ? help : "", false);
    metrics_buf_printf(b, "\n# TYPE %.*s %s\n", NAME_MAX_BYTES, name, type);
}

/* name SUFFIX {labels..., EXTRA="extra_value"} VALUE */
static void sample_line(struct metrics_buf *b, const char *name, const char *suffix,
                        const char *const *labels, const char *const *values, const char *extra,
                        const char *extra_value, double v)
{
    char num[40];
    bool any = false;

    metrics_buf_printf(b, "%.*s%s", NAME_MAX_BYTES, name, suffix);
    for (size_t i = 0; labels && labels[i]; i++) {
        metrics_buf_printf(b, "%s%s=\"", any ? "," : "{", labels[i]);
        metrics_escape_label(b, values ? values[i] : "");
        metrics_buf_append(b, "\"", 1);
        any = true;
    }
    if (extra) {
        metrics_buf_printf(b, "%s%s=\"%s\"", any ? "," : "{", extra, extra_value);
        any = true;
    }
    if (any)
        metrics_buf_append(b, "}", 1);
    metrics_format_value(v, num, sizeof num);
    metrics_buf_printf(b, " %s\n", num);
}

void metrics_write_sample(struct metrics_buf *b, const char *name, const char *const *labels,
                          const char *const *values, double v)
{
    sample_line(b, name, "", labels, values, NULL, NULL, v);
}

void metrics_write_histogram(struct metrics_buf *b, const char *name, const char *const *labels,
                             const char *const *values, const double *bounds, size_t nbounds,
                             const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    char le[40];

    for (size_t i = 0; i < nbounds; i++) {
        cum += counts[i];
        metrics_format_value(bounds[i], le, sizeof le);
        sample_line(b, name, "_bucket", labels, values, "le", le, (double)cum);
    }
    cum += counts[nbounds];
    sample_line(b, name, "_bucket", labels, values, "le", "+Inf", (double)cum);
    sample_line(b, name, "_sum", labels, values, NULL, NULL, sum);
    sample_line(b, name, "_count", labels, values, NULL, NULL, (double)cum);
}
