-- Starts a session.
-- KEYS[1] session hash          <prefix>{u:<user>}:s:<session>
-- KEYS[2] the user's index      <prefix>{u:<user>}:sessions
-- KEYS[3] credential marker     <prefix>{u:<user>}:credential
-- ARGV[1] session id
-- ARGV[2] family hash           SHA-256 of the token family secret (16 bytes)
-- ARGV[3] token hash            SHA-256 of the first token's secret (16 bytes)
-- ARGV[4] absolute lifetime, ms AUTHD_SESSION_MAX_AGE
-- ARGV[5] device name given at login ('' if none; at most 100 characters)
-- ARGV[6] User-Agent ('' if none; at most 256 bytes)
-- ARGV[7] client IP
-- ARGV[8] credential version the login's password was checked against
-- ARGV[9] session key prefix   <prefix>{u:<user>}:s:  (same hash tag)
-- ARGV[10] most sessions a user may hold (AUTHD_MAX_SESSIONS_PER_USER)
-- ARGV[11] '1' when the user's email address is verified, else ''
-- ARGV[12] thumbprint of the DPoP key the login proved, or '': the session
--          is bound to it (every refresh must prove the same key)
-- ARGV[13] the login's RFC 8176 methods, comma-separated ('' : 'pwd'); every
--          access token of the session carries them
-- (The idle lifetime is the library's IDLE_MS, AUTHD_REFRESH_TOKEN_TTL.)
-- Returns { 'created', expires_in_ms, end_ms, evicted } (end_ms: the
-- session's absolute end, unix ms; evicted: sessions ended by the cap), or
-- { 'stale' } when a password change newer than the password this login
-- checked has landed (the marker holds a higher version; a marker that is
-- not a number, or none, is older than any), or { 'lagging' } when the
-- marker is behind this login's version: a password change whose Redis
-- step did not run, which the caller finishes before creating a session.
-- A replay of this very call (its reply was lost and the connection
-- retried it): the session exists already, with its random id.
if redis.call('EXISTS', KEYS[1]) == 1 then
  local abs = tonumber(redis.call('HGET', KEYS[1], 'e'))
  return { 'created', redis.call('PTTL', KEYS[1]), abs, 0 }
end
local marker = tonumber(redis.call('GET', KEYS[3]) or '') or 0
local version = tonumber(ARGV[8])
if marker > version then
  return { 'stale' }
end
-- Version 1 is an account whose password never changed.
if version > 1 and marker < version then
  return { 'lagging' }
end
local now = now_ms()
-- Entries of sessions that ended on their own go first: the cap counts
-- live sessions.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
-- At the cap, the sessions that would expire soonest end: with the idle
-- lifetime counted from each session's last refresh, those are the least
-- recently used (a session near its absolute end goes first as well).
local live = redis.call('ZCARD', KEYS[2])
local over = live - tonumber(ARGV[10]) + 1
local evicted_count = 0
if over > 0 then
  local evicted = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #evicted, 2 do
    evicted_count = evicted_count + redis.call('DEL', ARGV[9] .. evicted[i])
  end
end
-- Sessions other than the new one still indexed.
local others = live - math.max(over, 0)
local max_age = tonumber(ARGV[4])
local expires = now + math.min(IDLE_MS, max_age)
-- Each number is turned into text once.
local now_text, expires_text = int(now), int(expires)
local fields = { 'f', ARGV[2], 'c', ARGV[3],
  'b', now_text, 'u', now_text, 'e', int(now + max_age), 'i', ARGV[7] }
-- No device name or User-Agent: no field (a field costs bytes even empty).
if ARGV[5] ~= '' then
  fields[#fields + 1] = 'd'
  fields[#fields + 1] = ARGV[5]
end
if ARGV[6] ~= '' then
  fields[#fields + 1] = 'a'
  fields[#fields + 1] = ARGV[6]
end
if ARGV[12] ~= '' then
  fields[#fields + 1] = 'k'
  fields[#fields + 1] = ARGV[12]
end
-- A password alone is the common case: no field.
local amr = ARGV[13] or ''
if amr ~= '' and amr ~= 'pwd' then
  fields[#fields + 1] = 'm'
  fields[#fields + 1] = amr
end
-- Verified: 'v' (access tokens of the session say so); else no field.
if ARGV[11] == '1' then
  fields[#fields + 1] = 'v'
  fields[#fields + 1] = '1'
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], expires_text)
redis.call('ZADD', KEYS[2], expires_text, ARGV[1])
-- The marker is never behind a live session's version, and lives at least
-- as long as the user's sessions: each login gives it at least the new
-- session's absolute end (no refresh can take a session past it, so
-- rotations need not extend it), and a password change gives it
-- AUTHD_SESSION_MAX_AGE. A marker below SQL's version then means a password
-- change whose Redis step did not run (see auth::account).
-- A user whose password never changed (version 1) needs no marker: no
-- marker and a marker of 1 mean the same to every check.
if math.max(marker, version) > 1 then
  local marker_ttl = math.max(redis.call('PTTL', KEYS[3]), max_age)
  redis.call('SET', KEYS[3], int(math.max(marker, version)), 'PX', int(marker_ttl))
end
-- The index lives exactly as long as its longest-lived session. With one
-- clock and one idle lifetime that is the new one (every other expires at
-- most that lifetime after its last use, before now). Another instance's
-- longer lifetime, or a clock that ran ahead before a failover, can have
-- left a longer one: GT keeps its expiry. Without others the index is new
-- (or its last entries were just evicted): GT would leave a key without a
-- TTL as it is, so the expiry is set outright. GT refusing is rare (mixed
-- lifetimes, two logins in one millisecond): only then is the TTL read, so
-- an index that has none (as rotations before 77f7d1e could leave one)
-- gets it back at the next login.
if others == 0
  or (redis.call('PEXPIREAT', KEYS[2], expires_text, 'GT') == 0 and redis.call('PTTL', KEYS[2]) == -1) then
  redis.call('PEXPIREAT', KEYS[2], expires_text)
end
return { 'created', expires - now, now + max_age, evicted_count }
