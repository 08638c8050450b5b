/*
 * test_metrics.c — the Prometheus registry (common/metrics.c) and its text
 * writer (common/metrics_text.c): every render is read back by the strict
 * exposition parser of the integration tests; escaping, histogram shape,
 * registration rules, the series cap, the bounded buffer, and exact counts
 * under concurrent writers.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "metrics.h"
#include "../lib/prom_parse.h"
#include "../lib/test.h"

#define BUF_MAX (1u << 20)

/* Renders m and parses it strictly; fails the test on a parse error. */
static void render_parse(struct metrics *m, struct prom_doc *doc, struct metrics_buf *b)
{
    char err[300];

    metrics_buf_init(b, BUF_MAX);
    metrics_render(m, b);
    ASSERT(!b->truncated);
    if (prom_parse(b->data, b->len, doc, err, sizeof err) < 0)
        test_fail(__FILE__, __LINE__, "exposition rejected: %s\n%s", err, b->data);
}

TEST(metrics_counter_renders_and_parses)
{
    struct metrics *m = metrics_new();
    const char *const labels[] = {"source", "outcome", NULL};
    struct metrics_family *f = metrics_counter(m, "hookd_test_requests_total", "Requests.", labels);
    struct metrics_buf b;
    struct prom_doc doc;
    size_t found;

    ASSERT_NOT_NULL(f);
    metrics_inc(f, (const char *const[]){"github", "queued"}, 2);
    metrics_inc(f, (const char *const[]){"github", "queued"}, 1);
    metrics_inc(f, (const char *const[]){"stripe", "no_match"}, 5);
    render_parse(m, &doc, &b);
    ASSERT_STR_CONTAINS(b.data, "# HELP hookd_test_requests_total Requests.\n"
                                "# TYPE hookd_test_requests_total counter\n");
    ASSERT_STR_CONTAINS(b.data, "hookd_test_requests_total{source=\"github\",outcome=\"queued\"} 3\n");
    ASSERT_STR_EQ(prom_type(&doc, "hookd_test_requests_total"), "counter");
    ASSERT(prom_sum(&doc, "hookd_test_requests_total", &found, "source", "stripe", NULL) == 5);
    ASSERT_INT_EQ(found, 1);
    ASSERT(prom_sum(&doc, "hookd_test_requests_total", &found, NULL) == 8);
    ASSERT_INT_EQ(found, 2);
    prom_doc_free(&doc);
    metrics_buf_free(&b);
    metrics_free(m);
}

TEST(metrics_label_values_escaped)
{
    struct metrics *m = metrics_new();
    const char *const labels[] = {"v", NULL};
    struct metrics_family *f = metrics_counter(m, "hookd_test_total", "A \\ help\nline.", labels);
    const char *nasty = "a\"b\\c\nd}e,f=\"g";
    struct metrics_buf b;
    struct prom_doc doc;

    metrics_inc(f, (const char *const[]){nasty}, 1);
    metrics_inc(f, (const char *const[]){"bad\xff\xc0utf8"}, 1);
    metrics_inc(f, (const char *const[]){"caf\xc3\xa9"}, 1);
    render_parse(m, &doc, &b);
    ASSERT_STR_CONTAINS(b.data, "# HELP hookd_test_total A \\\\ help\\nline.\n");
    ASSERT_STR_CONTAINS(b.data, "{v=\"a\\\"b\\\\c\\nd}e,f=\\\"g\"} 1\n");
    ASSERT_STR_CONTAINS(b.data, "{v=\"bad??utf8\"} 1\n");
    ASSERT_STR_CONTAINS(b.data, "{v=\"caf\xc3\xa9\"} 1\n");
    /* Parsed back, the value is the original bytes. */
    size_t found;
    prom_sum(&doc, "hookd_test_total", &found, "v", nasty, NULL);
    ASSERT_INT_EQ(found, 1);
    prom_doc_free(&doc);
    metrics_buf_free(&b);
    metrics_free(m);
}

TEST(metrics_histogram_buckets_cumulative)
{
    struct metrics *m = metrics_new();
    const double bounds[] = {0.01, 0.1, 1};
    const char *const labels[] = {"source", NULL};
    struct metrics_family *h =
        metrics_histogram(m, "hookd_test_seconds", "Durations.", labels, bounds, 3);
    const char *const gh[] = {"github"};
    struct metrics_buf b;
    struct prom_doc doc;

    ASSERT_NOT_NULL(h);
    metrics_observe(h, gh, 0.005);
    metrics_observe(h, gh, 0.01); /* le is inclusive */
    metrics_observe(h, gh, 0.5);
    metrics_observe(h, gh, 7);
    metrics_observe(h, gh, NAN); /* ignored */
    render_parse(m, &doc, &b);
    ASSERT_STR_CONTAINS(b.data, "# TYPE hookd_test_seconds histogram\n"
                                "hookd_test_seconds_bucket{source=\"github\",le=\"0.01\"} 2\n"
                                "hookd_test_seconds_bucket{source=\"github\",le=\"0.1\"} 2\n"
                                "hookd_test_seconds_bucket{source=\"github\",le=\"1\"} 3\n"
                                "hookd_test_seconds_bucket{source=\"github\",le=\"+Inf\"} 4\n"
                                "hookd_test_seconds_sum{source=\"github\"} 7.515\n"
                                "hookd_test_seconds_count{source=\"github\"} 4\n");
    prom_doc_free(&doc);
    metrics_buf_free(&b);
    metrics_free(m);
}

TEST(metrics_registration_rules)
{
    struct metrics *m = metrics_new();
    const double ok[] = {1, 2}, unsorted[] = {2, 1}, inf[] = {1, INFINITY};

    ASSERT_NOT_NULL(metrics_counter(m, "hookd_a_total", "", NULL));
    ASSERT_NULL(metrics_counter(m, "hookd_a_total", "", NULL)); /* registered twice */
    ASSERT_NULL(metrics_counter(m, "9starts_with_digit", "", NULL));
    ASSERT_NULL(metrics_counter(m, "has-dash", "", NULL));
    ASSERT_NULL(metrics_counter(m, "hookd_b_total", "", (const char *const[]){"__reserved", NULL}));
    ASSERT_NULL(metrics_counter(m, "hookd_c_total", "", (const char *const[]){"a:b", NULL}));
    ASSERT_NULL(metrics_counter(m, "hookd_d_total", "", (const char *const[]){"x", "x", NULL}));
    ASSERT_NULL(metrics_counter(m, "hookd_e_total", "",
                                (const char *const[]){"a", "b", "c", "d", "e", NULL}));
    ASSERT_NULL(metrics_histogram(m, "hookd_h1", "", (const char *const[]){"le", NULL}, ok, 2));
    ASSERT_NULL(metrics_histogram(m, "hookd_h2", "", NULL, unsorted, 2));
    ASSERT_NULL(metrics_histogram(m, "hookd_h3", "", NULL, inf, 2));
    ASSERT_NULL(metrics_histogram(m, "hookd_h4", "", NULL, ok, 0));
    ASSERT_NOT_NULL(metrics_histogram(m, "hookd_h5", "", NULL, ok, 2));
    ASSERT(metrics_valid_name("a:b_c9"));
    ASSERT(!metrics_valid_name(""));
    metrics_free(m);
    metrics_free(NULL);
}

TEST(metrics_series_cap_counts_drops)
{
    struct metrics *m = metrics_new();
    struct metrics_family *f = metrics_counter(m, "hookd_many_total", "", (const char *const[]){"i", NULL});
    struct metrics_buf b;
    struct prom_doc doc;
    char v[16];
    size_t found;

    for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
        snprintf(v, sizeof v, "%d", i);
        metrics_inc(f, (const char *const[]){v}, 1);
    }
    render_parse(m, &doc, &b);
    ASSERT(prom_sum(&doc, "hookd_many_total", &found, NULL) == METRICS_MAX_SERIES);
    ASSERT_INT_EQ(found, METRICS_MAX_SERIES);
    ASSERT(prom_sum(&doc, "hookd_metrics_series_dropped_total", &found, NULL) == 10);
    prom_doc_free(&doc);
    metrics_buf_free(&b);
    metrics_free(m);
}

struct hammer {
    struct metrics_family *c, *h;
    int id;
};

#define HAMMER_THREADS 4
#define HAMMER_ROUNDS 50000

static void *hammer(void *arg)
{
    struct hammer *hm = arg;
    char mine[8];

    snprintf(mine, sizeof mine, "t%d", hm->id);
    for (int i = 0; i < HAMMER_ROUNDS; i++) {
        metrics_inc(hm->c, (const char *const[]){"shared"}, 1);
        metrics_inc(hm->c, (const char *const[]){mine}, 1);
        metrics_observe(hm->h, NULL, 0.25);
    }
    return NULL;
}

TEST(metrics_exact_under_concurrency)
{
    struct metrics *m = metrics_new();
    const double bounds[] = {0.1, 1};
    struct hammer hm[HAMMER_THREADS];
    pthread_t th[HAMMER_THREADS];
    struct metrics_buf b;
    struct prom_doc doc;
    size_t found;

    hm[0].c = metrics_counter(m, "hookd_hammer_total", "", (const char *const[]){"who", NULL});
    hm[0].h = metrics_histogram(m, "hookd_hammer_seconds", "", NULL, bounds, 2);
    for (int i = 0; i < HAMMER_THREADS; i++) {
        hm[i] = hm[0], hm[i].id = i;
        ASSERT_INT_EQ(pthread_create(&th[i], NULL, hammer, &hm[i]), 0);
    }
    /* Scrapes while writers run must parse too. */
    for (int k = 0; k < 5; k++) {
        render_parse(m, &doc, &b);
        prom_doc_free(&doc);
        metrics_buf_free(&b);
    }
    for (int i = 0; i < HAMMER_THREADS; i++)
        pthread_join(th[i], NULL);
    render_parse(m, &doc, &b);
    ASSERT(prom_sum(&doc, "hookd_hammer_total", &found, "who", "shared", NULL) ==
           HAMMER_THREADS * HAMMER_ROUNDS);
    ASSERT(prom_sum(&doc, "hookd_hammer_total", &found, "who", "t3", NULL) == HAMMER_ROUNDS);
    ASSERT(prom_sum(&doc, "hookd_hammer_seconds_count", &found, NULL) == HAMMER_THREADS * HAMMER_ROUNDS);
    ASSERT(prom_sum(&doc, "hookd_hammer_seconds_sum", &found, NULL) == 0.25 * HAMMER_THREADS * HAMMER_ROUNDS);
    prom_doc_free(&doc);
    metrics_buf_free(&b);
    metrics_free(m);
}

TEST(metrics_format_values)
{
    char out[40];

    metrics_format_value(1, out, sizeof out);
    ASSERT_STR_EQ(out, "1");
    metrics_format_value(-3, out, sizeof out);
    ASSERT_STR_EQ(out, "-3");
    metrics_format_value(0.1, out, sizeof out);
    ASSERT_STR_EQ(out, "0.1");
    metrics_format_value(0.0025, out, sizeof out);
    ASSERT_STR_EQ(out, "0.0025");
    metrics_format_value(1.0 / 3, out, sizeof out);
    ASSERT(strtod(out, NULL) == 1.0 / 3);
    metrics_format_value(INFINITY, out, sizeof out);
    ASSERT_STR_EQ(out, "+Inf");
    metrics_format_value(-INFINITY, out, sizeof out);
    ASSERT_STR_EQ(out, "-Inf");
    metrics_format_value(NAN, out, sizeof out);
    ASSERT_STR_EQ(out, "NaN");
    ASSERT_INT_EQ(metrics_bucket_index((const double[]){1, 2}, 2, 1), 0);
    ASSERT_INT_EQ(metrics_bucket_index((const double[]){1, 2}, 2, 1.5), 1);
    ASSERT_INT_EQ(metrics_bucket_index((const double[]){1, 2}, 2, 3), 2);
}

TEST(metrics_buffer_is_bounded)
{
    struct metrics_buf b;

    metrics_buf_init(&b, 10);
    metrics_buf_append(&b, "12345", 5);
    metrics_buf_append(&b, "67890", 5);
    ASSERT(!b.truncated);
    ASSERT_STR_EQ(b.data, "1234567890");
    metrics_buf_append(&b, "x", 1);
    ASSERT(b.truncated);
    ASSERT_INT_EQ(b.len, 10);
    metrics_buf_free(&b);
}
