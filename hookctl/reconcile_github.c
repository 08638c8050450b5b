/*
 * reconcile_github.c — GitHub's side of `reconcile --api`: the deliveries
 * log of a repository or organization hook, or of a GitHub App's hook.
 *
 *   GET  /repos/O/R/hooks/ID/deliveries?per_page=100   (or /orgs/O/hooks/ID/…,
 *   GET  /app/hook/deliveries?per_page=100              /app/hook/… for an App)
 *   POST …/deliveries/{id}/attempts                     redeliver: 202 Accepted
 *
 * The list is newest first and paged by an opaque cursor that only the
 * Link header's rel="next" URL carries; there is no time filter, so paging
 * stops at the first page that reaches back past --since. Each attempt is
 * one item (id, guid, delivered_at, redelivery, status_code, event,
 * action); the attempts of one event share its guid, which is what hookd
 * records as the event id (X-GitHub-Delivery). A guid hookd has no record
 * of is missing; --redeliver asks GitHub to deliver its newest attempt
 * again, which comes back signed through the receiver like any delivery
 * (and is a 200 duplicate if it had arrived meanwhile).
 *
 * An App's endpoints take a JWT, not a token: api_token then holds the
 * App's private key (PEM) and api_app_id its id; github_app_auth mints a
 * JWT (RS256, 9 minutes) for the run.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "api.h"
#include "codec.h"
#include "err.h"
#include "reconcile.h"

#define GH_PATH_MAX 512
#define GH_JWT_LIFETIME_S 540 /* GitHub refuses more than 10 minutes */

/* "/repos/O/R/hooks/ID" or "/orgs/O/hooks/ID" or "/app/hook" from api_hook,
 * each part checked, so nothing but a path reaches the URL. */
static int hook_path(const char *hook, char out[GH_PATH_MAX])
{
    const char *parts[6] = {0};
    char copy[GH_PATH_MAX];
    size_t n = 0;

    if (!hook)
        return HOOKD_ECONFIG;
    if (strcmp(hook, "app") == 0) {
        snprintf(out, GH_PATH_MAX, "/app/hook");
        return 0;
    }
    if (strlen(hook) >= sizeof copy)
        return HOOKD_ECONFIG;
    memcpy(copy, hook, strlen(hook) + 1);
    for (char *p = copy, *slash; p && n < 6; p = slash ? slash + 1 : NULL) {
        if ((slash = strchr(p, '/')))
            *slash = '\0';
        parts[n++] = p;
    }
    for (size_t i = 0; i < n; i++) {
        if (!parts[i][0] || strspn(parts[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789._-") != strlen(parts[i]) ||
            parts[i][0] == '.')
            return HOOKD_ECONFIG;
    }
    bool repo = n == 5 && strcmp(parts[0], "repos") == 0 && strcmp(parts[3], "hooks") == 0;
    bool org = n == 4 && strcmp(parts[0], "orgs") == 0 && strcmp(parts[2], "hooks") == 0;
    const char *id = parts[n - 1];
    if ((!repo && !org) || strspn(id, "0123456789") != strlen(id) || strlen(hook) > 400)
        return HOOKD_ECONFIG;
    out[0] = '/';
    memcpy(out + 1, hook, strlen(hook) + 1); /* at most 400 bytes, checked above */
    return 0;
}

/* base64url without padding of N bytes into a malloc'd string. */
static char *b64url(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    size_t len;

    if (!out)
        return NULL;
    len = codec_base64_encode(p, n, out);
    while (len && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (size_t i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

char *github_app_auth(const struct source_cfg *src, const char *pem, size_t pem_len, char *err,
                      size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char claims[160], *head = NULL, *body = NULL, *sig64 = NULL, *out = NULL, *input = NULL;
    unsigned char sig[1024];
    size_t siglen = sizeof sig, n;
    long long now = (long long)(ctl_now_ms() / 1000);

    if (!src->api_app_id || strspn(src->api_app_id, "0123456789") != strlen(src->api_app_id)) {
        snprintf(err, errlen, "api_hook = app needs api_app_id (the App's numeric id)");
        goto out;
    }
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        snprintf(err, errlen, "api_token: with api_hook = app, the App's private key (RSA, PEM)");
        goto out;
    }
    snprintf(claims, sizeof claims, "{\"iat\":%lld,\"exp\":%lld,\"iss\":\"%s\"}", now - 60,
             now + GH_JWT_LIFETIME_S, src->api_app_id);
    head = b64url((const unsigned char *)"{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 27);
    body = b64url((const unsigned char *)claims, strlen(claims));
    n = (head ? strlen(head) : 0) + (body ? strlen(body) : 0) + 2;
    if (!head || !body || !md || !(input = malloc(n)))
        goto crypto;
    snprintf(input, n, "%s.%s", head, body);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1 ||
        !(sig64 = b64url(sig, siglen)))
        goto crypto;
    n = strlen(input) + strlen(sig64) + 16;
    if ((out = malloc(n)))
        snprintf(out, n, "Bearer %s.%s", input, sig64);
    goto out;
crypto:
    snprintf(err, errlen, "cannot sign the App's JWT");
out:
    free(head), free(body), free(sig64), free(input);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return out;
}

/* What the log says about one guid, over all its attempts. */
struct gh_event {
    struct recon_event ev; /* id (the guid) and type owned */
    long long newest_id;   /* the attempt to redeliver */
    long last_status;      /* status_code of the newest attempt */
    int attempts;
};

/* Every guid of the window, in the log's order (newest first). */
struct gh_scan {
    struct gh_event *ev; /* owned */
    size_t n, cap;
    json_t *index; /* guid -> position in ev (owned) */
    char path[GH_PATH_MAX];
};

static void scan_free(struct gh_scan *s)
{
    for (size_t i = 0; i < s->n; i++)
        free((char *)s->ev[i].ev.id), free((char *)s->ev[i].ev.type);
    free(s->ev);
    json_decref(s->index);
}

/* A new guid's entry, or NULL without memory. */
static struct gh_event *scan_add(struct gh_scan *s, const char *guid, const char *event)
{
    struct gh_event *g;

    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        struct gh_event *e = realloc(s->ev, cap * sizeof *e);
        if (!e)
            return NULL;
        s->ev = e, s->cap = cap;
    }
    g = &s->ev[s->n];
    memset(g, 0, sizeof *g);
    g->ev.id = strdup(guid);
    g->ev.type = event ? strdup(event) : NULL;
    if (!g->ev.id || json_object_set_new(s->index, guid, json_integer((json_int_t)s->n)) < 0) {
        free((char *)g->ev.id), free((char *)g->ev.type);
        return NULL;
    }
    s->n++;
    return g;
}

/* One item of a page: 0, 1 when older than --since, or an error. */
static int take_delivery(struct api_run *run, struct gh_scan *s, json_t *d)
{
    const char *guid = json_string_value(json_object_get(d, "guid"));
    const char *when = json_string_value(json_object_get(d, "delivered_at"));
    json_t *idv = json_object_get(d, "id"), *pos;
    int64_t at = when ? ctl_parse_time(when, 0) : -1;
    struct gh_event *g;

    if (!json_is_object(d) || !guid || !guid[0] || !json_is_integer(idv) || at < 0)
        return HOOKD_EPARSE;
    if (at < run->since_ms)
        return 1;
    if ((pos = json_object_get(s->index, guid))) {
        g = &s->ev[json_integer_value(pos)];
        g->attempts++;
        g->ev.created_ms = at; /* the list is newest first: this attempt is older */
        return 0;
    }
    if (!(g = scan_add(s, guid, json_string_value(json_object_get(d, "event")))))
        return HOOKD_ENOMEM;
    g->ev.created_ms = at;
    g->newest_id = (long long)json_integer_value(idv);
    g->last_status = (long)json_integer_value(json_object_get(d, "status_code"));
    g->attempts = 1;
    /* What ingress would see of it, for a drop route matched on the event. */
    static struct headers h; /* 4 KiB: not on the stack; one thread */
    struct extract_ctx x;
    h.n = 0;
    headers_add(&h, "X-GitHub-Event", 14, g->ev.type ? g->ev.type : "",
                g->ev.type ? strlen(g->ev.type) : 0);
    headers_add(&h, "X-GitHub-Delivery", 17, guid, strlen(guid));
    extract_init(&x, run->src->name, &h, NULL, 0);
    int rc = recon_check(&run->r, &g->ev, &x);
    extract_release(&x);
    return rc;
}

/* A final answer that is not the one expected, as a sentence. */
static int refused(const char *what, const char *url, const struct api_response *res, char *err,
                   size_t errlen)
{
    json_t *doc = json_loads(res->body, 0, NULL);
    const char *msg = json_string_value(json_object_get(doc, "message"));
    char shown[200];

    ctl_printable(msg ? msg : "", msg ? strlen(msg) : 0, shown, sizeof shown);
    snprintf(err, errlen, "%s %s: answered %ld%s%s", what, url, res->status, msg ? ": " : "",
             msg ? shown : "");
    json_decref(doc);
    return HOOKD_EAPI;
}

/* Reads pages until one reaches past --since or none follows. */
static int scan_log(struct api_run *run, struct gh_scan *s, char *err, size_t errlen)
{
    char *url = NULL;
    size_t n = strlen(s->path) + 40;
    int rc = 0;

    if (!(url = malloc(n)))
        return HOOKD_ENOMEM;
    snprintf(url, n, "%s/deliveries?per_page=100", s->path);
    while (url && rc == 0) {
        struct api_response res;
        json_t *page = NULL, *d;
        size_t i;
        bool older = false;
        if ((rc = api_request(run->api, "GET", url, &res, err, errlen)) < 0)
            break;
        if (res.status != 200)
            rc = refused("GET", url, &res, err, errlen);
        else if ((page = json_loadb(res.body, res.body_len, 0, NULL)), !json_is_array(page))
            rc = HOOKD_EPARSE; /* (json_is_array evaluates its argument twice) */
        json_array_foreach(page, i, d) {
            int one = rc == 0 ? take_delivery(run, s, d) : 0;
            older |= one == 1;
            rc = one < 0 ? one : rc;
        }
        if (rc == HOOKD_EPARSE)
            snprintf(err, errlen, "GET %s: not a list of deliveries as GitHub documents it", url);
        json_decref(page);
        free(url);
        url = older ? NULL : res.link_next;
        res.link_next = url == res.link_next ? NULL : res.link_next;
        api_response_free(&res);
        api_run_progress(run);
    }
    free(url);
    return rc == HOOKD_EPARSE ? HOOKD_EAPI : rc;
}

/* POST …/deliveries/ID/attempts: 1 accepted, 0 refused (NOTE says why),
 * or an error. */
static int redeliver(struct api_run *run, const struct gh_scan *s, const struct gh_event *g,
                     char *note, size_t cap, char *err, size_t errlen)
{
    char url[GH_PATH_MAX + 64];
    struct api_response res;
    int rc;

    snprintf(url, sizeof url, "%s/deliveries/%lld/attempts", s->path, g->newest_id);
    if ((rc = api_request(run->api, "POST", url, &res, err, errlen)) < 0)
        return rc;
    rc = res.status == 202 || res.status == 200 || res.status == 201;
    if (rc)
        snprintf(note, cap, "redelivered (delivery %lld)", g->newest_id);
    else
        snprintf(note, cap, "redelivery refused: %ld", res.status);
    api_response_free(&res);
    return rc;
}

int reconcile_github(struct api_run *run, char *err, size_t errlen)
{
    struct gh_scan s = {.index = json_object()};
    char note[96];
    int rc;

    if (hook_path(run->src->api_hook, s.path) < 0) {
        snprintf(err, errlen, "[source %s] api_hook: expected repos/OWNER/REPO/hooks/ID, "
                 "orgs/ORG/hooks/ID or app", run->src->name);
        json_decref(s.index);
        return HOOKD_ECONFIG;
    }
    if (!s.index)
        return HOOKD_ENOMEM;
    rc = scan_log(run, &s, err, errlen);
    for (size_t i = 0; i < s.n && rc >= 0; i++) {
        struct gh_event *g = &s.ev[i];
        snprintf(note, sizeof note, "last attempt %ld, %d attempt%s", g->last_status,
                 g->attempts, g->attempts == 1 ? "" : "s");
        if (g->ev.status == RECON_MISSING && run->redeliver && recon_expired(&run->r, &g->ev)) {
            snprintf(note, sizeof note, "older than dedupe_ttl: not redelivered");
            run->not_recovered++;
        } else if (g->ev.status == RECON_MISSING && run->redeliver) {
            int ok = redeliver(run, &s, g, note, sizeof note, err, errlen);
            if (ok < 0) {
                rc = ok;
                break;
            }
            run->redelivered += (size_t)ok;
            run->not_recovered += (size_t)!ok;
        }
        rc = recon_report(&run->r, &g->ev, note);
    }
    scan_free(&s);
    return rc;
}
