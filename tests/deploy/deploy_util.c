/* deploy_util.c — see deploy_util.h. */
#define _GNU_SOURCE
#include "deploy_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#define NGINX_READY_TIMEOUT_MS 10000
#define HTTPS_TIMEOUT_MS 20000

static const char *nginx_bin(void)
{
    return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

void deploy_require_tools(void)
{
    const char *probe[] = {"sh", "-c",
                           "{ command -v nginx || test -x /usr/sbin/nginx; } && "
                           "command -v openssl && command -v redis-cli",
                           NULL};

    if (harness_run(probe, NULL, 5000) != 0)
        SKIP("nginx, openssl or redis-cli missing (run scripts/install-deploy-deps.sh)");
}

/* ---- TLS ---------------------------------------------------------------- */

void deploy_make_cert(void)
{
    const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                          "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                          "-keyout", harness_path("tls/key.pem"), "-out",
                          harness_path("tls/cert.pem"), NULL};
    char *out = NULL;

    harness_write_file("tls/.keep", "");
    if (harness_run(argv, &out, 20000) != 0)
        test_fail(__FILE__, __LINE__, "openssl req failed: %s", out ? out : "");
    free(out);
}

const char *deploy_cert_path(void) { return harness_path("tls/cert.pem"); }

/* ---- nginx -------------------------------------------------------------- */

void deploy_replace_all(char **text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0, cap;
    char *out, *p = *text, *hit;
    int found = 0;

    for (char *q = *text; (q = strstr(q, from)); q += fl)
        found++;
    if (!found)
        test_fail(__FILE__, __LINE__, "the file to rewrite no longer has \"%s\"", from);
    cap = strlen(*text) + (size_t)found * tl + 1;
    ASSERT_NOT_NULL(out = malloc(cap));
    while ((hit = strstr(p, from))) {
        memcpy(out + n, p, (size_t)(hit - p)), n += (size_t)(hit - p);
        memcpy(out + n, to, tl), n += tl;
        p = hit + fl;
    }
    memcpy(out + n, p, strlen(p) + 1);
    free(*text);
    *text = out;
}

/* deploy/nginx/hookd.conf with test ports and paths. */
static char *render_site(int https_port, const int *ports, size_t n)
{
    char path[4096], buf[256], upstream[2048] = "";
    char *text;
    size_t used = 0;

    snprintf(path, sizeof path, "%s/deploy/nginx/hookd.conf", harness_repo_dir());
    if (!(text = harness_read_file(path, NULL)))
        test_fail(__FILE__, __LINE__, "cannot read %s", path);
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(upstream + used, sizeof upstream - used,
                                 "%sserver 127.0.0.1:%d max_fails=1 fail_timeout=5s;",
                                 i ? "\n    " : "", ports[i]);
    deploy_replace_all(&text, "server 127.0.0.1:8080 max_fails=1 fail_timeout=5s;", upstream);
    deploy_replace_all(&text, "server 127.0.0.1:8081 max_fails=1 fail_timeout=5s;", "");
    snprintf(buf, sizeof buf, "listen 127.0.0.1:%d ssl;", https_port);
    deploy_replace_all(&text, "listen 443 ssl;", buf);
    deploy_replace_all(&text, "listen [::]:443 ssl;", "");
    deploy_replace_all(&text, "/etc/hookd/tls/fullchain.pem", harness_path("tls/cert.pem"));
    deploy_replace_all(&text, "/etc/hookd/tls/privkey.pem", harness_path("tls/key.pem"));
    snprintf(buf, sizeof buf, "%s/", harness_path("nginx"));
    deploy_replace_all(&text, "/var/log/nginx/", buf);
    return text;
}

static const char *write_nginx_conf(void)
{
    const char *dir = harness_path("nginx");
    char *conf = NULL;

    if (asprintf(&conf,
                 "daemon off;\nmaster_process on;\nworker_processes 2;\n%s"
                 "pid %s/nginx.pid;\nerror_log %s/error.log info;\n"
                 "events { worker_connections 512; }\n"
                 "http {\n    access_log off;\n"
                 "    client_body_temp_path %s/body;\n    proxy_temp_path %s/proxy;\n"
                 "    fastcgi_temp_path %s/fastcgi;\n    uwsgi_temp_path %s/uwsgi;\n"
                 "    scgi_temp_path %s/scgi;\n    include %s/hookd.conf;\n}\n",
                 geteuid() == 0 ? "user root root;\n" : "", dir, dir, dir, dir, dir, dir, dir,
                 dir) < 0)
        test_fail(__FILE__, __LINE__, "out of memory");
    const char *path = harness_write_file("nginx/nginx.conf", conf);
    free(conf);
    return path;
}

static int accepts(int port)
{
    int fd = http_connect(port);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int deploy_nginx_start(const int *ports, size_t n)
{
    int port = harness_free_port();
    char *site = render_site(port, ports, n), *out = NULL;
    const char *conf, *dir = harness_path("nginx");

    harness_write_file("nginx/hookd.conf", site);
    free(site);
    conf = write_nginx_conf();
    const char *check[] = {nginx_bin(), "-t", "-p", dir, "-c", conf,
                           "-e", harness_path("nginx/startup.log"), NULL};
    if (harness_run(check, &out, 10000) != 0)
        test_fail(__FILE__, __LINE__, "nginx -t failed: %s", out ? out : "");
    free(out);
    const char *run[] = {nginx_bin(), "-p", dir, "-c", conf,
                         "-e", harness_path("nginx/startup.log"), NULL};
    proc_start(run, NULL, "nginx");
    WAIT_FOR(accepts(port), NGINX_READY_TIMEOUT_MS);
    return port;
}

char *deploy_nginx_access_log(void)
{
    char *text = harness_read_file(harness_path("nginx/hookd.access.log"), NULL);
    return text ? text : strdup("");
}

/* ---- handler ------------------------------------------------------------ */

const char *deploy_counting_handler(void)
{
    char script[1024], *spec = NULL;
    const char *path;

    snprintf(script, sizeof script,
             "#!/bin/sh\n# counts invocations: one line per run (short lines: O_APPEND "
             "writes do not interleave)\n"
             "printf '%%s %%s %%s\\n' \"$HOOKD_EVENT_ID\" \"$HOOKD_ROUTE\" \"$HOOKD_ATTEMPT\" "
             ">> '%s'\ncat > /dev/null\n",
             harness_path("handled.log"));
    path = harness_write_file("handler.sh", script);
    const char *chmod_argv[] = {"chmod", "755", path, NULL};
    ASSERT_INT_EQ(harness_run(chmod_argv, NULL, 5000), 0);
    if (asprintf(&spec, "exec:%s", path) < 0)
        test_fail(__FILE__, __LINE__, "out of memory");
    return spec; /* lives as long as the test's process */
}

/* ---- HTTPS -------------------------------------------------------------- */

struct rid_capture {
    char *out;
};

static size_t on_header(char *line, size_t size, size_t nitems, void *arg)
{
    struct rid_capture *cap = arg;
    size_t n = size * nitems;
    static const char name[] = "x-request-id:";

    if (cap->out && n > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
        const char *v = line + sizeof name - 1;
        size_t vl = n - (sizeof name - 1);
        while (vl && (*v == ' ')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
        if (vl < 64) {
            memcpy(cap->out, v, vl);
            cap->out[vl] = '\0';
        }
    }
    return n;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *arg)
{
    (void)p, (void)arg;
    return size * nmemb;
}

/* One handle per test process: nginx keeps the TLS connection alive. */
static CURL *handle(void)
{
    static CURL *h;

    if (!h) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ASSERT_NOT_NULL(h = curl_easy_init());
    }
    return h;
}

int deploy_post(int https_port, const char *id, const char *type, const char *extra_header,
                char *request_id)
{
    char url[128], body[256], sig[SIG_BUF_SIZE], h[4][300];
    struct curl_slist *hdrs = NULL;
    struct rid_capture cap = {request_id};
    long status = 0;
    CURL *c = handle();

    snprintf(url, sizeof url, "https://127.0.0.1:%d/hooks/github", https_port);
    snprintf(body, sizeof body, "{\"delivery\":\"%s\",\"action\":\"%s\"}", id, type);
    github_signature(DEPLOY_SECRET, body, strlen(body), sig);
    snprintf(h[0], sizeof h[0], "X-Hub-Signature-256: %s", sig);
    snprintf(h[1], sizeof h[1], "X-GitHub-Delivery: %s", id);
    snprintf(h[2], sizeof h[2], "X-GitHub-Event: %s", type);
    snprintf(h[3], sizeof h[3], "%s", extra_header ? extra_header : "Content-Type: application/json");
    for (int i = 0; i < 4; i++)
        hdrs = curl_slist_append(hdrs, h[i]);
    if (request_id)
        request_id[0] = '\0';
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    /* The provider sends from its own address, not nginx's (127.0.0.1, the
     * receivers' trusted_proxies): what X-Forwarded-For must carry through. */
    curl_easy_setopt(c, CURLOPT_INTERFACE, "host!" DEPLOY_PROVIDER_ADDR);
    curl_easy_setopt(c, CURLOPT_CAINFO, deploy_cert_path());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HTTPS_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &cap);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    return (int)status;
}

/* ---- the provider ------------------------------------------------------- */

int deploy_send_one(struct deploy_sender *s)
{
    int n = s->pending >= 0 ? s->pending : s->next++, status;
    char id[32];

    ASSERT_INT_OP(n, <, DEPLOY_MAX_EVENTS);
    snprintf(id, sizeof id, "ev-%d", n);
    status = deploy_post(s->https_port, id, s->type_of(n), NULL, NULL);
    s->last_status = status;
    if (status == 200 || status == 202) {
        s->pending = -1;
        s->acked++;
        s->acked_flag[n] = 1;
        return status;
    }
    if (status == 503)
        s->unavailable++;
    else
        s->other++;
    s->pending = n;
    return status;
}

void deploy_send_acked(struct deploy_sender *s, int n, int budget_ms)
{
    int64_t deadline = harness_now_ms() + budget_ms;

    for (int goal = s->acked + n; s->acked < goal;) {
        int status = deploy_send_one(s);
        if (status != 200 && status != 202) {
            if (harness_now_ms() >= deadline)
                test_fail(__FILE__, __LINE__, "no 2xx for ev-%d within %d ms (last status %d)",
                          s->pending, budget_ms, status);
            harness_backoff(4);
        }
    }
}

/* Invocation counts per event number, from handled.log. */
static void count_handled(int *counts)
{
    char *log = harness_read_file(harness_path("handled.log"), NULL);

    memset(counts, 0, sizeof(int) * DEPLOY_MAX_EVENTS);
    for (char *p = log; p && *p;) {
        char *nl = strchr(p, '\n');
        long n;
        if (strncmp(p, "ev-", 3) == 0 && (n = strtol(p + 3, NULL, 10)) >= 0 &&
            n < DEPLOY_MAX_EVENTS)
            counts[n]++;
        p = nl ? nl + 1 : p + strlen(p);
    }
    free(log);
}

void deploy_check_handled(const struct deploy_sender *s, int timeout_ms, int *lost, int *dups)
{
    static int counts[DEPLOY_MAX_EVENTS];
    int64_t deadline = harness_now_ms() + timeout_ms;

    for (unsigned i = 0;; i++) {
        count_handled(counts);
        *lost = *dups = 0;
        for (int n = 0; n < s->next; n++) {
            *lost += s->acked_flag[n] && counts[n] == 0;
            *dups += counts[n] > 1 ? counts[n] - 1 : 0;
        }
        if (*lost == 0 || harness_now_ms() >= deadline)
            return;
        harness_backoff(i + 5);
    }
}
