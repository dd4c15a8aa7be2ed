-- Takes a slot for one login attempt in a failed-login counter, or refuses
-- when the counter is full. The slot counts as a failure until the login
-- succeeds and give_back.lua returns it.
-- KEYS[1] the counter
-- ARGV[1] limit
-- ARGV[2] lockout, ms
-- Returns { 1, 0 } to go ahead, { 0, ms until the counter expires } if full.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  return { 0, redis.call('PTTL', KEYS[1]) }
end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { 1, 0 }
