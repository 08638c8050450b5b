/*
 * log.h — one JSON object per line on stderr.
 *
 * A line is built in a caller-owned struct logline (fixed buffer, never
 * overflows: a line that would is cut and marked "truncated":true) and
 * written with one write(2), so lines from threads never interleave.
 * Test log_enabled() before building anything costly.
 *
 *   struct logline l;
 *   if (log_begin(&l, LOG_INFO, EV_REQUEST)) {
 *       log_str(&l, "source", src);
 *       log_end(&l);
 *   }
 *
 * Keys in use: ts, level, event, request_id, source, event_id, type, route,
 * status, outcome, sig_version, latency_ms, traceparent, attempt, ...
 * Secrets never reach a log line: callers pass none.
 */
#ifndef HOOKD_LOG_H
#define HOOKD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

#define LOG_LINE_MAX 4096

/* Event names: one constant each, so a grep finds every producer. */
#define EV_START "start"
#define EV_STOP "stop"
#define EV_RELOAD "config_reload"
#define EV_RELOAD_FAILED "config_reload_failed"
#define EV_REQUEST "request"
#define EV_SIG_REJECTED "signature_rejected"
#define EV_REDIS_DOWN "redis_unavailable"
#define EV_REDIS_UP "redis_available"
#define EV_REDIS_NOT_DURABLE "redis_not_durable" /* AOF off (or not known) */
#define EV_REDIS_DURABLE "redis_durable"
#define EV_ATTEMPT "attempt"
#define EV_ERROR "error"

struct logline {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
    bool first;
};

void log_set_level(enum log_level lvl);
/* "debug", "info", "warn", "error"; HOOKD_ENOT_FOUND if unknown. */
int log_level_parse(const char *name);
bool log_enabled(enum log_level lvl);

/* Starts a line with ts, level and event; returns false if the level is off. */
bool log_begin(struct logline *l, enum log_level lvl, const char *event);
void log_str(struct logline *l, const char *key, const char *val); /* NULL val: omitted */
void log_strn(struct logline *l, const char *key, const char *val, size_t n);
void log_int(struct logline *l, const char *key, int64_t val);
void log_double(struct logline *l, const char *key, double val);
void log_bool(struct logline *l, const char *key, bool val);
/* Appends an already-encoded JSON value (object/array) verbatim. */
void log_raw(struct logline *l, const char *key, const char *json, size_t n);
void log_end(struct logline *l);

/* Between these two calls the calling thread's lines are gathered and
 * written together (as few write(2)s as keep lines from interleaving) at
 * log_batch_end, not one write per line. For a loop that finishes many
 * requests at once; call log_batch_end before answering any of them. */
void log_batch_begin(void);
void log_batch_end(void);
/* Frees the calling thread's batch buffer; call before a batching thread
 * exits (thread-local storage is not freed for us). */
void log_batch_release(void);

/* One-liner for messages without structured fields. */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends s as a JSON string body (no quotes) into dst[cap] at *len,
 * escaping control chars, quotes, backslashes and invalid UTF-8 (as \ufffd).
 * Returns false if it did not fit (dst then holds a prefix). */
bool log_json_escape(char *dst, size_t cap, size_t *len, const char *s, size_t n);

#endif
