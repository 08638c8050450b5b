/*
 * runner_http.c — runs an http(s):// handler for one event: POST the raw
 * body with the event's metadata as headers, on a libcurl easy handle that
 * belongs to one worker thread and is kept between events, so the
 * connection to the internal service is reused (curl_easy_reset keeps the
 * connection cache).
 *
 * Headers sent: Content-Type (the provider's, from the stored headers, else
 * application/octet-stream), Idempotency-Key: SOURCE:EVENT_ID,
 * X-Hookd-Event-Id, -Event-Type, -Source, -Route, -Attempt, X-Request-Id,
 * traceparent (when the request had one). Values are provider bytes: any
 * control character is replaced with '?' so that no value can end a header.
 *
 * The whole exchange is bounded by handler_timeout; redirects are not
 * followed; the first RUN_OUTPUT_MAX bytes of the response body are kept for
 * last_error; Retry-After (seconds or HTTP date) is read by libcurl.
 * Classification of the status is classify.c's.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "runner.h"

#define HEADER_MAX 1024
#define CONNECT_TIMEOUT_MAX_MS 10000

/* Keeps the head of the body; reads (and drops) the rest. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct run_result *res = arg;
    size_t n = size * nmemb, room = RUN_OUTPUT_MAX - res->output_len;

    if (n > room)
        res->output_cut = RUN_CUT_TAIL;
    memcpy(res->output + res->output_len, p, n < room ? n : room);
    res->output_len += n < room ? n : room;
    res->output[res->output_len] = '\0';
    return n;
}

/* "Name: value" with control characters of value replaced; NULL when the
 * list could not grow (the caller then fails the attempt as transient). */
static struct curl_slist *add_header(struct curl_slist *list, bool *ok, const char *name,
                                     const char *val, size_t len)
{
    char line[HEADER_MAX];
    int n = snprintf(line, sizeof line, "%s: ", name);
    struct curl_slist *grown;

    if (!*ok || n < 0 || (size_t)n >= sizeof line)
        return list;
    for (size_t i = 0; i < len && (size_t)n < sizeof line - 1; i++)
        line[n++] = (unsigned char)val[i] < 0x20 || val[i] == 0x7f ? '?' : val[i];
    line[n] = '\0';
    if (!(grown = curl_slist_append(list, line)))
        *ok = false;
    return grown ? grown : list;
}

/* The provider's Content-Type from the stored headers JSON (lower-case
 * names), copied into buf; false when absent. */
static bool stored_content_type(const char *headers, char *buf, size_t cap)
{
    json_t *o = headers ? json_loads(headers, 0, NULL) : NULL;
    json_t *ct = json_object_get(o, "content-type");
    bool found = json_is_string(ct) && json_string_length(ct) < cap;

    if (found)
        memcpy(buf, json_string_value(ct), json_string_length(ct) + 1);
    json_decref(o);
    return found;
}

static struct curl_slist *build_headers(const struct run_input *in, bool *ok)
{
    const struct store_event *ev = in->ev;
    struct curl_slist *h = NULL;
    char ct[256], idem[600], attempt[16];
    int n;

    if (!stored_content_type(ev->headers, ct, sizeof ct))
        snprintf(ct, sizeof ct, "application/octet-stream");
    n = snprintf(idem, sizeof idem, "%s:%.*s", ev->source, (int)ev->event_id_len, ev->event_id);
    snprintf(attempt, sizeof attempt, "%d", in->attempt);
    h = add_header(h, ok, "Content-Type", ct, strlen(ct));
    h = add_header(h, ok, "Idempotency-Key", idem,
                   n > 0 && (size_t)n < sizeof idem ? (size_t)n : 0);
    h = add_header(h, ok, "X-Hookd-Event-Id", ev->event_id, ev->event_id_len);
    h = add_header(h, ok, "X-Hookd-Event-Type", ev->type ? ev->type : "",
                   ev->type ? strlen(ev->type) : 0);
    h = add_header(h, ok, "X-Hookd-Source", ev->source, strlen(ev->source));
    h = add_header(h, ok, "X-Hookd-Route", in->route, strlen(in->route));
    if (in->handler)
        h = add_header(h, ok, "X-Hookd-Handler", in->handler, strlen(in->handler));
    h = add_header(h, ok, "X-Hookd-Attempt", attempt, strlen(attempt));
    if (ev->request_id)
        h = add_header(h, ok, "X-Request-Id", ev->request_id, strlen(ev->request_id));
    if (ev->traceparent)
        h = add_header(h, ok, "traceparent", ev->traceparent, strlen(ev->traceparent));
    if (*ok && !(h = curl_slist_append(h, "Expect:"))) /* no 100-continue round trip */
        *ok = false;
    return h;
}

static void set_options(CURL *c, const struct handler *hd, const struct run_input *in,
                        struct curl_slist *headers, struct run_result *res, char *errbuf)
{
    long timeout = in->timeout_ms > 0 ? (long)in->timeout_ms : 30000;

    curl_easy_setopt(c, CURLOPT_URL, hd->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, in->ev->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)in->ev->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : (long)CONNECT_TIMEOUT_MAX_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hookd-worker");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
}

static void read_status(CURL *c, CURLcode cc, const char *errbuf, struct run_result *res)
{
    long status = 0;
    curl_off_t retry_after = 0;

    if (cc != CURLE_OK) {
        res->status = RUN_HTTP_ERROR;
        res->code = (int)cc;
        snprintf(res->what, sizeof res->what, "HTTP request failed: %s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    res->status = RUN_HTTP_STATUS;
    res->code = (int)status;
    snprintf(res->what, sizeof res->what, "HTTP %ld", status);
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        res->retry_after_ms = (int64_t)retry_after * 1000;
}

void runner_http(void *curl, const struct handler *hd, const struct run_input *in,
                 struct run_result *res)
{
    CURL *c = curl;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    bool ok = true;
    curl_off_t t_us = 0;

    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    if (!c) {
        res->status = RUN_HTTP_ERROR;
        res->code = (int)CURLE_FAILED_INIT;
        snprintf(res->what, sizeof res->what, "HTTP request failed: no curl handle");
        return;
    }
    headers = build_headers(in, &ok);
    if (!ok) {
        res->status = RUN_HTTP_ERROR;
        res->code = (int)CURLE_OUT_OF_MEMORY;
        snprintf(res->what, sizeof res->what, "HTTP request failed: out of memory");
        goto out;
    }
    curl_easy_reset(c);
    set_options(c, hd, in, headers, res, errbuf);
    read_status(c, curl_easy_perform(c), errbuf, res);
    if (curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &t_us) == CURLE_OK)
        res->duration_ms = (int64_t)(t_us / 1000);
out:
    /* The handle must not keep pointers into this call's data. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    curl_slist_free_all(headers);
}
