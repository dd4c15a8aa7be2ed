-- KEYS[1] a second step; ARGV[1] this call's nonce. 1: closed by this call
-- (now or before its retry), 0: gone, or closed by another.
local c = redis.call('HGET', KEYS[1], 'c')
if c then
  if c == ARGV[1] then
    return 1
  end
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'c', ARGV[1])
return 1
