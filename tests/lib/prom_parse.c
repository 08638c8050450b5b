/*
 * prom_parse.c — see prom_parse.h. A line-at-a-time recursive-descent
 * reader; family-level rules (contiguity, histogram shape) are checked when
 * a family ends.
 */
#include "prom_parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 200
#define MAX_FAMILIES 512
#define MAX_HIST_SERIES 512
#define KEY_MAX 2048

struct hist_series {
    char key[KEY_MAX]; /* labels without le */
    double last_le, last_cum, inf, count;
    bool any_bucket, has_inf, has_sum, has_count;
};

struct parser {
    const char *p, *end;
    int line;
    char *err;
    size_t errlen;
    struct prom_doc *doc;
    char family[NAME_MAX_LEN + 1]; /* whose samples are being read */
    char done[MAX_FAMILIES][NAME_MAX_LEN + 1]; /* families whose samples ended */
    size_t ndone;
    char helped[MAX_FAMILIES][NAME_MAX_LEN + 1];
    size_t nhelped;
    struct hist_series *hist; /* MAX_HIST_SERIES */
    size_t nhist;
};

static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "line %d: %s", ps->line, msg);
    return -1;
}

static bool name_char(char c, bool first, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* Reads a metric name (colon) or label name into out. */
static int read_name(struct parser *ps, char *out, bool colon)
{
    size_t n = 0;

    while (ps->p < ps->end && name_char(*ps->p, n == 0, colon)) {
        if (n == NAME_MAX_LEN)
            return fail(ps, "name too long");
        out[n++] = *ps->p++;
    }
    out[n] = '\0';
    return n ? 0 : fail(ps, "expected a name");
}

/* Reads up to the end of the line, undoing escapes; QUOTED: stop at '"'. */
static int read_escaped(struct parser *ps, char **out, bool quoted)
{
    size_t cap = 64, n = 0;
    char *s = malloc(cap);

    while (s && ps->p < ps->end && *ps->p != '\n' && !(quoted && *ps->p == '"')) {
        char c = *ps->p++;
        if (c == '\\') {
            char e = ps->p < ps->end ? *ps->p++ : '\0';
            c = e == '\\' ? '\\' : e == 'n' ? '\n' : (quoted && e == '"') ? '"' : '\0';
            if (!c) {
                free(s);
                return fail(ps, "invalid escape \\%c", e);
            }
        }
        if (n + 2 > cap) {
            char *g = realloc(s, cap *= 2);
            if (!g)
                break;
            s = g;
        }
        s[n++] = c;
    }
    if (!s)
        return fail(ps, "out of memory");
    s[n] = '\0';
    *out = s;
    return 0;
}

static int read_value(struct parser *ps, double *v)
{
    const char *start = ps->p;
    char text[64];
    size_t n;
    char *end;

    while (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\n')
        ps->p++;
    n = (size_t)(ps->p - start);
    if (n == 0 || n >= sizeof text)
        return fail(ps, "expected a value");
    memcpy(text, start, n);
    text[n] = '\0';
    if (!strcmp(text, "NaN") || !strcmp(text, "+Inf") || !strcmp(text, "-Inf")) {
        *v = text[0] == 'N' ? NAN : text[0] == '+' ? INFINITY : -INFINITY;
        return 0;
    }
    if (strspn(text, "0123456789.eE+-") != n)
        return fail(ps, "bad value \"%s\"", text);
    *v = strtod(text, &end);
    return *end ? fail(ps, "bad value \"%s\"", text) : 0;
}

static const char *family_type(const struct prom_doc *d, const char *fam)
{
    return prom_type(d, fam);
}

static bool in_list(char list[][NAME_MAX_LEN + 1], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], name))
            return true;
    return false;
}

static int comment_line(struct parser *ps)
{
    char name[NAME_MAX_LEN + 1], *text = NULL;
    bool help;

    if (ps->end - ps->p >= 7 && !memcmp(ps->p, "# HELP ", 7))
        help = true;
    else if (ps->end - ps->p >= 7 && !memcmp(ps->p, "# TYPE ", 7))
        help = false;
    else
        return fail(ps, "a comment other than HELP or TYPE");
    ps->p += 7;
    if (read_name(ps, name, true) < 0)
        return -1;
    if (ps->p >= ps->end || *ps->p != ' ')
        return fail(ps, "expected a space after %s", name);
    ps->p++;
    if (read_escaped(ps, &text, false) < 0)
        return -1;
    if (help) {
        bool dup = in_list(ps->helped, ps->nhelped, name) || ps->nhelped == MAX_FAMILIES;
        if (!dup)
            memcpy(ps->helped[ps->nhelped++], name, strlen(name) + 1);
        free(text);
        return dup ? fail(ps, "second HELP for %s", name) : 0;
    }
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped", NULL};
    bool known = false;
    for (size_t i = 0; types[i]; i++)
        known |= !strcmp(types[i], text);
    if (!known || family_type(ps->doc, name) || in_list(ps->done, ps->ndone, name) ||
        !strcmp(ps->family, name)) {
        free(text);
        return fail(ps, "bad or repeated TYPE for %s", name);
    }
    char **g = realloc(ps->doc->types, (ps->doc->ntypes + 1) * sizeof *g);
    size_t need = strlen(name) + strlen(text) + 2;
    if (!g || !(g[ps->doc->ntypes] = malloc(need))) {
        free(text);
        if (g)
            ps->doc->types = g;
        return fail(ps, "out of memory");
    }
    snprintf(g[ps->doc->ntypes], need, "%s %s", name, text);
    ps->doc->types = g;
    ps->doc->ntypes++;
    free(text);
    return 0;
}

static int read_labels(struct parser *ps, struct prom_sample *s)
{
    ps->p++; /* '{' */
    while (ps->p < ps->end && *ps->p != '}') {
        char name[NAME_MAX_LEN + 1];
        if (read_name(ps, name, false) < 0)
            return -1;
        if (ps->end - ps->p < 2 || ps->p[0] != '=' || ps->p[1] != '"')
            return fail(ps, "expected =\" after label %s", name);
        ps->p += 2;
        for (size_t i = 0; i < s->nlabels; i++)
            if (!strcmp(s->labels[i].name, name))
                return fail(ps, "label %s repeated", name);
        struct prom_label *g = realloc(s->labels, (s->nlabels + 1) * sizeof *g);
        if (!g)
            return fail(ps, "out of memory");
        s->labels = g;
        if (!(g[s->nlabels].name = strdup(name)))
            return fail(ps, "out of memory");
        if (read_escaped(ps, &g[s->nlabels].value, true) < 0) {
            free(g[s->nlabels].name);
            return -1;
        }
        s->nlabels++;
        if (ps->p >= ps->end || *ps->p != '"')
            return fail(ps, "unterminated label value");
        ps->p++;
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++;
        else if (ps->p < ps->end && *ps->p != '}')
            return fail(ps, "expected , or } after label %s", name);
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated label set");
    ps->p++;
    return 0;
}

/* "k=v\1k=v..." of the labels in name order, leaving out SKIP. */
static void label_key(const struct prom_sample *s, const char *skip, char *out, size_t cap)
{
    size_t len = 0;
    const char *last = "";

    out[0] = '\0';
    for (size_t k = 0; k < s->nlabels; k++) { /* selection by name: few labels */
        const struct prom_label *next = NULL;
        for (size_t i = 0; i < s->nlabels; i++)
            if (strcmp(s->labels[i].name, last) > 0 && (!next || strcmp(s->labels[i].name, next->name) < 0))
                next = &s->labels[i];
        if (!next)
            break;
        last = next->name;
        if (skip && !strcmp(next->name, skip))
            continue;
        int n = snprintf(out + len, cap - len, "%s=%s\1", next->name, next->value);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}

static const char *label_value(const struct prom_sample *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name))
            return s->labels[i].value;
    return NULL;
}

/* The family a sample belongs to and what part of it: "" exact, or a
 * histogram suffix. */
static int resolve(struct parser *ps, const char *name, char *fam, const char **part)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    const char *t = family_type(ps->doc, name);

    *part = "";
    if (t && strcmp(t, "histogram") && strcmp(t, "summary")) {
        memcpy(fam, name, strlen(name) + 1);
        return 0;
    }
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        if (n > k && !strcmp(name + n - k, sfx[i])) {
            memcpy(fam, name, n - k);
            fam[n - k] = '\0';
            t = family_type(ps->doc, fam);
            if (t && !strcmp(t, "histogram")) {
                *part = sfx[i];
                return 0;
            }
        }
    }
    return fail(ps, "sample %s has no TYPE line before it", name);
}

static struct hist_series *hist_get(struct parser *ps, const char *key)
{
    for (size_t i = 0; i < ps->nhist; i++)
        if (!strcmp(ps->hist[i].key, key))
            return &ps->hist[i];
    if (ps->nhist == MAX_HIST_SERIES)
        return NULL;
    struct hist_series *h = &ps->hist[ps->nhist++];
    memset(h, 0, sizeof *h);
    snprintf(h->key, sizeof h->key, "%s", key);
    return h;
}

static int hist_sample(struct parser *ps, const struct prom_sample *s, const char *part)
{
    char key[KEY_MAX];
    const char *le = label_value(s, "le");
    struct hist_series *h;

    label_key(s, "le", key, sizeof key);
    if (!(h = hist_get(ps, key)))
        return fail(ps, "too many histogram series");
    if (strcmp(part, "_bucket") != 0) {
        if (le)
            return fail(ps, "le label on %s", s->name);
        if (!strcmp(part, "_sum"))
            h->has_sum = true;
        else
            h->has_count = true, h->count = s->value;
        return 0;
    }
    if (!le)
        return fail(ps, "bucket without le");
    double b = !strcmp(le, "+Inf") ? INFINITY : strtod(le, NULL);
    if (h->has_inf || (h->any_bucket && !(b > h->last_le)))
        return fail(ps, "le=\"%s\" not increasing", le);
    if (h->any_bucket && s->value < h->last_cum)
        return fail(ps, "bucket le=\"%s\" count decreases", le);
    h->any_bucket = true, h->last_le = b, h->last_cum = s->value;
    if (isinf(b))
        h->has_inf = true, h->inf = s->value;
    return 0;
}

/* Family-level checks when the family's samples end. */
static int end_family(struct parser *ps)
{
    for (size_t i = 0; i < ps->nhist; i++) {
        struct hist_series *h = &ps->hist[i];
        if (!h->has_inf || !h->has_sum || !h->has_count)
            return fail(ps, "histogram %s{%s} lacks +Inf bucket, _sum or _count", ps->family, h->key);
        if (h->inf != h->count)
            return fail(ps, "histogram %s: +Inf bucket %g != _count %g", ps->family, h->inf, h->count);
    }
    ps->nhist = 0;
    if (ps->family[0] && ps->ndone < MAX_FAMILIES)
        memcpy(ps->done[ps->ndone++], ps->family, strlen(ps->family) + 1);
    ps->family[0] = '\0';
    return 0;
}

static bool same_series(const struct prom_sample *a, const struct prom_sample *b)
{
    char ka[KEY_MAX], kb[KEY_MAX];

    if (strcmp(a->name, b->name) || a->nlabels != b->nlabels)
        return false;
    label_key(a, NULL, ka, sizeof ka);
    label_key(b, NULL, kb, sizeof kb);
    return !strcmp(ka, kb);
}

static void sample_free(struct prom_sample *s)
{
    for (size_t i = 0; i < s->nlabels; i++)
        free(s->labels[i].name), free(s->labels[i].value);
    free(s->labels);
    free(s->name);
}

/* Checks a parsed sample against its family; the family may change here. */
static int place_sample(struct parser *ps, const struct prom_sample *s)
{
    char fam[NAME_MAX_LEN + 1];
    const char *part;

    if (resolve(ps, s->name, fam, &part) < 0)
        return -1;
    if (strcmp(fam, ps->family) != 0) {
        if (end_family(ps) < 0)
            return -1;
        if (in_list(ps->done, ps->ndone, fam))
            return fail(ps, "family %s continues after another family", fam);
        memcpy(ps->family, fam, strlen(fam) + 1);
    }
    for (size_t i = 0; i < ps->doc->n; i++)
        if (same_series(&ps->doc->samples[i], s))
            return fail(ps, "series %s repeated", s->name);
    if (!strcmp(prom_type(ps->doc, fam), "counter") && !(s->value >= 0))
        return fail(ps, "counter %s is negative or NaN", s->name);
    if (part[0])
        return hist_sample(ps, s, part);
    return 0;
}

static int sample_line(struct parser *ps)
{
    char name[NAME_MAX_LEN + 1];
    struct prom_sample s = {0};
    double ts;

    if (read_name(ps, name, true) < 0)
        return -1;
    if (!(s.name = strdup(name)))
        return fail(ps, "out of memory");
    if (ps->p < ps->end && *ps->p == '{' && read_labels(ps, &s) < 0)
        goto bad;
    if (ps->p >= ps->end || *ps->p != ' ') {
        fail(ps, "expected a space before the value of %s", name);
        goto bad;
    }
    ps->p++;
    if (read_value(ps, &s.value) < 0)
        goto bad;
    if (ps->p < ps->end && *ps->p == ' ') { /* optional timestamp: an integer */
        ps->p++;
        if (read_value(ps, &ts) < 0 || ts != (double)(long long)ts) {
            fail(ps, "bad timestamp");
            goto bad;
        }
    }
    if (place_sample(ps, &s) < 0)
        goto bad;
    if (ps->doc->n == ps->doc->cap) {
        size_t cap = ps->doc->cap ? 2 * ps->doc->cap : 64;
        struct prom_sample *g = realloc(ps->doc->samples, cap * sizeof *g);
        if (!g) {
            fail(ps, "out of memory");
            goto bad;
        }
        ps->doc->samples = g, ps->doc->cap = cap;
    }
    ps->doc->samples[ps->doc->n++] = s;
    return 0;
bad:
    sample_free(&s);
    return -1;
}

int prom_parse(const char *text, size_t len, struct prom_doc *doc, char *err, size_t errlen)
{
    struct parser *ps = calloc(1, sizeof *ps);
    int rc = -1;

    memset(doc, 0, sizeof *doc);
    snprintf(err, errlen, "out of memory");
    if (!ps || !(ps->hist = calloc(MAX_HIST_SERIES, sizeof *ps->hist)))
        goto out;
    ps->p = text, ps->end = text + len, ps->err = err, ps->errlen = errlen, ps->doc = doc;
    if (len == 0 || text[len - 1] != '\n') {
        fail(ps, "the text does not end with a newline");
        goto out;
    }
    for (ps->line = 1; ps->p < ps->end; ps->line++) {
        if (*ps->p == '\n') {
            fail(ps, "blank line");
            goto out;
        }
        if ((*ps->p == '#' ? comment_line(ps) : sample_line(ps)) < 0)
            goto out;
        if (ps->p >= ps->end || *ps->p != '\n') {
            fail(ps, "trailing characters");
            goto out;
        }
        ps->p++;
    }
    rc = end_family(ps);
out:
    if (ps)
        free(ps->hist);
    free(ps);
    if (rc < 0)
        prom_doc_free(doc);
    return rc;
}

void prom_doc_free(struct prom_doc *doc)
{
    for (size_t i = 0; i < doc->n; i++)
        sample_free(&doc->samples[i]);
    free(doc->samples);
    for (size_t i = 0; i < doc->ntypes; i++)
        free(doc->types[i]);
    free(doc->types);
    memset(doc, 0, sizeof *doc);
}

double prom_sum(const struct prom_doc *doc, const char *name, size_t *found, ...)
{
    const char *kv[16];
    size_t nkv = 0, hits = 0;
    double sum = 0;
    va_list ap;

    va_start(ap, found);
    for (const char *a; nkv < 16 && (a = va_arg(ap, const char *));)
        kv[nkv++] = a;
    va_end(ap);
    for (size_t i = 0; i < doc->n; i++) {
        const struct prom_sample *s = &doc->samples[i];
        bool ok = !strcmp(s->name, name);
        for (size_t k = 0; ok && k + 1 < nkv; k += 2) {
            const char *v = label_value(s, kv[k]);
            ok = v && !strcmp(v, kv[k + 1]);
        }
        if (ok)
            sum += s->value, hits++;
    }
    if (found)
        *found = hits;
    return sum;
}

const char *prom_type(const struct prom_doc *doc, const char *family)
{
    size_t n = strlen(family);

    for (size_t i = 0; i < doc->ntypes; i++)
        if (!strncmp(doc->types[i], family, n) && doc->types[i][n] == ' ')
            return doc->types[i] + n + 1;
    return NULL;
}
