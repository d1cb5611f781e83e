-- Refresh grants per second (POST /token). Every thread owns a pool of refresh tokens and puts
-- back the rotated one each answer carries, so every request presents a live token.
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
local all = {}
for line in io.lines(os.getenv("REFRESH_TOKENS")) do if #line > 0 then table.insert(all, line) end end
local threadCount = tonumber(os.getenv("WRK_THREADS"))
local clientID, resource = os.getenv("CLIENT_ID"), os.getenv("RESOURCE")

function thread_setup(thread, index)
  local mine = {}
  for i = index, #all, threadCount do table.insert(mine, all[i]) end
  thread:set("owned", table.concat(mine, " "))
end

local pool = {}
function init(args)
  for token in string.gmatch(owned, "%S+") do table.insert(pool, token) end
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local token = table.remove(pool, 1) or "pool-exhausted"
  return wrk.format("POST", "/token", {["Content-Type"] = "application/x-www-form-urlencoded"},
    "grant_type=refresh_token&client_id=" .. encode(clientID) .. "&resource=" .. encode(resource)
      .. "&refresh_token=" .. encode(token))
end

function on_response(status, body)
  local token = status == 200 and string.match(body, '"refresh_token":"([^"]+)"')
  if token then table.insert(pool, token) end
end
