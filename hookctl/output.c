/*
 * output.c — hookctl's small shared helpers: option values, time
 * arguments, time and duration formatting, terminal-safe text and aligned
 * tables. See ctl.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "err.h"

#define TABLE_MAX_ROWS 1000000
#define MAX_EPOCH_S 253402300799LL /* 9999-12-31T23:59:59Z */

int ctl_opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        ctl_err("%s needs a value", name);
        return HOOKD_EPARSE;
    }
    *value = argv[++*i];
    return 1;
}

int64_t ctl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ctl_parse_count(const char *s)
{
    char *end;
    long long v;

    if (!s || *s < '0' || *s > '9')
        return HOOKD_EPARSE;
    v = strtoll(s, &end, 10);
    return *end || v < 0 ? HOOKD_EPARSE : (int64_t)v;
}

/* "+HH:MM" / "-HH:MM" / "Z" after an RFC 3339 time: seconds east of UTC. */
static int parse_offset(const char *p, long *off)
{
    int hh, mm, used = 0;

    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *off = 0;
        return 0;
    }
    if ((p[0] != '+' && p[0] != '-') || sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 ||
        p[1 + used] != '\0' || hh > 23 || mm > 59)
        return HOOKD_EPARSE;
    *off = (p[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

static int64_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    long off;
    const char *p;

    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 || used == 0)
        return HOOKD_EPARSE;
    p = s + used;
    if (*p == '.') /* fractions of a second: accepted, dropped */
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (parse_offset(p, &off) < 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return HOOKD_EPARSE;
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    return ((int64_t)timegm(&tm) - off) * 1000;
}

int64_t ctl_parse_time(const char *s, int64_t now_ms)
{
    size_t n = s ? strlen(s) : 0, digits = strspn(s ? s : "", "0123456789");
    int64_t ms;

    if (n == 0)
        return HOOKD_EPARSE;
    if (digits == n) { /* epoch seconds */
        int64_t secs = ctl_parse_count(s);
        return secs < 0 || secs > MAX_EPOCH_S ? HOOKD_EPARSE : secs * 1000;
    }
    if (digits == 4 && s[4] == '-' && n == 10) { /* a date alone: its midnight, UTC */
        char full[32];
        snprintf(full, sizeof full, "%sT00:00:00Z", s);
        return parse_rfc3339(full);
    }
    if (digits == 4 && s[4] == '-')
        return parse_rfc3339(s);
    if (digits == 0 || (ms = config_parse_duration_ms(s, n)) < 0)
        return HOOKD_EPARSE;
    return now_ms - ms;
}

void ctl_format_time(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];

    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "-");
        return;
    }
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", base, (int)(ms % 1000));
}

void ctl_format_duration(int64_t ms, char *buf, size_t cap)
{
    int64_t s = ms / 1000;

    if (ms < 1000)
        snprintf(buf, cap, "%lldms", (long long)ms);
    else if (s < 60)
        snprintf(buf, cap, "%.1fs", (double)ms / 1000.0);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(buf, cap, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(buf, cap, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

void ctl_printable(const char *p, size_t n, char *buf, size_t cap)
{
    size_t k = 0;

    if (cap == 0)
        return;
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
        n--; /* a handler's message usually ends in a newline */
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        buf[k++] = ch == '\n' || ch == '\t' ? ' ' : ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[k] = '\0';
    if (k < n && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

/* ---- tables ---- */

static char *dup_or_dash(const char *s)
{
    char *d = strdup(s && *s ? s : "-");
    if (!d) {
        ctl_err("out of memory");
        exit(CTL_PROBLEM);
    }
    return d;
}

void ctl_table_init(struct ctl_table *t, const char *const *headers)
{
    const char *h[CTL_TABLE_MAX_COLS];

    memset(t, 0, sizeof *t);
    for (; headers[t->ncols] && t->ncols < CTL_TABLE_MAX_COLS; t->ncols++) {
        t->right[t->ncols] = headers[t->ncols][0] == '>';
        h[t->ncols] = headers[t->ncols] + t->right[t->ncols];
    }
    ctl_table_row(t, h);
}

void ctl_table_row(struct ctl_table *t, const char *const *values)
{
    if (t->nrows >= TABLE_MAX_ROWS)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **v = realloc(t->cells, cap * t->ncols * sizeof *v);
        if (!v) {
            ctl_err("out of memory");
            exit(CTL_PROBLEM);
        }
        t->cells = v, t->cap = cap;
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = dup_or_dash(values[c]);
    t->nrows++;
}

void ctl_table_print(struct ctl_table *t)
{
    size_t width[CTL_TABLE_MAX_COLS] = {0};

    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = strlen(t->cells[r * t->ncols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            bool last = c + 1 == t->ncols;
            if (t->right[c])
                printf("%*s%s", (int)width[c], cell, last ? "" : "  ");
            else
                printf("%-*s%s", last ? 0 : (int)width[c], cell, last ? "" : "  ");
            free(t->cells[r * t->ncols + c]);
        }
        putchar('\n');
    }
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void ctl_table_free(struct ctl_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

char *ctl_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 1 >= cap) {
            char *b = cap <= max ? realloc(buf, cap ? cap * 2 : 8192) : NULL;
            if (!b)
                goto fail;
            buf = b, cap = cap ? cap * 2 : 8192;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max)
            goto fail;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}
