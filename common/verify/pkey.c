/*
 * pkey.c — public keys and signature checks through EVP (see pkey.h).
 *
 * Ed25519 is "pure": EVP_DigestVerify takes the whole message at once, so
 * the signed parts (a timestamp and the body) are joined in one buffer;
 * ECDSA streams them through the SHA-256 digest.
 */
#include "pkey.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "codec.h"
#include "err.h"

/* key_id: the first hex digits of the SHA-256 of the key's DER form, which
 * identifies a key in diagnostics without being secret. */
static int set_key(struct secret *key, EVP_PKEY *pk, char *err, size_t errlen)
{
    unsigned char *der = NULL;
    char hex[CODEC_SHA256_HEX_LEN + 1];
    int n = i2d_PUBKEY(pk, &der);

    if (n <= 0) {
        EVP_PKEY_free(pk);
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "the public key cannot be encoded");
    }
    codec_sha256_hex(der, (size_t)n, hex);
    OPENSSL_free(der);
    memcpy(key->key_id, hex, SECRET_KEY_ID_HEX);
    key->key_id[SECRET_KEY_ID_HEX] = '\0';
    EVP_PKEY_free(key->pkey);
    key->pkey = (struct evp_pkey_st *)pk;
    return 0;
}

int pkey_set_ed25519(struct secret *key, const unsigned char *raw, size_t n, char *err,
                     size_t errlen)
{
    EVP_PKEY *pk;

    if (n != PKEY_ED25519_LEN)
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "an Ed25519 public key is %d bytes, this one is %zu",
                       PKEY_ED25519_LEN, n);
    if (!(pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n)))
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "not an Ed25519 public key");
    return set_key(key, pk, err, errlen);
}

int pkey_set_p256_spki(struct secret *key, const unsigned char *der, size_t n, char *err,
                       size_t errlen)
{
    const unsigned char *p = der;
    char group[64] = "";
    EVP_PKEY *pk;

    if (n == 0 || n > PKEY_SPKI_MAX)
        return hookd_errf(HOOKD_ECONFIG, err, errlen,
                       "a P-256 public key is a DER SubjectPublicKeyInfo of about "
                       "91 bytes, this one is %zu",
                       n);
    if (!(pk = d2i_PUBKEY(NULL, &p, (long)n)))
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "not a DER SubjectPublicKeyInfo");
    if (p != der + n) {
        EVP_PKEY_free(pk);
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "%zu bytes after the DER SubjectPublicKeyInfo",
                       (size_t)(der + n - p));
    }
    if (!EVP_PKEY_is_a(pk, "EC") ||
        !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        NULL) ||
        strcmp(group, "prime256v1") != 0) {
        EVP_PKEY_free(pk);
        return hookd_errf(HOOKD_ECONFIG, err, errlen, "the key is not on the P-256 curve (%s)",
                       group[0] ? group : "not an EC key");
    }
    return set_key(key, pk, err, errlen);
}

bool pkey_ecdsa_der_ok(const unsigned char *sig, size_t n)
{
    const unsigned char *p = sig;
    unsigned char *again = NULL;
    ECDSA_SIG *s;
    bool ok = false;
    int len;

    if (n < PKEY_ECDSA_SIG_MIN || n > 72 || !(s = d2i_ECDSA_SIG(NULL, &p, (long)n)))
        return false;
    /* Strict DER: re-encoding gives back exactly the bytes received. */
    if (p == sig + n && (len = i2d_ECDSA_SIG(s, &again)) > 0)
        ok = (size_t)len == n && memcmp(again, sig, n) == 0;
    OPENSSL_free(again);
    ECDSA_SIG_free(s);
    return ok;
}

static int verify_ed25519(EVP_MD_CTX *ctx, EVP_PKEY *pk, const struct mac_part *parts,
                          size_t nparts, const unsigned char *sig, size_t siglen)
{
    unsigned char *msg;
    size_t total = 0, off = 0;
    int rc;

    for (size_t i = 0; i < nparts; i++)
        total += parts[i].n;
    if (!(msg = malloc(total ? total : 1)))
        return HOOKD_ECRYPTO;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n) {
            memcpy(msg + off, parts[i].p, parts[i].n);
            off += parts[i].n;
        }
    if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pk, NULL) != 1)
        rc = HOOKD_ECRYPTO;
    else
        rc = EVP_DigestVerify(ctx, sig, siglen, msg, total) == 1;
    free(msg);
    return rc;
}

static int verify_ecdsa(EVP_MD_CTX *ctx, EVP_PKEY *pk, const struct mac_part *parts, size_t nparts,
                        const unsigned char *sig, size_t siglen)
{
    if (EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pk, NULL) != 1)
        return HOOKD_ECRYPTO;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && EVP_DigestVerifyUpdate(ctx, parts[i].p, parts[i].n) != 1)
            return HOOKD_ECRYPTO;
    /* 0 and -1 both mean "not this key's signature" once the DER parsed. */
    return EVP_DigestVerifyFinal(ctx, sig, siglen) == 1;
}

int pkey_verify(const struct secret *key, const struct mac_part *parts, size_t nparts,
                const unsigned char *sig, size_t siglen)
{
    EVP_PKEY *pk = (EVP_PKEY *)key->pkey;
    EVP_MD_CTX *ctx;
    int rc;

    if (!pk || nparts > MAC_MAX_PARTS || !(ctx = EVP_MD_CTX_new()))
        return HOOKD_ECRYPTO;
    if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519)
        rc = siglen == PKEY_ED25519_SIG_LEN ? verify_ed25519(ctx, pk, parts, nparts, sig, siglen)
                                            : 0;
    else
        rc = verify_ecdsa(ctx, pk, parts, nparts, sig, siglen);
    EVP_MD_CTX_free(ctx);
    return rc;
}
