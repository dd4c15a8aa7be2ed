-- KEYS[1] '<step>:<nonce>' of the user's last accepted TOTP code
-- ARGV[1] this code's step; ARGV[2] this call's nonce; ARGV[3] TTL ms
-- 1: accepted and recorded (or this very call, retried); 0: this step or a
-- later one was accepted before.
local last = redis.call('GET', KEYS[1])
if last then
  local step, nonce = string.match(last, '^(%d+):(.*)$')
  if nonce == ARGV[2] then
    return 1
  end
  if tonumber(ARGV[1]) <= tonumber(step) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
