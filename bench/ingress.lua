-- ingress.lua: wrk script that replays pre-signed requests written by
-- bench/gen (one file per wrk thread: FILE.0, FILE.1, ...) and counts the
-- answers by status, so that the count check can compare the 202s with the
-- stream's length. Usage: wrk -t T ... -s ingress.lua -- FILEPREFIX
-- A thread that reaches the end of its file starts over (the repeats are
-- then duplicates); "wrapped" in the summary says how often.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  file = assert(io.open(args[1] .. "." .. id, "rb"))
  n202, n200, nother, wrapped = 0, 0, 0, 0
end

function request()
  local line = file:read("*l")
  if not line then
    file:seek("set", 0)
    wrapped = wrapped + 1
    line = file:read("*l")
  end
  return file:read(tonumber(line))
end

function response(status, headers, body)
  if status == 202 then
    n202 = n202 + 1
  elseif status == 200 then
    n200 = n200 + 1
  else
    nother = nother + 1
  end
end

function done(summary, latency, requests)
  local t = {n202 = 0, n200 = 0, nother = 0, wrapped = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + thread:get(k)
    end
  end
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f requests=%d n202=%d n200=%d nother=%d errors=%d wrapped=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, summary.requests, t.n202, t.n200, t.nother,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout, t.wrapped))
end
