-- Helpers prepended to every session script (see sessions/store.rs).

-- Integer text for a number. Lua numbers are doubles, and some Redis
-- versions (7.2.0 to 7.2.4) pass round ones to commands in exponent form,
-- which PEXPIREAT and friends refuse.
local function int(n)
  return string.format('%.0f', n)
end

-- Redis server time in milliseconds: one clock for every authd instance.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops index entries of sessions that have ended on their own, then lets
-- the index live exactly as long as its longest-lived session; an empty
-- index is deleted.
local function reindex(index, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', int(now))
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', index, last[2])
  else
    redis.call('DEL', index)
  end
end

-- Session hash fields (docs/sessions.md): f family hash, c current secret
-- hash, p the secret hash it replaced, n nonce of that rotation (hashes and
-- nonce are 16 raw bytes), b created, u last rotation (or creation), e
-- absolute end (unix ms), d device, a User-Agent, i client IP.

-- Sessions written before this layout used long field names and 43-byte
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
    return
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
end
