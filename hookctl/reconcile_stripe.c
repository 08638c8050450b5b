/*
 * reconcile_stripe.c — Stripe's side of `reconcile --api`: the account's
 * events, which Stripe keeps for 30 days.
 *
 *   GET /v1/events?limit=100&created[gte]=SINCE[&delivery_success=false]
 *                 [&starting_after=LAST_ID]
 *   → {"object": "list", "data": [event, …], "has_more": bool}
 *
 * Newest first; the next page starts after the last id of this one while
 * has_more is true. Every event is an object with id, type, created
 * (epoch seconds) and data, the same object a webhook delivers as its body.
 * --undelivered adds delivery_success=false: only events Stripe has not
 * delivered to every endpoint yet (cheaper, but it misses an event that
 * hookd acknowledged and then lost, e.g. to a Redis without AOF).
 *
 * --enqueue queues each missing event through the receiver's own step
 * (store_enqueue: the dedupe record and the stream entry, atomically, the
 * route's watermark and pause respected), its id, type and tenant taken
 * from the body by the source's field specs as ingress takes them. There
 * is no webhook signature: the event was authenticated by the API
 * (api_token), which the entry records as sig_version "@api" (a name no
 * secret version can have, so replay checks its digest only). A real
 * delivery of the same event later is a 200 duplicate, like any
 * redelivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "codec.h"
#include "err.h"
#include "extract.h"
#include "reconcile.h"
#include "scheme.h"
#include "store_admin.h"

#define STRIPE_URL_MAX 512
#define STRIPE_ID_MAX 255
#define SIG_VERSION_API "@api"

/* The stream entry's inputs from one event's body. */
struct api_event {
    char sha[CODEC_SHA256_HEX_LEN + 1];
    char id[EXTRACT_MAX_LEN + 1], type[EXTRACT_MAX_LEN + 1], tenant[EXTRACT_MAX_LEN + 1];
    size_t id_len, type_len, tenant_len;
};

/* Extracts id, type and tenant as ingress would; a note when it cannot. */
static const char *extract_event(const struct source_cfg *src, struct extract_ctx *x,
                                 struct api_event *e)
{
    if (extract_field(x, &src->id, src->scheme->default_id, e->id, sizeof e->id, &e->id_len) < 0)
        return "not enqueued: the source's id spec finds no id in the event";
    if (extract_field(x, &src->type, src->scheme->default_type, e->type, sizeof e->type,
                      &e->type_len) < 0)
        return "not enqueued: the source's type spec finds no type in the event";
    if (src->tenant.kind != FIELD_NONE &&
        extract_field(x, &src->tenant, NULL, e->tenant, sizeof e->tenant, &e->tenant_len) < 0)
        return "not enqueued: the source's tenant spec finds no tenant in the event";
    return NULL;
}

/* Queues the missing event whose body X holds: 1 queued, 0 not (NOTE says
 * why), or a store error. */
static int enqueue_event(struct api_run *run, struct extract_ctx *x, const char *api_id,
                         char *note, size_t cap)
{
    const struct config *cfg = run->r.c->cfg;
    struct api_event e;
    struct enqueue_result res;
    const char *why;
    int rc;

    if ((why = extract_event(run->src, x, &e)) || strcmp(e.id, api_id) != 0) {
        snprintf(note, cap, "%s", why ? why : "not enqueued: the id spec gives another id");
        return 0;
    }
    const struct route_cfg *route = config_route_for(cfg, run->src->name, e.type, x);
    char okey[EXTRACT_MAX_LEN + 1];
    size_t oklen = 0;
    /* An ordered route: the recovered event joins its key's order as the
     * receiver would have queued it (unordered without a usable key). */
    if (route->order_by.kind != FIELD_NONE &&
        extract_key(x, &route->order_by, okey, sizeof okey, &oklen) < 0)
        oklen = 0;
    codec_sha256_hex(x->body, x->body_len, e.sha);
    struct store_event_in in = {
        .event_id = e.id, .event_id_len = e.id_len, .source = run->src->name,
        .type = e.type, .type_len = e.type_len,
        .tenant = run->src->tenant.kind != FIELD_NONE ? e.tenant : NULL,
        .tenant_len = e.tenant_len, .body = x->body, .body_len = x->body_len,
        .body_sha256 = e.sha, .headers_json = "{\"content-type\":\"application/json\"}",
        .sig_version = SIG_VERSION_API, .received_at_ms = ctl_now_ms(),
        .request_id = run->request_id, .order_key = oklen ? okey : NULL,
        .order_key_len = oklen, .order_hold = route->order_hold_on_dead,
    };
    if ((rc = store_enqueue(run->r.c->st, route->name, &in, cfg->redis.dedupe_ttl_s,
                            route->high_watermark, cfg->redis.wait_replicas,
                            cfg->redis.wait_timeout_ms, &res)) < 0)
        return rc;
    snprintf(note, cap, "%s", res.status == ENQ_QUEUED      ? "enqueued"
                              : res.status == ENQ_DUPLICATE ? "arrived meanwhile, not enqueued"
                              : res.status == ENQ_PAUSED    ? "not enqueued: route paused"
                                                            : "not enqueued: route over its "
                                                              "watermark, run again later");
    return res.status == ENQ_QUEUED;
}

/* One event of a page: checked, recovered if asked, reported. The body is
 * the event object as compact JSON: what the route filters and, with
 * --enqueue, the stream entry see. */
static int take_event(struct api_run *run, json_t *obj)
{
    json_t *created = json_object_get(obj, "created");
    struct recon_event ev = {.id = json_string_value(json_object_get(obj, "id")),
                             .type = json_string_value(json_object_get(obj, "type")),
                             .created_ms = json_is_integer(created)
                                               ? (int64_t)json_integer_value(created) * 1000
                                               : -1};
    char note[96] = "", *body;
    struct extract_ctx x;
    int rc;

    if (!ev.id || !ev.id[0] || strlen(ev.id) > STRIPE_ID_MAX)
        return HOOKD_EPARSE;
    if (!(body = json_dumps(obj, JSON_COMPACT)))
        return HOOKD_ENOMEM;
    extract_init(&x, run->src->name, NULL, body, strlen(body));
    if ((rc = recon_check(&run->r, &ev, &x)) < 0)
        goto out;
    if (ev.status == RECON_MISSING && run->enqueue && recon_expired(&run->r, &ev)) {
        snprintf(note, sizeof note, "older than dedupe_ttl: not enqueued");
        run->not_recovered++;
    } else if (ev.status == RECON_MISSING && run->enqueue) {
        if ((rc = enqueue_event(run, &x, ev.id, note, sizeof note)) < 0)
            goto out;
        run->enqueued += (size_t)rc;
        run->not_recovered += (size_t)!rc;
    }
    rc = recon_report(&run->r, &ev, note);
out:
    extract_release(&x);
    free(body);
    return rc;
}

/* The next page's URL after LAST (NULL: the first page). */
static int page_url(const struct api_run *run, const char *last, char out[STRIPE_URL_MAX])
{
    int n = snprintf(out, STRIPE_URL_MAX, "/v1/events?limit=100&created%%5Bgte%%5D=%lld%s",
                     (long long)(run->since_ms / 1000),
                     run->undelivered ? "&delivery_success=false" : "");

    if (last && strspn(last, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                    strlen(last))
        return HOOKD_EPARSE; /* would need escaping: not an id Stripe makes */
    if (last)
        n += snprintf(out + n, STRIPE_URL_MAX - (size_t)n, "&starting_after=%s", last);
    return n < STRIPE_URL_MAX ? 0 : HOOKD_ETOO_LARGE;
}

static int refused(const char *url, const struct api_response *res, char *err, size_t errlen)
{
    json_t *doc = json_loads(res->body, 0, NULL);
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    char shown[200];

    ctl_printable(msg ? msg : "", msg ? strlen(msg) : 0, shown, sizeof shown);
    snprintf(err, errlen, "GET %s: answered %ld%s%s", url, res->status, msg ? ": " : "",
             msg ? shown : "");
    json_decref(doc);
    return HOOKD_EAPI;
}

int reconcile_stripe(struct api_run *run, char *err, size_t errlen)
{
    char url[STRIPE_URL_MAX];
    int rc = page_url(run, NULL, url);
    bool more = true;

    while (rc == 0 && more) {
        struct api_response res;
        json_t *doc = NULL, *data = NULL, *obj;
        size_t i;
        if ((rc = api_request(run->api, "GET", url, &res, err, errlen)) < 0)
            break;
        if (res.status != 200)
            rc = refused(url, &res, err, errlen);
        else if ((doc = json_loadb(res.body, res.body_len, 0, NULL)), /* json_is_* may */
                 !json_is_object(doc) || /* evaluate their argument twice */
                 !json_is_array(data = json_object_get(doc, "data")))
            rc = HOOKD_EPARSE;
        more = rc == 0 && json_is_true(json_object_get(doc, "has_more"));
        json_array_foreach(rc == 0 ? data : NULL, i, obj) {
            if (rc == 0)
                rc = json_is_object(obj) ? take_event(run, obj) : HOOKD_EPARSE;
        }
        if (rc == 0 && more) {
            obj = json_array_get(data, json_array_size(data) - 1);
            const char *last = json_string_value(json_object_get(obj, "id"));
            rc = last ? page_url(run, last, url) : HOOKD_EPARSE;
        }
        if (rc == HOOKD_EPARSE || rc == HOOKD_ETOO_LARGE)
            snprintf(err, errlen, "GET %s: not a list of events as Stripe documents it", url);
        json_decref(doc);
        api_response_free(&res);
        api_run_progress(run);
    }
    return rc == HOOKD_EPARSE || rc == HOOKD_ETOO_LARGE ? HOOKD_EAPI : rc;
}
