/*
 * test_codec.c — hex, base64 and SHA-256 helpers (common/codec.c): known
 * answers (RFC 4648 section 10, FIPS 180-2), strictness of the decoders,
 * and that no decoder writes past the capacity it is given.
 */
#include <string.h>

#include "codec.h"
#include "err.h"
#include "../lib/test.h"

TEST(codec_hex_roundtrip)
{
    const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    unsigned char back[8];
    char hex[13];

    codec_hex_encode(in, sizeof in, hex);
    ASSERT_STR_EQ(hex, "00017f80abff");
    ASSERT_INT_EQ(codec_hex_decode(hex, 12, back, sizeof back), 6);
    ASSERT(memcmp(in, back, 6) == 0);
    ASSERT_INT_EQ(codec_hex_decode("00017F80ABFF", 12, back, sizeof back), 6);
    ASSERT(memcmp(in, back, 6) == 0);
}

TEST(codec_hex_rejects_malformed)
{
    unsigned char out[4];

    ASSERT_INT_EQ(codec_hex_decode("abc", 3, out, sizeof out), HOOKD_EPARSE);         /* odd */
    ASSERT_INT_EQ(codec_hex_decode("zz", 2, out, sizeof out), HOOKD_EPARSE);          /* not hex */
    ASSERT_INT_EQ(codec_hex_decode("0 ", 2, out, sizeof out), HOOKD_EPARSE);          /* space */
    ASSERT_INT_EQ(codec_hex_decode("0011223344", 10, out, sizeof out), HOOKD_ETOO_LARGE); /* > cap */
    ASSERT_INT_EQ(codec_hex_decode("00\0"
                                   "1",
                                   4, out, sizeof out),
                  HOOKD_EPARSE); /* NUL inside */
    ASSERT_INT_EQ(codec_hex_decode("", 0, out, sizeof out), 0);
}

TEST(codec_hex_reads_only_n_bytes)
{
    unsigned char out[2];
    /* "abcd" followed by garbage that must not be read. */
    ASSERT_INT_EQ(codec_hex_decode("abcdXYZ", 4, out, sizeof out), 2);
    ASSERT_INT_EQ(out[0], 0xab);
    ASSERT_INT_EQ(out[1], 0xcd);
}

TEST(codec_base64_rfc4648_vectors)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[16];
    unsigned char back[8];

    for (size_t i = 0; i < 7; i++) {
        size_t n = codec_base64_encode((const unsigned char *)plain[i], strlen(plain[i]), out);
        ASSERT_STR_EQ(out, enc[i]);
        ASSERT_INT_EQ(n, strlen(enc[i]));
        ASSERT_INT_EQ(codec_base64_decode(enc[i], strlen(enc[i]), back, sizeof back),
                      strlen(plain[i]));
        ASSERT(memcmp(back, plain[i], strlen(plain[i])) == 0);
    }
}

TEST(codec_base64_padding_does_not_overflow_cap)
{
    /* 44 chars decode to exactly 32 bytes; EVP_DecodeBlock alone would
     * report 33 and write 33. A canary after the buffer must survive. */
    const char *b64 = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    struct {
        unsigned char out[32];
        unsigned char canary[8];
    } buf;

    memset(buf.canary, 0xA5, sizeof buf.canary);
    ASSERT_INT_EQ(codec_base64_decode(b64, 44, buf.out, sizeof buf.out), 32);
    for (size_t i = 0; i < sizeof buf.canary; i++)
        ASSERT_INT_EQ(buf.canary[i], 0xA5);
    ASSERT_INT_EQ(codec_base64_decode(b64, 44, buf.out, 31), HOOKD_ETOO_LARGE);
}

TEST(codec_base64_rejects_malformed)
{
    unsigned char out[64];

    ASSERT_INT_EQ(codec_base64_decode("Zg", 2, out, sizeof out), HOOKD_EPARSE);   /* no padding */
    ASSERT_INT_EQ(codec_base64_decode("Zg=", 3, out, sizeof out), HOOKD_EPARSE);  /* short */
    ASSERT_INT_EQ(codec_base64_decode("Z===", 4, out, sizeof out), HOOKD_EPARSE); /* 3 pads */
    ASSERT_INT_EQ(codec_base64_decode("Zg=a", 4, out, sizeof out), HOOKD_EPARSE); /* '=' inside */
    ASSERT_INT_EQ(codec_base64_decode("Z=g=", 4, out, sizeof out), HOOKD_EPARSE);
    ASSERT_INT_EQ(codec_base64_decode("Zm9v!mFy", 8, out, sizeof out), HOOKD_EPARSE);  /* bad char */
    ASSERT_INT_EQ(codec_base64_decode("Zm9v YmFy", 9, out, sizeof out), HOOKD_EPARSE); /* space */
    ASSERT_INT_EQ(codec_base64_decode("Zm9-YmFy", 8, out, sizeof out), HOOKD_EPARSE);  /* url alphabet */
    ASSERT_INT_EQ(codec_base64_decode("Zg==Zg==", 8, out, sizeof out), HOOKD_EPARSE);  /* pad mid-way */
    ASSERT_INT_EQ(codec_base64_decode("Zm9v\0mFy", 8, out, sizeof out), HOOKD_EPARSE); /* NUL */
}

TEST(codec_base64_large_roundtrip)
{
    size_t n = 100000;
    unsigned char *in = malloc(n), *back = malloc(n);
    char *enc = malloc(4 * ((n + 2) / 3) + 1);
    size_t elen;

    ASSERT(in && back && enc);
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)(i * 7 + 3);
    elen = codec_base64_encode(in, n, enc);
    ASSERT_INT_EQ(elen, 4 * ((n + 2) / 3));
    ASSERT_INT_EQ(codec_base64_decode(enc, elen, back, n), (long)n);
    ASSERT(memcmp(in, back, n) == 0);
    free(in), free(back), free(enc);
}

TEST(codec_sha256_known_answers)
{
    char hex[CODEC_SHA256_HEX_LEN + 1];

    codec_sha256_hex("", 0, hex);
    ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    codec_sha256_hex("abc", 3, hex);
    ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    codec_sha256_hex("a\0b", 3, hex); /* binary input, length-delimited */
    ASSERT_STR_EQ(hex, "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
}

TEST(codec_utf8_strict)
{
    ASSERT(codec_utf8_valid("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 17));
    ASSERT(codec_utf8_valid("", 0));
    ASSERT(!codec_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    ASSERT(!codec_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    ASSERT(!codec_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    ASSERT(!codec_utf8_valid("\xe2\x82", 2));         /* truncated */
    ASSERT(!codec_utf8_valid("\xff", 1));
    ASSERT_INT_EQ(codec_utf8_seq_len((const unsigned char *)"\xe2\x82\xac!", 4), 3);
}

TEST(codec_dec_digits_as_printf_writes_them)
{
    const unsigned long long cases[] = {0, 7, 10, 99, 1234567890123ULL, 18446744073709551615ULL};
    char buf[32], want[32];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *end = buf + sizeof buf - 1, *d = codec_dec_digits(end, cases[i]);
        *end = '\0';
        snprintf(want, sizeof want, "%llu", cases[i]);
        ASSERT_STR_EQ(d, want);
    }
}
