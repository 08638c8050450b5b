/*
 * codec.h — hex, base64 and SHA-256 helpers over OpenSSL.
 * All inputs are length-delimited; outputs go to caller buffers of stated size.
 */
#ifndef HOOKD_CODEC_H
#define HOOKD_CODEC_H

#include <stddef.h>

#define CODEC_SHA256_HEX_LEN 64

/* Lower-case hex of n bytes into out (2n+1 bytes incl. NUL). */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);

/* Decodes hex (either case). Returns byte count, or -1 if malformed or > cap. */
long codec_hex_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Standard base64 with padding into out (4*ceil(n/3)+1 bytes incl. NUL).
 * Returns the length written, excluding the NUL. */
size_t codec_base64_encode(const unsigned char *in, size_t n, char *out);

/* Decodes standard base64 (padding required when the length needs it).
 * Returns byte count, or -1 if malformed or > cap. */
long codec_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* SHA-256 of data as 64 lower-case hex chars + NUL. */
void codec_sha256_hex(const void *data, size_t n, char out[CODEC_SHA256_HEX_LEN + 1]);

#endif
