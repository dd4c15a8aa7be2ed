-- wrk script: a DPoP-bound access token (AT) on a guarded route, each
-- request with a proof of its own, as clients send them (each proof is
-- accepted once; bench/run.sh makes them ahead with examples/dpop_proofs.rs
-- into the file PROOFS). Thread k of THREADS takes every THREADS-th proof.
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  local threads = tonumber(os.getenv("THREADS") or "1")
  proofs = {}
  local i = 0
  for line in io.lines(os.getenv("PROOFS")) do
    if i % threads == tid then
      proofs[#proofs + 1] = line
    end
    i = i + 1
  end
  at = 1
  wrk.headers["Authorization"] = "DPoP " .. os.getenv("AT")
end

function request()
  -- Past the last proof they repeat, and the replays are refused: a run
  -- that needed more proofs than it had shows as non-2xx answers.
  wrk.headers["DPoP"] = proofs[at]
  at = at % #proofs + 1
  return wrk.format()
end
