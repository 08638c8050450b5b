/*
 * log.c — structured JSON log lines; see log.h. Thread-safe: each line is
 * assembled in the caller's buffer and emitted with a single write(2).
 */
#include "log.h"
#include "err.h"
#include "codec.h"

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
    atomic_store(&min_level, (int)lvl);
}

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return HOOKD_ENOT_FOUND;
}

bool log_enabled(enum log_level lvl)
{
    return (int)lvl >= atomic_load(&min_level);
}

static void put(struct logline *l, const char *s, size_t n)
{
    /* Keep room for the closing "}\n" and a truncation marker. */
    const size_t reserve = 24;
    if (l->truncated || l->len + n + reserve > sizeof l->buf) {
        l->truncated = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

bool log_json_escape(char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    char tmp[8];

    for (size_t i = 0; i < n;) {
        const char *out = tmp;
        size_t outn, adv = 1;
        /* Most bytes need no escape: copy such a run at once. */
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            size_t room = *len + 1 < cap ? cap - 1 - *len : 0, k = run - i;
            memcpy(dst + *len, s + i, k < room ? k : room); /* the prefix that fits */
            *len += k < room ? k : room;
            if (k > room)
                return false;
            i = run;
            continue;
        }
        if (p[i] == '"' || p[i] == '\\') {
            tmp[0] = '\\', tmp[1] = (char)p[i], outn = 2;
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            outn = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", p[i]);
        } else if ((adv = codec_utf8_seq_len(p + i, n - i)) != 0) {
            out = s + i, outn = adv;
        } else {
            out = "\\ufffd", outn = 6, adv = 1;
        }
        if (*len + outn >= cap)
            return false;
        memcpy(dst + *len, out, outn);
        *len += outn;
        i += adv;
    }
    return true;
}

static void put_key(struct logline *l, const char *key)
{
    size_t klen = strlen(key);

    /* All or nothing, so a cut line never ends in a dangling key. */
    if (l->len + klen + 4 + 24 + 32 > sizeof l->buf) /* room for a number too */
        l->truncated = true;
    if (l->truncated)
        return;
    if (!l->first)
        put(l, ",", 1);
    l->first = false;
    put(l, "\"", 1);
    put(l, key, klen);
    put(l, "\":", 2);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" for ts into out (≥ 25 bytes): its length. The
 * part up to the seconds is formatted once per second per thread; gmtime_r
 * and strftime cost more than the rest of a request's log line. */
static size_t format_ts(const struct timespec *ts, char out[25])
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[24];
    static _Thread_local size_t cached_len;
    long ms = ts->tv_nsec / 1000000;

    if (ts->tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts->tv_sec, &tm);
        cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts->tv_sec;
    }
    memcpy(out, cached, cached_len);
    out[cached_len] = '.';
    out[cached_len + 1] = (char)('0' + ms / 100);
    out[cached_len + 2] = (char)('0' + ms / 10 % 10);
    out[cached_len + 3] = (char)('0' + ms % 10);
    out[cached_len + 4] = 'Z';
    return cached_len + 5;
}

bool log_begin(struct logline *l, enum log_level lvl, const char *event)
{
    struct timespec ts;
    char tbuf[40];

    if (!log_enabled(lvl))
        return false;
    l->len = 0;
    l->truncated = false;
    l->first = true;
    clock_gettime(CLOCK_REALTIME, &ts);
    put(l, "{", 1);
    log_strn(l, "ts", tbuf, format_ts(&ts, tbuf));
    log_str(l, "level", level_names[lvl]);
    log_str(l, "event", event);
    return true;
}

void log_strn(struct logline *l, const char *key, const char *val, size_t n)
{
    if (!val)
        return;
    put_key(l, key);
    put(l, "\"", 1);
    if (l->truncated)
        return;
    if (!log_json_escape(l->buf, sizeof l->buf - 24, &l->len, val, n)) {
        /* Keep the prefix that fit (escapes are never split), close the
         * string inside the reserve, and drop the rest of the line. */
        l->buf[l->len++] = '"';
        l->truncated = true;
        return;
    }
    put(l, "\"", 1);
}

void log_str(struct logline *l, const char *key, const char *val)
{
    if (val)
        log_strn(l, key, val, strlen(val));
}

void log_int(struct logline *l, const char *key, int64_t val)
{
    char b[24], *end = b + sizeof b;
    unsigned long long mag = val < 0 ? 0ULL - (unsigned long long)val : (unsigned long long)val;
    char *p = codec_dec_digits(end, mag);

    if (val < 0)
        *--p = '-';
    put_key(l, key);
    put(l, p, (size_t)(end - p));
}

#define LOG_DOUBLE_FAST_MAX 1e12 /* below it, "%.3f" by hand: exact in a long long */

void log_double(struct logline *l, const char *key, double val)
{
    char b[48], *end = b + sizeof b, *p;
    int n;

    put_key(l, key);
    if (!(val >= 0 && val < LOG_DOUBLE_FAST_MAX)) { /* negative, huge, NaN: printf's way */
        n = snprintf(b, sizeof b, "%.3f", val);
        put(l, b, (size_t)n);
        return;
    }
    unsigned long long thousandths = (unsigned long long)(val * 1000.0 + 0.5);
    p = codec_dec_digits(end, thousandths % 1000 + 1000); /* "1ddd": the leading 1 becomes '.' */
    *p = '.';
    p = codec_dec_digits(p, thousandths / 1000);
    put(l, p, (size_t)(end - p));
}

void log_bool(struct logline *l, const char *key, bool val)
{
    put_key(l, key);
    put(l, val ? "true" : "false", val ? 4 : 5);
}

void log_raw(struct logline *l, const char *key, const char *json, size_t n)
{
    put_key(l, key);
    put(l, json, n);
}

/* Appends into the reserve that put() always leaves free. */
static void put_tail(struct logline *l, const char *s, size_t n)
{
    if (l->len + n <= sizeof l->buf) {
        memcpy(l->buf + l->len, s, n);
        l->len += n;
    }
}

/* A thread's lines held between log_batch_begin and log_batch_end. */
#define BATCH_FILE_BYTES (64 * 1024)
static _Thread_local struct {
    char *buf;
    size_t len;
    bool on;
} batch;

/* Bytes one write(2) may carry without interleaving with other threads'
 * lines: any size for a regular file (the kernel serialises writes to one
 * open file), PIPE_BUF for a pipe or anything else. */
static size_t batch_limit(void)
{
    static atomic_size_t limit;
    size_t v = atomic_load(&limit);
    struct stat sb;

    if (!v) {
        v = fstat(STDERR_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) ? BATCH_FILE_BYTES : PIPE_BUF;
        atomic_store(&limit, v);
    }
    return v;
}

static void emit(const char *p, size_t n)
{
    ssize_t r = write(STDERR_FILENO, p, n);
    (void)r;
}

void log_batch_begin(void)
{
    if (!batch.buf)
        batch.buf = malloc(BATCH_FILE_BYTES);
    batch.on = batch.buf != NULL;
}

void log_batch_end(void)
{
    if (batch.len)
        emit(batch.buf, batch.len);
    batch.len = 0;
    batch.on = false;
}

void log_batch_release(void)
{
    log_batch_end();
    free(batch.buf);
    batch.buf = NULL;
}

void log_end(struct logline *l)
{
    if (l->truncated)
        put_tail(l, l->first ? "\"truncated\":true" : ",\"truncated\":true", l->first ? 16 : 17);
    put_tail(l, "}\n", 2);
    if (!batch.on) {
        emit(l->buf, l->len);
        return;
    }
    if (batch.len + l->len > batch_limit()) {
        emit(batch.buf, batch.len);
        batch.len = 0;
    }
    memcpy(batch.buf + batch.len, l->buf, l->len); /* a line <= LOG_LINE_MAX <= PIPE_BUF */
    batch.len += l->len;
}

void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
    struct logline l;
    char msg[1024];
    va_list ap;

    if (!log_begin(&l, lvl, event))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_str(&l, "msg", msg);
    log_end(&l);
}
