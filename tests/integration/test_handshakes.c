/*
 * test_handshakes.c — the SPEC v2 senders through the real receiver: each
 * provider's handshake (Discord PING, Zoom endpoint.url_validation, Twitch
 * webhook_callback_verification, Meta's GET hub.challenge) answered only
 * once the request verified, never queued, counted in /metrics; other GETs
 * 405; Twilio's signature over the raw query string; a token header kept
 * out of the stored event. Requests are signed by tests/lib/testsign_v2.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "ingress_fixture.h"
#include "testsign.h"

static const char conf_tpl[] = HARNESS_CONF_HEAD("500ms")
                               "[source discord]\n"
                               "scheme = discord\n"
                               "public_key.v1 = %s\n"
                               "[source zoom]\n"
                               "scheme = zoom\n"
                               "secret.v1 = zoom-old\n"
                               "secret.v2 = zoom-secret\n"
                               "[source twitch]\n"
                               "scheme = twitch\n"
                               "secret.v1 = twitch-secret\n"
                               "[source whatsapp]\n"
                               "scheme = meta\n"
                               "verify_token = meta-verify\n"
                               "secret.v1 = meta-secret\n"
                               "[source github]\n"
                               "scheme = github\n"
                               "secret.v1 = gh\n"
                               "[source twilio]\n"
                               "scheme = twilio\n"
                               "public_url = https://mycompany.com/myapp.php\n"
                               "secret.v1 = 12345\n"
                               "[source gitlab]\n"
                               "scheme = token\n"
                               "secret.v1 = gitlab-token-value\n"
                               "[route default]\n"
                               "handler = exec:/bin/true\n";

struct hs {
    struct fixture f;
    struct test_keypair kp;
};

static void hs_start(struct hs *h)
{
    char *conf = malloc(sizeof conf_tpl + 256);

    ASSERT_INT_EQ(test_keypair_new(&h->kp, "discord"), 0);
    snprintf(conf, sizeof conf_tpl + 256, conf_tpl, h->kp.public_text);
    fixture_start(&h->f, conf);
    free(conf);
}

/* POSTs BODY to /hooks/SOURCE signed for SCHEME with secret/key pair. */
static int post_signed(struct hs *h, const char *source, const char *scheme, const char *secret,
                       const char *body, const char *extra, struct http_response *r)
{
    struct test_req req;
    char lines[8][400];
    const char *hv[9];
    size_t n = 0;

    ASSERT_INT_EQ(testsign_v2(&req, scheme, NULL, secret, &h->kp, (long long)time(NULL), body,
                              strlen(body)),
                  0);
    for (size_t i = 0; i < req.h.n && n < 7; i++, n++) {
        snprintf(lines[n], sizeof lines[n], "%.*s: %.*s", (int)req.h.items[i].name_len,
                 req.h.items[i].name, (int)req.h.items[i].value_len, req.h.items[i].value);
        hv[n] = lines[n];
    }
    if (extra)
        hv[n++] = extra;
    hv[n] = NULL;
    char path[64];
    snprintf(path, sizeof path, "/hooks/%s", source);
    return http_request(h->f.port, "POST", path, hv, body, strlen(body), r);
}

static long long handshakes_counted(struct hs *h, const char *needle)
{
    const char *const auth[] = {"Authorization: Bearer test-admin-token", NULL};
    struct http_response r;
    long long n = -1;

    if (http_request(h->f.admin_port, "GET", "/metrics", auth, NULL, 0, &r) == 0) {
        const char *p = strstr(r.body, needle);
        n = p ? strtoll(p + strlen(needle), NULL, 10) : 0;
        http_response_free(&r);
    }
    return n;
}

TEST(receiver_handshake_discord_ping_and_events)
{
    struct hs h;
    struct http_response r;

    hs_start(&h);
    ASSERT_INT_EQ(post_signed(&h, "discord", "discord", NULL, "{\"id\":\"9\",\"type\":1}", NULL, &r),
                  0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "{\"type\":1}");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 0);
    /* a PING with a bad signature is not answered as one */
    const char *bad[] = {"X-Signature-Ed25519: "
                         "00000000000000000000000000000000000000000000000000000000000000000000"
                         "000000000000000000000000000000000000000000000000000000000000",
                         NULL, NULL};
    char ts[64];
    snprintf(ts, sizeof ts, "X-Signature-Timestamp: %lld", (long long)time(NULL));
    bad[1] = ts;
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/discord", bad, "{\"type\":1}", 10, &r), 0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
    /* an application command is an event */
    ASSERT_INT_EQ(post_signed(&h, "discord", "discord", NULL,
                              "{\"id\":\"1148473290853548102\",\"type\":2}", NULL, &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 1);
    ASSERT_INT_EQ(redis_int(h.f.rc, "EXISTS hookd:{default}:seen:discord:1148473290853548102"), 1);
    ASSERT_INT_EQ(handshakes_counted(&h, "hookd_handshakes_total{source=\"discord\",kind=\"ping\","
                                         "status=\"200\"} "),
                  1);
    test_keypair_free(&h.kp);
}

TEST(receiver_handshake_zoom_url_validation_uses_matching_key)
{
    struct hs h;
    struct http_response r;
    char want[SIG_BUF_SIZE];
    static const char body[] = "{\"payload\":{\"plainToken\":\"qgg8vlvZRS6UYooatFL8Aw\"},\"event\":"
                               "\"endpoint.url_validation\"}";

    hs_start(&h);
    /* signed with the second version: the token is encrypted with it */
    ASSERT_INT_EQ(post_signed(&h, "zoom", "zoom", "zoom-secret", body, NULL, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_INT_EQ(hmac_signature("sha256", "zoom-secret", 11, "qgg8vlvZRS6UYooatFL8Aw", 22, 0,
                                 "\"encryptedToken\":\"", want),
                  0);
    ASSERT_STR_CONTAINS(r.body, want);
    ASSERT_STR_CONTAINS(r.body, "\"plainToken\":\"qgg8vlvZRS6UYooatFL8Aw\"");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 0);
    /* unsigned: 400, no token encrypted for a stranger */
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/zoom", NULL, body, strlen(body), &r), 0);
    ASSERT_INT_EQ(r.status, 400);
    ASSERT(strstr(r.body, "encryptedToken") == NULL);
    http_response_free(&r);
    test_keypair_free(&h.kp);
}

TEST(receiver_handshake_twitch_callback_verification)
{
    struct hs h;
    struct http_response r;
    static const char body[] = "{\"challenge\":\"pogchamp-kappa-360noscope-vohiyo\","
                               "\"subscription\":{\"type\":\"channel.follow\"}}";

    hs_start(&h);
    /* a notification (testsign_v2's message type) is an event */
    ASSERT_INT_EQ(post_signed(&h, "twitch", "twitch", "twitch-secret", body, NULL, &r), 0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    struct test_req req;
    char l[5][300];
    const char *hv[6];
    ASSERT_INT_EQ(testsign_v2(&req, "twitch", NULL, "twitch-secret", NULL, (long long)time(NULL),
                              body, strlen(body)),
                  0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(l[i], sizeof l[i], "%.*s: %.*s", (int)req.h.items[i].name_len,
                 req.h.items[i].name, (int)req.h.items[i].value_len, req.h.items[i].value);
        hv[i] = l[i];
    }
    hv[3] = "Twitch-Eventsub-Message-Type: webhook_callback_verification";
    hv[4] = NULL;
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/twitch", hv, body, strlen(body), &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "pogchamp-kappa-360noscope-vohiyo");
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "text/plain");
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 1); /* only the notification */
    test_keypair_free(&h.kp);
}

TEST(receiver_handshake_meta_get_and_other_gets_405)
{
    struct hs h;
    struct http_response r;

    hs_start(&h);
    ASSERT_INT_EQ(http_request(h.f.port, "GET",
                               "/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=meta-verify"
                               "&hub.challenge=1158201444",
                               NULL, NULL, 0, &r),
                  0);
    ASSERT_INT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.body, "1158201444");
    ASSERT_STR_CONTAINS(http_header(&r, "Content-Type"), "text/plain");
    ASSERT_NOT_NULL(http_header(&r, "X-Request-Id"));
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(h.f.port, "GET",
                               "/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess"
                               "&hub.challenge=1158201444",
                               NULL, NULL, 0, &r),
                  0);
    ASSERT_INT_EQ(r.status, 403);
    ASSERT(strstr(r.body, "1158201444") == NULL);
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(h.f.port, "GET", "/hooks/github?hub.challenge=1", NULL, NULL, 0, &r),
                  0);
    ASSERT_INT_EQ(r.status, 405);
    ASSERT_STR_EQ(http_header(&r, "Allow"), "POST");
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(h.f.port, "DELETE", "/hooks/whatsapp", NULL, NULL, 0, &r), 0);
    ASSERT_INT_EQ(r.status, 405);
    http_response_free(&r);
    /* the events themselves */
    ASSERT_INT_EQ(post_signed(&h, "whatsapp", "meta", "meta-secret",
                              "{\"object\":\"whatsapp_business_account\",\"entry\":[]}", NULL, &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 1);
    ASSERT_INT_EQ(handshakes_counted(&h, "hookd_handshakes_total{source=\"whatsapp\",kind="
                                         "\"subscribe_refused\",status=\"403\"} "),
                  1);
    test_keypair_free(&h.kp);
}

TEST(receiver_twilio_signs_raw_query_string)
{
    struct hs h;
    struct http_response r;
    static const char form[] = "To=%2B18005551212&Caller=%2B12349013030&CallSid=CA1234567890ABCDE"
                               "&Digits=1234&From=%2B12349013030";
    const char *hv[] = {"Content-Type: application/x-www-form-urlencoded",
                        "X-Twilio-Signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", NULL};

    hs_start(&h);
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/twilio?foo=1&bar=2", hv, form,
                               strlen(form), &r),
                  0);
    ASSERT_INT_EQ(r.status, 202);
    ASSERT_STR_CONTAINS(r.body, "CA1234567890ABCDE"); /* id = form:CallSid */
    http_response_free(&r);
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/twilio?foo=1&bar=3", hv, form,
                               strlen(form), &r),
                  0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
    test_keypair_free(&h.kp);
}

TEST(receiver_token_header_never_stored)
{
    struct hs h;
    struct http_response r;
    const char *hv[] = {"X-Gitlab-Token: gitlab-token-value", "X-Gitlab-Event: Push Hook",
                        "X-Gitlab-Event-UUID: uuid-1", NULL};

    hs_start(&h);
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/gitlab", hv, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 202);
    http_response_free(&r);
    redisReply *rep = redisCommand(h.f.rc, "XRANGE hookd:{default}:stream - +");
    const char *headers = NULL;
    ASSERT(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
    redisReply *fields = rep->element[0]->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, "headers") == 0)
            headers = fields->element[i + 1]->str;
    ASSERT_NOT_NULL(headers);
    ASSERT(strstr(headers, "gitlab-token-value") == NULL);
    ASSERT(strstr(headers, "x-gitlab-token") == NULL);
    ASSERT_STR_CONTAINS(headers, "Push Hook"); /* the other headers are kept */
    freeReplyObject(rep);
    hv[0] = "X-Gitlab-Token: wrong";
    ASSERT_INT_EQ(http_request(h.f.port, "POST", "/hooks/gitlab", hv, "{}", 2, &r), 0);
    ASSERT_INT_EQ(r.status, 401);
    http_response_free(&r);
    test_keypair_free(&h.kp);
}

/* SIGHUP parses public keys again: a rotated-in key verifies at once, and a
 * malformed one fails the reload naming its line, the running keys staying. */
TEST_T(receiver_sighup_reparses_public_keys, 60)
{
    struct hs h;
    struct http_response r;
    struct test_keypair next;
    char *conf = malloc(sizeof conf_tpl + 1024), key[600];
    static const char ping[] = "{\"id\":\"9\",\"type\":1}";

    hs_start(&h);
    ASSERT_INT_EQ(test_keypair_new(&next, "discord"), 0);
    /* rotation: public_key.v1 (the old) and v2 (the new) */
    snprintf(key, sizeof key, "%s\npublic_key.v2 = %s", h.kp.public_text, next.public_text);
    snprintf(conf, sizeof conf_tpl + 1024, conf_tpl, key);
    fixture_rewrite_config(&h.f, conf);
    proc_signal(h.f.receiver, SIGHUP);
    WAIT_FOR(proc_log_count(h.f.receiver, "config reloaded") == 1, 5000);
    test_keypair_free(&h.kp);
    h.kp = next; /* post_signed signs with the new key now */
    ASSERT_INT_EQ(post_signed(&h, "discord", "discord", NULL, ping, NULL, &r), 0);
    ASSERT_INT_EQ(r.status, 200);
    http_response_free(&r);
    /* a key of 63 hex digits: the reload fails at its line */
    snprintf(conf, sizeof conf_tpl + 1024, conf_tpl,
             "6aa2f68fe36e67e8e4f83b2ab99bdb57309914eef7a37862f35fca8dab8acbd");
    fixture_rewrite_config(&h.f, conf);
    proc_signal(h.f.receiver, SIGHUP);
    WAIT_FOR(proc_log_count(h.f.receiver, "config_reload_failed") == 1, 5000);
    char *log = proc_log(h.f.receiver);
    ASSERT_STR_CONTAINS(log, "receiver.conf:11: public_key.v1");
    ASSERT_STR_CONTAINS(log, "64 hex digits");
    free(log);
    ASSERT_INT_EQ(post_signed(&h, "discord", "discord", NULL, ping, NULL, &r), 0);
    ASSERT_INT_EQ(r.status, 200); /* the running keys stayed */
    http_response_free(&r);
    free(conf);
    test_keypair_free(&h.kp);
}

/* Hostile headers for every new scheme through the socket: each a clean 400
 * or 401 with its reason, nothing queued, the receiver still serving. */
/* True when an entry of hookd:rejected (of SOURCE, or any) has a field value
 * containing NEEDLE. */
static int rejected_has(struct fixture *f, const char *source, const char *needle)
{
    redisReply *r = redisCommand(f->rc, "XRANGE hookd:rejected - +");
    int found = 0;

    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        int src_ok = !source;
        for (size_t k = 0; k + 1 < kv->elements; k += 2)
            if (strcmp(kv->element[k]->str, "source") == 0 && source &&
                strcmp(kv->element[k + 1]->str, source) == 0)
                src_ok = 1;
        for (size_t k = 1; src_ok && k < kv->elements; k += 2)
            found |= strstr(kv->element[k]->str, needle) != NULL;
    }
    freeReplyObject(r);
    return found;
}

TEST(receiver_v2_hostile_headers_are_clean_refusals)
{
    static const struct {
        const char *source, *h1, *h2, *h3;
        int status;
        const char *reason;
    } cases[] = {
        {"discord", "X-Signature-Ed25519: zz", "X-Signature-Timestamp: 1", NULL, 400,
         "malformed_header"},
        {"discord", "X-Signature-Ed25519: abcd", NULL, NULL, 400, "malformed_header"},
        {"zoom", "x-zm-signature: v1=00", "x-zm-request-timestamp: 1", NULL, 400,
         "malformed_header"},
        {"zoom", "x-zm-signature: v0=00", "x-zm-request-timestamp: 99999999999999999", NULL, 400,
         "malformed_header"},
        {"twitch", "Twitch-Eventsub-Message-Signature: sha256=00",
         "Twitch-Eventsub-Message-Id: x", "Twitch-Eventsub-Message-Timestamp: 2023-02-30T25:00:00Z",
         400, "malformed_header"},
        {"whatsapp", "X-Hub-Signature-256: sha256=", NULL, NULL, 400, "malformed_header"},
        {"twilio", "X-Twilio-Signature: !!!!", "Content-Type: application/x-www-form-urlencoded",
         NULL, 400, "malformed_header"},
        {"twilio", "X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "Content-Type: text/plain",
         NULL, 400, "malformed_header"},
        {"twilio", "X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
         "Content-Type: application/x-www-form-urlencoded", NULL, 400, "malformed_body"},
        {"gitlab", "X-Gitlab-Token: gitlab-token-valu", NULL, NULL, 401, "no_match"},
        {"gitlab", "X-Other: 1", NULL, NULL, 400, "missing_header"},
    };
    struct hs h;
    struct http_response r;

    hs_start(&h);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *hv[] = {cases[i].h1, cases[i].h2, cases[i].h3, NULL};
        char path[64];

        snprintf(path, sizeof path, "/hooks/%s", cases[i].source);
        ASSERT_INT_EQ(http_request(h.f.port, "POST", path, hv, "a=%zz&a=1", 9, &r), 0);
        if (r.status != cases[i].status || !strstr(r.body, cases[i].reason))
            test_fail(__FILE__, __LINE__, "case %zu (%s): %d %s", i, cases[i].source, r.status,
                      r.body);
        http_response_free(&r);
    }
    ASSERT_INT_EQ(fixture_stream_len(&h.f, "default"), 0);
    ASSERT(proc_alive(h.f.receiver));
    /* A wrong token is a credential too (an old one, or the real one but for
     * a byte): it reaches neither the log nor the rejected stream, whose
     * entry says only that the header was there. */
    WAIT_FOR(rejected_has(&h.f, "gitlab", "(token)"), 5000);
    ASSERT(!rejected_has(&h.f, NULL, "gitlab-token-valu"));
    ASSERT_INT_EQ(proc_log_count(h.f.receiver, "gitlab-token-valu"), 0);
    ASSERT_INT_EQ(proc_log_count(h.f.receiver, "\"received\":\"(token)\""), 1);
    test_keypair_free(&h.kp);
}
