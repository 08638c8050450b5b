/*
 * codec.c — hex, base64 and SHA-256 over OpenSSL (see codec.h).
 *
 * Every decoder takes (pointer, length) and never reads past it: signature
 * headers and secrets are network or file bytes, not C strings. Decoders are
 * strict: a character outside the alphabet, a misplaced '=' or an odd hex
 * length is malformed input, not something to skip, because a lenient
 * decoder makes two different header texts mean the same signature.
 *
 * Base64 goes through EVP_DecodeBlock, which reports lengths rounded up to a
 * multiple of 3 (it counts '=' padding as zero bytes); the real length is
 * corrected here from the padding count. Callers: the schemes (signature
 * candidates, Standard Webhooks keys), extract.c (sha256 ids), verify.c.
 */
#include "codec.h"
#include "err.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

static const char hexdigits[] = "0123456789abcdef";

void codec_hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[in[i] >> 4];
        out[2 * i + 1] = hexdigits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

int codec_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return HOOKD_EPARSE;
}

long codec_hex_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    if (n % 2 != 0)
        return HOOKD_EPARSE;
    if (n / 2 > cap)
        return HOOKD_ETOO_LARGE;
    for (size_t i = 0; i < n; i += 2) {
        int hi = codec_hex_value((unsigned char)in[i]),
            lo = codec_hex_value((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0)
            return HOOKD_EPARSE;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

size_t codec_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t done = 0, w = 0;

    /* EVP_EncodeBlock takes an int length: feed it in bounded chunks (a
     * multiple of 3, so no padding appears mid-output). */
    while (n - done > 0) {
        size_t chunk = n - done > 3 * 1024 * 1024 ? 3 * 1024 * 1024 : n - done;
        w += (size_t)EVP_EncodeBlock((unsigned char *)out + w, in + done, (int)chunk);
        done += chunk;
    }
    out[w] = '\0';
    return w;
}

static bool b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Number of '=' at the end, or HOOKD_EPARSE if the text is not canonical base64. */
static int b64_padding(const char *in, size_t n)
{
    int pad = 0;

    if (n % 4 != 0)
        return HOOKD_EPARSE;
    if (n > 0 && in[n - 1] == '=') {
        pad = 1;
        if (in[n - 2] == '=')
            pad = 2;
    }
    for (size_t i = 0; i < n - (size_t)pad; i++)
        if (!b64_char((unsigned char)in[i]))
            return HOOKD_EPARSE;
    return pad;
}

long codec_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    unsigned char last[3];
    size_t body, total;
    int pad = b64_padding(in, n);

    if (pad < 0)
        return HOOKD_EPARSE;
    if (n == 0)
        return 0;
    total = n / 4 * 3 - (size_t)pad;
    if (total > cap)
        return HOOKD_ETOO_LARGE;
    /* All quartets but the last decode straight into out; the last goes
     * through a 3-byte scratch so that padding never writes past cap. */
    body = n - 4;
    for (size_t done = 0; done < body;) {
        size_t chunk = body - done > 4 * 1024 * 1024 ? 4 * 1024 * 1024 : body - done;
        if (EVP_DecodeBlock(out + done / 4 * 3, (const unsigned char *)in + done, (int)chunk) < 0)
            return HOOKD_EPARSE;
        done += chunk;
    }
    if (EVP_DecodeBlock(last, (const unsigned char *)in + body, 4) != 3)
        return HOOKD_EPARSE;
    memcpy(out + body / 4 * 3, last, (size_t)(3 - pad));
    return (long)total;
}

/* SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up
 * again in its provider tables, under a lock, on every digest. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void codec_sha256_hex(const void *data, size_t n, char out[CODEC_SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    pthread_once(&sha256_once, sha256_fetch);
    if (!EVP_Digest(data, n, md, &len, sha256_md ? sha256_md : EVP_sha256(), NULL) || len != 32) {
        /* Only on a broken libcrypto; an all-zero digest is never a valid id. */
        memset(out, '0', CODEC_SHA256_HEX_LEN);
        out[CODEC_SHA256_HEX_LEN] = '\0';
        return;
    }
    codec_hex_encode(md, len, out);
}

size_t codec_utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

bool codec_utf8_valid(const void *p, size_t n)
{
    const unsigned char *u = p;

    for (size_t i = 0, k; i < n; i += k)
        if (!(k = codec_utf8_seq_len(u + i, n - i)))
            return false;
    return true;
}

char *codec_dec_digits(char *end, unsigned long long v)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}
