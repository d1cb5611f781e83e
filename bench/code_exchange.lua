-- Authorization-code exchanges per second (POST /token, grant_type=authorization_code). Codes are
-- single use, so bench/mint_codes.py mints them beforehand; each thread owns a share and stops
-- when it has sent its last, so no request of the row presents a spent code.
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
local all = {}
for line in io.lines(os.getenv("CODES")) do if #line > 0 then table.insert(all, line) end end
local threadCount = tonumber(os.getenv("WRK_THREADS"))
local clientID, resource = os.getenv("CLIENT_ID"), os.getenv("RESOURCE")
local verifier, redirect = os.getenv("CODE_VERIFIER"), os.getenv("REDIRECT_URI")

function thread_setup(thread, index)
  local mine = {}
  for i = index, #all, threadCount do table.insert(mine, all[i]) end
  thread:set("owned", table.concat(mine, " "))
end

local pool = {}
function init(args)
  for code in string.gmatch(owned, "%S+") do table.insert(pool, code) end
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local code = table.remove(pool)
  if not code then
    wrk.thread:stop()
    code = "spent"
  end
  return wrk.format("POST", "/token", {["Content-Type"] = "application/x-www-form-urlencoded"},
    "grant_type=authorization_code&client_id=" .. encode(clientID) .. "&resource=" .. encode(resource)
      .. "&redirect_uri=" .. encode(redirect) .. "&code_verifier=" .. encode(verifier) .. "&code=" .. encode(code))
end
