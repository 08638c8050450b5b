/*
 * verify.c — checks a request's signature against a source's key set.
 *
 *   parse (scheme) ── missing ──> 400 missing_header
 *        │ ──────── malformed ──> 400 malformed_header
 *        v
 *   every active key: a secret's MAC (scheme compute) compared with every
 *   candidate of the same length (CRYPTO_memcmp); a public key judged by the
 *   scheme (verify_key: Ed25519, ECDSA) ── none ──> 401 no_match
 *        v
 *   timestamp, when the scheme has one and the caller asks: |now - ts| within
 *   tolerance ── older ──> 401 timestamp_too_old; newer ──> timestamp_in_future
 *        v
 *   OK, with the matching secret version
 *
 * The signature is checked before the timestamp so that a request whose
 * signature is wrong is reported as such, whatever its timestamp: "stale"
 * means "genuine but outside the window" (a replay, or a skewed clock).
 * Diagnostics keep only VERIFY_PREFIX_HEX hex digits of each computed MAC
 * (of a public key: its fingerprint), never a secret; computed MACs are
 * wiped from the stack after use.
 * Callers: the receiver (every request) and hookctl verify / replay.
 */
#include "verify.h"

#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "err.h"

static void copy_received(struct verify_result *out, const char *raw, size_t n)
{
    size_t k = n < VERIFY_RECEIVED_MAX ? n : VERIFY_RECEIVED_MAX;

    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)raw[i];
        out->received[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out->received[k] = '\0';
}

static enum verify_status finish(struct verify_result *out, enum verify_status st,
                                 const char *reason)
{
    out->status = st;
    out->reason = reason;
    return st;
}

/* True when any candidate equals mac; every candidate of the right length is
 * compared, so the time taken does not depend on where a match is. */
static bool any_candidate(const struct sig_input *in, const unsigned char *mac, size_t len)
{
    bool match = false;

    for (size_t i = 0; i < in->nsigs; i++)
        if (in->sigs[i].len == len && CRYPTO_memcmp(in->sigs[i].mac, mac, len) == 0)
            match = true;
    return match;
}

static void record_tried(struct verify_result *out, const struct secret *key,
                         const unsigned char *mac, size_t len)
{
    struct verify_tried *t = &out->tried[out->ntried++];
    size_t bytes = len < VERIFY_PREFIX_HEX / 2 ? len : VERIFY_PREFIX_HEX / 2;

    t->version = key->version;
    codec_hex_encode(mac, bytes, t->prefix); /* 2 * bytes + 1 <= sizeof t->prefix */
}

/* A key the scheme judges itself (a public key): 1, 0 or HOOKD_ECRYPTO. */
static int try_own(const struct source_cfg *src, struct verify_result *out,
                   const struct secret *key, const char *body, size_t body_len)
{
    struct verify_tried *t = &out->tried[out->ntried++];

    t->version = key->version;
    memcpy(t->prefix, key->key_id, sizeof t->prefix);
    t->prefix[VERIFY_PREFIX_HEX] = '\0';
    if (!src->scheme->verify_key)
        return HOOKD_ECRYPTO;
    return src->scheme->verify_key(src, &out->input, key, body, body_len);
}

/* Tries every key; returns 1 on a match (matched_version set), 0 if none
 * matched, HOOKD_ECRYPTO if one could not be checked, or what compute said
 * about the request (HOOKD_ESIG_MISMATCH, HOOKD_ESIG_MALFORMED). */
static int try_keys(const struct source_cfg *src, struct verify_result *out, const char *body,
                    size_t body_len)
{
    unsigned char mac[SCHEME_MAX_MAC];
    size_t len = 0;
    int rc = 0, got;

    for (size_t i = 0; i < src->keys.n && i < CONFIG_MAX_KEYS; i++) {
        const struct secret *key = &src->keys.keys[i];
        if (key->pkey || !src->scheme->compute) {
            if ((got = try_own(src, out, key, body, body_len)) < 0)
                rc = HOOKD_ECRYPTO;
        } else if ((got = src->scheme->compute(src, &out->input, key, body, body_len, mac,
                                               &len)) < 0) {
            if (got == HOOKD_ESIG_MISMATCH || got == HOOKD_ESIG_MALFORMED) {
                rc = got;
                break;
            }
            rc = HOOKD_ECRYPTO;
            continue;
        } else {
            record_tried(out, key, mac, len);
            got = any_candidate(&out->input, mac, len);
        }
        if (got == 1) {
            out->matched_version = key->version;
            out->matched_key = key;
            rc = 1;
            break;
        }
    }
    OPENSSL_cleanse(mac, sizeof mac);
    return rc;
}

int64_t verify_tolerance_s(const struct source_cfg *src)
{
    if (src->tolerance_s > 0)
        return src->tolerance_s;
    if (src->scheme && src->scheme->default_tolerance_s > 0)
        return src->scheme->default_tolerance_s;
    return VERIFY_DEFAULT_TOLERANCE_S;
}

enum verify_status verify_request(const struct source_cfg *src, const struct headers *h,
                                  const char *body, size_t body_len, int64_t now_s,
                                  bool check_tolerance, struct verify_result *out)
{
    return verify_request_http(src, h, NULL, body, body_len, now_s, check_tolerance, out);
}

enum verify_status verify_request_http(const struct source_cfg *src, const struct headers *h,
                                       const struct verify_http *http, const char *body,
                                       size_t body_len, int64_t now_s, bool check_tolerance,
                                       struct verify_result *out)
{
    int64_t tol;
    int rc;

    memset(out, 0, sizeof *out);
    if (!src || !src->scheme)
        return finish(out, VERIFY_MISMATCH, "no_scheme");
    if (http)
        out->input.http = *http;
    rc = src->scheme->parse(src, h, &out->input);
    out->header_name = out->input.header_name;
    if (out->input.raw)
        copy_received(out, out->input.raw, out->input.raw_len);
    if (rc == HOOKD_ESIG_MISSING)
        return finish(out, VERIFY_MISSING, "missing_header");
    if (rc < 0)
        return finish(out, VERIFY_MALFORMED, "malformed_header");
    if (out->input.has_timestamp) {
        out->has_timestamp = true;
        out->timestamp = out->input.timestamp;
        out->skew_s = now_s - out->input.timestamp;
    }
    rc = try_keys(src, out, body, body_len);
    if (rc == HOOKD_ESIG_MISMATCH)
        return finish(out, VERIFY_MISMATCH, "body_hash_mismatch");
    if (rc == HOOKD_ESIG_MALFORMED)
        return finish(out, VERIFY_MALFORMED, "malformed_body");
    if (rc < 0)
        return finish(out, VERIFY_MISMATCH, "crypto_error");
    if (rc == 0)
        return finish(out, VERIFY_MISMATCH, "no_match");
    if (out->has_timestamp && check_tolerance) {
        tol = verify_tolerance_s(src);
        if (out->skew_s > tol || out->skew_s < -tol) {
            out->matched_version = NULL;
            out->matched_key = NULL;
            return finish(out, VERIFY_STALE,
                          out->skew_s > 0 ? "timestamp_too_old" : "timestamp_in_future");
        }
    }
    return finish(out, VERIFY_OK, "ok");
}

bool verify_needs_request_line(const struct source_cfg *src)
{
    const char *t = src->signed_content;

    if (src->scheme && src->scheme->signs_request_line)
        return true;
    return src->scheme && src->scheme->check && t && (strstr(t, "{url}") || strstr(t, "{method}"));
}

int verify_http_status(enum verify_status st)
{
    switch (st) {
    case VERIFY_OK:
        return 200;
    case VERIFY_MISSING:
    case VERIFY_MALFORMED:
        return 400;
    case VERIFY_MISMATCH:
    case VERIFY_STALE:
    default:
        return 401;
    }
}
