-- Refresh grants per second (POST /token). Every thread owns a pool of refresh tokens and puts
-- back the rotated one each answer carries, so every request presents a live token. With PACE_RPS
-- set, the row is paced at that rate (bench/pace.lua).
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
dofile(os.getenv("BENCH_DIR") .. "/pool.lua")
dofile(os.getenv("BENCH_DIR") .. "/pace.lua")
use_pool("REFRESH_TOKENS")
local clientID, resource = os.getenv("CLIENT_ID"), os.getenv("RESOURCE")
local encode = form_encode

function request()
  local token = table.remove(pool, 1) or "pool-exhausted"
  return wrk.format("POST", "/token", {["Content-Type"] = "application/x-www-form-urlencoded"},
    "grant_type=refresh_token&client_id=" .. encode(clientID) .. "&resource=" .. encode(resource)
      .. "&refresh_token=" .. encode(token))
end

local reported = false
function on_response(status, body)
  local token = status == 200 and string.match(body, '"refresh_token":"([^"]+)"')
  if token then table.insert(pool, token)
  elseif not reported then
    -- The first refusal of this thread, in wrk's output (scripts/bench.sh keeps it): what the
    -- server said, and how many tokens the thread still held.
    reported = true
    io.write("FIRST_REFUSAL status=" .. status .. " pool=" .. #pool .. " body=" .. string.sub(body, 1, 120) .. "\n")
  end
end
