-- wrk script: a chain of refreshes of a DPoP-bound session (RT), each
-- presenting the token the previous response returned and a proof of its
-- own from the file PROOFS (run with one connection, or chains would fork).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("RT")

function init(args)
  proofs = {}
  for line in io.lines(os.getenv("PROOFS")) do
    proofs[#proofs + 1] = line
  end
  at = 1
end

request = function()
  wrk.headers["DPoP"] = proofs[at]
  at = at % #proofs + 1
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

response = function(status, headers, body)
  local next_token = body:match('"refresh_token":"([^"]+)"')
  if next_token then
    token = next_token
  end
end
