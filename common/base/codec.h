/*
 * codec.h — hex, base64 and SHA-256 helpers over OpenSSL, and UTF-8 checks.
 * All inputs are length-delimited; outputs go to caller buffers of stated size.
 */
#ifndef HOOKD_CODEC_H
#define HOOKD_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#define CODEC_SHA256_HEX_LEN 64

/* Lower-case hex of n bytes into out (2n+1 bytes incl. NUL). */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);

/* The value of one hex digit (either case), or HOOKD_EPARSE. */
int codec_hex_value(unsigned char c);

/* Decodes hex (either case). Returns byte count, HOOKD_EPARSE if malformed,
 * HOOKD_ETOO_LARGE if over cap. */
long codec_hex_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Standard base64 with padding into out (4*ceil(n/3)+1 bytes incl. NUL).
 * Returns the length written, excluding the NUL. */
size_t codec_base64_encode(const unsigned char *in, size_t n, char *out);

/* Decodes standard base64 (padding required when the length needs it).
 * Returns byte count, HOOKD_EPARSE if malformed, HOOKD_ETOO_LARGE if > cap. */
long codec_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Writes v's decimal digits (no sign, no NUL) so that they end just before
 * end, and returns where they start: at most 20 bytes before end. One
 * formatter for the hot paths (log lines, RESP headers, the enqueue step's
 * numbers), where snprintf cost more than the rest of the work. */
char *codec_dec_digits(char *end, unsigned long long v);

/* SHA-256 of data as 64 lower-case hex chars + NUL. */
void codec_sha256_hex(const void *data, size_t n, char out[CODEC_SHA256_HEX_LEN + 1]);

/* Length of the well-formed UTF-8 sequence at p (1..4; n > 0 bytes left),
 * or 0 when it is not (overlong, surrogate, above U+10FFFF, truncated). */
size_t codec_utf8_seq_len(const unsigned char *p, size_t n);

/* True when the n bytes are well-formed UTF-8 (NUL allowed). */
bool codec_utf8_valid(const void *p, size_t n);

#endif
