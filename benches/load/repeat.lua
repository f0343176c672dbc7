-- Case A, repeat scans: the first COUNT tokens of TOKENS (one per line), round-robin, each
-- request `GET /v/{token}` with the headers given to wrk (Accept: application/json).
-- Requests are formatted once in init, so wrk spends per request only what a fixed path costs.
-- wrk ... -s repeat.lua URL -- TOKENS COUNT
local threads, next_id = {}, 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(args[2])
  requests, n = {}, 0
  for token in io.lines(args[1]) do
    n = n + 1
    requests[n] = wrk.format(nil, "/v/" .. token)
    if n == count then break end
  end
  -- Each thread starts elsewhere in the set so the threads do not ask in lockstep.
  i = (id * 997) % n
end

function request()
  i = i % n + 1
  return requests[i]
end
