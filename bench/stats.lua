-- Shared by every Gatehouse wrk script: counts statuses per thread and prints one
-- machine-readable line that bench/report.py parses (scripts/bench.sh keeps each run's output).
local threads = {}
statuses = {ok = 0, c4xx = 0, c5xx = 0}

function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
  if thread_setup then thread_setup(thread, #threads) end
end

function response(status, headers, body)
  if status < 300 then statuses.ok = statuses.ok + 1
  elseif status < 500 then statuses.c4xx = statuses.c4xx + 1
  else statuses.c5xx = statuses.c5xx + 1 end
  if on_response then on_response(status, body) end
end

function done(summary, latency, requests)
  local ok, c4xx, c5xx = 0, 0, 0
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    ok, c4xx, c5xx = ok + s.ok, c4xx + s.c4xx, c5xx + s.c5xx
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50=%.2f p99=%.2f n=%d ok=%d c4xx=%d c5xx=%d sockerr=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, ok, c4xx, c5xx, errors))
end
