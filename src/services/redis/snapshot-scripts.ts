import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The snapshot store's Lua scripts. Every decision about lease expiry is taken here, against the server's
 * clock (`TIME`), so daemons with skewed clocks still agree on who owns a conversation. Scripts check
 * everything before their first write: a refused call changes nothing. Snapshot JSON is passed through
 * as an opaque string and never decoded in Lua (cjson would mangle large numbers and empty arrays).
 *
 * Inline strings rather than `.lua` files, so the built `dist/` needs no asset copying.
 */

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script by digest and sends its source only when the server does not have it cached (after a
 * restart or `SCRIPT FLUSH`), like ioredis' own `defineCommand`, but typed.
 */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}

const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

const HELD_BY = `
local function held_by(lease_key, owner, token)
  local current = redis.call('GET', lease_key)
  if not current then return false end
  local held = cjson.decode(current)
  return held.owner == owner and tonumber(held.token) == tonumber(token)
end
`;

/**
 * KEYS: conversation, lease, active index. ARGV: conversation id, owner, ttl ms, retention ms.
 * Returns `{token, expiresAt}`, or nil while a live lease exists (the PX expiry frees the key).
 */
export const ACQUIRE = lua(`${NOW_MS}
if redis.call('EXISTS', KEYS[2]) == 1 then return nil end
local token = redis.call('HINCRBY', KEYS[1], 'fence', 1)
local ttl = tonumber(ARGV[3])
local expires_at = now_ms() + ttl
redis.call('SET', KEYS[2], cjson.encode({owner = ARGV[2], token = token}), 'PX', ttl)
-- XX: only saved, unfinished conversations are in the index; the first save adds them.
redis.call('ZADD', KEYS[3], 'XX', expires_at, ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'data') == 0 then
  -- Taken but never saved: the fencing counter must not outlive its usefulness forever.
  redis.call('PEXPIRE', KEYS[1], math.max(ttl, tonumber(ARGV[4])))
end
return {token, expires_at}
`);

/** KEYS: lease, active index. ARGV: conversation id, owner, token, ttl ms. Returns expiresAt or nil. */
export const RENEW = lua(`${NOW_MS}${HELD_BY}
if not held_by(KEYS[1], ARGV[2], ARGV[3]) then return nil end
local ttl = tonumber(ARGV[4])
local expires_at = now_ms() + ttl
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], 'XX', expires_at, ARGV[1])
return expires_at
`);

/** KEYS: lease, active index. ARGV: conversation id, owner, token. Returns 1 when released, 0 otherwise. */
export const RELEASE = lua(`${NOW_MS}${HELD_BY}
if not held_by(KEYS[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
-- Adoptable at once: a released lease has lapsed now, not when its TTL would have run out.
redis.call('ZADD', KEYS[2], 'XX', now_ms(), ARGV[1])
return 1
`);

/**
 * One step of one conversation: the fencing check first (a stale token writes nothing and returns 0),
 * then the record, the indexes when its status changed, and its outbox entries (`count` events of four
 * ARGV each from `base`). Returns 1 when written.
 */
const SAVE_STEP = `
local function save_step(conv, lease, active, finished_keys, outbox, now, retention,
    id, owner, token, status, data, base, count)
  if not held_by(lease, owner, token) then return 0 end
  local stored = redis.call('HMGET', conv, 'fence', 'status')
  if tonumber(stored[1]) ~= token then return 0 end

  if status == 'active' then
    if stored[2] == 'active' then
      -- Still active: the record has no TTL and the index entry already holds the lease's expiry (set by
      -- ACQUIRE and RENEW, the only writers of a live lease's expiry), so only the data changes.
      redis.call('HSET', conv, 'data', data)
    else
      redis.call('HSET', conv, 'data', data, 'status', status)
      redis.call('PERSIST', conv)
      redis.call('ZADD', active, now + math.max(redis.call('PTTL', lease), 0), id)
      for _, key in ipairs(finished_keys) do redis.call('ZREM', key, id) end
    end
  else
    redis.call('HSET', conv, 'data', data, 'status', status)
    local finished = ({ended = finished_keys[1], failed = finished_keys[2], timedOut = finished_keys[3]})[status]
    redis.call('ZREM', active, id)
    for _, key in ipairs(finished_keys) do redis.call('ZREM', key, id) end
    redis.call('ZADD', finished, now, id)
    -- Amortised retention: each finish drops the entries whose records have already expired.
    redis.call('ZREMRANGEBYSCORE', finished, '-inf', string.format('(%d', now - retention))
    redis.call('PEXPIRE', conv, retention)
    redis.call('DEL', lease)
  end

  for i = 0, count - 1 do
    local at = base + i * 4
    redis.call('XADD', outbox, '*', 'topic', ARGV[at], 'key', ARGV[at + 1],
      'value', ARGV[at + 2], 'headers', ARGV[at + 3])
  end
  return 1
end
`;

/**
 * Group commit: the steps of several conversations in one call. Each step is checked and written on its
 * own (`save_step`), exactly as if it had come in a call of its own: a stale step writes nothing and
 * does not stop the others.
 *
 * KEYS: active index, finished ended / failed / timedOut, outbox, then conversation and lease per step.
 * ARGV: retention ms, step count, then per step: conversation id, owner, token, status, stored JSON,
 * event count, and topic, key, value JSON, headers JSON per event.
 * Returns one 1 (written), 0 (stale token, nothing written) or error per step, in order.
 */
export const SAVE_MANY = lua(`${NOW_MS}${HELD_BY}${SAVE_STEP}
local now = now_ms()
local retention = tonumber(ARGV[1])
local finished_keys = {KEYS[2], KEYS[3], KEYS[4]}
local results = {}
local at = 3
for step = 1, tonumber(ARGV[2]) do
  local count = tonumber(ARGV[at + 5])
  -- A step that raises an error (a key of the wrong type) fails alone, as it would in a call of its own.
  local ok, written = pcall(save_step, KEYS[4 + step * 2], KEYS[5 + step * 2], KEYS[1], finished_keys,
    KEYS[5], now, retention, ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]), ARGV[at + 3], ARGV[at + 4],
    at + 6, count)
  if ok then
    results[step] = written
  elseif type(written) == 'table' and written.err then
    results[step] = written
  else
    results[step] = {err = tostring(written)}
  end
  at = at + 6 + count * 4
end
return results
`);

/**
 * KEYS: active index, finished ended / failed / timedOut. ARGV: retention ms.
 * Drops finished entries past retention (their records expired with the same TTL), then returns
 * the cardinalities {active, ended, failed, timedOut}.
 */
export const COUNTS = lua(`${NOW_MS}
local cutoff = string.format('(%d', now_ms() - tonumber(ARGV[1]))
local counts = {redis.call('ZCARD', KEYS[1])}
for i = 2, 4 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', cutoff)
  counts[i] = redis.call('ZCARD', KEYS[i])
end
return counts
`);

/**
 * KEYS: conversation, active index, finished ended / failed / timedOut. ARGV: conversation id.
 * Returns the stored snapshot JSON; when there is none (expired, deleted, or never saved), removes the id
 * from every index, so it is neither adopted nor counted, and returns nil. One round trip: intake loads
 * every new conversation once to make sure it does not exist yet.
 */
export const LOAD = lua(`
local data = redis.call('HGET', KEYS[1], 'data')
if data then return data end
for i = 2, 5 do redis.call('ZREM', KEYS[i], ARGV[1]) end
return false
`);
