-- Case B, first scans: every request presents a token never presented before. Thread `id` of
-- THREADS takes lines SKIP+1+id, SKIP+1+id+THREADS, ... of TOKENS; a thread that runs out
-- starts its share again and `report` says so (then the run is no longer all first scans).
-- wrk ... -s fresh.lua URL -- TOKENS SKIP THREADS
local threads, next_id = {}, 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local skip, stride = tonumber(args[2]), tonumber(args[3])
  requests, n, used, wrapped = {}, 0, 0, 0
  local line = 0
  for token in io.lines(args[1]) do
    line = line + 1
    if line > skip and (line - skip - 1) % stride == id then
      n = n + 1
      requests[n] = wrk.format(nil, "/v/" .. token)
    end
  end
end

function request()
  used = used + 1
  if used > n then
    wrapped = wrapped + 1
  end
  return requests[(used - 1) % n + 1]
end

function report(summary, latency, requests)
  local used, available, wrapped = 0, 0, 0
  for _, thread in ipairs(threads) do
    used = used + thread:get("used")
    available = available + thread:get("n")
    wrapped = wrapped + thread:get("wrapped")
  end
  io.write(string.format("fresh tokens: %d requested of %d available; %d repeats\n",
    used, available, wrapped))
end
