-- Shared by the wrk scripts that spend one-use credentials (bench/refresh.lua, bench/code_exchange.lua):
-- `use_pool(env)` reads the lines of the file named by that environment variable, gives thread i
-- every lines[i + k * threads], and fills the global `pool` with this thread's share in `init`.
-- (Loaded after stats.lua, whose `setup` calls `thread_setup`.)
pool = {}

function use_pool(env)
  local all = {}
  for line in io.lines(os.getenv(env)) do if #line > 0 then table.insert(all, line) end end
  local threadCount = tonumber(os.getenv("WRK_THREADS"))
  function thread_setup(thread, index)
    local mine = {}
    for i = index, #all, threadCount do table.insert(mine, all[i]) end
    thread:set("owned", table.concat(mine, " "))
  end
  function init(args)
    for item in string.gmatch(owned, "%S+") do table.insert(pool, item) end
  end
end

function form_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
