/*
 * store_scripts.c — every Lua script hookd runs in Redis, and their SHA1s.
 *
 * Each script is one atomic step of the event state machine:
 *
 *   ingress ──ENQUEUE──▶ queued ──BEGIN──▶ processing ──FINISH──▶ processed
 *                          ▲                  │
 *                          │                  ├──RETRY──▶ retry_scheduled
 *                          │                  │              │ (due)
 *                          └──────MOVE_DUE────┼──────────────┘
 *                                             └──DEAD──▶ failed_permanent
 *                                                            │
 *                          replayed ◀──REPLAY────────────────┘
 *
 * BEGIN is also part of READ: the worker's fair read runs BEGIN's logic on
 * the entry it hands out, in the same step (read_lua); the BEGIN script
 * itself starts the entries READ did not hand out (claimed, or read by the
 * idle blocking XREADGROUP).
 *
 * Where an event lives: P:{ROUTE}:stream, or P:{ROUTE}:stream:TENANT when
 * its source names a tenant (ENQUEUE registers TENANT in P:{ROUTE}:tenants;
 * READ round-robins over a route's streams). Every step after ENQUEUE acts
 * on the stream the entry was read from, which the worker passes as KEYS.
 *
 * Invariants: the dedupe record (seen key) and the stream entry are created
 * together or not at all; an event has at most one entry in its route's
 * stream at any time (MOVE_DUE and REPLAY add the new one and delete the old
 * one in the same step); "processed" is written together with XACK; the
 * counters hash changes in the same step as the state it counts, so
 * counters.backlog = events accepted and not yet processed or dead.
 * Worker steps read the event's state before writing it (BEGIN, READ's
 * BEGIN, RETRY, DEAD and MOVE_DUE act only on an open event through its
 * current entry, see LUA_OPEN_AND_CURRENT; FINISH never counts "processed"
 * twice), so a second worker holding the same entry, or a stray copy, never
 * counts twice.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/sha.h>

#include "codec.h"
#include "store_internal.h"

/*
 * One route's share of a committed batch, in one call: each event is
 * decided as if it ran alone, in order, but what every event would read or
 * count again is read once (paused, the backlog) and counted once at the
 * end (HINCRBY ... n), and the dedupe record holds only the fields a later
 * step reads (state, stream_id, updated_at; attempts is HINCRBY'd from
 * nothing by BEGIN).
 *
 * KEYS: counters, paused, stream, tenants, the n events' seen keys, then
 *       per event, in order, its tenant stream when its flags hold 't'
 *       and its order list when they hold 'o'
 * ARGV: ttl_s, watermark, tenants_max, route, n, then per event: now_ms,
 *       flags, event_id, source, type, body, body_sha256, headers,
 *       sig_version, request_id, then one argument per flag letter that
 *       has one, in the flags' order: 'p' traceparent, 'n' tenant (the
 *       entry's field), 'o' order_key, 't' the tenant's name; 'h'
 *       (order_hold) has none.
 * Returns {backlog, word, detail, word, detail, ...}: the route's backlog
 * before the call, then one pair per event, in order: 'queued', id |
 * 'duplicate', state | 'paused', '' | 'overload', '' | 'error', message
 * (its XADD failed: nothing of that event written; the others stand).
 * The backlog after each event is the caller's sum: the one before the
 * call plus the events queued so far ('paused' and 'error' report 0).
 *
 * The stream entry's field names are the script's own constants (SPEC
 * order: event_id, source, route, type, body, body_sha256, headers,
 * sig_version, received_at, request_id, [traceparent], [tenant],
 * [order_key], attempt) and received_at is now_ms, so a call carries only
 * values: an event whose only optional field is its traceparent (the
 * receiver's) is XADDed by one call with literal names, any other builds
 * its field list first. The dedupe records of the whole call are tested
 * by one EXISTS first: when none exists (no duplicate in the call, the
 * usual case) an event is tested again only when an earlier event of the
 * same call created its record (the same id twice in one batch: the
 * second is a duplicate of the first, as if each ran alone). A call of
 * more than 512 events (more than a committed batch holds) tests each.
 * A record's TTL is one PEXPIREAT at Redis's TIME + ttl_s, computed once
 * per call (EXPIRE is rewritten into PEXPIREAT for every key it sets).
 *
 * An event with a tenant ('t') goes to its tenant's stream, whose name
 * joins the tenants set; once the route has tenants_max tenants, new ones
 * share the default stream (a bound on what one misconfigured tenant
 * field can create). An event with an order key (route order_by) joins
 * the tail of its key's list in the same step, so the list's order is the
 * acceptance order (see LUA_ORDER). The per-event record (seen) and the
 * entry are written together or not at all: XADD, the first write of an
 * event, runs under pcall. When it fails before any event of the call was
 * written, the call answers with that error, as the one-event step did
 * (READONLY after a failover, OOM: the client sees the error reply and
 * reconnects or answers 503 for the whole batch). After an event was
 * written, a failed XADD (a key of the wrong type) fails that event alone
 * and the counters still count exactly what was written; Redis refuses a
 * write for memory or READONLY only before a script's first write, so a
 * batch is not cut in the middle by those.
 */
static const char enqueue_lua[] =
    "local A, K = ARGV, KEYS\n"
    "local ttl, wm, tmax, route, n = A[1], tonumber(A[2]), tonumber(A[3]), A[4], tonumber(A[5])\n"
    "local paused = redis.call('EXISTS', K[2]) == 1\n"
    "local clock = redis.call('TIME')\n"
    "local expire_at = string.format('%.0f',\n"
    "  clock[1] * 1000 + math.floor(clock[2] / 1000) + ttl * 1000)\n"
    "local backlog = tonumber(redis.call('HGET', K[1], 'backlog') or '0')\n"
    "local anydup = n > 512 or (n > 0 and redis.call('EXISTS', unpack(K, 5, 4 + n)) > 0)\n"
    "local out, dup, over, queued, ver, made = {backlog}, 0, 0, 0, {}, {}\n"
    "local lsrc, lsv, lvk\n"
    "local a, k = 6, 5 + n\n"
    "for e = 5, 4 + n do\n"
    "  local seen, now, fl, f = K[e], A[a], A[a + 1], a + 2\n"
    "  local tname, tstream, order, hold, fields = '', nil, nil, false, nil\n"
    "  if fl == 'p' then\n"
    "    a = f + 9\n"
    "  else\n"
    "    fields = {'event_id', A[f], 'source', A[f + 1], 'route', route, 'type', A[f + 2],\n"
    "      'body', A[f + 3], 'body_sha256', A[f + 4], 'headers', A[f + 5],\n"
    "      'sig_version', A[f + 6], 'received_at', now, 'request_id', A[f + 7]}\n"
    "    a = f + 8\n"
    "    for c in string.gmatch(fl, '.') do\n"
    "      local name = c == 'p' and 'traceparent' or c == 'n' and 'tenant' or\n"
    "        c == 'o' and 'order_key' or nil\n"
    "      if name then\n"
    "        fields[#fields + 1], fields[#fields + 2], a = name, A[a], a + 1\n"
    "      end\n"
    "      if c == 'o' then order, k = K[k], k + 1\n"
    "      elseif c == 't' then tname, tstream, a, k = A[a], K[k], a + 1, k + 1\n"
    "      elseif c == 'h' then hold = true end\n"
    "    end\n"
    "    fields[#fields + 1], fields[#fields + 2] = 'attempt', '1'\n"
    "  end\n"
    /* every verified request, whatever follows: which secret version is
     * still in use (verified:SOURCE:VERSION in the route's counters) */
    "  if A[f + 1] ~= lsrc or A[f + 6] ~= lsv then\n"
    "    lsrc, lsv = A[f + 1], A[f + 6]\n"
    "    lvk = 'verified:' .. lsrc .. ':' .. lsv\n"
    "  end\n"
    "  ver[lvk] = (ver[lvk] or 0) + 1\n"
    "  local w, d\n"
    "  if (anydup or made[seen]) and redis.call('EXISTS', seen) == 1 then\n"
    "    dup = dup + 1\n"
    "    w, d = 'duplicate', redis.call('HGET', seen, 'state') or ''\n"
    "  elseif paused then\n"
    "    w, d = 'paused', ''\n"
    "  elseif wm > 0 and backlog >= wm then\n"
    "    over = over + 1\n"
    "    w, d = 'overload', ''\n"
    "  else\n"
    "    local stream = K[3]\n"
    "    if tname ~= '' and (redis.call('SISMEMBER', K[4], tname) == 1 or\n"
    "        redis.call('SCARD', K[4]) < tmax) then\n"
    "      redis.call('SADD', K[4], tname)\n"
    "      stream = tstream\n"
    "    end\n"
    "    local id\n"
    "    if fields then\n"
    "      id = redis.pcall('XADD', stream, '*', unpack(fields))\n"
    "    else\n"
    "      id = redis.pcall('XADD', stream, '*', 'event_id', A[f], 'source', A[f + 1],\n"
    "        'route', route, 'type', A[f + 2], 'body', A[f + 3], 'body_sha256', A[f + 4],\n"
    "        'headers', A[f + 5], 'sig_version', A[f + 6], 'received_at', now,\n"
    "        'request_id', A[f + 7], 'traceparent', A[f + 8], 'attempt', '1')\n"
    "    end\n"
    "    if type(id) == 'table' and queued == 0 then return id end\n"
    "    if type(id) == 'table' then\n"
    "      w, d = 'error', tostring(id.err)\n"
    "    else\n"
    "      redis.call('HSET', seen, 'state', 'queued', 'stream_id', id, 'updated_at', now)\n"
    "      made[seen] = true\n"
    "      if order then\n"
    "        if redis.call('RPUSH', order, seen) == 1 or redis.call('TTL', order) > 0 then\n"
    "          redis.call('EXPIRE', order, ttl)\n"
    "        end\n"
    "        redis.call('HSET', seen, 'order_list', order)\n"
    "        if hold then redis.call('HSET', seen, 'order_hold', '1') end\n"
    "      end\n"
    "      redis.call('PEXPIREAT', seen, expire_at)\n"
    "      queued, backlog = queued + 1, backlog + 1\n"
    "      w, d = 'queued', id\n"
    "    end\n"
    "  end\n"
    "  out[#out + 1], out[#out + 2] = w, d\n"
    "end\n"
    "if dup > 0 then redis.call('HINCRBY', K[1], 'duplicates', dup) end\n"
    "if over > 0 then redis.call('HINCRBY', K[1], 'overload_rejected', over) end\n"
    "for vk, c in pairs(ver) do redis.call('HINCRBY', K[1], vk, c) end\n"
    "if queued > 0 then\n"
    "  redis.call('HINCRBY', K[1], 'received', queued)\n"
    "  redis.call('HINCRBY', K[1], 'backlog', queued)\n"
    "end\n"
    "return out\n";

/*
 * Worker-side guards. A stream entry is "current" when the dedupe record's
 * stream_id names it. Two workers can hold the same entry (the first one's
 * handler outlived visibility_timeout and the entry was claimed again), and a
 * stray copy can be XADDed by hand; so every worker step first checks that
 * the event is still open (not processed, not failed_permanent) and that the
 * entry is the current one. A step that finds otherwise only XACKs: the
 * counters stay equal to the states they count.
 */
#define LUA_OPEN_AND_CURRENT(id_argv)                                                              \
    "local h = redis.call('HMGET', KEYS[1], 'state', 'stream_id')\n"                               \
    "local st, cur = h[1], h[2]\n"                                                                 \
    "local open = st ~= 'processed' and st ~= 'failed_permanent' and\n"                            \
    "  (not cur or cur == " id_argv ")\n"

/* A state write on a dedupe record that expired meanwhile recreates it: give
 * it the TTL again so that it never lives forever. */
#define LUA_KEEP_TTL(ttl_argv)                                                                     \
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], " ttl_argv ") end\n"

/* The handler run's duration sample, counted whatever the step decides
 * (the handler did run): KEYS[k] is P:{ROUTE}:handler_hist, ARGV[a] the
 * bucket field ('' for none), ARGV[a+1] the sum field, ARGV[a+2] the µs. */
#define LUA_OBSERVE(k, a, b, c)                                                                    \
    "if ARGV[" a "] ~= '' then\n"                                                                  \
    "  redis.call('HINCRBY', KEYS[" k "], ARGV[" a "], 1)\n"                                       \
    "  redis.call('HINCRBY', KEYS[" k "], ARGV[" b "], ARGV[" c "])\n"                             \
    "end\n"

/*
 * Per-key ordering (route order_by). P:{ROUTE}:order:KEY lists the dedupe
 * keys of KEY's open events in acceptance order (ENQUEUE appends); the
 * event at its head is the only one of the key that may run:
 *
 *   read/claim an entry ── head of its list (or not in one)? ──▶ run
 *        │ no: XACK, state 'held', 'held_in' = its stream (no handler run)
 *        ▼
 *   FINISH / DEAD of the head ──▶ LPOP it, then order_release: a held new
 *        head is copied to the end of its stream as 'queued' (as MOVE_DUE
 *        does) and read again by any worker.
 *
 * A retry keeps its place at the head (RETRY leaves the list alone), so a
 * retrying event holds the later events of its key. A worker that dies
 * mid-event leaves it pending and at the head: the next event of the key
 * is held until the entry is claimed and finished, never run past it. DEAD
 * releases the key, unless the event was enqueued with order_hold
 * (order_on_dead = hold): then the dead event stays at the head and holds
 * its key until a replay of it finishes. order_release also pops heads
 * that are closed or whose record expired, so a lost record never wedges
 * a key. A held event has nothing in flight to keep it alive, so its
 * record and the list lose their TTL while it is held (PERSIST) and the
 * record gets a full dedupe_ttl again when put back: a key held longer
 * than dedupe_ttl (order_on_dead = hold) loses no event. Every key named
 * here shares the route's {ROUTE} slot.
 */
#define LUA_ORDER                                                                                  \
    "local function order_release(ol, ttl)\n"                                                           \
    "  for _ = 1, 1000 do\n"                                                                       \
    "    local h = redis.call('LINDEX', ol, 0)\n"                                                  \
    "    if not h then return nil end\n"                                                           \
    "    local f = redis.call('HMGET', h, 'state', 'stream_id', 'held_in', 'order_hold')\n"        \
    "    if f[1] == 'held' and f[3] then\n"                                                        \
    "      local e = redis.call('XRANGE', f[3], f[2], f[2])\n"                                     \
    "      if #e > 0 then\n"                                                                       \
    "        local id = redis.call('XADD', f[3], '*', unpack(e[1][2]))\n"                          \
    "        redis.call('XDEL', f[3], f[2])\n"                                                     \
    "        redis.call('HSET', h, 'state', 'queued', 'stream_id', id)\n"                          \
    "        redis.call('HDEL', h, 'held_in')\n"                                                   \
    "        redis.call('EXPIRE', h, ttl)\n"                                                   \
    "        return h\n"                                                                           \
    "      end\n"                                                                                  \
    "    elseif f[1] and f[1] ~= 'processed' and (f[1] ~= 'failed_permanent' or f[4]) then\n"     \
    "      return h\n"                                                                             \
    "    end\n"                                                                                    \
    "    redis.call('LPOP', ol)\n"                                                                 \
    "  end\n"                                                                                      \
    "  return nil\n"                                                                               \
    "end\n"                                                                                        \
    "local function order_held(k, stream, group, id, now, counters, ttl)\n"                            \
    "  local ol = redis.call('HGET', k, 'order_list')\n"                                           \
    "  if not ol then return false end\n"                                                         \
    "  local head = order_release(ol, ttl)\n"                                                          \
    "  if not head or head == k then return false end\n"                                          \
    "  redis.call('XACK', stream, group, id)\n"                                                   \
    "  redis.call('HSET', k, 'state', 'held', 'held_in', stream, 'updated_at', now)\n"            \
    "  redis.call('HINCRBY', counters, 'held', 1)\n"                                              \
    "  redis.call('PERSIST', k)\n"                                                                 \
    "  redis.call('PERSIST', ol)\n"                                              \
    "  return true\n"                                                                             \
    "end\n"                                                                                        \
    "local function order_done(k, keep, ttl)\n"                                                        \
    "  local ol = redis.call('HGET', k, 'order_list')\n"                                           \
    "  if not ol or keep then return end\n"                                                       \
    "  if redis.call('LINDEX', ol, 0) == k then redis.call('LPOP', ol)\n"                         \
    "  else redis.call('LREM', ol, 1, k) end\n"                                                    \
    "  redis.call('HDEL', k, 'order_list', 'order_hold')\n"                                        \
    "  order_release(ol, ttl)\n"                                                                        \
    "end\n"

/* Fan-out: a labelled handler's record (P:{ROUTE}:h:LABEL:seen:…, the
 * only kind with "}:h:" after the route's tag, as neither a prefix nor a
 * route name holds '}') is created by its first BEGIN, not by ENQUEUE; so
 * is its share of the backlog (counted down by FINISH and DEAD as for the
 * plain handler). Needs st, the record's state before this step. */
#define LUA_FIRST_SIGHT(k, counters)                                                               \
    "if not st then\n"                                                                             \
    "  local t = string.find(" k ", '}', 1, true)\n"                                               \
    "  if t and string.sub(" k ", t + 1, t + 3) == ':h:' then\n"                                   \
    "    redis.call('HINCRBY', " counters ", 'backlog', 1)\n"                                      \
    "  end\n"                                                                                      \
    "end\n"

/* Before running a handler, for an entry READ did not begin (claimed, or
 * from the idle wait); read_lua repeats this logic. KEYS: seen, stream, counters
 * ARGV: stream_id, group, now_ms, ttl_s, attempt_token
 * Returns {'skip', state} when the event is closed or the entry is not its
 * current one (and XACKs it), else {'run', attempts} after marking it
 * processing. attempts counts every start, so an event that kills its
 * workers still reaches max_attempts. attempt_token is the worker's name
 * for this one start: a BEGIN sent again after a timeout (the first one
 * may still have run, in a Redis that was frozen) finds its own token and
 * returns the same attempt instead of counting another. */
static const char begin_lua[] = LUA_ORDER LUA_OPEN_AND_CURRENT(
    "ARGV[1]") "if not open then\n"
               "  redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])\n"
               "  redis.call('HINCRBY', KEYS[3], 'duplicate_skipped', 1)\n"
               "  return {'skip', st or ''}\n"
               "end\n"
               "if st == 'processing' and redis.call('HGET', KEYS[1], 'attempt_token') == ARGV[5] "
               "then\n"
               "  return {'run', redis.call('HGET', KEYS[1], 'attempts') or '1'}\n"
               "end\n"
               "if order_held(KEYS[1], KEYS[2], ARGV[2], ARGV[1], ARGV[3], KEYS[3], ARGV[4]) then\n"
               "  return {'skip', 'held'}\n"
               "end\n"
               LUA_FIRST_SIGHT("KEYS[1]", "KEYS[3]")
               "local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)\n"
               "redis.call('HSET', KEYS[1], 'state', 'processing', 'stream_id', ARGV[1],\n"
               "  'started_at', ARGV[3], 'updated_at', ARGV[3], 'attempt_token', "
               "ARGV[5])\n" LUA_KEEP_TTL("ARGV[4]") "return {'run', tostring(n)}\n";

/* Handler succeeded. KEYS: seen, stream, counters, dead, handler_hist
 * ARGV: stream_id, group, now_ms, ttl_s, sample (3, see LUA_OBSERVE)
 * Also applies when another worker already dead-lettered the event (the
 * handler did succeed after all): its dead letter (dead_id) is deleted and
 * failed_now goes back down instead of the backlog (failed_permanent, a
 * count of dead-letterings, never goes down), so an event is never both
 * processed and in the dead-letter stream. Returns 1 applied,
 * 0 already processed. */
static const char finish_lua[] = LUA_ORDER "redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])\n" LUA_OBSERVE(
    "5", "5", "6",
    "7") "local st = redis.call('HGET', KEYS[1], 'state')\n"
         "if st == 'processed' then return 0 end\n"
         "redis.call('HSET', KEYS[1], 'state', 'processed', 'processed_at', ARGV[3],\n"
         "  'updated_at', ARGV[3])\n"
         "redis.call('HDEL', KEYS[1], 'next_attempt_at')\n" LUA_KEEP_TTL(
             "ARGV[4]") "redis.call('HINCRBY', KEYS[3], 'processed', 1)\n"
                        "if st == 'failed_permanent' then\n"
                        "  local d = redis.call('HGET', KEYS[1], 'dead_id')\n"
                        "  if d then redis.call('XDEL', KEYS[4], d) end\n"
                        "  redis.call('HDEL', KEYS[1], 'dead_id', 'reason', 'failed_at')\n"
                        "  redis.call('HINCRBY', KEYS[3], 'failed_now', -1)\n"
                        "else\n"
                        "  redis.call('HINCRBY', KEYS[3], 'backlog', -1)\n"
                        "end\n"
                        "order_done(KEYS[1], false, ARGV[4])\n"
                        "return 1\n";

/* Transient failure with attempts left. KEYS: seen, stream, counters, retry,
 * handler_hist
 * ARGV: stream_id, group, now_ms, due_ms, last_error, member, ttl_s,
 *       sample (3, see LUA_OBSERVE)
 * The zset member is "STREAM_ID|SOURCE|EVENT_ID": legible in redis-cli and
 * enough to find both the entry and the dedupe record. Returns 1 scheduled,
 * 0 only acked (closed or superseded meanwhile). */
static const char retry_lua[] =
    "redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])\n" LUA_OBSERVE("5", "8", "9", "10")
        LUA_OPEN_AND_CURRENT(
            "ARGV[1]") "if not open then return 0 end\n"
                       "redis.call('ZADD', KEYS[4], ARGV[4], ARGV[6])\n"
                       "redis.call('HSET', KEYS[1], 'state', 'retry_scheduled', 'next_attempt_at', "
                       "ARGV[4],\n"
                       "  'last_error', ARGV[5], 'updated_at', ARGV[3])\n" LUA_KEEP_TTL(
                           "ARGV[7]") "redis.call('HINCRBY', KEYS[3], 'retried', 1)\n"
                                      "return 1\n";

/* Permanent failure or attempts exhausted. KEYS: seen, stream, counters, dead,
 * handler_hist
 * ARGV: stream_id, group, now_ms, reason, last_error, attempts, ttl_s,
 *       sample (3, see LUA_OBSERVE; '' when the handler did not run),
 *       field, value... (the event's fields, copied into the dead letter,
 *       followed by the SPEC's reason, last_error, attempts, failed_at)
 * Returns 1 dead-lettered, 0 only acked (closed or superseded meanwhile). */
static const char dead_lua[] =
    LUA_ORDER "redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])\n" LUA_OBSERVE("5", "8", "9", "10")
        LUA_OPEN_AND_CURRENT(
            "ARGV[1]") "if not open then return 0 end\n"
                       "local f = {unpack(ARGV, 11)}\n"
                       "for _, v in ipairs({'reason', ARGV[4], 'last_error', ARGV[5], 'attempts', "
                       "ARGV[6],\n"
                       "  'failed_at', ARGV[3]}) do f[#f + 1] = v end\n"
                       "local d = redis.call('XADD', KEYS[4], '*', unpack(f))\n"
                       "redis.call('HSET', KEYS[1], 'state', 'failed_permanent', 'failed_at', "
                       "ARGV[3],\n"
                       "  'reason', ARGV[4], 'last_error', ARGV[5], 'updated_at', ARGV[3], "
                       "'dead_id', d)\n"
                       "redis.call('HDEL', KEYS[1], 'next_attempt_at')\n" LUA_KEEP_TTL(
                           "ARGV[7]") "redis.call('HINCRBY', KEYS[3], 'failed_permanent', 1)\n"
                                      "redis.call('HINCRBY', KEYS[3], 'failed_now', 1)\n"
                                      "redis.call('HINCRBY', KEYS[3], 'backlog', -1)\n"
                                      "order_done(KEYS[1], redis.call('HGET', KEYS[1], "
                                      "'order_hold') == '1', ARGV[7])\n"
                                      "return 1\n";

/* One due retry back into the stream. KEYS: seen, stream, retry, target
 * ARGV: member (the retry zset member), old_stream_id, now_ms
 * target is the stream the new entry goes to: the old entry's own stream,
 * or for a labelled handler (fan-out) its own P:{ROUTE}:h:LABEL:stream;
 * the old entry is deleted only from its handler's own stream, never from
 * a stream other handlers' groups read (there it is only acked).
 * ZREM decides the race between workers: only the one that removes the
 * member moves the event. Returns 1 moved, 0 someone else did, -1 the old
 * entry is gone, -2 the event was closed or superseded meanwhile (a second
 * worker finished it); in both last cases the member stays removed. */
static const char move_due_lua[] =
    "if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return 0 end\n" LUA_OPEN_AND_CURRENT(
        "ARGV[2]") "if not open then return -2 end\n"
                   "local e = redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2])\n"
                   "if #e == 0 then return -1 end\n"
                   "local f = e[1][2]\n"
                   "local n = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') + 1\n"
                   "for i = 1, #f, 2 do if f[i] == 'attempt' then f[i+1] = tostring(n) end end\n"
                   "local id = redis.call('XADD', KEYS[4], '*', unpack(f))\n"
                   "if KEYS[4] == KEYS[2] then redis.call('XDEL', KEYS[2], ARGV[2]) end\n"
                   "redis.call('HSET', KEYS[1], 'state', 'queued', 'stream_id', id, 'updated_at', "
                   "ARGV[3])\n"
                   "return 1\n";

/* An operator's replay of one event. KEYS: seen, stream, counters,
 * tenant_stream, tenants
 * ARGV: now_ms, ttl_s, old_stream_id ('' if none), tenant ('' if none),
 *       field, value...
 * The new entry goes where ENQUEUE would put it: the tenant's stream when
 * the tenant has one. The old entry is deleted from whichever of the two
 * streams holds this event under that id (ids are unique per stream only,
 * so the entry's event_id and source are compared before the XDEL).
 * Returns {'replayed', id} | {'duplicate', state} | {'in_flight', state} */
static const char replay_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if st == 'processed' then return {'duplicate', st} end\n"
    "if st and st ~= 'failed_permanent' then return {'in_flight', st} end\n"
    "local ev, src = nil, nil\n"
    "for i = 5, #ARGV, 2 do\n"
    "  if ARGV[i] == 'attempt' then ARGV[i+1] = '1' end\n"
    "  if ARGV[i] == 'event_id' then ev = ARGV[i+1] end\n"
    "  if ARGV[i] == 'source' then src = ARGV[i+1] end\n"
    "end\n"
    "local target = KEYS[2]\n"
    "if ARGV[4] ~= '' and redis.call('SISMEMBER', KEYS[5], ARGV[4]) == 1 then\n"
    "  target = KEYS[4]\n"
    "end\n"
    "local id = redis.call('XADD', target, '*', unpack(ARGV, 5))\n"
    "if ARGV[3] ~= '' then\n"
    "  for _, k in ipairs({KEYS[4], KEYS[2]}) do\n"
    "    local e = redis.call('XRANGE', k, ARGV[3], ARGV[3])\n"
    "    local f = e[1] and e[1][2] or {}\n"
    "    local fev, fsrc = nil, nil\n"
    "    for j = 1, #f, 2 do\n"
    "      if f[j] == 'event_id' then fev = f[j+1] elseif f[j] == 'source' then fsrc = f[j+1] end\n"
    "    end\n"
    "    if fev == ev and fsrc == src and ev then\n"
    "      redis.call('XDEL', k, ARGV[3])\n"
    "      break\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if st == 'failed_permanent' then redis.call('HINCRBY', KEYS[3], 'failed_now', -1) end\n"
    "redis.call('HSET', KEYS[1], 'state', 'replayed', 'stream_id', id, 'attempts', '0',\n"
    "  'replayed_at', ARGV[1], 'updated_at', ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "redis.call('HINCRBY', KEYS[3], 'replayed', 1)\n"
    "redis.call('HINCRBY', KEYS[3], 'backlog', 1)\n"
    "return {'replayed', id}\n";

/* A worker's fair read of one entry, and its BEGIN. KEYS: paused,
 * counters, stream_1, ... stream_n (a window of the route's streams, in
 * round-robin order from the stream that comes next)
 * ARGV: group, consumer, seen_prefix ('' = read only, no BEGIN), now_ms,
 *       ttl_s, attempt_token, key_max, fields_max
 * Tries each stream in turn with XREADGROUP COUNT 1 (never blocking inside
 * a script) and stops at the first entry, so one call hands out exactly one
 * event and a tenant with a deep backlog is read no more often than one
 * with a single event. Returns {'paused'} | {'none'} |
 * {'event', i, [[id, [field, value, ...]]], begin} with i the 1-based
 * stream index, and begin (when seen_prefix is given) BEGIN's answer:
 * {'run', attempts, seen} | {'skip', state, seen} (acked, as BEGIN does)
 * | {'unbegun'}.
 *
 * The fold saves BEGIN's round trip. The dedupe record's key is only known
 * from the entry, so the script builds it exactly as store_key_seen does:
 * seen_prefix ("PREFIX:{ROUTE}:seen:") .. source (cut at a NUL, as the
 * worker's C string is) .. ':' .. event_id (all its bytes), the first of
 * each field as store_event_field finds it. It shares the route's {ROUTE}
 * hash slot, so a cluster node runs it although it is not in KEYS. An
 * entry the worker would not handle (no event_id or source, too many
 * fields) or whose key would be too long is left 'unbegun': the worker
 * acks it as malformed, or runs BEGIN itself, which fails as before. The
 * worker checks that seen is the key it computes.
 *
 * attempt_token: a fold re-sent after a timeout reads a new entry instead
 * of finding its own start; the first entry stays pending in this
 * consumer's list with its attempt counted and is claimed after
 * visibility_timeout, where BEGIN counts the next attempt: the same as a
 * worker dying after BEGIN, so attempts still bound the handler's runs.
 * The token is written all the same, so that a later BEGIN of the same
 * entry never takes this start for its own. */
static const char read_lua[] =
    LUA_ORDER "local function seen_key(f)\n"
    "  if #f % 2 ~= 0 or #f / 2 > tonumber(ARGV[8]) then return nil end\n"
    "  local eid, src\n"
    "  for j = 1, #f, 2 do\n"
    "    local name = string.match(f[j], '^[^%z]*')\n"
    "    if name == 'event_id' and not eid then eid = f[j + 1]\n"
    "    elseif name == 'source' and not src then src = string.match(f[j + 1], '^[^%z]*') end\n"
    "  end\n"
    "  if not eid or eid == '' or not src or src == '' then return nil end\n"
    "  local k = ARGV[3] .. src .. ':' .. eid\n"
    "  if #k >= tonumber(ARGV[7]) then return nil end\n"
    "  return k\n"
    "end\n"
    "local function begin(stream, e)\n"
    "  local k = seen_key(e[2])\n"
    "  if not k then return {'unbegun'} end\n"
    "  local h = redis.call('HMGET', k, 'state', 'stream_id')\n"
    "  local st, cur = h[1], h[2]\n"
    "  if st == 'processed' or st == 'failed_permanent' or (cur and cur ~= e[1]) then\n"
    "    redis.call('XACK', stream, ARGV[1], e[1])\n"
    "    redis.call('HINCRBY', KEYS[2], 'duplicate_skipped', 1)\n"
    "    return {'skip', st or '', k}\n"
    "  end\n"
    "  if order_held(k, stream, ARGV[1], e[1], ARGV[4], KEYS[2], ARGV[5]) then\n"
    "    return {'skip', 'held', k}\n"
    "  end\n"
    LUA_FIRST_SIGHT("k", "KEYS[2]")
    "  local n = redis.call('HINCRBY', k, 'attempts', 1)\n"
    "  redis.call('HSET', k, 'state', 'processing', 'stream_id', e[1],\n"
    "    'started_at', ARGV[4], 'updated_at', ARGV[4], 'attempt_token', ARGV[6])\n"
    "  if redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, ARGV[5]) end\n"
    "  return {'run', n, k}\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {'paused'} end\n"
    "for i = 3, #KEYS do\n"
    "  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1,\n"
    "    'STREAMS', KEYS[i], '>')\n"
    "  if r and r[1] and #r[1][2] > 0 then\n"
    "    local e = r[1][2]\n"
    "    if ARGV[3] == '' then return {'event', i - 2, e} end\n"
    "    return {'event', i - 2, e, begin(KEYS[i], e[1])}\n"
    "  end\n"
    "end\n"
    "return {'none'}\n";

static const char *const scripts[SCRIPT_COUNT_] = {
    [SCRIPT_ENQUEUE] = enqueue_lua, [SCRIPT_BEGIN] = begin_lua, [SCRIPT_FINISH] = finish_lua,
    [SCRIPT_RETRY] = retry_lua,     [SCRIPT_DEAD] = dead_lua,   [SCRIPT_MOVE_DUE] = move_due_lua,
    [SCRIPT_REPLAY] = replay_lua,   [SCRIPT_READ] = read_lua,
};

static char shas[SCRIPT_COUNT_][41];
static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

static void compute_shas(void)
{
    for (int i = 0; i < SCRIPT_COUNT_; i++) {
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)scripts[i], strlen(scripts[i]), md);
        codec_hex_encode(md, sizeof md, shas[i]);
    }
}

const char *store_script_text(enum store_script which)
{
    return scripts[which];
}

const char *store_script_sha(enum store_script which)
{
    pthread_once(&shas_once, compute_shas);
    return shas[which];
}
