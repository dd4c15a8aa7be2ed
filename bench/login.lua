-- wrk script: logins spread over the accounts bench/run.sh registered
-- (bench0@example.com .. bench7@example.com), round robin per connection.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0

request = function()
  n = n + 1
  return wrk.format(nil, nil, nil,
    '{"email":"bench' .. (n % 8) .. '@example.com","password":"bench password 123"}')
end
