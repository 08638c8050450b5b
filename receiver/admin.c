/*
 * admin.c — the admin listener's router and its health endpoints.
 *
 *   GET /healthz   200 while the process runs (no auth)
 *   GET /readyz    200 when Redis answers and no route is over its high
 *                  watermark; 503 otherwise (no auth)
 *
 * Everything else requires the admin token, as a Bearer token or as the
 * password of HTTP Basic auth (so a browser can open the dashboard);
 * compared in constant time.
 */
#include "admin.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "runtime.h"
#include "store.h"
#include "store_admin.h"

#define ADMIN_BODY_MAX (64 * 1024)

struct admin_request {
    char *body; /* owned; POST bodies of the JSON API */
    size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *type,
                             const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Basic realm=\"hookd\"");
    ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, int status, const char *json)
{
    return reply(c, status, "application/json", json, strlen(json));
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
        snprintf(why, sizeof why, "redis unreachable");
    for (size_t i = 0; !why[0] && i < cfg->nroutes; i++) {
        int64_t backlog = 0;
        if (store_route_backlog(st, cfg->routes[i].name, &backlog) < 0)
            snprintf(why, sizeof why, "redis unreachable");
        else if (backlog >= cfg->routes[i].high_watermark)
            snprintf(why, sizeof why, "route %s backlog %lld over watermark %lld",
                     cfg->routes[i].name, (long long)backlog, (long long)cfg->routes[i].high_watermark);
    }
    if (why[0]) {
        char body[400];
        snprintf(body, sizeof body, "{\"status\":\"not_ready\",\"reason\":\"%s\"}", why);
        return reply_json(c, 503, body);
    }
    return reply_json(c, 200, "{\"status\":\"ready\"}");
}

static enum MHD_Result route(struct MHD_Connection *c, const struct config *cfg, const char *url,
                             const char *method, const struct admin_request *ar)
{
    if (strcmp(url, "/healthz") == 0)
        return reply_json(c, 200, "{\"status\":\"ok\"}");
    if (strcmp(url, "/readyz") == 0)
        return readyz(c, cfg);
    if (!authorized(c, cfg))
        return reply_json(c, 401, "{\"error\":\"admin token required\"}");
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
