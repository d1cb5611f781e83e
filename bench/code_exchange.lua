-- Authorization-code exchanges per second (POST /token, grant_type=authorization_code). Codes are
-- single use, so bench/mint_codes.py mints them beforehand; each thread owns a share and stops
-- once it is spent (its one last request, sent as the thread stops, is a 4xx).
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
dofile(os.getenv("BENCH_DIR") .. "/pool.lua")
use_pool("CODES")
local clientID, resource = os.getenv("CLIENT_ID"), os.getenv("RESOURCE")
local verifier, redirect = os.getenv("CODE_VERIFIER"), os.getenv("REDIRECT_URI")
local encode = form_encode

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
