-- MCP tools/list per second (bench/mcp_request.lua: ACCESS_TOKEN, MCP_PATH).
dofile(os.getenv("BENCH_DIR") .. "/mcp_request.lua")
mcp_post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
