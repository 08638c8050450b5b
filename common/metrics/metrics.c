/*
 * metrics.c — the Prometheus registry and exposition writer; see metrics.h.
 *
 * Concurrency: a family's series table is an array of atomic pointers,
 * filled once per slot (release store, under the family mutex) and never
 * emptied until metrics_free(); readers probe it with acquire loads and no
 * lock. Values are relaxed atomics: a scrape may see one observation's
 * bucket before its sum, which Prometheus tolerates. The registry mutex
 * guards only the family list (registration and rendering).
 */
#include "metrics.h"
#include "err.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SIZE (2 * METRICS_MAX_SERIES) /* a power of two, load <= 1/2 */

struct metrics_series {
    const struct metrics_family *fam;
    const char *values[METRICS_MAX_LABELS]; /* into the same allocation */
    size_t lens[METRICS_MAX_LABELS];
    _Atomic uint64_t count;    /* a counter's value */
    _Atomic uint64_t sum_bits; /* a histogram's sum, as the bits of a double */
    _Atomic uint64_t buckets[]; /* a histogram's nbounds + 1 counts */
};

struct metrics_family {
    char *name, *help; /* owned */
    bool histogram;
    char *labels[METRICS_MAX_LABELS]; /* owned */
    size_t nlabels;
    double bounds[METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct metrics *reg;
    pthread_mutex_t lock; /* serialises insertions */
    size_t nseries;       /* under lock */
    _Atomic(struct metrics_series *) table[TABLE_SIZE];
    struct metrics_family *next;
};

struct metrics {
    pthread_mutex_t lock; /* the family list */
    struct metrics_family *first, *last;
    struct metrics_family *dropped; /* hookd_metrics_series_dropped_total */
};

/* ---- names ---- */

bool metrics_valid_name(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return false;
    return true;
}

static bool valid_label_name(const char *s, bool histogram)
{
    if (!metrics_valid_name(s) || strchr(s, ':') || strncmp(s, "__", 2) == 0)
        return false;
    return !(histogram && strcmp(s, "le") == 0);
}

/* ---- registry ---- */

static void family_free(struct metrics_family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < TABLE_SIZE; i++)
        free(atomic_load_explicit(&f->table[i], memory_order_relaxed));
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    pthread_mutex_destroy(&f->lock);
    free(f->name);
    free(f->help);
    free(f);
}

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->dropped = metrics_counter(m, "hookd_metrics_series_dropped_total",
                                 "Label combinations not recorded because their family was full.",
                                 NULL);
    if (!m->dropped) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (struct metrics_family *f = m->first, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static bool family_labels(struct metrics_family *f, const char *const *labels)
{
    for (size_t i = 0; labels && labels[i]; i++) {
        if (i == METRICS_MAX_LABELS || !valid_label_name(labels[i], f->histogram))
            return false;
        for (size_t k = 0; k < i; k++)
            if (strcmp(labels[k], labels[i]) == 0)
                return false;
        if (!(f->labels[i] = strdup(labels[i])))
            return false;
        f->nlabels = i + 1;
    }
    return true;
}

static bool family_bounds(struct metrics_family *f, const double *bounds, size_t n)
{
    if (!f->histogram)
        return true;
    if (n == 0 || n > METRICS_MAX_BUCKETS)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (isnan(bounds[i]) || isinf(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return false;
        f->bounds[i] = bounds[i];
    }
    f->nbounds = n;
    return true;
}

static struct metrics_family *family_add(struct metrics *m, const char *name, const char *help,
                                         const char *const *labels, bool histogram,
                                         const double *bounds, size_t nbounds)
{
    struct metrics_family *f = calloc(1, sizeof *f);
    bool ok = f && m && metrics_valid_name(name);

    if (!ok)
        goto fail;
    f->histogram = histogram;
    f->reg = m;
    pthread_mutex_init(&f->lock, NULL);
    if (!(f->name = strdup(name)) || !(f->help = strdup(help ? help : "")) ||
        !family_labels(f, labels) || !family_bounds(f, bounds, nbounds))
        goto fail;
    pthread_mutex_lock(&m->lock);
    for (struct metrics_family *g = m->first; g; g = g->next)
        ok = ok && strcmp(g->name, name) != 0;
    if (ok) {
        if (m->last)
            m->last->next = f;
        else
            m->first = f;
        m->last = f;
    }
    pthread_mutex_unlock(&m->lock);
    if (ok)
        return f;
fail:
    if (f && !f->reg)
        free(f);
    else
        family_free(f);
    return NULL;
}

struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *const *labels)
{
    struct metrics_family *f = family_add(m, name, help, labels, false, NULL, 0);

    /* A counter without labels has one series: show its 0 from the start,
     * so that rate() and alerts see it before the first increment. */
    if (f && (!labels || !labels[0]))
        metrics_series(f, NULL);
    return f;
}

struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *const *labels, const double *bounds,
                                         size_t nbounds)
{
    return family_add(m, name, help, labels, true, bounds, nbounds);
}

/* ---- series ---- */

static size_t value_len(const char *v)
{
    size_t n = v ? strnlen(v, METRICS_LABEL_VALUE_MAX) : 0;
    return n;
}

static uint64_t hash_values(const struct metrics_family *f, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = value_len(values[i]);
        for (size_t k = 0; k < n; k++)
            h = (h ^ (unsigned char)values[i][k]) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("ab","") != ("a","b") */
    }
    return h;
}

static bool series_matches(const struct metrics_family *f, const struct metrics_series *s,
                           const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++) {
        size_t n = value_len(values[i]);
        if (s->lens[i] != n || (n && memcmp(s->values[i], values[i], n) != 0))
            return false;
    }
    return true;
}

/* The slot holding VALUES' series, or the empty slot where it would go;
 * HOOKD_ETOO_LARGE if the table is full of other series. */
static long probe(struct metrics_family *f, uint64_t h, const char *const *values,
                  struct metrics_series **found)
{
    for (size_t k = 0, i = h & (TABLE_SIZE - 1); k < TABLE_SIZE; k++, i = (i + 1) & (TABLE_SIZE - 1)) {
        struct metrics_series *s = atomic_load_explicit(&f->table[i], memory_order_acquire);
        if (!s || series_matches(f, s, values)) {
            *found = s;
            return (long)i;
        }
    }
    *found = NULL;
    return HOOKD_ETOO_LARGE;
}

static struct metrics_series *series_new(const struct metrics_family *f, const char *const *values)
{
    size_t nb = f->histogram ? f->nbounds + 1 : 0, text = 0;
    size_t head = sizeof(struct metrics_series) + nb * sizeof(_Atomic uint64_t);
    struct metrics_series *s;
    char *p;

    for (size_t i = 0; i < f->nlabels; i++)
        text += value_len(values[i]) + 1;
    if (!(s = calloc(1, head + text)))
        return NULL;
    s->fam = f;
    p = (char *)s + head;
    for (size_t i = 0; i < f->nlabels; i++) {
        s->lens[i] = value_len(values[i]);
        if (s->lens[i])
            memcpy(p, values[i], s->lens[i]);
        p[s->lens[i]] = '\0';
        s->values[i] = p;
        p += s->lens[i] + 1;
    }
    return s;
}

struct metrics_series *metrics_series(struct metrics_family *f, const char *const *values)
{
    static const char *const none[METRICS_MAX_LABELS] = {0};
    struct metrics_series *s;
    uint64_t h;
    long slot;

    if (!f)
        return NULL;
    values = values ? values : none;
    h = hash_values(f, values);
    if (probe(f, h, values, &s) >= 0 && s)
        return s; /* the common case: no lock */
    pthread_mutex_lock(&f->lock);
    slot = probe(f, h, values, &s);
    if (slot >= 0 && !s && f->nseries < METRICS_MAX_SERIES && (s = series_new(f, values))) {
        atomic_store_explicit(&f->table[slot], s, memory_order_release);
        f->nseries++;
    }
    pthread_mutex_unlock(&f->lock);
    if (!s && f != f->reg->dropped)
        metrics_inc(f->reg->dropped, NULL, 1);
    return s;
}

void metrics_series_add(struct metrics_series *s, uint64_t n)
{
    if (s && !s->fam->histogram)
        atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

static void add_double(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed), neu;
    double d;

    do {
        memcpy(&d, &old, sizeof d);
        d += v;
        memcpy(&neu, &d, sizeof neu);
    } while (!atomic_compare_exchange_weak_explicit(bits, &old, neu, memory_order_relaxed,
                                                    memory_order_relaxed));
}

size_t metrics_bucket_index(const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && !(v <= bounds[i]))
        i++;
    return i;
}

void metrics_series_observe(struct metrics_series *s, double v)
{
    if (!s || !s->fam->histogram || isnan(v))
        return;
    atomic_fetch_add_explicit(&s->buckets[metrics_bucket_index(s->fam->bounds, s->fam->nbounds, v)],
                              1, memory_order_relaxed);
    add_double(&s->sum_bits, v);
}

void metrics_inc(struct metrics_family *f, const char *const *values, uint64_t n)
{
    if (f && !f->histogram)
        metrics_series_add(metrics_series(f, values), n);
}

void metrics_observe(struct metrics_family *f, const char *const *values, double v)
{
    if (f && f->histogram)
        metrics_series_observe(metrics_series(f, values), v);
}

static uint64_t series_total(const struct metrics_family *f, struct metrics_series *s)
{
    uint64_t n = 0;

    if (!f->histogram)
        return atomic_load_explicit(&s->count, memory_order_relaxed);
    for (size_t i = 0; i <= f->nbounds; i++)
        n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return n;
}

void metrics_foreach(struct metrics_family *f,
                     void (*fn)(void *arg, const char *const *values, uint64_t value), void *arg)
{
    for (size_t i = 0; f && i < TABLE_SIZE; i++) {
        struct metrics_series *s = atomic_load_explicit(&f->table[i], memory_order_acquire);
        if (s)
            fn(arg, s->values, series_total(f, s));
    }
}

/* ---- rendering ---- */

static const struct metrics_family *sort_family; /* qsort has no context argument */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int series_cmp(const void *a, const void *b)
{
    const struct metrics_series *x = *(const struct metrics_series *const *)a;
    const struct metrics_series *y = *(const struct metrics_series *const *)b;

    for (size_t i = 0; i < sort_family->nlabels; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

/* The family's series, sorted by label values: a stable, diffable page. */
static size_t family_snapshot(struct metrics_family *f, struct metrics_series **out)
{
    size_t n = 0;

    for (size_t i = 0; i < TABLE_SIZE && n < METRICS_MAX_SERIES; i++) {
        struct metrics_series *s = atomic_load_explicit(&f->table[i], memory_order_acquire);
        if (s)
            out[n++] = s;
    }
    pthread_mutex_lock(&sort_lock);
    sort_family = f;
    qsort(out, n, sizeof *out, series_cmp);
    pthread_mutex_unlock(&sort_lock);
    return n;
}

static void render_family(struct metrics_family *f, struct metrics_series **tmp,
                          struct metrics_buf *out)
{
    const char *labels[METRICS_MAX_LABELS + 1] = {0};
    uint64_t counts[METRICS_MAX_BUCKETS + 1];
    size_t n = family_snapshot(f, tmp);

    for (size_t i = 0; i < f->nlabels; i++)
        labels[i] = f->labels[i];
    metrics_write_header(out, f->name, f->help, f->histogram ? "histogram" : "counter");
    for (size_t k = 0; k < n; k++) {
        struct metrics_series *s = tmp[k];
        if (!f->histogram) {
            metrics_write_sample(out, f->name, labels, s->values,
                                 (double)atomic_load_explicit(&s->count, memory_order_relaxed));
            continue;
        }
        uint64_t bits = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
        double sum;
        memcpy(&sum, &bits, sizeof sum);
        for (size_t i = 0; i <= f->nbounds; i++)
            counts[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        metrics_write_histogram(out, f->name, labels, s->values, f->bounds, f->nbounds, counts, sum);
    }
}

void metrics_render(struct metrics *m, struct metrics_buf *out)
{
    struct metrics_series **tmp = m ? malloc(METRICS_MAX_SERIES * sizeof *tmp) : NULL;

    if (!m)
        return;
    if (!tmp) {
        out->truncated = true;
        return;
    }
    pthread_mutex_lock(&m->lock);
    for (struct metrics_family *f = m->first; f; f = f->next)
        render_family(f, tmp, out);
    pthread_mutex_unlock(&m->lock);
    free(tmp);
}
