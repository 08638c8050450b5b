/*
 * topology.h — replicated Redis for the durability and failover tests: a
 * primary, a replica and three Sentinels on free loopback ports, all owned
 * by the harness (stopped at the end of the test). Used by
 * test_replication.c (make test) and tests/deploy/ (make test-deploy).
 *
 * Sentinels monitor the primary as TOPO_MASTER_NAME with quorum 2, so a
 * killed primary is replaced within a few seconds. Every server gets
 * repl-diskless-sync-delay 0: replicas sync at once instead of after Redis
 * 7's default 5 s wait.
 *
 * What keeps a failover from losing acknowledged events, as
 * docs/deployment.md asks of a deployment: every server logs each write to
 * its AOF (appendfsync always unless a test measures everysec), so a node
 * that is restarted comes back with its data, never empty; and Sentinel's
 * down-after-milliseconds is several seconds (TOPO_DOWN_AFTER_MS), not its
 * own one-second ping period, so a short stall of the new master (a slow
 * fsync, a busy machine) does not start a second failover. Without the
 * first, a restarted empty primary promoted by a second failover makes the
 * replica holding every acknowledged event resync to nothing.
 */
#ifndef HOOKD_TEST_TOPOLOGY_H
#define HOOKD_TEST_TOPOLOGY_H

#include "harness.h"

#define TOPO_MASTER_NAME "hookd-master"
#define TOPO_SENTINELS 3
#define TOPO_SYNC_TIMEOUT_MS 15000
#define TOPO_DOWN_AFTER_MS 3000 /* Sentinel down-after-milliseconds */

enum topo_fsync {
    TOPO_FSYNC_ALWAYS,   /* appendfsync always: what a node that restarts needs */
    TOPO_FSYNC_EVERYSEC, /* deploy/redis/redis.conf's, for measurements */
};
/* redis.conf lines every server of the topology gets. */
#define TOPO_REDIS_CONF "repl-diskless-sync-delay 0\nrepl-ping-replica-period 1"

struct topo {
    struct redis_srv *primary; /* as started; after a failover see topo_master_port */
    struct redis_srv *replica;
    struct proc *sentinel[TOPO_SENTINELS];
    int sentinel_port[TOPO_SENTINELS];
    char sentinels[128]; /* "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3", for [redis] sentinels */
};

/* Starts a primary and a replica of it (AOF on, fsync as asked) and waits
 * until the replica is online. */
void topo_start_pair(struct topo *t, enum topo_fsync fsync);

/* Starts the three Sentinels (down_after_ms: TOPO_DOWN_AFTER_MS unless a
 * test wants otherwise) and waits until each one knows the replica and
 * the two other Sentinels (so a failover can reach quorum). */
void topo_start_sentinels(struct topo *t, int down_after_ms);

/* Waits until the server on master_port reports n replicas online and a
 * write there reaches them (it leaves a key topology:probe). */
void topo_wait_replicas(int master_port, int n, int timeout_ms);

/* The port of the master the Sentinels name now (the first that answers),
 * or 0 when none answers. */
int topo_master_port(const struct topo *t);

/* The server of the topology listening on port (primary or replica). */
struct redis_srv *topo_server(const struct topo *t, int port);

/* A config template for one receiver (see ingress_fixture.h for @PORT@,
 * @ADMIN@, @REDIS@): source github (secret "gh-secret-one"), route default
 * with handler, and [redis] with redis_extra lines (e.g. wait_replicas, or
 * sentinels). Malloc'd: the caller frees it. */
char *topo_receiver_conf(const char *redis_extra, const char *handler);

#endif
