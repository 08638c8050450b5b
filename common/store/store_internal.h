/*
 * store_internal.h — shared by the store_*.c files only: the connection
 * struct, the command/script helpers and the key builder.
 */
#ifndef HOOKD_STORE_INTERNAL_H
#define HOOKD_STORE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <string.h>

#include "store.h"

#define STORE_KEY_MAX 1024 /* prefix + route + source + event id (ids are <= 256 bytes) */

enum store_script {
    SCRIPT_ENQUEUE,
    SCRIPT_BEGIN,
    SCRIPT_OUTCOMES, /* FINISH, RETRY, DEAD: a batch of outcome steps */
    SCRIPT_MOVE_DUE,
    SCRIPT_REPLAY,
    SCRIPT_READ,
    SCRIPT_COUNT_
};

struct store {
    redisContext *ctx; /* NULL while disconnected */
    char *host;        /* NULL for a unix socket */
    int port;
    char *unix_path;
    int db;
    char *password; /* owned; wiped on close */
    char *prefix;   /* owned */
    int64_t timeout_ms;
    int64_t last_attempt_ms; /* last connect attempt, for the reconnect throttle */
    bool down;
    double last_rtt_ms;
    char **sentinels; /* owned copies, may be empty */
    size_t nsentinels;
    char *master_name;
    uint64_t conns_opened; /* each connection opened gets the next serial */
    uint64_t ctx_conn, last_conn; /* serials: of ctx; of the latest reply's */
    char why[256]; /* the last failure, "HOST:PORT: cause" (store_why, store_conn.h) */
};

int64_t store_now_ms(void);  /* monotonic milliseconds */
int64_t store_wall_ms(void); /* epoch milliseconds */

/* Asks the configured sentinels for the master's address (*host malloc'd). */
int store_sentinel_resolve(struct store *st, char **host, int *port);

/* Ensures a live connection; 0 or HOOKD_EREDIS_CONN. */
int store_connect(struct store *st);

/*
 * Runs a command given as argv (binary-safe). Returns a reply owned by the
 * caller (freeReplyObject), or NULL with *rc set (connection dropped and
 * marked for reconnection). A Redis error reply is returned as a reply of
 * type REDIS_REPLY_ERROR: the caller checks types.
 */
redisReply *store_command(struct store *st, int argc, const char **argv, const size_t *argvlen,
                          int *rc);

/* The same on connection serial conn only, never a new one (HOOKD_EREDIS_CONN
 * once it closed): WAIT, which on another connection covers no write. */
redisReply *store_command_on(struct store *st, uint64_t conn, int argc, const char **argv,
                             const size_t *argvlen, int *rc);

/* EVALSHA with a fallback to EVAL on NOSCRIPT. Same contract as above. */
redisReply *store_script(struct store *st, enum store_script which, int nkeys, int argc,
                         const char **argv, size_t *argvlen, int *rc);

/* One command of a pipeline: argv[0..2] are filled in by store_script_many. */
struct store_argv {
    int argc;
    const char **argv;
    size_t *argvlen;
};

/*
 * n EVALSHA calls of one script sent in one write and answered in order (a
 * pipeline: one round trip, and one read and one write for Redis, for all of
 * them). replies[i] is the reply to cmds[i] (owned by the caller), or NULL
 * with rcs[i] set; an I/O error or a timeout fails that command and all after
 * it, and drops the connection: none of them may be taken as applied. A
 * NOSCRIPT or cluster redirect reply sends that one command again through
 * store_script; once a cluster is known, every command goes that way. So
 * replies may come over different connections: conns[i] (if conns) says which.
 */
void store_script_many(struct store *st, enum store_script which, int nkeys, size_t n,
                       const struct store_argv *cmds, redisReply **replies, int *rcs,
                       uint64_t *conns);

/* The same for n calls of different scripts or key counts: cmds[i] runs
 * which[i] with nkeys[i] keys (the worker's outcome step and its next
 * read; the enqueue step of each route of a batch). */
void store_scripts_pipeline(struct store *st, size_t n, const enum store_script *which,
                            const int *nkeys, const struct store_argv *cmds, redisReply **replies,
                            int *rcs, uint64_t *conns);

/* The same for n plain commands (argv as given; a cluster sends them one by
 * one through store_command). */
void store_command_many(struct store *st, size_t n, const struct store_argv *cmds,
                        redisReply **replies, int *rcs);

/* Key names, spelled only there; length or HOOKD_ETOO_LARGE. ROUTE:LABEL: store_keys.c. */
int store_key_route(const struct store *st, char *buf, size_t cap, const char *route,
                    const char *what /* "retry", "dead", "counters", "paused", "tenants" */);
/* P:{ROUTE}:stream, or P:{ROUTE}:stream:TENANT when TENANT is not NULL or "". */
int store_key_stream(const struct store *st, char *buf, size_t cap, const char *route, const char *tenant);
int store_key_seen(const struct store *st, char *buf, size_t cap, const char *route,
                   const char *source, const char *event_id, size_t event_id_len);
/* P:{ROUTE}:order:KEY, the list of an order key's open events (KEY holds
 * at most STORE_KEY_MAX bytes less the prefix; any bytes). */
int store_key_order(const struct store *st, char *buf, size_t cap, const char *route,
                    const char *key, size_t key_len);
/* "P:{ROUTE}:seen:": what SCRIPT_READ appends "SOURCE:EVENT_ID" to. */
int store_key_seen_prefix(const struct store *st, char *buf, size_t cap, const char *route);
/* The consumer group of ROUTE ("ROUTE:LABEL": hookd-workers:LABEL), in BUF or static. */
const char *store_group(const char *route, char *buf, size_t cap);
int store_key_global(const struct store *st, char *buf, size_t cap, const char *what);
/* True when NAME is a tenant name as store_tenant_name makes them. */
bool store_tenant_name_valid(const char *name);

/* The script bodies and their SHA1s (hex), from store_scripts.c. */
const char *store_script_text(enum store_script which);
const char *store_script_worker_text(enum store_script which); /* NULL: not a worker's */
const char *store_script_sha(enum store_script which);

/* A NUL-terminated malloc'd copy of n bytes that may hold NULs, or NULL. */
char *store_dup_bytes(const char *p, size_t n);
/* strcmp for qsort/bsearch over arrays of fixed-size names (tenants). */
int store_cmp_names(const void *a, const void *b);

/* Appends one argument to an argv being built; ADD_STR(s) appends a C
 * string to the local argv/len/n of the function building a command. */
static inline void store_arg_add(const char **argv, size_t *len, int *n, const char *s, size_t slen)
{
    argv[*n] = s;
    len[*n] = slen;
    (*n)++;
}
#define ADD_STR(s) store_arg_add(argv, len, &n, (s), strlen(s))

/* Reply helpers: r is an array of n elements or more; r (string, status, integer) as text in
 * buf; store_reply_int frees R (NULL: failed with RC): its integer in *out, or HOOKD_EREDIS_REPLY. */
bool store_reply_array(const redisReply *r, size_t n);
bool store_reply_text(const redisReply *r, char *buf, size_t cap);
int store_reply_int(redisReply *r, int rc, int64_t *out);
#endif
