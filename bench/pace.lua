-- Paces a wrk row at PACE_RPS requests per second in all (loaded after stats.lua): each thread
-- sends its k-th request no earlier than start + k / (PACE_RPS / threads), on whichever of its
-- connections is free. wrk then measures a request's latency at that offered rate, with all
-- connections open, instead of at saturation, where Little's law alone sets the mean latency to
-- connections / rate. If the server falls behind, delay() returns 0 and the row is closed-loop
-- again; report.py prints the rate reached beside the one asked for.
local pace_rps = tonumber(os.getenv("PACE_RPS") or "")
if pace_rps and pace_rps > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } gatehouse_timespec;
    int clock_gettime(int clock_id, gatehouse_timespec *tp);
  ]]
  local now_ts = ffi.new("gatehouse_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, now_ts)  -- CLOCK_MONOTONIC
    return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
  end
  local interval_ms = 1000 * tonumber(os.getenv("WRK_THREADS")) / pace_rps
  local start_ms, sent = nil, 0
  function delay()
    local now = now_ms()
    start_ms = start_ms or now
    local due = start_ms + sent * interval_ms
    sent = sent + 1
    return due > now and math.floor(due - now) or 0
  end
end
