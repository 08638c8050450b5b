/*
 * store_scripts.c — every Lua script hookd runs in Redis, and their SHA1s;
 * the worker's steps (READ, BEGIN, OUTCOMES, MOVE_DUE) are written in
 * store_scripts_worker.c, the ingress and admin ones here.
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
 * BEGIN is also part of READ: the worker's fair read of a route with
 * several streams runs BEGIN's logic on the entries it hands out, in the
 * same step (read_lua); the BEGIN script itself starts a batch of entries
 * READ did not hand out (the plain XREADGROUP of a route with one stream,
 * claimed entries, the idle blocking XREADGROUP).
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
 * second is a duplicate of the first, as if each ran alone). The paused
 * flag rides on that EXISTS: only when it counts something are the flag
 * and the records tested apart. A call of more than 512 events (more than
 * a committed batch holds) tests each. A record's TTL is one PEXPIREAT at
 * Redis's TIME + ttl_s, computed at the call's first new event (EXPIRE is
 * rewritten into PEXPIREAT for every key it sets).
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
    "local paused, anydup = false, n > 512\n"
    "if anydup or redis.call('EXISTS', K[2], unpack(K, 5, 4 + n)) > 0 then\n"
    "  paused = redis.call('EXISTS', K[2]) == 1\n"
    "  anydup = anydup or (n > 0 and redis.call('EXISTS', unpack(K, 5, 4 + n)) > 0)\n"
    "end\n"
    "local expire_at\n"
    "local backlog = tonumber(redis.call('HGET', K[1], 'backlog') or '0')\n"
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
    "      if not expire_at then\n"
    "        local t = redis.call('TIME')\n"
    "        expire_at = string.format('%.0f',\n"
    "          t[1] * 1000 + math.floor(t[2] / 1000) + ttl * 1000)\n"
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

/* The worker's scripts are in store_scripts_worker.c. */
static const char *const scripts[SCRIPT_COUNT_] = {
    [SCRIPT_ENQUEUE] = enqueue_lua,
    [SCRIPT_REPLAY] = replay_lua,
};

static const char *text_of(enum store_script which)
{
    return scripts[which] ? scripts[which] : store_script_worker_text(which);
}

static char shas[SCRIPT_COUNT_][41];
static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

static void compute_shas(void)
{
    for (int i = 0; i < SCRIPT_COUNT_; i++) {
        unsigned char md[SHA_DIGEST_LENGTH];
        const char *t = text_of((enum store_script)i);
        SHA1((const unsigned char *)t, strlen(t), md);
        codec_hex_encode(md, sizeof md, shas[i]);
    }
}

const char *store_script_text(enum store_script which)
{
    return text_of(which);
}

const char *store_script_sha(enum store_script which)
{
    pthread_once(&shas_once, compute_shas);
    return shas[which];
}
