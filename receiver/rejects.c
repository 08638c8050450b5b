/* rejects.c — see rejects.h. */
#include "rejects.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "codec.h"
#include "extract.h"
#include "log.h"
#include "pipeline.h"

#define TRIED_TEXT_MAX (CONFIG_MAX_KEYS * (CONFIG_NAME_MAX + VERIFY_PREFIX_HEX + 4))

/* "v1:1a2b3c4d,v2:9f8e7d6c" */
static void tried_text(const struct verify_result *vr, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < vr->ntried; i++) {
        int n = snprintf(out + len, cap - len, "%s%s:%s", i ? "," : "", vr->tried[i].version,
                         vr->tried[i].prefix);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

void rejects_record(const struct config *cfg, struct store *st, const struct ingress_request *req,
                    const struct headers *headers, const struct source_cfg *src,
                    const struct verify_result *vr, const char *traceparent)
{
    char sha[CODEC_SHA256_HEX_LEN + 1], tried[TRIED_TEXT_MAX], ts[24] = "", skew[24] = "";
    char now[24], event_id[EXTRACT_MAX_LEN + 1];
    struct extract_ctx x;
    size_t id_len;
    struct logline l;

    codec_sha256_hex(req->body, req->body_len, sha);
    tried_text(vr, tried, sizeof tried);
    if (vr->has_timestamp) {
        snprintf(ts, sizeof ts, "%lld", (long long)vr->timestamp);
        snprintf(skew, sizeof skew, "%lld", (long long)vr->skew_s);
    }
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_ms()); /* ms, as every stored time */
    /* The event id when a header carries it (the body is not trusted). */
    extract_init_headers(&x, headers);
    extract_field(&x, &src->id, src->scheme->default_id, event_id, sizeof event_id, &id_len);
    extract_release(&x);
    if (log_begin(&l, LOG_WARN, EV_SIG_REJECTED)) {
        log_str(&l, "request_id", req->request_id);
        log_str(&l, "source", src->name);
        if (event_id[0])
            log_str(&l, "event_id", event_id);
        log_str(&l, "reason", vr->reason);
        log_str(&l, "header", vr->header_name);
        log_str(&l, "received", vr->received);
        log_str(&l, "tried", tried);
        log_str(&l, "body_sha256", sha);
        if (vr->has_timestamp) {
            log_int(&l, "timestamp", vr->timestamp);
            log_int(&l, "skew_s", vr->skew_s);
        }
        log_str(&l, "client", req->client_addr);
        log_str(&l, "traceparent", traceparent);
        log_end(&l);
    }
    const char *fields[] = {"source", src->name, "reason", vr->reason,
                            "request_id", req->request_id, "event_id", event_id,
                            "header", vr->header_name ? vr->header_name : "",
                            "received", vr->received, "tried", tried, "body_sha256", sha,
                            "timestamp", ts, "skew_s", skew, "rejected_at", now,
                            "client", req->client_addr ? req->client_addr : "", NULL, NULL};
    /* The committer writes it, after the answers (pipeline.h). */
    pipeline_reject(fields, st, cfg);
}
