-- wrk script: sign-ins with a provider's ID token, each request with a body
-- of its own (each nonce is accepted once; bench/id_tokens.mjs makes them
-- ahead into the file BODIES). Thread k of THREADS takes every THREADS-th.
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  local threads = tonumber(os.getenv("THREADS") or "1")
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("BODIES")) do
    if i % threads == tid then
      bodies[#bodies + 1] = line
    end
    i = i + 1
  end
  at = 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  -- Past the last body they repeat, and the replays are refused: a run
  -- that needed more than it had shows as non-2xx answers.
  local body = bodies[at]
  at = at % #bodies + 1
  return wrk.format(nil, nil, nil, body)
end
