/*
 * signing.c — providers' signatures for the tests, make bench and make burst,
 * from OpenSSL's one-shot HMAC() and EVP_EncodeBlock/EVP_DecodeBlock only:
 * nothing here may share code with the receiver's verifiers, or a bug in one
 * would hide in the other.
 *
 * The signed content is assembled in a malloc'd buffer ("TS." body, …) and
 * MACed in one call; bodies in tests are small.
 */
#define _GNU_SOURCE
#include "signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Base64 of a SHA-512 MAC is 88 chars; every output fits with room for a prefix. */
#define MAX_MAC_BYTES EVP_MAX_MD_SIZE

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static const EVP_MD *md_by_name(const char *alg)
{
    if (strcmp(alg, "sha1") == 0)
        return EVP_sha1();
    if (strcmp(alg, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(alg, "sha512") == 0)
        return EVP_sha512();
    return NULL;
}

int hmac_signature(const char *alg, const void *key, size_t key_len, const void *msg, size_t len,
                   int base64, const char *prefix, char out[SIG_BUF_SIZE])
{
    const EVP_MD *md = md_by_name(alg);
    unsigned char mac[MAX_MAC_BYTES];
    unsigned int mac_len = 0;
    size_t pre_len = prefix ? strlen(prefix) : 0;
    static const unsigned char empty[1];

    out[0] = '\0';
    if (!md || key_len > (size_t)INT32_MAX || pre_len + 2 * MAX_MAC_BYTES + 1 > SIG_BUF_SIZE)
        return -1;
    /* HMAC() with a NULL data pointer returns an error on some versions. */
    if (!HMAC(md, key_len ? key : empty, (int)key_len, len ? msg : empty, len, mac, &mac_len))
        return -1;
    memcpy(out, prefix ? prefix : "", pre_len);
    if (base64)
        EVP_EncodeBlock((unsigned char *)out + pre_len, mac, (int)mac_len);
    else
        to_hex(mac, mac_len, out + pre_len);
    return 0;
}

int hmac_signature_joined(const char *alg, const void *key, size_t key_len, const char *head,
                          const void *body, size_t len, int base64, const char *prefix,
                          char out[SIG_BUF_SIZE])
{
    size_t head_len = strlen(head);
    char *msg = malloc(head_len + len + 1);
    int rc;

    if (!msg)
        return -1;
    memcpy(msg, head, head_len);
    if (len)
        memcpy(msg + head_len, body, len);
    rc = hmac_signature(alg, key, key_len, msg, head_len + len, base64, prefix, out);
    free(msg);
    return rc;
}

int github_signature(const char *secret, const void *body, size_t len, char out[SIG_BUF_SIZE])
{
    return hmac_signature("sha256", secret, strlen(secret), body, len, 0, "sha256=", out);
}

int shopify_signature(const char *secret, const void *body, size_t len, char out[SIG_BUF_SIZE])
{
    return hmac_signature("sha256", secret, strlen(secret), body, len, 1, NULL, out);
}

int stripe_signature(const char *secret, long long ts, const void *body, size_t len,
                     char out[SIG_BUF_SIZE])
{
    char head[32], prefix[48];

    snprintf(head, sizeof head, "%lld.", ts);
    snprintf(prefix, sizeof prefix, "t=%lld,v1=", ts);
    return hmac_signature_joined("sha256", secret, strlen(secret), head, body, len, 0, prefix, out);
}

int slack_signature(const char *secret, long long ts, const void *body, size_t len,
                    char out[SIG_BUF_SIZE])
{
    char head[40];

    snprintf(head, sizeof head, "v0:%lld:", ts);
    return hmac_signature_joined("sha256", secret, strlen(secret), head, body, len, 0, "v0=", out);
}

/* Decodes standard base64 (with padding) into key; returns its length or -1. */
static int b64_decode(const char *in, unsigned char *key, size_t cap)
{
    size_t n = strlen(in);
    int len;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return -1;
    len = EVP_DecodeBlock(key, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    for (size_t i = n; i > 0 && in[i - 1] == '='; i--)
        len--;
    return len;
}

int standard_signature(const char *whsec_secret, const char *id, long long ts, const void *body,
                       size_t len, char out[SIG_BUF_SIZE])
{
    const char *b64 = whsec_secret;
    unsigned char key[256];
    char head[256];
    int key_len, n;

    out[0] = '\0';
    if (strncmp(b64, "whsec_", 6) == 0)
        b64 += 6;
    key_len = b64_decode(b64, key, sizeof key);
    n = snprintf(head, sizeof head, "%s.%lld.", id, ts);
    if (key_len < 0 || n < 0 || (size_t)n >= sizeof head)
        return -1;
    return hmac_signature_joined("sha256", key, (size_t)key_len, head, body, len, 1, "v1,", out);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];

    SHA256(data, len, digest);
    to_hex(digest, sizeof digest, out);
}
