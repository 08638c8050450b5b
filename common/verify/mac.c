/*
 * mac.c — HMAC through EVP_MAC (see mac.h).
 *
 * The "HMAC" EVP_MAC is fetched once (pthread_once) and kept for the life of
 * the process: fetching walks the provider tables under a lock, which is
 * wasted work on every request. Contexts are per call, so nothing here is
 * shared mutable state.
 */
#include "mac.h"

#include <pthread.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "err.h"

static EVP_MAC *hmac_alg; /* process lifetime, never freed */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

size_t mac_size(enum mac_algo algo)
{
    switch (algo) {
    case MAC_SHA1:
        return 20;
    case MAC_SHA512:
        return 64;
    case MAC_SHA256:
    default:
        return 32;
    }
}

const char *mac_algo_name(enum mac_algo algo)
{
    switch (algo) {
    case MAC_SHA1:
        return "sha1";
    case MAC_SHA512:
        return "sha512";
    case MAC_SHA256:
    default:
        return "sha256";
    }
}

/* OpenSSL's digest names: "SHA1", "SHA256", "SHA512". */
static char *digest_name(enum mac_algo algo)
{
    static char sha1[] = "SHA1", sha256[] = "SHA256", sha512[] = "SHA512";

    return algo == MAC_SHA1 ? sha1 : algo == MAC_SHA512 ? sha512 : sha256;
}

int mac_compute(enum mac_algo algo, const unsigned char *key, size_t key_len,
                const struct mac_part *parts, size_t nparts, unsigned char *out, size_t *out_len)
{
    static const unsigned char empty_key[1];
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx = NULL;
    size_t len = 0;
    int rc = HOOKD_ECRYPTO;

    *out_len = 0;
    if (nparts > MAC_MAX_PARTS || pthread_once(&hmac_once, hmac_fetch) != 0 || !hmac_alg)
        return HOOKD_ECRYPTO;
    if (!(ctx = EVP_MAC_CTX_new(hmac_alg)))
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name(algo), 0);
    params[1] = OSSL_PARAM_construct_end();
    /* A NULL key means "keep the previous key" to EVP_MAC_init: never pass it. */
    if (!EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params))
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n > 0 && !EVP_MAC_update(ctx, parts[i].p, parts[i].n))
            goto out;
    if (!EVP_MAC_final(ctx, out, &len, 64) || len != mac_size(algo))
        goto out;
    *out_len = len;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    return rc;
}
