-- wrk script: many refresh chains at once, one per wrk thread (run with
-- -tN -cN, one connection per thread). Each request presents the refresh
-- token the previous response of its chain returned; a chain that gets
-- anything but 200 is broken (its user would be logged out) and stops.
-- RTS: the chains' first refresh tokens, comma separated.
local tokens = {}
for t in string.gmatch(os.getenv("RTS") or "", "[^,]+") do
  table.insert(tokens, t)
end
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("token", tokens[(counter - 1) % #tokens + 1])
  table.insert(threads, thread)
end

function init(args)
  broken = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status ~= 200 then
    if broken == 0 then
      broken = 1
    end
    return
  end
  local next_token = body:match('"refresh_token":"([^"]+)"')
  if next_token then
    token = next_token
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("broken") or 0)
  end
  io.write(string.format("broken chains: %d of %d\n", total, #threads))
end
