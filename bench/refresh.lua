-- wrk script: a chain of refreshes, each presenting the token the previous
-- response returned (run with one connection, or chains would fork).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("RT")

request = function()
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. token .. '"}')
end

response = function(status, headers, body)
  local next_token = body:match('"refresh_token":"([^"]+)"')
  if next_token then
    token = next_token
  end
end
