/*
 * mac.c — HMAC (see mac.h), RFC 2104 over OpenSSL's digests.
 *
 * The digests are fetched once (pthread_once) and kept for the life of the
 * process: fetching walks the provider tables under a lock, which is wasted
 * work on every request. OpenSSL's EVP_MAC "HMAC" did that fetch by name on
 * every EVP_MAC_init and allocated three digest contexts per call, which
 * cost more than hashing the request body (docs/performance.md); the two
 * nested digests are written out here instead, on one digest context per
 * call, so nothing here is shared mutable state. Checked against OpenSSL's
 * own HMAC in tests/unit/test_verify.c and by every scheme's vectors.
 */
#include "mac.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"

/* The three digests, fetched once (process lifetime, never freed): an
 * EVP_MAC_CTX instead fetched its digest by name, and allocated three
 * digest contexts, on every request — more than hashing a 1 KiB body. */
static EVP_MD *digests[3]; /* by enum mac_algo */
static pthread_once_t digests_once = PTHREAD_ONCE_INIT;

static void digests_fetch(void)
{
    digests[MAC_SHA1] = EVP_MD_fetch(NULL, "SHA1", NULL);
    digests[MAC_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    digests[MAC_SHA512] = EVP_MD_fetch(NULL, "SHA512", NULL);
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

#define MAC_BLOCK_MAX 128 /* SHA-512's block; SHA-1's and SHA-256's are 64 */
#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

/* One digest of the key block XORed with pad, then the parts. */
static bool digest_padded(EVP_MD_CTX *ctx, const EVP_MD *md, const unsigned char *key_block,
                          size_t block, unsigned char pad, const struct mac_part *parts,
                          size_t nparts, unsigned char *out)
{
    unsigned char padded[MAC_BLOCK_MAX];
    bool ok;

    for (size_t i = 0; i < block; i++)
        padded[i] = key_block[i] ^ pad;
    ok = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, padded, block);
    for (size_t i = 0; ok && i < nparts; i++)
        ok = parts[i].n == 0 || EVP_DigestUpdate(ctx, parts[i].p, parts[i].n);
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
    OPENSSL_cleanse(padded, sizeof padded);
    return ok;
}

/* HMAC as RFC 2104 defines it, H((K ^ opad) || H((K ^ ipad) || text)),
 * on a digest fetched once and one digest context. */
int mac_compute(enum mac_algo algo, const unsigned char *key, size_t key_len,
                const struct mac_part *parts, size_t nparts, unsigned char *out, size_t *out_len)
{
    unsigned char key_block[MAC_BLOCK_MAX] = {0}, inner[EVP_MAX_MD_SIZE];
    size_t block = algo == MAC_SHA512 ? 128 : 64, dlen = mac_size(algo);
    const EVP_MD *md;
    EVP_MD_CTX *ctx = NULL;
    int rc = HOOKD_ECRYPTO;

    *out_len = 0;
    if (nparts > MAC_MAX_PARTS || (unsigned)algo > MAC_SHA512 ||
        pthread_once(&digests_once, digests_fetch) != 0 || !(md = digests[algo]) ||
        !(ctx = EVP_MD_CTX_new()))
        goto out;
    if (key_len > block) { /* a long key is hashed first */
        if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, key, key_len) ||
            !EVP_DigestFinal_ex(ctx, key_block, NULL))
            goto out;
    } else if (key_len) {
        memcpy(key_block, key, key_len);
    }
    if (!digest_padded(ctx, md, key_block, block, HMAC_IPAD, parts, nparts, inner) ||
        !digest_padded(ctx, md, key_block, block, HMAC_OPAD,
                       &(struct mac_part){.p = inner, .n = dlen}, 1, out))
        goto out;
    *out_len = dlen;
    rc = 0;
out:
    OPENSSL_cleanse(key_block, sizeof key_block);
    OPENSSL_cleanse(inner, sizeof inner);
    EVP_MD_CTX_free(ctx);
    return rc;
}
