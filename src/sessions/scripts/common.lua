-- Helpers of the session library, defined once when it loads (see
-- `sessions::library`).

-- Integer text for a number. Lua numbers are doubles, and some Redis
-- versions (7.2.0 to 7.2.4) pass round ones to commands in exponent form,
-- which PEXPIREAT and friends refuse. '%d' formats the number as a C long
-- (every value here is a whole number of ms, far below 2^53): a fraction
-- of the cost of '%.0f', whose float formatting was 7% of a rotation's
-- instructions (callgrind, bench/redis_parts.py).
local function int(n)
  return string.format('%d', n)
end

-- Redis server time in milliseconds: one clock for every authd instance.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops index entries of sessions that have ended on their own, then lets
-- the index live exactly as long as its longest-lived session; an empty
-- index is deleted. Returns that session's expiry (ms), or nil.
local function reindex(index, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', int(now))
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', index, last[2])
    return tonumber(last[2])
  end
  redis.call('DEL', index)
  return nil
end

-- Session hash fields (docs/sessions.md): f family hash, c current secret
-- hash, p the secret hash it replaced, n nonce of that rotation (hashes and
-- nonce are 16 raw bytes), b created, u last rotation (or creation), e
-- absolute end (unix ms), d device, a User-Agent, i client IP, k the
-- RFC 7638 thumbprint (32 raw bytes) of the DPoP key the session is bound
-- to (none: unbound), m the login's RFC 8176 methods, comma-separated
-- (none: a password alone).
