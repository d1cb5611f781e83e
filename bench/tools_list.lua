-- MCP tools/list per second (POST /mcp), with the bearer token in ACCESS_TOKEN (none when the
-- resource server runs with authentication switched off, for the baseline).
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
  ["MCP-Protocol-Version"] = "2025-06-18",
}
local token = os.getenv("ACCESS_TOKEN")
if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end
local body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
function request()
  return wrk.format("POST", "/mcp", headers, body)
end
