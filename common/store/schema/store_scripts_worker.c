/*
 * store_scripts_worker.c — the Lua steps of the worker side of the event
 * state machine (see the diagram and the invariants in store_scripts.c):
 * the fair read with its BEGIN (READ), BEGIN alone, a batch of outcomes
 * (FINISH, RETRY, DEAD), and moving a due retry back into its stream
 * (MOVE_DUE); with the guards and the per-key ordering they share.
 * store_scripts.c hashes them with the others (store_script_worker_text).
 */
#include "store_internal.h"

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
    "local function order_held(k, ol, stream, group, id, now, counters, ttl)\n"                   \
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

/* Before running handlers: BEGIN of N entries of one stream, in order.
 * Used for the entries of a plain XREADGROUP (the worker's read of a
 * route with one stream: the entries reach the worker without passing
 * through Lua, and this call starts them all) and for entries READ did not
 * begin (claimed, or from the idle wait; N = 1); read_lua repeats this
 * logic for the entries it hands out.
 * KEYS: counters, stream, paused, then seen_1..seen_n
 * ARGV: group, now_ms, ttl_s, attempt_token, consumer ('' = no paused
 *       check), then stream_id_1..stream_id_n
 * Returns {'paused'} (CONSUMER given and the route paused: nothing begun;
 * the entries, just read by CONSUMER, get an idle time past any
 * visibility_timeout, so that the first claim pass after the resume takes
 * them over instead of waiting visibility_timeout), else one answer per
 * entry: {'skip', state} when the event is closed or the entry is not its
 * current one (and XACKs it), else {'run', attempts} after marking it
 * processing. attempts counts every start, so an event that kills its
 * workers still reaches max_attempts. attempt_token is the worker's name
 * for this one start: a BEGIN sent again after a timeout (the first one
 * may still have run, in a Redis that was frozen) finds its own token and
 * returns the same attempt instead of counting another. */
static const char begin_lua[] =
    LUA_ORDER
    "local group, now, ttl, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "if ARGV[5] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then\n"
    "  for i = 6, #ARGV do\n"
    "    redis.call('XCLAIM', KEYS[2], group, ARGV[5], 0, ARGV[i], 'IDLE', 315360000000, 'JUSTID')\n"
    "  end\n"
    "  return {'paused'}\n"
    "end\n"
    "local dup, out = 0, {}\n"
    "local function begin(k, id)\n"
    "  local h = redis.call('HMGET', k, 'state', 'stream_id', 'attempt_token', 'order_list')\n"
    "  local st, cur = h[1], h[2]\n"
    "  if st == 'processed' or st == 'failed_permanent' or (cur and cur ~= id) then\n"
    "    redis.call('XACK', KEYS[2], group, id)\n"
    "    dup = dup + 1\n"
    "    return {'skip', st or ''}\n"
    "  end\n"
    "  if st == 'processing' and h[3] == token then\n"
    "    return {'run', redis.call('HGET', k, 'attempts') or '1'}\n"
    "  end\n"
    "  if order_held(k, h[4], KEYS[2], group, id, now, KEYS[1], ttl) then\n"
    "    return {'skip', 'held'}\n"
    "  end\n"
    LUA_FIRST_SIGHT("k", "KEYS[1]")
    "  local n = redis.call('HINCRBY', k, 'attempts', 1)\n"
    "  redis.call('HSET', k, 'state', 'processing', 'stream_id', id,\n"
    "    'started_at', now, 'updated_at', now, 'attempt_token', token)\n"
    "  if redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, ttl) end\n"
    "  return {'run', n}\n"
    "end\n"
    "for i = 6, #ARGV do out[#out + 1] = begin(KEYS[i - 2], ARGV[i]) end\n"
    "if dup > 0 then redis.call('HINCRBY', KEYS[1], 'duplicate_skipped', dup) end\n"
    "return out\n";

/*
 * The outcomes of a batch of handler runs on one route, in one call: each
 * event's step is decided as if it ran alone, in order, but the counters
 * and the handler-duration histogram are counted once at the end (HINCRBY
 * ... n) and the entries of each stream acked with one XACK.
 *
 *   FINISH  handler succeeded: processed + XACK. Also applies when another
 *           worker already dead-lettered the event (the handler did succeed
 *           after all): its dead letter (dead_id) is deleted and failed_now
 *           goes back down instead of the backlog (failed_permanent, a count
 *           of dead-letterings, never goes down), so an event is never both
 *           processed and in the dead-letter stream. 1 applied, 0 already
 *           processed.
 *   RETRY   transient failure with attempts left: XACK + the retry zset at
 *           due_ms + last_error. The zset member is
 *           "STREAM_ID|SOURCE|EVENT_ID": legible in redis-cli and enough to
 *           find both the entry and the dedupe record. 1 scheduled, 0 only
 *           acked (closed or superseded meanwhile).
 *   DEAD    permanent failure or attempts exhausted: XACK + a dead letter
 *           (the event's fields, then the SPEC's reason, last_error,
 *           attempts, failed_at). 1 dead-lettered, 0 only acked.
 *
 * KEYS: counters, handler_hist, retry, dead, then per event: seen, stream
 * ARGV: group, now_ms, ttl_s, nhist, (field, increment) x nhist (the
 *       batch's handler-duration samples, summed by the worker: counted
 *       whatever the steps decide, the handlers did run), then per event:
 *       'f', stream_id |
 *       'r', stream_id, due_ms, last_error, member |
 *       'd', stream_id, reason, last_error, attempts, nfields, field,
 *            value, ... (nfields args)
 * Returns one integer per event, in order.
 */
static const char outcomes_lua[] =
    LUA_ORDER
    "local group, now, ttl = ARGV[1], ARGV[2], ARGV[3]\n"
    "local cnt = {processed = 0, retried = 0, failed_permanent = 0, failed_now = 0, backlog = 0}\n"
    "local function keep_ttl(k)\n" /* a record that expired meanwhile is recreated: TTL again */
    "  if redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, ttl) end\n"
    "end\n"
    "local function open_current(k, id)\n" /* see LUA_OPEN_AND_CURRENT */
    "  local h = redis.call('HMGET', k, 'state', 'stream_id')\n"
    "  return h[1] ~= 'processed' and h[1] ~= 'failed_permanent' and (not h[2] or h[2] == id)\n"
    "end\n"
    "local function finish(k)\n"
    "  local h = redis.call('HMGET', k, 'state', 'next_attempt_at', 'order_list')\n"
    "  local st = h[1]\n"
    "  if st == 'processed' then return 0 end\n"
    "  redis.call('HSET', k, 'state', 'processed', 'processed_at', now, 'updated_at', now)\n"
    "  if h[2] then redis.call('HDEL', k, 'next_attempt_at') end\n"
    "  keep_ttl(k)\n"
    "  cnt.processed = cnt.processed + 1\n"
    "  if st == 'failed_permanent' then\n"
    "    local d = redis.call('HGET', k, 'dead_id')\n"
    "    if d then redis.call('XDEL', KEYS[4], d) end\n"
    "    redis.call('HDEL', k, 'dead_id', 'reason', 'failed_at')\n"
    "    cnt.failed_now = cnt.failed_now - 1\n"
    "  else\n"
    "    cnt.backlog = cnt.backlog - 1\n"
    "  end\n"
    "  if h[3] then order_done(k, false, ttl) end\n"
    "  return 1\n"
    "end\n"
    "local function retry(k, id, due, err, member)\n"
    "  if not open_current(k, id) then return 0 end\n"
    "  redis.call('ZADD', KEYS[3], due, member)\n"
    "  redis.call('HSET', k, 'state', 'retry_scheduled', 'next_attempt_at', due,\n"
    "    'last_error', err, 'updated_at', now)\n"
    "  keep_ttl(k)\n"
    "  cnt.retried = cnt.retried + 1\n"
    "  return 1\n"
    "end\n"
    "local function dead(k, id, reason, err, attempts, f)\n"
    "  if not open_current(k, id) then return 0 end\n"
    "  for _, v in ipairs({'reason', reason, 'last_error', err, 'attempts', attempts,\n"
    "    'failed_at', now}) do f[#f + 1] = v end\n"
    "  local d = redis.call('XADD', KEYS[4], '*', unpack(f))\n"
    "  redis.call('HSET', k, 'state', 'failed_permanent', 'failed_at', now, 'reason', reason,\n"
    "    'last_error', err, 'updated_at', now, 'dead_id', d)\n"
    "  redis.call('HDEL', k, 'next_attempt_at')\n"
    "  keep_ttl(k)\n"
    "  cnt.failed_permanent = cnt.failed_permanent + 1\n"
    "  cnt.failed_now = cnt.failed_now + 1\n"
    "  cnt.backlog = cnt.backlog - 1\n"
    "  order_done(k, redis.call('HGET', k, 'order_hold') == '1', ttl)\n"
    "  return 1\n"
    "end\n"
    "local a = 5\n"
    "for _ = 1, tonumber(ARGV[4]) do\n"
    "  redis.call('HINCRBY', KEYS[2], ARGV[a], ARGV[a + 1])\n"
    "  a = a + 2\n"
    "end\n"
    /* every entry is acked whatever its step decides: one XACK per stream */
    "local acks, order, b = {}, {}, a\n"
    "for k = 5, #KEYS, 2 do\n"
    "  local s, kind = KEYS[k + 1], ARGV[b]\n"
    "  if not acks[s] then acks[s] = {}; order[#order + 1] = s end\n"
    "  table.insert(acks[s], ARGV[b + 1])\n"
    "  if kind == 'f' then b = b + 2 elseif kind == 'r' then b = b + 5\n"
    "  else b = b + 6 + tonumber(ARGV[b + 5]) end\n"
    "end\n"
    "for _, s in ipairs(order) do redis.call('XACK', s, group, unpack(acks[s])) end\n"
    "local out = {}\n"
    "for k = 5, #KEYS, 2 do\n"
    "  local seen, kind, id = KEYS[k], ARGV[a], ARGV[a + 1]\n"
    "  if kind == 'f' then\n"
    "    out[#out + 1] = finish(seen)\n"
    "    a = a + 2\n"
    "  elseif kind == 'r' then\n"
    "    out[#out + 1] = retry(seen, id, ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])\n"
    "    a = a + 5\n"
    "  else\n"
    "    local nf = tonumber(ARGV[a + 5])\n"
    "    out[#out + 1] = dead(seen, id, ARGV[a + 2], ARGV[a + 3], ARGV[a + 4],\n"
    "      {unpack(ARGV, a + 6, a + 5 + nf)})\n"
    "    a = a + 6 + nf\n"
    "  end\n"
    "end\n"
    "for _, c in ipairs({'processed', 'retried', 'failed_permanent', 'failed_now', 'backlog'}) do\n"
    "  if cnt[c] ~= 0 then redis.call('HINCRBY', KEYS[1], c, cnt[c]) end\n"
    "end\n"
    "return out\n";

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

/* A worker's fair read of up to `count` entries, and their BEGIN. KEYS:
 * paused, counters, stream_1, ... stream_n (a window of the route's
 * streams, in round-robin order from the stream that comes next)
 * ARGV: group, consumer, seen_prefix ('' = read only, no BEGIN), now_ms,
 *       ttl_s, attempt_token, key_max, fields_max, count
 * Passes over the streams in turn with XREADGROUP COUNT 1 (never blocking
 * inside a script; COUNT all that is left once a single stream still has
 * entries), dropping a stream from the next pass once it gave nothing, and
 * stops at `count` entries: a tenant with a deep backlog is read no more
 * often than one with a single event, within a batch as across batches.
 * Returns {'paused'} | {'none'} | {'events', {i, [[id, [field, value,
 * ...]]], begin}, ...} in the order read, with i the 1-based stream index,
 * and begin BEGIN's answer: {'run', attempts, seen} | {'skip', state, seen}
 * (acked, as BEGIN does) | {'unbegun'} (also every entry when seen_prefix
 * is '').
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
    "  local h = redis.call('HMGET', k, 'state', 'stream_id', 'order_list')\n"
    "  local st, cur = h[1], h[2]\n"
    "  if st == 'processed' or st == 'failed_permanent' or (cur and cur ~= e[1]) then\n"
    "    redis.call('XACK', stream, ARGV[1], e[1])\n"
    "    redis.call('HINCRBY', KEYS[2], 'duplicate_skipped', 1)\n"
    "    return {'skip', st or '', k}\n"
    "  end\n"
    "  if order_held(k, h[3], stream, ARGV[1], e[1], ARGV[4], KEYS[2], ARGV[5]) then\n"
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
    "local want, out, live = tonumber(ARGV[9]), {'events'}, {}\n"
    "for i = 3, #KEYS do live[#live + 1] = i end\n"
    "while #out <= want and #live > 0 do\n"
    "  local still = {}\n"
    "  for _, i in ipairs(live) do\n"
    "    local left = want + 1 - #out\n"
    "    if left <= 0 then break end\n"
    "    local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2],\n"
    "      'COUNT', #live == 1 and left or 1, 'STREAMS', KEYS[i], '>')\n"
    "    if r and r[1] and #r[1][2] > 0 then\n"
    "      still[#still + 1] = i\n"
    "      for _, e in ipairs(r[1][2]) do\n"
    "        out[#out + 1] = {i - 2, {e}, ARGV[3] == '' and {'unbegun'} or begin(KEYS[i], e)}\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  live = still\n"
    "end\n"
    "if #out == 1 then return {'none'} end\n"
    "return out\n";

const char *store_script_worker_text(enum store_script which)
{
    switch (which) {
    case SCRIPT_BEGIN:
        return begin_lua;
    case SCRIPT_OUTCOMES:
        return outcomes_lua;
    case SCRIPT_MOVE_DUE:
        return move_due_lua;
    case SCRIPT_READ:
        return read_lua;
    default:
        return NULL;
    }
}
