-- Checks a presented refresh token and rotates it, atomically.
-- KEYS[1] session hash          <prefix>{u:<user>}:s:<session>
-- KEYS[2] the user's index      <prefix>{u:<user>}:sessions
-- KEYS[3] reuse tombstone       <prefix>{u:<user>}:reused:<session>
-- ARGV[1] session id
-- ARGV[2] family hash of the presented token (16 bytes, as all hashes here)
-- ARGV[3] secret hash of the presented token
-- ARGV[4] nonce the successor was derived with
-- ARGV[5] secret hash of that successor
-- ARGV[6] thumbprint of the DPoP key this request proved, or ''
-- (The idle lifetime and the reuse grace are the library's IDLE_MS and
-- GRACE_MS; the credential marker needs no extending: login gives it at
-- least the session's absolute end, see create.lua.)
-- Returns one of
--   { 'rotated', expires_in_ms, end_ms, verified, amr }
--                                         the successor is now current
--   { 'grace', nonce, expires_in_ms, end_ms, verified, amr }
--                                         the token was just replaced: the
--                                         caller re-derives the same successor
-- (end_ms: the session's absolute end, unix ms; no access token outlives it;
-- verified: 1 when the user's email address is verified, else 0; amr: the
-- login's RFC 8176 methods, comma-separated, '' for a password alone)
--   { 'wrong_key' }                       the session is bound to a DPoP key
--                                         this request did not prove: nothing
--                                         changes (a thief without the key can
--                                         neither use nor burn the session)
--   { 'reused' }                          an older token: session revoked
--   { 'invalid' }                         unknown, ended or forged
local now = now_ms()
local s = redis.call('HMGET', KEYS[1], 'f', 'c', 'p', 'n', 'u', 'e', 'v', 'k', 'm')
if not s[1] and upgrade(KEYS[1]) then
  s = redis.call('HMGET', KEYS[1], 'f', 'c', 'p', 'n', 'u', 'e', 'v', 'k', 'm')
end
local fam, cur, prev, nonce, rotated, abs = s[1], s[2], s[3], s[4], s[5], s[6]
local verified = s[7] and 1 or 0
local bound = s[8]
local amr = s[9] or ''

if not fam then
  if same_hash(redis.call('GET', KEYS[3]), ARGV[2]) then
    return { 'reused' }
  end
  return { 'invalid' }
end
if fam ~= ARGV[2] then
  return { 'invalid' }
end
-- Before anything that rotates or revokes: only the bound key may.
if bound and bound ~= ARGV[6] then
  return { 'wrong_key' }
end

-- A replay of this very rotation (its reply was lost and the connection
-- retried it): the successor, derived from this call's random nonce, is
-- already current.
if cur == ARGV[5] then
  return { 'rotated', redis.call('PTTL', KEYS[1]), tonumber(abs), verified, amr }
end

if cur == ARGV[3] then
  local ends = tonumber(abs)
  local expires = math.min(now + IDLE_MS, ends)
  if expires <= now then
    return { 'invalid' }
  end
  -- Each number is turned into text once (the conversions are a visible
  -- part of a rotation's cost).
  local at = int(expires)
  redis.call('HSET', KEYS[1], 'p', cur, 'c', ARGV[5], 'n', ARGV[4], 'u', int(now))
  -- An unbound session binds to the first key that proves a refresh of it
  -- (RFC 9449 §5: a public client's refresh token is bound to its key).
  if not bound and ARGV[6] ~= '' then
    redis.call('HSET', KEYS[1], 'k', ARGV[6])
  end
  redis.call('PEXPIREAT', KEYS[1], at)
  -- The index lives at least as long as this session now (GT: never
  -- shortened). Entries of sessions that ended on their own are dropped by
  -- the next login, list or revocation, not on every rotation.
  if redis.call('ZADD', KEYS[2], at, ARGV[1]) == 0 then
    redis.call('PEXPIREAT', KEYS[2], at, 'GT')
  else
    -- The entry was missing: the index was lost while the session lived
    -- (evicted under a maxmemory policy, deleted by hand), and ZADD wrote
    -- it anew without a TTL, which GT would never set. Set it exactly.
    reindex(KEYS[2], now)
  end
  return { 'rotated', expires - now, ends, verified, amr }
end

-- No grace at all when it is 0: the replaced token is reuse at once, even
-- within the millisecond of its rotation.
if prev == ARGV[3] and GRACE_MS > 0 and now - tonumber(rotated) <= GRACE_MS then
  return { 'grace', nonce, redis.call('PTTL', KEYS[1]), tonumber(abs), verified, amr }
end

-- A token of this family that was replaced earlier: someone holds a copy.
-- End the session, and remember why for as long as it would have lived.
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
reindex(KEYS[2], now)
if ttl > 0 then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', int(ttl))
end
return { 'reused' }
