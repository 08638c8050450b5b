/*
 * admin.c — the admin listener's router, its authentication, and its health
 * endpoints (see docs/admin-api.md):
 *
 *   GET  /healthz            200 while the process runs (no auth)
 *   GET  /readyz             200 when Redis answers and no route is over its
 *                            high watermark; 503 otherwise (no auth)
 *   GET  /metrics            Prometheus text format (admin_metrics.c)
 *   GET  /                   the dashboard page, /dashboard.js, /dashboard.css
 *   GET  /api/counts, /api/rejected, /api/dead/ROUTE
 *   GET  /api/dead/ROUTE?id=ID (one letter, with body and headers)
 *   POST /api/replay/ROUTE, /api/purge/ROUTE   (admin_api.c)
 *
 * Everything but the health endpoints requires the admin token, as a Bearer
 * token or as the password of HTTP Basic auth (so a browser can open the
 * dashboard); compared in constant time. A browser sends cached Basic
 * credentials with any request to this origin, even one a hostile page
 * triggers, so a POST must also prove it is not cross-site: it must carry
 * Content-Type: application/json (which no HTML form can send, and which a
 * cross-origin script cannot send without a CORS preflight this listener
 * never grants) and, when the browser says where it comes from (Origin,
 * Sec-Fetch-Site), come from this very origin.
 */
#include "admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "admin_api.h"
#include "admin_metrics.h"
#include "config.h"
#include "dashboard.h"
#include "durable.h"
#include "log.h"
#include "runtime.h"
#include "store_admin.h"

#define ADMIN_BODY_MAX (64 * 1024)

struct admin_request {
    char *body; /* owned; POST bodies of the JSON API */
    size_t len;
};

/* Headers on every admin answer; the page's assets add the CSP and friends. */
static enum MHD_Result reply_ex(struct MHD_Connection *c, int status, const char *type,
                                const char *body, size_t len, enum MHD_ResponseMemoryMode mode,
                                const char *allow, bool page)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    enum MHD_Result ok;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (page) {
        MHD_add_response_header(r, "Content-Security-Policy", DASHBOARD_CSP);
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    }
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Basic realm=\"hookd\", charset=\"UTF-8\"");
    ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *type,
                             const char *body, size_t len)
{
    return reply_ex(c, status, type, body, len, MHD_RESPMEM_MUST_COPY, NULL, false);
}

static enum MHD_Result reply_json(struct MHD_Connection *c, int status, const char *json)
{
    return reply(c, status, "application/json", json, strlen(json));
}

static enum MHD_Result not_allowed(struct MHD_Connection *c, const char *allow)
{
    const char *body = "{\"error\":\"method not allowed\"}";
    return reply_ex(c, 405, "application/json", body, strlen(body), MHD_RESPMEM_PERSISTENT, allow,
                    false);
}

static bool token_equal(const char *given, size_t n, const char *token)
{
    size_t tn = strlen(token);
    return n == tn && CRYPTO_memcmp(given, token, tn) == 0;
}

/* Bearer TOKEN, or Basic base64(user:TOKEN) with any user name. */
static bool authorized(struct MHD_Connection *c, const struct config *cfg)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *token = cfg->receiver.admin_token;
    unsigned char decoded[512];

    if (!auth || !token)
        return false;
    if (strncasecmp(auth, "Bearer ", 7) == 0)
        return token_equal(auth + 7, strlen(auth + 7), token);
    if (strncasecmp(auth, "Basic ", 6) == 0) {
        size_t n = strlen(auth + 6);
        if (n == 0 || n > 4 * (sizeof decoded - 1) / 3)
            return false;
        int len = EVP_DecodeBlock(decoded, (const unsigned char *)auth + 6, (int)n);
        if (len < 0)
            return false;
        while (len > 0 && n > 0 && auth[6 + n - 1] == '=')
            len--, n--; /* EVP_DecodeBlock counts padding as zero bytes */
        const unsigned char *colon = memchr(decoded, ':', (size_t)len);
        if (!colon)
            return false;
        return token_equal((const char *)colon + 1, (size_t)(decoded + len - colon - 1), token);
    }
    return false;
}

static enum MHD_Result readyz(struct MHD_Connection *c, const struct config *cfg)
{
    struct store *st = runtime_store();
    char why[256] = "";

    if (!st || store_ping(st) < 0)
        snprintf(why, sizeof why, "redis unreachable: %s", st ? store_last_error(st) : "no handle");
    else if (durable_refusing())
        snprintf(why, sizeof why, "redis not durable (AOF off) and require_durable = yes");
    for (size_t i = 0; !why[0] && i < cfg->nroutes; i++) {
        int64_t backlog = 0;
        if (store_route_backlog(st, cfg->routes[i].name, &backlog) < 0)
            snprintf(why, sizeof why, "redis unreachable: %s", store_last_error(st));
        else if (backlog >= cfg->routes[i].high_watermark)
            snprintf(why, sizeof why, "route %s backlog %lld over watermark %lld",
                     cfg->routes[i].name, (long long)backlog, (long long)cfg->routes[i].high_watermark);
    }
    if (why[0]) {
        /* the reason may quote Redis's own error text: encoded by jansson */
        json_t *o = json_pack("{s:s, s:s}", "status", "not_ready", "reason", why);
        char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        enum MHD_Result ret = reply_json(c, 503, body ? body : "{\"status\":\"not_ready\"}");
        free(body);
        json_decref(o);
        return ret;
    }
    return reply_json(c, 200, "{\"status\":\"ready\"}");
}

static bool is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static enum MHD_Result metrics(struct MHD_Connection *c, const struct config *cfg)
{
    struct metrics_buf b;
    enum MHD_Result ok;

    metrics_buf_init(&b, ADMIN_METRICS_MAX_BYTES);
    admin_metrics_render(cfg, runtime_store(), &b);
    if (b.truncated || !b.data)
        ok = reply_json(c, 500, "{\"error\":\"metrics page too large or out of memory\"}");
    else
        ok = reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    metrics_buf_free(&b);
    return ok;
}

/* The POST guard described at the top of this file. */
static bool same_origin_json(struct MHD_Connection *c)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    const char *rest;

    if (!type || strncasecmp(type, "application/json", 16) != 0 || (type[16] && type[16] != ';'))
        return false;
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return false;
    if (!origin)
        return true; /* not a browser, or one that says nothing: the token decides */
    if (strncmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    else
        return false;
    return host && strcasecmp(rest, host) == 0;
}

static void client_text(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

/* "NAME" after PREFIX in path, when non-empty and without a further '/'. */
static const char *path_arg(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0 || !path[n] || strchr(path + n, '/'))
        return NULL;
    return path + n;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct admin_reply *out)
{
    enum MHD_Result ok;

    if (!out->body)
        return reply_json(c, 500, "{\"error\":\"out of memory\"}");
    ok = reply(c, out->status, "application/json", out->body, out->len);
    free(out->body);
    return ok;
}

typedef void (*post_fn)(const struct config *, struct store *, const char *, const char *, size_t,
                        const char *, struct admin_reply *);

/* POST /api/replay/ROUTE and /api/purge/ROUTE: JSON from the page's own
 * origin only. */
static enum MHD_Result post_action(struct MHD_Connection *c, const struct config *cfg,
                                   const char *route, const char *method,
                                   const struct admin_request *ar, post_fn fn)
{
    struct admin_reply out = {0};
    struct store *st = runtime_store();
    char client[64];

    if (strcmp(method, "POST") != 0)
        return not_allowed(c, "POST");
    if (!same_origin_json(c))
        return reply_json(c, 403, "{\"error\":\"cross-site request refused: POST "
                                  "application/json from the dashboard's own origin\"}");
    client_text(c, client, sizeof client);
    if (!st)
        admin_api_error(&out, 503, "Redis handle unavailable");
    else
        fn(cfg, st, route, ar->body, ar->len, client, &out);
    return send_reply(c, &out);
}

/* /api/...: PATH is what follows "/api". */
static enum MHD_Result api(struct MHD_Connection *c, const struct config *cfg, const char *path,
                           const char *method, const struct admin_request *ar)
{
    struct admin_reply out = {0};
    struct store *st = runtime_store();
    const char *route = path_arg(path, "/dead/");
    bool counts = strcmp(path, "/counts") == 0, rejected = strcmp(path, "/rejected") == 0;

    if (path_arg(path, "/replay/"))
        return post_action(c, cfg, path_arg(path, "/replay/"), method, ar, admin_api_replay);
    if (path_arg(path, "/purge/"))
        return post_action(c, cfg, path_arg(path, "/purge/"), method, ar, admin_api_purge);
    if (!counts && !rejected && !route)
        return reply_json(c, 404, "{\"error\":\"not found\"}");
    if (!is_get(method))
        return not_allowed(c, "GET, HEAD");
    if (!st)
        admin_api_error(&out, 503, "Redis handle unavailable");
    else if (counts)
        admin_api_counts(cfg, st, &out);
    else if (rejected)
        admin_api_rejected(cfg, st, &out);
    else if (MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id"))
        admin_api_dead_one(cfg, st, route,
                           MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id"), &out);
    else
        admin_api_dead(cfg, st, route, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"),
                       &out);
    return send_reply(c, &out);
}

static enum MHD_Result route(struct MHD_Connection *c, const struct config *cfg, const char *url,
                             const char *method, const struct admin_request *ar)
{
    struct dashboard_asset a;

    if (strcmp(url, "/healthz") == 0)
        return reply_json(c, 200, "{\"status\":\"ok\"}");
    if (strcmp(url, "/readyz") == 0)
        return readyz(c, cfg);
    if (!authorized(c, cfg))
        return reply_json(c, 401, "{\"error\":\"admin token required\"}");
    if (strncmp(url, "/api/", 5) == 0)
        return api(c, cfg, url + 4, method, ar);
    if (strcmp(url, "/metrics") == 0)
        return is_get(method) ? metrics(c, cfg) : not_allowed(c, "GET, HEAD");
    if (dashboard_asset(url, &a))
        return is_get(method) ? reply_ex(c, 200, a.type, a.body, a.len, MHD_RESPMEM_PERSISTENT,
                                         NULL, true)
                              : not_allowed(c, "GET, HEAD");
    return reply_json(c, 404, "{\"error\":\"not found\"}");
}

enum MHD_Result admin_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    struct admin_request *ar = *con_cls;
    struct config *cfg;
    enum MHD_Result ok;

    if (!ar) {
        if (!(ar = calloc(1, sizeof *ar)))
            return MHD_NO;
        *con_cls = ar;
        return MHD_YES;
    }
    if (*upload_size) {
        if (ar->len + *upload_size > ADMIN_BODY_MAX)
            return MHD_NO;
        char *grown = realloc(ar->body, ar->len + *upload_size + 1);
        if (!grown)
            return MHD_NO;
        ar->body = grown;
        memcpy(ar->body + ar->len, upload, *upload_size);
        ar->len += *upload_size;
        ar->body[ar->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    cfg = runtime_config();
    ok = route(c, cfg, url, method, ar);
    config_release(cfg);
    return ok;
}

void admin_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    struct admin_request *ar = *con_cls;

    if (ar) {
        free(ar->body);
        free(ar);
        *con_cls = NULL;
    }
}
