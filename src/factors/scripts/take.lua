-- KEYS[1] a ceremony; ARGV[1] this call's nonce. Its state, once: nil when
-- it is gone or another call took it.
local s = redis.call('HMGET', KEYS[1], 's', 't')
if not s[1] then
  return nil
end
if s[2] then
  if s[2] == ARGV[1] then
    return s[1]
  end
  return nil
end
redis.call('HSET', KEYS[1], 't', ARGV[1])
return s[1]
