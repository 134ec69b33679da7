/**
 * The Redis budget's Lua scripts, one per operation, each atomic on the server and judged by the server's
 * clock (`TIME`), so every daemon on the Redis sees one cap. Every script first moves lapsed reservations
 * to `expired` (at most EXPIRE_BATCH per call; any left over stay counted as reserved, which only errs on
 * the side of the cap). Amounts are whole micro-dollars, exact in Lua's doubles below 2^53.
 *
 * KEYS (all of them, for every script): state hash, reservations zset (id by expiry), reservation amounts
 * hash, settled zset (id by settle time), spent-by hash (`provider/model`), minutes hash (minute -> micros).
 */
import { createHash } from 'node:crypto';
import type { LuaScript } from '../services/redis/snapshot-scripts.js';
import { HOUR_MINUTES, SETTLED_MEMORY_MS } from './ports.js';

function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Lapsed reservations moved per call: bounds the work of one script. */
const EXPIRE_BATCH = 500;

const PRELUDE = `
local state, zres, amounts, zsettled, spentby, minutes = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(v) if v then return tonumber(v) else return 0 end end
local lapsed = redis.call('ZRANGEBYSCORE', zres, '-inf', now, 'LIMIT', 0, ${EXPIRE_BATCH})
for _, id in ipairs(lapsed) do
  local amount = num(redis.call('HGET', amounts, id))
  redis.call('HINCRBY', state, 'reserved', -amount)
  redis.call('HINCRBY', state, 'expired', amount)
  redis.call('HDEL', amounts, id)
  redis.call('ZREM', zres, id)
end
`;

/** ARGV: id, worst case, ttl ms. Returns {1, duplicate, expiresAt} | {0, 'cap_reached', cap, spent, reserved} | {0, 'already_settled'}. */
export const RESERVE = lua(`${PRELUDE}
local id, worst, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local existing = redis.call('ZSCORE', zres, id)
if existing then return {1, 1, tonumber(existing)} end
if redis.call('ZSCORE', zsettled, id) then return {0, 'already_settled'} end
local cap = redis.call('HGET', state, 'cap')
local spent, reserved = num(redis.call('HGET', state, 'spent')), num(redis.call('HGET', state, 'reserved'))
if cap and spent + reserved + worst > tonumber(cap) then
  redis.call('HSET', state, 'refused', worst, 'refusedAt', now)
  return {0, 'cap_reached', tonumber(cap), spent, reserved}
end
local expires_at = now + ttl
redis.call('ZADD', zres, expires_at, id)
redis.call('HSET', amounts, id, worst)
redis.call('HINCRBY', state, 'reserved', worst)
redis.call('HDEL', state, 'refused', 'refusedAt')
return {1, 0, expires_at}
`);

/** ARGV: id, actual, `provider/model`. Returns 'settled' | 'unreserved' | 'duplicate'. */
export const SETTLE = lua(`${PRELUDE}
local id, actual, key = ARGV[1], tonumber(ARGV[2]), ARGV[3]
redis.call('ZREMRANGEBYSCORE', zsettled, '-inf', now - ${SETTLED_MEMORY_MS})
if redis.call('ZSCORE', zsettled, id) then return 'duplicate' end
local outcome = 'unreserved'
local amount = redis.call('HGET', amounts, id)
if amount then
  amount = tonumber(amount)
  redis.call('HINCRBY', state, 'reserved', -amount)
  redis.call('HDEL', amounts, id)
  redis.call('ZREM', zres, id)
  if actual > amount then redis.call('HINCRBY', state, 'overrun', actual - amount) end
  outcome = 'settled'
end
redis.call('HINCRBY', state, 'spent', actual)
redis.call('HINCRBY', spentby, key, actual)
local minute = math.floor(now / 60000)
redis.call('HINCRBY', minutes, minute, actual)
for _, m in ipairs(redis.call('HKEYS', minutes)) do
  if tonumber(m) <= minute - ${HOUR_MINUTES} then redis.call('HDEL', minutes, m) end
end
redis.call('ZADD', zsettled, now, id)
return outcome
`);

/** ARGV: id. Returns 1 when a live reservation was dropped, else 0. */
export const RELEASE = lua(`${PRELUDE}
local amount = redis.call('HGET', amounts, ARGV[1])
if not amount then return 0 end
redis.call('HINCRBY', state, 'reserved', -tonumber(amount))
redis.call('HDEL', amounts, ARGV[1])
redis.call('ZREM', zres, ARGV[1])
return 1
`);

/** ARGV: cap micros or 'none'. */
export const SET_CAP = lua(`${PRELUDE}
if ARGV[1] == 'none' then redis.call('HDEL', state, 'cap') else redis.call('HSET', state, 'cap', ARGV[1]) end
return 1
`);

/** ARGV: configured cap micros or 'none'. Returns 1 when it differed from the last configured cap and was applied. */
export const APPLY_CONFIGURED_CAP = lua(`${PRELUDE}
local last = redis.call('HGET', state, 'configuredCap') or 'none'
if last == ARGV[1] then return 0 end
redis.call('HSET', state, 'configuredCap', ARGV[1])
if ARGV[1] == 'none' then redis.call('HDEL', state, 'cap') else redis.call('HSET', state, 'cap', ARGV[1]) end
return 1
`);

/** Returns {cap or '', spent, reserved, reservations, expired, overrun, lastHour, now, spentBy flat list, refused or '', refusedAt}. */
export const SNAPSHOT = lua(`${PRELUDE}
local minute = math.floor(now / 60000)
local last_hour = 0
local flat = redis.call('HGETALL', minutes)
for i = 1, #flat, 2 do
  local m = tonumber(flat[i])
  if m > minute - ${HOUR_MINUTES} and m <= minute then last_hour = last_hour + tonumber(flat[i + 1]) end
end
return {
  redis.call('HGET', state, 'cap') or '',
  num(redis.call('HGET', state, 'spent')),
  num(redis.call('HGET', state, 'reserved')),
  redis.call('ZCARD', zres),
  num(redis.call('HGET', state, 'expired')),
  num(redis.call('HGET', state, 'overrun')),
  last_hour,
  now,
  redis.call('HGETALL', spentby),
  redis.call('HGET', state, 'refused') or '',
  num(redis.call('HGET', state, 'refusedAt')),
}
`);
