-- Shared by the MCP wrk scripts: the headers of an MCP POST, with the bearer token in ACCESS_TOKEN
-- (none when the server runs with authentication switched off, for the baseline), to MCP_PATH
-- (default /mcp). `mcp_post(body)` sets wrk's `request` to send that JSON-RPC body.
dofile(os.getenv("BENCH_DIR") .. "/stats.lua")
local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
  ["MCP-Protocol-Version"] = "2025-06-18",
}
local token = os.getenv("ACCESS_TOKEN")
if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end
local path = os.getenv("MCP_PATH") or "/mcp"

function mcp_post(body)
  function request()
    return wrk.format("POST", path, headers, body)
  end
end
