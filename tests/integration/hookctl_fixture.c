/* hookctl_fixture.c — see hookctl_fixture.h. */
#include "hookctl_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HK_MAX_ARGS 24
#define HK_RUN_TIMEOUT_MS 60000

static const char hk_conf[] =
    HARNESS_CONF_HEAD("2s")
    "dedupe_ttl = 3600\n"
    "[source github]\n"
    "scheme = github\n"
    "secret.v1 = gh-secret-one\n"
    "secret.v2 = gh-secret-two\n"
    "[source stripe]\n"
    "scheme = stripe\n"
    "secret.v1 = whsec_stripe_test\n"
    "[source twilio]\n"
    "scheme = twilio\n"
    "public_url = https://mycompany.com/myapp.php\n"
    "secret.v1 = 12345\n"
    "[source discord]\n"
    "scheme = discord\n"
    "public_key.v1 = 6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd0\n"
    "[route billing]\n"
    "match = stripe:invoice.*\n"
    "handler = exec:@HANDLER@ @BILLING_FLAG@ @RUNLOG@\n"
    "max_attempts = 3\n"
    "retry_schedule = 0s\n"
    "[route default]\n"
    "handler = exec:@HANDLER@ @DEFAULT_FLAG@ @RUNLOG@\n"
    "max_attempts = 3\n"
    "retry_schedule = 0s\n";

/* TEXT with every NAME replaced by VALUE (malloc'd; TEXT freed). */
static char *replace(char *text, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value), n = 0, cap = strlen(text) + 1;
    char *out;

    for (const char *p = text; (p = strstr(p, name)); p += nl)
        cap += vl;
    ASSERT_NOT_NULL(out = malloc(cap));
    for (const char *p = text; *p;) {
        if (strncmp(p, name, nl) == 0) {
            memcpy(out + n, value, vl), n += vl, p += nl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    free(text);
    return out;
}

void hk_start(struct hk *h, bool workers)
{
    char handler[1024], *conf = strdup(hk_conf);
    const char *default_flag = harness_write_file("default-up", "");

    memset(h, 0, sizeof *h);
    if (workers) {
        char path[1024];
        struct stat sb;
        snprintf(path, sizeof path, "%s/hookd-worker", harness_build_dir());
        if (stat(path, &sb) != 0)
            SKIP("build/hookd-worker is not built");
    }
    snprintf(handler, sizeof handler, "%s/tests/data/handlers/hookctl-outage.sh",
             harness_repo_dir());
    h->billing_flag = harness_path("billing-up");
    h->runlog = harness_path("runs.log");
    ASSERT_NOT_NULL(conf);
    conf = replace(conf, "@HANDLER@", handler);
    conf = replace(conf, "@BILLING_FLAG@", h->billing_flag);
    conf = replace(conf, "@DEFAULT_FLAG@", default_flag);
    conf = replace(conf, "@RUNLOG@", h->runlog);
    fixture_start(&h->f, conf);
    free(conf);
    if (workers) {
        h->workers[0] = worker_start(h->f.config_path, "billing", NULL);
        h->workers[1] = worker_start(h->f.config_path, "default", NULL);
    }
}

static int run_ctl(const char *config_path, char **out, va_list ap)
{
    const char *argv[HK_MAX_ARGS] = {harness_bin("hookctl"), "-c", config_path};
    size_t n = 3;
    const char *a;

    while ((a = va_arg(ap, const char *)) && n + 1 < HK_MAX_ARGS)
        argv[n++] = a;
    argv[n] = NULL;
    return harness_run(argv, out, HK_RUN_TIMEOUT_MS);
}

int hk_ctl(struct hk *h, char **out, ...)
{
    va_list ap;
    int code;

    va_start(ap, out);
    code = run_ctl(h->f.config_path, out, ap);
    va_end(ap);
    return code;
}

int hk_ctl_config(const char *config_path, char **out, ...)
{
    va_list ap;
    int code;

    va_start(ap, out);
    code = run_ctl(config_path, out, ap);
    va_end(ap);
    return code;
}

void hk_post_stripe(struct hk *h, const char *id, const char *type, const char *data)
{
    char body[2048], sig[SIG_BUF_SIZE], hdr[SIG_BUF_SIZE + 32];
    struct http_response r = {0};

    snprintf(body, sizeof body, "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\",\"data\":%s}",
             id, type, data);
    ASSERT_INT_EQ(stripe_signature("whsec_stripe_test", (long long)time(NULL), body, strlen(body),
                                   sig), 0);
    snprintf(hdr, sizeof hdr, "Stripe-Signature: %s", sig);
    const char *headers[] = {hdr, "Content-Type: application/json", NULL};
    ASSERT_INT_EQ(http_request(h->f.port, "POST", "/hooks/stripe", headers, body, strlen(body), &r),
                  0);
    if (r.status != 202)
        test_fail(__FILE__, __LINE__, "POST %s: status %d: %s", id, r.status, r.body);
    http_response_free(&r);
}

void hk_fix_billing(struct hk *h) { harness_write_file("billing-up", ""); }

long long hk_dead_len(struct hk *h, const char *route)
{
    return redis_int(h->f.rc, "XLEN hookd:{%s}:dead", route);
}

int hk_runs(struct hk *h, const char *event_id)
{
    char *text = harness_read_file(h->runlog, NULL);
    int n = 0;

    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        n += !event_id || strcmp(line, event_id) == 0;
    }
    free(text);
    return n;
}

const char *hk_state(struct hk *h, const char *route, const char *source, const char *id,
                     char *buf, size_t cap)
{
    char *s = redis_str(h->f.rc, "HGET hookd:{%s}:seen:%s:%s state", route, source, id);

    snprintf(buf, cap, "%s", s ? s : "");
    free(s);
    return buf;
}

long long hk_value(const char *out, const char *name)
{
    char needle[128];
    const char *p;

    snprintf(needle, sizeof needle, "%s = ", name);
    for (p = out ? strstr(out, needle) : NULL; p && p != out && p[-1] != '\n';)
        p = strstr(p + 1, needle);
    if (!p)
        test_fail(__FILE__, __LINE__, "no \"%s\" line in: %.600s", needle, out ? out : "(null)");
    return strtoll(p + strlen(needle), NULL, 10);
}
