/*
 * prom_parse.h — a strict parser of the Prometheus text exposition format
 * (0.0.4), for tests: it accepts less than Prometheus does, so that what
 * hookd serves is unambiguous to any scraper.
 *
 * Every line ends in \n and is one of
 *   # HELP NAME TEXT      (at most once per family, TEXT escapes \\ \n only)
 *   # TYPE NAME TYPE      (once, before the family's first sample)
 *   NAME[{L="V",...}] VALUE [TIMESTAMP]
 * No blank lines, no other comments. Names and label names are valid; label
 * values escape only \\ \" \n; no label repeats; no series repeats; a
 * family's lines are contiguous; counters are >= 0; each histogram series
 * has increasing le bounds with non-decreasing cumulative counts, a +Inf
 * bucket equal to its _count, and a _sum.
 */
#ifndef HOOKD_PROM_PARSE_H
#define HOOKD_PROM_PARSE_H

#include <stddef.h>

struct prom_label {
    char *name, *value; /* unescaped */
};

struct prom_sample {
    char *name;
    struct prom_label *labels;
    size_t nlabels;
    double value;
};

struct prom_doc {
    struct prom_sample *samples;
    size_t n, cap;
    char **types; /* "NAME TYPE" per family */
    size_t ntypes;
};

/* Parses text[0..len). 0 and *doc filled (prom_doc_free), or -1 with a
 * sentence naming the line in err. */
int prom_parse(const char *text, size_t len, struct prom_doc *doc, char *err, size_t errlen);
void prom_doc_free(struct prom_doc *doc);

/* The sum of the values of samples named NAME whose labels include every
 * pair in KV ("label", "value", ..., NULL); *found = how many matched. */
double prom_sum(const struct prom_doc *doc, const char *name, size_t *found, ...);
/* The family's TYPE ("counter", ...), or NULL. Borrowed. */
const char *prom_type(const struct prom_doc *doc, const char *family);

#endif
