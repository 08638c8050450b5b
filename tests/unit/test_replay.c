/*
 * test_replay.c — replay_check_integrity (common/replay.c) on stored events
 * built by hand: the body digest, the signature re-verified with the
 * recorded secret version only, no timestamp tolerance, and what cannot be
 * checked (a retired version, headers not kept) passing on the digest.
 * The Redis side of replays is in tests/integration/test_hookctl.c.
 */
#include <stdio.h>
#include <string.h>

#include "../lib/test.h"
#include "signing.h"
#include "replay.h"
#include "verify.h"

static const char conf[] =
    "[receiver]\nlisten = 127.0.0.1:1\n"
    "[redis]\nurl = redis://127.0.0.1:1/0\n"
    "[source stripe]\nscheme = stripe\nsecret.v1 = whsec_old\nsecret.v2 = whsec_new\n"
    "[source twilio]\nscheme = twilio\npublic_url = https://x.example/t\nsecret.v2 = tok\n"
    "[source square]\nscheme = hmac\nsignature_header = X-Sig\npublic_url = https://x.example/s\n"
    "signed_content = {url}{body}\nsecret.v2 = sq\n"
    "[route default]\nhandler = exec:/bin/true\n";

static const char body[] = "{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}";

struct stored {
    struct store_field f[6];
    char sha[65], headers[512], version[8];
    struct store_entry e;
};

/* An event as the receiver stored it, signed with SECRET at TS, recorded
 * as matched by VERSION. */
static void stored_event(struct stored *s, const char *secret, long long ts, const char *version)
{
    char sig[SIG_BUF_SIZE];

    ASSERT_INT_EQ(stripe_signature(secret, ts, body, strlen(body), sig), 0);
    snprintf(s->headers, sizeof s->headers, "{\"stripe-signature\":\"%s\"}", sig);
    sha256_hex(body, strlen(body), s->sha);
    snprintf(s->version, sizeof s->version, "%s", version);
    struct store_field f[6] = {
        {(char *)"event_id", (char *)"evt_1", 5},
        {(char *)"source", (char *)"stripe", 6},
        {(char *)"body", (char *)body, sizeof body - 1},
        {(char *)"body_sha256", s->sha, 64},
        {(char *)"headers", s->headers, strlen(s->headers)},
        {(char *)"sig_version", s->version, strlen(s->version)},
    };
    memcpy(s->f, f, sizeof f);
    s->e = (struct store_entry){.id = "1-0", .fields = s->f, .nfields = 6};
}

static struct config *load(void)
{
    char err[256];
    struct config *cfg = config_parse("t.conf", conf, strlen(conf), err, sizeof err);

    if (!cfg)
        test_fail(__FILE__, __LINE__, "config: %s", err);
    return cfg;
}

TEST(replay_integrity_passes_old_signature_without_tolerance)
{
    struct config *cfg = load();
    struct stored s;
    bool checked;

    /* Signed a day ago with v2: far outside tolerance, still genuine. */
    stored_event(&s, "whsec_new", 1700000000LL, "v2");
    ASSERT_NULL(replay_check_integrity(config_source(cfg, "stripe", 6), &s.e, &checked));
    ASSERT(checked);
    config_release(cfg);
}

TEST(replay_integrity_catches_body_and_signature_changes)
{
    struct config *cfg = load();
    const struct source_cfg *src = config_source(cfg, "stripe", 6);
    struct stored s;
    bool checked;

    stored_event(&s, "whsec_new", 1700000000LL, "v2");
    s.f[3].value[0] = s.f[3].value[0] == '0' ? '1' : '0'; /* digest no longer matches */
    ASSERT_STR_EQ(replay_check_integrity(src, &s.e, &checked), "body_digest_mismatch");
    ASSERT(!checked);

    /* Signed with v1 but recorded as v2: only the recorded version counts. */
    stored_event(&s, "whsec_old", 1700000000LL, "v2");
    ASSERT_STR_EQ(replay_check_integrity(src, &s.e, &checked), "signature_mismatch");
    ASSERT(checked);

    stored_event(&s, "whsec_new", 1700000000LL, "v2");
    s.f[4].value_len = 3; /* "{\"s": not JSON */
    ASSERT_STR_EQ(replay_check_integrity(src, &s.e, &checked), "headers_unreadable");

    s.e.nfields = 2; /* no body */
    ASSERT_STR_EQ(replay_check_integrity(src, &s.e, &checked), "malformed_entry");
    config_release(cfg);
}

TEST(replay_integrity_digest_only_when_signature_uncheckable)
{
    struct config *cfg = load();
    const struct source_cfg *src = config_source(cfg, "stripe", 6);
    struct stored s;
    bool checked = true;

    /* A version retired since: the digest is all that can be checked. */
    stored_event(&s, "whsec_retired", 1700000000LL, "v0");
    ASSERT_NULL(replay_check_integrity(src, &s.e, &checked));
    ASSERT(!checked);
    /* A source no longer configured. */
    ASSERT_NULL(replay_check_integrity(NULL, &s.e, &checked));
    ASSERT(!checked);
    /* Headers not kept (the receiver stores {} when they are too large). */
    stored_event(&s, "whsec_new", 1700000000LL, "v2");
    s.f[4].value = (char *)"{}", s.f[4].value_len = 2;
    ASSERT_NULL(replay_check_integrity(src, &s.e, &checked));
    ASSERT(!checked);
    config_release(cfg);
}

/* A signature over the request's URL (twilio; hmac with {url}): the stored
 * event keeps no URL, so only its digest can be checked, and a stored
 * signature that cannot be re-verified is not a mismatch. */
TEST(replay_integrity_digest_only_for_url_signed_sources)
{
    struct config *cfg = load();
    static const char *const sources[] = {"twilio", "square"};
    struct stored s;
    bool checked = true;

    for (size_t i = 0; i < 2; i++) {
        const struct source_cfg *src = config_source(cfg, sources[i], strlen(sources[i]));
        ASSERT_NOT_NULL(src);
        ASSERT(verify_needs_request_line(src));
        stored_event(&s, "whsec_new", 1700000000LL, "v2");
        ASSERT_NULL(replay_check_integrity(src, &s.e, &checked));
        ASSERT(!checked);
        s.f[3].value[0] = s.f[3].value[0] == '0' ? '1' : '0';
        ASSERT_STR_EQ(replay_check_integrity(src, &s.e, &checked), "body_digest_mismatch");
    }
    ASSERT(!verify_needs_request_line(config_source(cfg, "stripe", 6)));
    config_release(cfg);
}
