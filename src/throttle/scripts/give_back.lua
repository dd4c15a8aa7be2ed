-- Returns a slot taken by attempt.lua, never leaving a key without its TTL.
-- KEYS[1] the counter
-- ARGV[1] 'clear' to forget every counted failure, 'one' to return one slot
if ARGV[1] == 'clear' then
  return redis.call('DEL', KEYS[1])
end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 1 then
  return redis.call('DEL', KEYS[1])
end
return redis.call('DECR', KEYS[1])
