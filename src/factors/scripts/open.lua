-- KEYS[1] a second step or a ceremony; ARGV[1] its state; ARGV[2] TTL ms.
redis.call('HSET', KEYS[1], 's', ARGV[1], 'a', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
