/*
 * test_prom_parse.c — the strict exposition parser the metrics tests rely
 * on (tests/integration/prom_parse.c) must itself reject what is wrong,
 * or the tests that use it prove nothing.
 */
#include <string.h>

#include "../lib/prom_parse.h"
#include "../lib/test.h"

static int parse(const char *text)
{
    struct prom_doc doc;
    char err[300];
    int rc = prom_parse(text, strlen(text), &doc, err, sizeof err);

    if (rc == 0)
        prom_doc_free(&doc);
    return rc;
}

#define C_HDR "# HELP c_total C.\n# TYPE c_total counter\n"
#define H_HDR "# TYPE h histogram\n"

TEST(prom_parse_accepts_valid)
{
    ASSERT_INT_EQ(parse(C_HDR "c_total 1\nc_total{a=\"x\"} 2\nc_total{a=\"x\",b=\"y\",} 3 1700000000000\n"), 0);
    ASSERT_INT_EQ(parse("# TYPE g gauge\ng -1.5e3\ng{x=\"\\\\ \\\" \\n\"} NaN\n"), 0);
    ASSERT_INT_EQ(parse(H_HDR "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"), 0);
}

TEST(prom_parse_rejects_invalid)
{
    ASSERT_INT_EQ(parse(C_HDR "c_total 1"), -1);               /* no final newline */
    ASSERT_INT_EQ(parse(C_HDR "\nc_total 1\n"), -1);           /* blank line */
    ASSERT_INT_EQ(parse("# just a comment\n"), -1);            /* other comment */
    ASSERT_INT_EQ(parse("x 1\n"), -1);                         /* no TYPE */
    ASSERT_INT_EQ(parse(C_HDR "c_total -1\n"), -1);            /* negative counter */
    ASSERT_INT_EQ(parse(C_HDR "c_total 1\nc_total 2\n"), -1);  /* series repeated */
    ASSERT_INT_EQ(parse(C_HDR "c_total{a=\"x\",a=\"y\"} 1\n"), -1);
    ASSERT_INT_EQ(parse(C_HDR "c_total{a=\"\\t\"} 1\n"), -1);  /* bad escape */
    ASSERT_INT_EQ(parse(C_HDR "c_total{a=\"x} 1\n"), -1);      /* unterminated */
    ASSERT_INT_EQ(parse(C_HDR "c_total{1a=\"x\"} 1\n"), -1);   /* label name */
    ASSERT_INT_EQ(parse(C_HDR "c_total 0x10\n"), -1);          /* hex value */
    ASSERT_INT_EQ(parse(C_HDR "c_total 1 2 3\n"), -1);         /* trailing */
    ASSERT_INT_EQ(parse(C_HDR "c_total  1\n"), -1);            /* two spaces */
    ASSERT_INT_EQ(parse(C_HDR "# TYPE c_total counter\n"), -1); /* TYPE twice */
    ASSERT_INT_EQ(parse(C_HDR "# HELP c_total again\n"), -1);  /* HELP twice */
    ASSERT_INT_EQ(parse("# TYPE c_total countr\n"), -1);       /* unknown type */
    ASSERT_INT_EQ(parse(C_HDR "c_total 1\n# TYPE g gauge\ng 1\nc_total{a=\"b\"} 1\n"), -1);
}

TEST(prom_parse_rejects_bad_histograms)
{
    /* +Inf != _count */
    ASSERT_INT_EQ(parse(H_HDR "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 3\n"), -1);
    /* cumulative counts decrease */
    ASSERT_INT_EQ(parse(H_HDR "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 3\nh_count 1\n"), -1);
    /* bounds not increasing */
    ASSERT_INT_EQ(parse(H_HDR "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
                              "h_sum 3\nh_count 1\n"), -1);
    /* no +Inf bucket */
    ASSERT_INT_EQ(parse(H_HDR "h_bucket{le=\"1\"} 1\nh_sum 3\nh_count 1\n"), -1);
    /* no _sum */
    ASSERT_INT_EQ(parse(H_HDR "h_bucket{le=\"+Inf\"} 1\nh_count 1\n"), -1);
    /* bucket without le */
    ASSERT_INT_EQ(parse(H_HDR "h_bucket 1\nh_sum 3\nh_count 1\n"), -1);
    /* the bare family name is not a histogram sample */
    ASSERT_INT_EQ(parse(H_HDR "h 1\n"), -1);
}
