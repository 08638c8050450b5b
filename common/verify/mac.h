/*
 * mac.h — HMAC over a list of byte ranges, through OpenSSL's EVP_MAC.
 *
 * Signed content is usually a concatenation ("TS.body", "v0:TS:body",
 * "id.TS.body"); passing the pieces avoids copying a body of up to max_body
 * bytes just to prepend a timestamp. The HMAC algorithm object is fetched
 * once per process; each call has its own context, so calls are thread-safe.
 */
#ifndef HOOKD_MAC_H
#define HOOKD_MAC_H

#include <stddef.h>

#include "source.h"

#define MAC_MAX_PARTS 16 /* pieces of signed content in one call */

struct mac_part {
    const void *p; /* borrowed; may be NULL when n is 0 */
    size_t n;
};

/* Output size of an algorithm in bytes: 20, 32 or 64. */
size_t mac_size(enum mac_algo algo);

/* Algorithm name as configured: "sha1", "sha256", "sha512". Static. */
const char *mac_algo_name(enum mac_algo algo);

/*
 * HMAC of the concatenation of parts[0..nparts) under key. out must hold 64
 * bytes (SCHEME_MAX_MAC). An empty key is allowed. Returns 0, or
 * HOOKD_ECRYPTO (also when nparts > MAC_MAX_PARTS).
 */
int mac_compute(enum mac_algo algo, const unsigned char *key, size_t key_len,
                const struct mac_part *parts, size_t nparts, unsigned char *out, size_t *out_len);

#endif
