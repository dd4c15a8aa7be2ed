-- wrk script: a chain of refreshes, each presenting the token the previous
-- response returned (run with one connection, or chains would fork). With
-- PROOFS (a file, one DPoP proof per line, made by examples/dpop_proofs.rs),
-- each request also carries a proof of its own, as a DPoP client sends them.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("RT")
local proofs, at = {}, 1

function init(args)
  local file = os.getenv("PROOFS")
  if file then
    for line in io.lines(file) do
      proofs[#proofs + 1] = line
    end
  end
end

request = function()
  if #proofs > 0 then
    wrk.headers["DPoP"] = proofs[at]
    at = at % #proofs + 1
  end
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

response = function(status, headers, body)
  local next_token = body:match('"refresh_token":"([^"]+)"')
  if next_token then
    token = next_token
  end
end
