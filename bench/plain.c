/*
 * plain.c — the baseline of `make bench`: a straightforward webhook
 * receiver in C, written the way one would write it in an afternoon, to
 * measure hookd against something other than nginx's `return 202`.
 *
 * libmicrohttpd with a thread pool (one thread per CPU), a hiredis
 * connection per pool thread, and per request: collect the body, check
 * X-Hub-Signature-256 (HMAC-SHA256, constant-time compare), then one
 * blocking EVALSHA that does `SET seen:ID 1 NX EX ttl` and, when the key
 * was new, `XADD stream * id ID body BODY`. 202 when queued, 200 for a
 * duplicate, 401 for a bad signature, 503 when Redis fails. No group
 * commit, no logging, no metrics: the cost floor of "verify, dedupe,
 * append" done plainly.
 *
 * usage: plain PORT REDIS_PORT SECRET [THREADS]
 */
#include <microhttpd.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BODY_BYTES (1024 * 1024)
#define DEDUPE_TTL_S "86400"

static const char script[] =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  return redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'body', ARGV[3])\n"
    "end\n"
    "return false\n";

static char sha[41];
static const char *secret;
static int redis_port;
static __thread redisContext *redis; /* one per pool thread */

struct request {
    char *body;
    size_t len;
};

static redisContext *connection(void)
{
    if (redis && !redis->err)
        return redis;
    if (redis)
        redisFree(redis);
    redis = redisConnect("127.0.0.1", redis_port);
    return redis;
}

static int answer(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    int ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int signature_ok(const char *header, const struct request *rq)
{
    unsigned char mac[32];
    unsigned maclen = sizeof mac;
    char hex[65];

    if (!header || strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 64)
        return 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)rq->body, rq->len,
         mac, &maclen);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return CRYPTO_memcmp(hex, header + 7, 64) == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct request *rq = *state;
    (void)cls, (void)url, (void)version;

    if (!rq) {
        if (strcmp(method, "POST") != 0)
            return answer(c, 405, "{\"error\":\"method\"}");
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *state = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->len + *upload_size > MAX_BODY_BYTES)
            return MHD_NO;
        char *p = realloc(rq->body, rq->len + *upload_size);
        if (!p)
            return MHD_NO;
        memcpy(p + rq->len, upload, *upload_size);
        rq->body = p, rq->len += *upload_size, *upload_size = 0;
        return MHD_YES;
    }
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hub-Signature-256");
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-GitHub-Delivery");
    if (!id || !signature_ok(sig, rq))
        return answer(c, 401, "{\"error\":\"signature\"}");

    char key[512];
    snprintf(key, sizeof key, "plain:seen:%.400s", id);
    redisContext *r = connection();
    redisReply *rep = r ? redisCommand(r, "EVALSHA %s 2 %s plain:stream %s %s %b", sha, key,
                                       DEDUPE_TTL_S, id, rq->body ? rq->body : "", rq->len)
                        : NULL;
    if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(rep);
        rep = redisCommand(r, "EVAL %s 2 %s plain:stream %s %s %b", script, key, DEDUPE_TTL_S, id,
                           rq->body ? rq->body : "", rq->len);
    }
    int ret;
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        ret = answer(c, 503, "{\"error\":\"store\"}");
    else if (rep->type == REDIS_REPLY_STRING)
        ret = answer(c, 202, "{\"status\":\"queued\"}");
    else
        ret = answer(c, 200, "{\"status\":\"duplicate\"}");
    freeReplyObject(rep);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode why)
{
    struct request *rq = *state;
    (void)cls, (void)c, (void)why;
    if (rq)
        free(rq->body);
    free(rq);
    *state = NULL;
}

int main(int argc, char **argv)
{
    unsigned char md[20];
    sigset_t set;
    int sig;

    if (argc < 4) {
        fprintf(stderr, "usage: plain PORT REDIS_PORT SECRET [THREADS]\n");
        return 2;
    }
    secret = argv[3];
    redis_port = (int)strtol(argv[2], NULL, 10);
    unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10)
                                : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    EVP_Digest(script, strlen(script), md, NULL, EVP_sha1(), NULL);
    for (int i = 0; i < 20; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)strtol(argv[1], NULL, 10),
        NULL, NULL, handle, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "plain: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
