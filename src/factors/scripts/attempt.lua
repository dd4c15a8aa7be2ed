-- KEYS[1] a second step; ARGV[1] the most answers it takes. The state while
-- it is open and under the limit (this attempt counted), else nil.
local s = redis.call('HMGET', KEYS[1], 's', 'c')
if not s[1] or s[2] then
  return nil
end
if redis.call('HINCRBY', KEYS[1], 'a', 1) > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return nil
end
return s[1]
