/*
 * fakeapi.c — a local stand-in for the parts of GitHub's and Stripe's REST
 * APIs that `hookctl reconcile --api` reads, for tests only: it speaks
 * their documented JSON, pagination and refusals, and never reaches the
 * real services.
 *
 *   fakeapi PORT STATE.json
 *
 * Listens on 127.0.0.1:PORT, prints "ready", then one line per request:
 * "REQ METHOD URL -> STATUS", and "REDELIVER GUID -> STATUS" for each
 * redelivery it makes. STATE.json:
 *
 *   {"token": "Bearer …",           the Authorization every request must carry (else 401)
 *    "page_size": 2,                 at most this many items a page (<= the client's)
 *    "github": {"hook": "/repos/acme/app/hooks/7",   or "/app/hook"
 *               "secret": "…",       signs redeliveries (X-Hub-Signature-256)
 *               "target": "http://127.0.0.1:P/hooks/github",
 *               "deliveries": [ {id, guid, delivered_at, redelivery, status_code,
 *                                event, action, payload}, … ]},     newest first
 *               "app_id": "42", "app_public_key": "-----BEGIN PUBLIC KEY-----…"}
 *                                    with these, the credential must be a JWT
 *                                    (RS256) the App's key signed, iss = app_id
 *    "stripe": {"events": [ {id, object, type, created, pending_webhooks, data}, … ]},
 *    "faults": [ {"path": "/v1/events", "status": 429, "times": 1,
 *                 "headers": {"Retry-After": "1"}}, … ]}
 *
 * GitHub: GET HOOK/deliveries?per_page=N[&cursor=C] answers the list items
 * (no payload), newest first, the next page in a Link header (rel="next",
 * an opaque cursor); POST HOOK/deliveries/ID/attempts answers 202 after
 * POSTing the delivery's payload, signed with the secret and carrying its
 * guid as X-GitHub-Delivery, to the target, and logs the attempt as a new
 * delivery (redelivery: true). Stripe: GET /v1/events?limit=N
 * [&created[gte]=T][&delivery_success=false][&starting_after=ID] answers
 * {"object": "list", "url", "has_more", "data"}. A fault whose path is a
 * prefix of the request's answers its status (and headers) instead, TIMES
 * times. One thread: requests are served one at a time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "signing.h"

static json_t *state;
static int port;
static volatile sig_atomic_t stop;

static enum MHD_Result answer(struct MHD_Connection *conn, int status, json_t *body,
                              const char *link, json_t *headers)
{
    char *text = json_dumps(body, JSON_COMPACT);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        text ? strlen(text) : 0, text ? text : (char *)"", MHD_RESPMEM_MUST_FREE);
    const char *k;
    json_t *v;
    enum MHD_Result ok;

    MHD_add_response_header(r, "Content-Type", "application/json");
    if (link)
        MHD_add_response_header(r, "Link", link);
    json_object_foreach(headers, k, v) MHD_add_response_header(r, k, json_string_value(v));
    ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    json_decref(body);
    return ok;
}

static enum MHD_Result print_arg(void *cls, enum MHD_ValueKind kind, const char *k,
                                  const char *v)
{
    int *n = cls;

    printf("%c%s=%s", (*n)++ ? '&' : '?', k, v ? v : "");
    return MHD_YES;
}

/* "REQ METHOD PATH?QUERY -> STATUS" (the query as decoded) */
static void logline(struct MHD_Connection *c, const char *method, const char *url, int status)
{
    int n = 0;

    printf("REQ %s %s", method, url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, print_arg, &n);
    printf(" -> %d\n", status);
    fflush(stdout);
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static long page_size(const char *asked)
{
    long n = asked ? strtol(asked, NULL, 10) : 30, cap = (long)json_integer_value(
                                                           json_object_get(state, "page_size"));
    if (n < 1 || n > 100)
        n = 30;
    return cap > 0 && cap < n ? cap : n;
}

/* A matching fault with times left: used once. */
static json_t *fault_for(const char *url)
{
    json_t *f;
    size_t i;

    json_array_foreach(json_object_get(state, "faults"), i, f) {
        const char *p = json_string_value(json_object_get(f, "path"));
        json_int_t times = json_integer_value(json_object_get(f, "times"));
        if (p && times > 0 && strncmp(url, p, strlen(p)) == 0) {
            json_object_set_new(f, "times", json_integer(times - 1));
            return f;
        }
    }
    return NULL;
}

static int github_list(struct MHD_Connection *c, json_t *gh, const char *hook, char **link,
                       json_t **out)
{
    json_t *all = json_object_get(gh, "deliveries"), *page = json_array(), *d;
    const char *cursor = arg(c, "cursor");
    long per = page_size(arg(c, "per_page"));
    size_t from = cursor && strncmp(cursor, "v1_", 3) == 0 ? strtoul(cursor + 3, NULL, 10) : 0;

    for (size_t i = from; i < json_array_size(all) && i < from + (size_t)per; i++) {
        d = json_deep_copy(json_array_get(all, i));
        json_object_del(d, "payload");
        json_array_append_new(page, d);
    }
    if (from + (size_t)per < json_array_size(all) &&
        asprintf(link, "<http://127.0.0.1:%d%s/deliveries?per_page=%ld&cursor=v1_%zu>; rel=\"next\"",
                 port, hook, per, from + (size_t)per) < 0)
        *link = NULL;
    *out = page;
    return 200;
}

/* base64url (no padding) of N bytes into out (cap >= n): the length, or -1. */
static int b64url_decode(const char *p, size_t n, unsigned char *out, size_t cap)
{
    char buf[4096] = "";
    int len;

    if (n + 4 > sizeof buf || cap < n)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
    while (n % 4)
        buf[n++] = '=';
    if ((len = EVP_DecodeBlock(out, (unsigned char *)buf, (int)n)) < 0)
        return -1;
    while (n && buf[--n] == '=')
        len--;
    return len;
}

/* "Bearer JWT", signed RS256 by the App's key, issued by app_id, at most
 * 10 minutes long and not expired (what GitHub checks). */
static bool app_jwt_valid(json_t *gh, const char *auth)
{
    const char *pem = json_string_value(json_object_get(gh, "app_public_key"));
    const char *jwt = auth + 7, *d1, *d2;
    unsigned char sig[1024], claims_raw[1024];
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    json_t *claims = NULL;
    bool ok = false;
    int slen, clen;

    if (strncmp(auth, "Bearer ", 7) != 0 || !(d1 = strchr(jwt, '.')) || !(d2 = strchr(d1 + 1, '.')))
        goto out;
    slen = b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof sig);
    clen = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), claims_raw, sizeof claims_raw - 1);
    if (!key || slen < 0 || clen < 0 ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestVerify(md, sig, (size_t)slen, (const unsigned char *)jwt, (size_t)(d2 - jwt)) != 1)
        goto out;
    claims = json_loadb((char *)claims_raw, (size_t)clen, 0, NULL);
    json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *app = json_string_value(json_object_get(gh, "app_id"));
    ok = iss && app && strcmp(iss, app) == 0 && exp - iat <= 600 && exp > (json_int_t)time(NULL);
out:
    json_decref(claims);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

static long deliver(json_t *gh, json_t *d)
{
    char *body = json_dumps(json_object_get(d, "payload"), JSON_COMPACT);
    const char *secret = json_string_value(json_object_get(gh, "secret"));
    char mac[SIG_BUF_SIZE], sig[SIG_BUF_SIZE + 40], h1[300], h2[300];
    struct curl_slist *hs = NULL;
    long status = 0;
    CURL *k = curl_easy_init();

    if (github_signature(secret, body, strlen(body), mac) < 0)
        mac[0] = '\0';
    snprintf(sig, sizeof sig, "X-Hub-Signature-256: %s", mac);
    snprintf(h1, sizeof h1, "X-GitHub-Delivery: %s",
             json_string_value(json_object_get(d, "guid")));
    snprintf(h2, sizeof h2, "X-GitHub-Event: %s", json_string_value(json_object_get(d, "event")));
    hs = curl_slist_append(hs, sig);
    hs = curl_slist_append(hs, h1);
    hs = curl_slist_append(hs, h2);
    hs = curl_slist_append(hs, "Content-Type: application/json");
    curl_easy_setopt(k, CURLOPT_URL, json_string_value(json_object_get(gh, "target")));
    curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, fwrite);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, stderr);
    if (curl_easy_perform(k) == CURLE_OK)
        curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(k);
    free(body);
    return status;
}

/* POST HOOK/deliveries/ID/attempts */
static int github_redeliver(json_t *gh, long long id, json_t **out)
{
    json_t *all = json_object_get(gh, "deliveries"), *d, *orig = NULL;
    long long max = 0;
    size_t i;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;

    json_array_foreach(all, i, d) {
        long long di = (long long)json_integer_value(json_object_get(d, "id"));
        max = di > max ? di : max;
        orig = di == id ? d : orig;
    }
    if (!orig) {
        *out = json_pack("{s:s}", "message", "Not Found");
        return 404;
    }
    long status = deliver(gh, orig);
    printf("REDELIVER %s -> %ld\n", json_string_value(json_object_get(orig, "guid")), status);
    fflush(stdout);
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    d = json_deep_copy(orig);
    json_object_set_new(d, "id", json_integer(max + 1));
    json_object_set_new(d, "redelivery", json_true());
    json_object_set_new(d, "delivered_at", json_string(when));
    json_object_set_new(d, "status_code", json_integer(status));
    json_array_insert_new(all, 0, d);
    *out = json_object();
    return 202;
}

static int stripe_list(struct MHD_Connection *c, json_t **out)
{
    json_t *all = json_object_get(json_object_get(state, "stripe"), "events"), *data = json_array();
    json_t *e;
    const char *after = arg(c, "starting_after"), *gte = arg(c, "created[gte]");
    const char *ds = arg(c, "delivery_success");
    long per = page_size(arg(c, "limit"));
    bool started = !after, more = false;
    size_t i;

    json_array_foreach(all, i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        if (!started) {
            started = id && strcmp(id, after) == 0;
            continue;
        }
        if (gte && json_integer_value(json_object_get(e, "created")) < strtoll(gte, NULL, 10))
            continue;
        if (ds && strcmp(ds, "false") == 0 &&
            json_integer_value(json_object_get(e, "pending_webhooks")) == 0)
            continue;
        if ((long)json_array_size(data) == per) {
            more = true;
            break;
        }
        json_array_append(data, e);
    }
    *out = json_pack("{s:s, s:s, s:b, s:o}", "object", "list", "url", "/v1/events", "has_more",
                     more, "data", data);
    return 200;
}

static enum MHD_Result route(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_len, void **ctx)
{
    json_t *gh = json_object_get(state, "github"), *body = NULL, *f;
    const char *hook = json_string_value(json_object_get(gh, "hook"));
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    char *link = NULL;
    int status = 404;
    long long id;
    enum MHD_Result ok;

    if (!*ctx) { /* the headers: wait for the (empty) body */
        *ctx = c;
        return MHD_YES;
    }
    *upload_len = 0;
    bool app = json_object_get(gh, "app_public_key") != NULL;
    if (!auth || (app ? !app_jwt_valid(gh, auth)
                      : strcmp(auth, json_string_value(json_object_get(state, "token"))) != 0)) {
        status = 401, body = json_pack("{s:s}", "message", "Bad credentials");
    } else if ((f = fault_for(url))) {
        status = (int)json_integer_value(json_object_get(f, "status"));
        logline(c, method, url, status);
        return answer(c, status, json_pack("{s:s, s:{s:s}}", "message", "injected fault", "error",
                                           "message", "injected fault"),
                      NULL, json_object_get(f, "headers"));
    } else if (strcmp(url, "/v1/events") == 0 && strcmp(method, "GET") == 0) {
        status = stripe_list(c, &body);
    } else if (hook && strncmp(url, hook, strlen(hook)) == 0) {
        const char *rest = url + strlen(hook);
        if (strcmp(rest, "/deliveries") == 0 && strcmp(method, "GET") == 0)
            status = github_list(c, gh, hook, &link, &body);
        else if (sscanf(rest, "/deliveries/%lld/attempts", &id) == 1 && strcmp(method, "POST") == 0)
            status = github_redeliver(gh, id, &body);
    }
    if (!body)
        body = json_pack("{s:s}", "message", "Not Found");
    logline(c, method, url, status);
    ok = answer(c, status, body, link, NULL);
    free(link);
    return ok;
}

static void on_term(int sig) { stop = 1; }

int main(int argc, char **argv)
{
    json_error_t jerr;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct MHD_Daemon *d;

    if (argc != 3) {
        fprintf(stderr, "usage: fakeapi PORT STATE.json\n");
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    if (!(state = json_load_file(argv[2], 0, &jerr))) {
        fprintf(stderr, "fakeapi: %s: %s\n", argv[2], jerr.text);
        return 2;
    }
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, route, NULL,
                         MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fakeapi: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("ready\n");
    fflush(stdout);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    json_decref(state);
    curl_global_cleanup();
    return 0;
}
