-- KEYS[1] the user's pending registrations (list, newest first)
-- KEYS[2] this registration's ceremony (same hash tag)
-- ARGV[1] its state; ARGV[2] TTL ms; ARGV[3] its challenge id; ARGV[4] the
-- most pending at once; ARGV[5] what the user's ceremony keys start with.
-- Past the limit the oldest ceremonies go. A retried call finds its own.
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 1
end
redis.call('LPUSH', KEYS[1], ARGV[3])
for _, id in ipairs(redis.call('LRANGE', KEYS[1], ARGV[4], -1)) do
  redis.call('DEL', ARGV[5] .. id)
end
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 's', ARGV[1], 'a', 0)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
