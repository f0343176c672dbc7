-- Case C, junk: random base64url strings of a token's length (LENGTH characters), as a scanner
-- of stray QR codes or a fuzzer sends. COUNT distinct strings per thread, made once in init
-- (junk is never cached, so repeating a string costs the service the same as a new one).
-- wrk ... -s junk.lua URL -- LENGTH COUNT
local threads, next_id = {}, 0
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local length, count = tonumber(args[1]), tonumber(args[2])
  math.randomseed(1000003 * (id + 1))
  requests, n, i = {}, count, 0
  for k = 1, count do
    local chars = {}
    for c = 1, length do
      local at = math.random(64)
      chars[c] = alphabet:sub(at, at)
    end
    requests[k] = wrk.format(nil, "/v/" .. table.concat(chars))
  end
end

function request()
  i = i % n + 1
  return requests[i]
end
