/*
 * gen.c — writes the benchmark's request files: complete HTTP/1.1 POST
 * requests with uniquely identified, correctly signed 1 KiB JSON bodies, one
 * file per load-generator thread, so that each thread replays its own slice.
 *
 *   gen SCHEME COUNT THREADS HOSTPORT SECRET OUTPREFIX [DUP_EVERY]
 *
 * SCHEME is github (X-Hub-Signature-256 over the body; id and type in
 * headers) or standard (Standard Webhooks: webhook-id / -timestamp /
 * -signature over "id.timestamp.body"; SECRET is then whsec_<base64>),
 * v1a (the same headers, an Ed25519 "v1a," signature) or discord
 * (X-Signature-Ed25519 over "timestamp body"); for these two SECRET is the
 * hex of a 32-byte Ed25519 seed, and `gen pubkey SEED` prints its public key
 * as Discord's hex and as Standard's whpk_ text, for the config.
 * With DUP_EVERY = 2, every second request repeats one sent about a hundred
 * requests earlier on the same thread (same id, body and signature): half
 * the load is duplicates. Record format: "<length>\n<bytes>", repeated.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signing.h"

#define BODY_BYTES 1024
#define REQ_MAX 4096
#define DUP_DISTANCE 100

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[2 * i] = d[p[i] >> 4], out[2 * i + 1] = d[p[i] & 15];
    out[2 * n] = '\0';
}

/* A 1 KiB JSON object naming the event, padded with a string field. */
static size_t make_body(char *body, const char *id, unsigned long seq, const char *type)
{
    int n = snprintf(body, BODY_BYTES + 1,
                     "{\"type\":\"%s\",\"id\":\"%s\",\"seq\":%lu,\"ref\":\"refs/heads/main\","
                     "\"repository\":{\"id\":1296269,\"full_name\":\"octo/hello-world\"},"
                     "\"sender\":{\"login\":\"octocat\",\"id\":1},\"pad\":\"",
                     type, id, seq);
    for (; n < BODY_BYTES - 2; n++)
        body[n] = (char)('a' + n % 26);
    body[n++] = '"', body[n++] = '}';
    return (size_t)n;
}

static size_t make_github(char *req, const char *hostport, const char *secret, unsigned long seq)
{
    char id[64], body[BODY_BYTES + 1], sig[SIG_BUF_SIZE];
    size_t blen;
    int n;

    snprintf(id, sizeof id, "bench-%08lx-%04lx-4000-8000-%012lx", seq, seq & 0xffff,
             (unsigned long)time(NULL));
    blen = make_body(body, id, seq, "push");
    if (github_signature(secret, body, blen, sig) < 0)
        return 0;
    n = snprintf(req, REQ_MAX,
                 "POST /hooks/github HTTP/1.1\r\nHost: %s\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
                 "Content-Type: application/json\r\nX-GitHub-Delivery: %s\r\n"
                 "X-GitHub-Event: push\r\nX-GitHub-Hook-ID: 42\r\n"
                 "X-Hub-Signature-256: %s\r\nContent-Length: %zu\r\n\r\n",
                 hostport, id, sig, blen);
    memcpy(req + n, body, blen);
    return (size_t)n + blen;
}

/* SECRET: whsec_<base64 of the key bytes>. */
static size_t make_standard(char *req, const char *hostport, const char *secret,
                            unsigned long seq)
{
    char id[64], body[BODY_BYTES + 1], sig[SIG_BUF_SIZE];
    long long ts = (long long)time(NULL);
    size_t blen;
    int n;

    snprintf(id, sizeof id, "msg_bench%010lu%08lx", seq, (unsigned long)time(NULL));
    blen = make_body(body, id, seq, "invoice.paid");
    if (standard_signature(secret, id, ts, body, blen, sig) < 0)
        return 0;
    n = snprintf(req, REQ_MAX,
                 "POST /hooks/standard HTTP/1.1\r\nHost: %s\r\nUser-Agent: Svix-Webhooks/bench\r\n"
                 "Content-Type: application/json\r\nwebhook-id: %s\r\nwebhook-timestamp: %lld\r\n"
                 "webhook-signature: %s\r\nContent-Length: %zu\r\n\r\n",
                 hostport, id, ts, sig, blen);
    memcpy(req + n, body, blen);
    return (size_t)n + blen;
}

/* Ed25519 of prefix || body: hex (discord) or base64 (v1a) into out. */
static void ed_sign(EVP_PKEY *pk, const char *prefix, const char *body, size_t blen, int b64,
                    char *out)
{
    char msg[BODY_BYTES + 128];
    unsigned char sig[64];
    size_t plen = strlen(prefix), siglen = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memcpy(msg, prefix, plen);
    memcpy(msg + plen, body, blen);
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)msg, plen + blen) != 1)
        siglen = 0;
    EVP_MD_CTX_free(ctx);
    if (b64)
        EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
    else
        hex(sig, siglen, out);
}

static size_t make_ed25519(char *req, const char *hostport, EVP_PKEY *pk, unsigned long seq,
                           int discord)
{
    char id[64], body[BODY_BYTES + 1], ts[24], prefix[128], sig[160];
    size_t blen;
    int n;

    snprintf(id, sizeof id, "msg_bench%010lu%08lx", seq, (unsigned long)time(NULL));
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
    blen = make_body(body, id, seq, "invoice.paid");
    if (discord) {
        ed_sign(pk, ts, body, blen, 0, sig);
        n = snprintf(req, REQ_MAX,
                     "POST /hooks/discord HTTP/1.1\r\nHost: %s\r\nUser-Agent: Discord-Interactions/bench"
                     "\r\nContent-Type: application/json\r\nX-Signature-Ed25519: %s\r\n"
                     "X-Signature-Timestamp: %s\r\nContent-Length: %zu\r\n\r\n",
                     hostport, sig, ts, blen);
    } else {
        snprintf(prefix, sizeof prefix, "%s.%s.", id, ts);
        ed_sign(pk, prefix, body, blen, 1, sig);
        n = snprintf(req, REQ_MAX,
                     "POST /hooks/v1a HTTP/1.1\r\nHost: %s\r\nUser-Agent: Svix-Webhooks/bench\r\n"
                     "Content-Type: application/json\r\nwebhook-id: %s\r\nwebhook-timestamp: %s\r\n"
                     "webhook-signature: v1a,%s\r\nContent-Length: %zu\r\n\r\n",
                     hostport, id, ts, sig, blen);
    }
    memcpy(req + n, body, blen);
    return (size_t)n + blen;
}

/* The Ed25519 key of a 64-hex-digit seed, or NULL. */
static EVP_PKEY *ed_key(const char *seed_hex)
{
    unsigned char seed[32];

    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(seed_hex + 2 * i, "%2x", &v) != 1)
            return NULL;
        seed[i] = (unsigned char)v;
    }
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

static int print_pubkey(const char *seed_hex)
{
    EVP_PKEY *pk = strlen(seed_hex) == 64 ? ed_key(seed_hex) : NULL;
    unsigned char raw[32], b64[64];
    size_t len = sizeof raw;
    char h[65];

    if (!pk || !EVP_PKEY_get_raw_public_key(pk, raw, &len))
        return fprintf(stderr, "gen: bad seed\n"), 2;
    hex(raw, 32, h);
    EVP_EncodeBlock(b64, raw, 32);
    printf("%s whpk_%s\n", h, (char *)b64);
    EVP_PKEY_free(pk);
    return 0;
}

int main(int argc, char **argv)
{
    char req[REQ_MAX], path[1024];
    static size_t offs[DUP_DISTANCE];

    if (argc == 3 && strcmp(argv[1], "pubkey") == 0)
        return print_pubkey(argv[2]);
    if (argc < 7) {
        fprintf(stderr, "usage: gen github|standard|v1a|discord COUNT THREADS HOSTPORT SECRET "
                        "OUTPREFIX [DUP_EVERY]\n       gen pubkey SEED\n");
        return 2;
    }
    int standard = strcmp(argv[1], "standard") == 0, discord = strcmp(argv[1], "discord") == 0;
    EVP_PKEY *ed = discord || strcmp(argv[1], "v1a") == 0 ? ed_key(argv[5]) : NULL;
    unsigned long count = strtoul(argv[2], NULL, 10), threads = strtoul(argv[3], NULL, 10);
    unsigned long dup_every = argc > 7 ? strtoul(argv[7], NULL, 10) : 0;
    const char *secret = argv[5];

    if ((discord || strcmp(argv[1], "v1a") == 0) && !ed)
        return fprintf(stderr, "gen: SECRET must be 64 hex digits (an Ed25519 seed)\n"), 2;
    for (unsigned long t = 0; t < threads; t++) {
        snprintf(path, sizeof path, "%s.%lu", argv[6], t);
        FILE *f = fopen(path, "wb");
        FILE *rd = fopen(path, "rb");
        if (!f || !rd)
            return perror(path), 1;
        for (unsigned long i = 0, fresh = 0; i < count / threads; i++) {
            size_t n;
            if (dup_every && i % dup_every == dup_every - 1 && fresh > DUP_DISTANCE) {
                /* repeat the request sent DUP_DISTANCE fresh ones ago */
                char hdr[32];
                fflush(f);
                fseek(rd, (long)offs[fresh % DUP_DISTANCE], SEEK_SET);
                if (!fgets(hdr, sizeof hdr, rd))
                    return 1;
                n = strtoul(hdr, NULL, 10);
                if (fread(req, 1, n, rd) != n)
                    return 1;
            } else {
                unsigned long seq = t * count + fresh;
                n = ed         ? make_ed25519(req, argv[4], ed, seq, discord)
                    : standard ? make_standard(req, argv[4], secret, seq)
                               : make_github(req, argv[4], secret, seq);
                if (n == 0)
                    return fprintf(stderr, "gen: cannot sign (bad secret?)\n"), 2;
                offs[fresh % DUP_DISTANCE] = (size_t)ftell(f);
                fresh++;
            }
            fprintf(f, "%zu\n", n);
            fwrite(req, 1, n, f);
        }
        fclose(rd);
        if (fclose(f) != 0)
            return perror(path), 1;
    }
    return 0;
}
