/*
 * metrics.h — a small thread-safe Prometheus registry and the text
 * exposition format (version 0.0.4).
 *
 * A registry holds families (one metric name each: a counter or a
 * histogram with a fixed list of label names); a family holds series (one
 * per combination of label values), created on first use. The hot path —
 * find a series, add to it — takes no lock: series live in an open-addressed
 * table of atomic pointers that only grows by insertion (under the family's
 * mutex), and values are relaxed atomics. Rendering reads the same atomics,
 * so a scrape never blocks a request.
 *
 * Histograms keep non-cumulative bucket counts and cumulate them when
 * rendered; _count is the sum of the buckets, so the +Inf bucket always
 * equals _count even while observations arrive.
 *
 * Label values must come from a bounded set (config names, static outcome
 * words): never pass bytes from a request. A family accepts at most
 * METRICS_MAX_SERIES series; past that, new combinations are dropped (and
 * counted in hookd_metrics_series_dropped_total).
 *
 * Ownership: the registry owns its families and series; the pointers it
 * returns are borrowed and live until metrics_free().
 */
#ifndef HOOKD_METRICS_H
#define HOOKD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_SERIES 1024
#define METRICS_MAX_BUCKETS 24
#define METRICS_LABEL_VALUE_MAX 256 /* bytes; longer values are cut */

struct metrics;
struct metrics_family;
struct metrics_series;

/* A new, empty registry; NULL when out of memory. */
struct metrics *metrics_new(void);
/* Frees the registry and everything in it; NULL does nothing. */
void metrics_free(struct metrics *m);

/*
 * Registers a family. LABELS is a NULL-terminated list of at most
 * METRICS_MAX_LABELS names (NULL: none). BOUNDS are a histogram's upper
 * bounds, strictly increasing, without +Inf. Returns NULL (a programming
 * error) for an invalid or already registered name, invalid label names
 * ("le" on a histogram, a "__" prefix), bad bounds, or no memory. A
 * counter without labels renders its 0 before the first increment.
 */
struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *const *labels);
struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *const *labels, const double *bounds,
                                         size_t nbounds);

/* The series for VALUES (one per label name), created on first use; NULL
 * when the family is full or out of memory. Lock-free when it exists. */
struct metrics_series *metrics_series(struct metrics_family *f, const char *const *values);

void metrics_series_add(struct metrics_series *s, uint64_t n);     /* counters; NULL: no-op */
void metrics_series_observe(struct metrics_series *s, double v);   /* histograms; NULL: no-op */

/* Shorthands: look up (or create) and record. */
void metrics_inc(struct metrics_family *f, const char *const *values, uint64_t n);
void metrics_observe(struct metrics_family *f, const char *const *values, double v);

/* Calls FN for each series of a counter family with its label values and
 * value (histograms: the observation count), in no particular order. */
void metrics_foreach(struct metrics_family *f,
                     void (*fn)(void *arg, const char *const *values, uint64_t value), void *arg);

/* ---- exposition text ---- */

/* A growable text buffer that never holds more than max bytes; appends
 * past that are dropped and set truncated. Zero-initialise, then _init. */
struct metrics_buf {
    char *data; /* owned, NUL-terminated once anything was written */
    size_t len, cap, max;
    bool truncated; /* an append did not fit (or memory ran out) */
};

void metrics_buf_init(struct metrics_buf *b, size_t max);
void metrics_buf_free(struct metrics_buf *b);
void metrics_buf_append(struct metrics_buf *b, const char *p, size_t n);
void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Every family of the registry, in registration order. */
void metrics_render(struct metrics *m, struct metrics_buf *out);

/* For values computed at scrape time (e.g. read from Redis): the # HELP and
 * # TYPE lines of a family, then its samples. TYPE: "counter", "gauge",
 * "histogram". LABELS/VALUES: NULL-terminated / one per label, or NULL. */
void metrics_write_header(struct metrics_buf *b, const char *name, const char *help,
                          const char *type);
void metrics_write_sample(struct metrics_buf *b, const char *name, const char *const *labels,
                          const char *const *values, double v);
/* A histogram's _bucket/_sum/_count lines from non-cumulative COUNTS
 * (nbounds + 1 of them, the last for +Inf). */
void metrics_write_histogram(struct metrics_buf *b, const char *name, const char *const *labels,
                             const char *const *values, const double *bounds, size_t nbounds,
                             const uint64_t *counts, double sum);

/* Escapes a label value (\\, \", \n; invalid UTF-8 bytes become '?'). */
void metrics_escape_label(struct metrics_buf *b, const char *v);
/* Formats a sample value: integers exactly, others shortest round-trip,
 * "+Inf", "-Inf", "NaN". cap >= 32. */
void metrics_format_value(double v, char *out, size_t cap);
/* The index of the bucket V falls in: the first bound >= V, else nbounds. */
size_t metrics_bucket_index(const double *bounds, size_t nbounds, double v);
/* True if NAME is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
bool metrics_valid_name(const char *name);

#endif
