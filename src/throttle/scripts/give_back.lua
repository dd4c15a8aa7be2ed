-- Returns a slot taken by attempt.lua, never leaving a key without its TTL.
-- (Forgetting every counted failure after a success is a plain DEL.)
-- KEYS[1] the counter
-- ARGV[1] 'one'
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 1 then
  return redis.call('DEL', KEYS[1])
end
return redis.call('DECR', KEYS[1])
