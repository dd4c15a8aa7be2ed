-- COMPATIBILITY: the session layout before compact fields (authd before
-- 2026-11-29, commit d72a4d4). DELETE THIS FILE after 2027-03-01: by then
-- every session of the old layout has ended (90 days, the default
-- AUTHD_SESSION_MAX_AGE, after the last build that wrote one; an operator
-- with a longer AUTHD_SESSION_MAX_AGE waits as much longer). Part of the
-- session library's shared helpers, after common.lua (`sessions::library`);
-- the functions that may read a session written before call it
-- (rotate, revoke, inspect, list). Deleting it means deleting it from the
-- library there and the calls of `upgrade`, `read_session` and `same_hash`
-- (which becomes `==`).
--
-- Sessions written before the current layout used long field names and 43-byte
-- base64url text for 32-byte hashes. `upgrade` rewrites such a hash in
-- place (its TTL unchanged) the first time a script reads it, so no user
-- is logged out by the change; sessions nobody touches expire as they
-- would have. Older tombstones hold base64 text too (`same_hash`).
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local function unb64(text)
  local out, acc, bits = {}, 0, 0
  for i = 1, #text do
    local v = string.find(B64, string.sub(text, i, i), 1, true)
    if not v then
      return ''
    end
    acc = acc * 64 + v - 1
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local byte = math.floor(acc / 2 ^ bits)
      out[#out + 1] = string.char(byte)
      acc = acc - byte * 2 ^ bits
    end
  end
  return table.concat(out)
end

local function short_hash(text)
  return string.sub(unb64(text), 1, 16)
end

-- Whether a stored hash (raw, or older base64 text) is `raw`.
local function same_hash(stored, raw)
  if not stored then
    return false
  end
  if #stored == 43 then
    stored = short_hash(stored)
  end
  return stored == raw
end

local OLD_FIELDS = { 'fam', 'cur', 'prev', 'nonce', 'created', 'used', 'abs',
  'dev', 'ua', 'ip', 'rotated' }
local function upgrade(key)
  local o = redis.call('HMGET', key, unpack(OLD_FIELDS))
  if not o[1] then
    return false
  end
  local new = { 'f', short_hash(o[1]), 'c', short_hash(o[2]), 'b', o[5],
    'u', o[6], 'e', o[7], 'd', o[8] or '', 'a', o[9] or '', 'i', o[10] or '' }
  if o[3] and o[4] then
    -- The nonce stays as stored: successors derive from its bytes.
    for _, v in ipairs({ 'p', short_hash(o[3]), 'n', o[4] }) do
      new[#new + 1] = v
    end
  end
  -- New fields first: a hash emptied by HDEL would be deleted.
  redis.call('HSET', key, unpack(new))
  redis.call('HDEL', key, unpack(OLD_FIELDS))
  return true
end

local OLD_NAME = { f = 'fam', c = 'cur', p = 'prev', n = 'nonce', b = 'created',
  u = 'used', e = 'abs', d = 'dev', a = 'ua', i = 'ip', v = 'v', k = 'k' }

-- The fields of a session hash by their current names, from whichever
-- layout it has, without changing it (for the read-only scripts).
local function read_session(key, ...)
  local names = { ... }
  local s = redis.call('HMGET', key, unpack(names))
  if s[1] then
    return s
  end
  local old = {}
  for n, name in ipairs(names) do
    old[n] = OLD_NAME[name]
  end
  return redis.call('HMGET', key, unpack(old))
end
