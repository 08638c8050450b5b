/*
 * test_store_cluster.c — the cluster side of common/store_cluster.c without
 * a server: key slots (values checked against CLUSTER KEYSLOT of Redis 7),
 * parsing -MOVED / -ASK, and which node a command goes to afterwards.
 * Live redirects against a real three-master cluster are in
 * tests/deploy/test_cluster.c (make test-deploy).
 */
#include <string.h>

#include "store_conn.h"
#include "../lib/test.h"

static int slot(const char *key) { return store_cluster_key_slot(key, strlen(key)); }

TEST(store_cluster_key_slots_match_redis)
{
    ASSERT_INT_EQ(slot("foo"), 12182);
    ASSERT_INT_EQ(slot("bar"), 5061);
    ASSERT_INT_EQ(slot("123456789"), 12739); /* CRC16/XMODEM check value 0x31c3 */
    ASSERT_INT_EQ(slot("{user1000}.following"), 3443);
    ASSERT_INT_EQ(slot("hookd:{billing}:stream"), 12682);
    ASSERT_INT_EQ(slot("hookd:{}:x"), 3433); /* empty tag: the whole key */
    ASSERT_INT_EQ(slot("a{}b{c}"), 7353);    /* only the first '{' counts */
    ASSERT_INT_EQ(slot("{}"), 15257);
}

TEST(store_cluster_route_keys_share_a_slot)
{
    /* Every key of a route hashes to the route's slot: the atomic step of
     * the receiver and each worker step touch one node. */
    int s = slot("hookd:{billing}:stream");

    ASSERT_INT_EQ(slot("hookd:{billing}:seen:stripe:evt_1"), s);
    ASSERT_INT_EQ(slot("hookd:{billing}:counters"), s);
    ASSERT_INT_EQ(slot("hookd:{billing}:retry"), s);
    ASSERT_INT_EQ(slot("hookd:{billing}:seen:src:{odd}id"), s);
}

static struct store *open_store(void)
{
    char url[] = "redis://127.0.0.1:1/0", prefix[] = "hookd", err[128];
    struct redis_cfg cfg = {.url = url, .prefix = prefix};
    struct store *st = store_open(&cfg, err, sizeof err);

    ASSERT_NOT_NULL(st);
    return st;
}

static int redirect(struct store *st, const char *text, int *node, bool *asking)
{
    redisReply r = {.type = REDIS_REPLY_ERROR, .str = (char *)text, .len = strlen(text)};
    return store_cluster_redirect(st, &r, node, asking);
}

TEST(store_cluster_follows_moved_and_ask)
{
    struct store *st = open_store();
    const char *argv[] = {"EVALSHA", "abc", "1", "hookd:{billing}:stream", "x"};
    size_t len[] = {7, 3, 1, 22, 1};
    const char *ping[] = {"PING"};
    size_t plen[] = {4};
    int node = -7;
    bool asking = true;

    ASSERT_INT_EQ(store_cluster_route(st, 5, argv, len), STORE_MAIN_NODE);
    ASSERT_INT_EQ(redirect(st, "ERR unknown command", &node, &asking), 0);
    ASSERT_INT_EQ(redirect(st, "MOVED 12682 127.0.0.1:7002", &node, &asking), 1);
    ASSERT_INT_EQ(node, 0);
    ASSERT(!asking);
    ASSERT_INT_EQ(store_cluster_route(st, 5, argv, len), 0);
    /* ASK: this command only; the cache still says node 0. */
    ASSERT_INT_EQ(redirect(st, "ASK 12682 127.0.0.1:7003", &node, &asking), 1);
    ASSERT_INT_EQ(node, 1);
    ASSERT(asking);
    ASSERT_INT_EQ(store_cluster_route(st, 5, argv, len), 0);
    /* A keyless command follows the previous one's node. */
    store_conn(st)->last_node = 0;
    ASSERT_INT_EQ(store_cluster_route(st, 1, ping, plen), 0);
    /* Dropping a node forgets its slots. */
    store_cluster_drop(st, 0);
    ASSERT_INT_EQ(store_cluster_route(st, 5, argv, len), STORE_MAIN_NODE);
    ASSERT_INT_EQ(store_cluster_route(st, 1, ping, plen), STORE_MAIN_NODE);
    store_close(st);
}

TEST(store_cluster_rejects_malformed_redirects)
{
    struct store *st = open_store();
    int node = 0;
    bool asking = false;

    ASSERT(redirect(st, "MOVED 16384 127.0.0.1:7002", &node, &asking) < 0);
    ASSERT(redirect(st, "MOVED x 127.0.0.1:7002", &node, &asking) < 0);
    ASSERT(redirect(st, "MOVED 1 127.0.0.1", &node, &asking) < 0);
    ASSERT(redirect(st, "MOVED 1 :7002", &node, &asking) < 0);
    ASSERT(redirect(st, "MOVED 1 ?:7002", &node, &asking) < 0);
    ASSERT(redirect(st, "MOVED 1 127.0.0.1:70000", &node, &asking) < 0);
    ASSERT(redirect(st, "ASK 1 127.0.0.1:0", &node, &asking) < 0);
    ASSERT_INT_EQ(redirect(st, "MOVED 1 ::1:7002", &node, &asking), 1); /* IPv6: last colon */
    store_close(st);
}

/* A URL with an unknown scheme is refused without echoing its password. */
TEST(store_open_bad_url_hides_password)
{
    char url[] = "rediss://:hunter2-secret@127.0.0.1:6380/0", prefix[] = "hookd", err[256];
    struct redis_cfg cfg = {.url = url, .prefix = prefix};

    ASSERT(store_open(&cfg, err, sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "got \"rediss\"");
    ASSERT(strstr(err, "hunter2") == NULL);
}
