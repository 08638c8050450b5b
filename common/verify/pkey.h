/*
 * pkey.h — the providers' public keys and their signatures, through OpenSSL's
 * EVP interface: Ed25519 (Discord, Standard Webhooks v1a) and ECDSA P-256
 * with SHA-256 and a DER signature (SendGrid).
 *
 * Keys are parsed once, when the config is loaded, into struct secret's
 * pkey (owned by the secret; the config frees it with EVP_PKEY_free). An
 * EVP_PKEY is only read afterwards, so one key serves every thread; each
 * verification has its own EVP_MD_CTX.
 */
#ifndef HOOKD_PKEY_H
#define HOOKD_PKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "mac.h"
#include "source.h"

#define PKEY_ED25519_LEN 32     /* bytes of a raw Ed25519 public key */
#define PKEY_ED25519_SIG_LEN 64 /* bytes of an Ed25519 signature */
#define PKEY_ECDSA_SIG_MIN 8    /* bytes of the shortest DER ECDSA signature */
#define PKEY_SPKI_MAX 512       /* bytes of a DER SubjectPublicKeyInfo we accept */

/*
 * Sets key->pkey and key->key_id from a raw 32-byte Ed25519 key, or from a
 * DER SubjectPublicKeyInfo that must hold a P-256 (prime256v1) EC key.
 * Returns 0, or HOOKD_ECONFIG with what is wrong in err.
 */
int pkey_set_ed25519(struct secret *key, const unsigned char *raw, size_t n, char *err,
                     size_t errlen);
int pkey_set_p256_spki(struct secret *key, const unsigned char *der, size_t n, char *err,
                       size_t errlen);

/* True when sig is one strict DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs). */
bool pkey_ecdsa_der_ok(const unsigned char *sig, size_t n);

/*
 * Verifies sig over the concatenation of parts under key->pkey (Ed25519:
 * the message itself; EC: ECDSA over its SHA-256). Returns 1 when the
 * signature is valid, 0 when not, HOOKD_ECRYPTO when libcrypto fails.
 */
int pkey_verify(const struct secret *key, const struct mac_part *parts, size_t nparts,
                const unsigned char *sig, size_t siglen);

#endif
