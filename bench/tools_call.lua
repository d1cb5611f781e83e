-- MCP tools/call of the `whoami` tool per second (bench/mcp_request.lua: ACCESS_TOKEN, MCP_PATH).
-- The same request bytes go to the gateway and to its upstream, so the ratio is the gateway's cost.
dofile(os.getenv("BENCH_DIR") .. "/mcp_request.lua")
mcp_post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}')
