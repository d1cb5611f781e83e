-- Dynamic client registrations per second (POST /register), the ChatGPT connector's body.
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
local body = '{"client_name":"bench","redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"],'
  .. '"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}'
function request()
  return wrk.format("POST", "/register", {["Content-Type"] = "application/json"}, body)
end
