/*
 * store_conn.h — connection internals shared by store.c, store_sentinel.c
 * and store_cluster.c only (the rest of the store_*.c files use
 * store_internal.h and never see these).
 *
 * Every struct store is allocated by store_open() as the first member of a
 * struct store_conn, which adds what following a failover or a cluster
 * needs: the cluster's node table (absent until a node first answers MOVED
 * or ASK) and which connection the previous command went to. store_conn()
 * converts; it is valid only for pointers that came from store_open().
 *
 * Where a command goes:
 *
 *   no cluster seen yet ─────────────────────────▶ main connection (URL or
 *                                                    the master Sentinel names)
 *   cluster, key's slot known ───────────────────▶ that slot's node
 *   cluster, slot unknown ───────────────────────▶ main connection (the seed),
 *                                                    or any live node if it is down
 *   no key (PING, WAIT) ─────────────────────────▶ where the previous command went
 *   reply -MOVED s h:p ──▶ remember s → h:p, send again there
 *   reply -ASK s h:p ────▶ ASKING + the command on h:p, cache unchanged
 *   reply -READONLY, -LOADING, -MASTERDOWN, -CLUSTERDOWN, I/O error or
 *   timeout ─────────────▶ drop that connection (and forget its slots); the
 *                          next call re-resolves through Sentinel or the seed
 */
#ifndef HOOKD_STORE_CONN_H
#define HOOKD_STORE_CONN_H

#include <stdbool.h>

#include "store_internal.h"

#define STORE_MAX_REDIRECTS 5        /* MOVED/ASK hops for one command */
#define STORE_CLUSTER_SLOTS 16384    /* fixed by the Redis Cluster spec */
#define STORE_CLUSTER_MAX_NODES 64   /* masters one store keeps connections to */
#define STORE_MAIN_NODE (-1)         /* "the main connection" as a node index */

/* Log event: which master Sentinel named (debug level). */
#define EV_REDIS_MASTER "redis_master"

struct store_cluster;

struct store_conn {
    struct store st;               /* first: store_open allocates this struct */
    struct store_cluster *cluster; /* owned; NULL until a MOVED or ASK reply */
    int last_node;                 /* node of the previous command, or STORE_MAIN_NODE */
};

static inline struct store_conn *store_conn(struct store *st)
{
    return (struct store_conn *)st;
}

/* AUTH and SELECT on a fresh connection c: 0 or HOOKD_EREDIS_CONN. */
int store_handshake(struct store *st, redisContext *c);

/* After connecting to the address Sentinel named: 0 when it answers ROLE
 * as a master, else HOOKD_EREDIS_CONN (a failover is under way). */
int store_sentinel_check_role(struct store *st);

/* ---- cluster (store_cluster.c) ---- */

/* The cluster hash slot of a key (CRC16 of its {hash tag} or of all of it). */
int store_cluster_key_slot(const char *key, size_t len);

/* The node a command goes to (see the diagram above); STORE_MAIN_NODE for the
 * main connection. */
int store_cluster_route(struct store *st, int argc, const char **argv, const size_t *argvlen);

/* A connected context for a node (connecting lazily), borrowed; NULL with
 * *rc set when it cannot connect. */
redisContext *store_cluster_ctx(struct store *st, int node, int *rc);

/* The serial of a node's open connection (0 when closed). */
uint64_t store_cluster_conn(struct store *st, int node);

/* The node's connection whose serial is conn (its index in *node), if it
 * is still open; else NULL. */
redisContext *store_cluster_ctx_of(struct store *st, uint64_t conn, int *node);

/* If r is -MOVED or -ASK: sets *node (and *asking for ASK), updates the slot
 * cache for MOVED, and returns 1. 0 for any other reply; a negative code
 * when the redirect cannot be followed (malformed, too many nodes). */
int store_cluster_redirect(struct store *st, const redisReply *r, int *node, bool *asking);

/* Closes a node's connection and forgets the slots it served. */
void store_cluster_drop(struct store *st, int node);

/* Frees the node table; store_cluster_free(st) with no cluster does nothing. */
void store_cluster_free(struct store *st);

/* Appends argv to c's output buffer as one RESP command (binary-safe), as
 * redisAppendCommandArgv does, formatted in one pass. store_resp.c. */
int store_append_argv(redisContext *c, int argc, const char **argv, const size_t *len);

/* Records why Redis could not be used, prefixed with the address tried
 * (store_address); read with store_last_error. store_why.c. */
void store_why(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
