import type { Redis } from 'ioredis';
import { type BatchIntent, type BatchRequest, type BatchStore, byAge, type StoredBatch } from '../ports.js';

/**
 * The batches out in Redis, three hashes per provider (one hash tag, so every script touches one slot):
 *   `{prefix}:batches:{provider}:intents`  intent id -> JSON of the intent without its requests
 *   `{prefix}:batches:{provider}:holders`  custom id -> the intent holding it
 *   `{prefix}:batches:{provider}:requests` custom id -> JSON of the request (kept apart so the scripts never
 *                                          decode and re-encode message text)
 * Every change is one Lua script, so an intent and the ids it holds never disagree.
 */

interface IntentMeta {
  intentId: string;
  provider: string;
  customIds: string[];
  batchId: string | null;
  owner: string;
  createdAt: number;
  submittedAt: number | null;
  leaseUntil: number;
}

const RECORD_INTENT = `
local refused = {}
local accepted = {}
local n = (#ARGV - 5) / 2
for i = 0, n - 1 do
  local id = ARGV[6 + 2 * i]
  if redis.call('HEXISTS', KEYS[1], id) == 1 then
    table.insert(refused, id)
  else
    table.insert(accepted, id)
    redis.call('HSET', KEYS[1], id, ARGV[1])
    redis.call('HSET', KEYS[3], id, ARGV[7 + 2 * i])
  end
end
if #accepted > 0 then
  local meta = { intentId = ARGV[1], provider = ARGV[2], owner = ARGV[3], createdAt = tonumber(ARGV[4]),
    leaseUntil = tonumber(ARGV[5]), batchId = cjson.null, submittedAt = cjson.null, customIds = accepted }
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(meta))
end
return refused
`;

const RECORD_SUBMITTED = `
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
local meta = cjson.decode(raw)
meta.batchId = ARGV[2]
meta.submittedAt = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(meta))
return 1
`;

const RELEASE = `
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
local meta = cjson.decode(raw)
for _, id in ipairs(meta.customIds) do
  if redis.call('HGET', KEYS[1], id) == ARGV[1] then
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

/** ARGV: owner, now, leaseMs, mode ('renew': the owner's; 'adopt': anyone's lapsed). Returns the changed intents. */
const LEASE = `
local all = redis.call('HGETALL', KEYS[2])
local changed = {}
local now = tonumber(ARGV[2])
for i = 1, #all, 2 do
  local meta = cjson.decode(all[i + 1])
  local take = (ARGV[4] == 'renew' and meta.owner == ARGV[1]) or (ARGV[4] == 'adopt' and meta.leaseUntil < now)
  if take then
    meta.owner = ARGV[1]
    meta.leaseUntil = now + tonumber(ARGV[3])
    local encoded = cjson.encode(meta)
    redis.call('HSET', KEYS[2], all[i], encoded)
    table.insert(changed, encoded)
  end
end
return changed
`;

export class RedisBatchStore implements BatchStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private keys(provider: string): [string, string, string] {
    const base = `${this.keyPrefix}:batches:{${provider}}`;
    return [`${base}:holders`, `${base}:intents`, `${base}:requests`];
  }

  async recordIntent(intent: BatchIntent): Promise<{ refused: string[] }> {
    const pairs = intent.requests.flatMap((request) => [request.customId, JSON.stringify(request.request)]);
    const refused = (await this.redis.eval(
      RECORD_INTENT,
      3,
      ...this.keys(intent.provider),
      intent.intentId,
      intent.provider,
      intent.owner,
      String(intent.at),
      String(intent.at + intent.leaseMs),
      ...pairs,
    )) as string[];
    return { refused };
  }

  async recordSubmitted(intentId: string, provider: string, batchId: string, at: number): Promise<void> {
    await this.redis.eval(RECORD_SUBMITTED, 3, ...this.keys(provider), intentId, batchId, String(at));
  }

  async release(intentId: string, provider: string): Promise<void> {
    await this.redis.eval(RELEASE, 3, ...this.keys(provider), intentId);
  }

  async holderOf(provider: string, customId: string): Promise<StoredBatch | null> {
    const [holders, intents] = this.keys(provider);
    const intentId = await this.redis.hget(holders, customId);
    if (intentId === null) return null;
    const raw = await this.redis.hget(intents, intentId);
    return raw === null ? null : (await this.withRequests(provider, [JSON.parse(raw) as IntentMeta]))[0]!;
  }

  async list(provider: string): Promise<StoredBatch[]> {
    const [, intents] = this.keys(provider);
    const all = await this.redis.hvals(intents);
    return this.withRequests(
      provider,
      all.map((raw) => JSON.parse(raw) as IntentMeta),
    );
  }

  async renew(provider: string, owner: string, now: number, leaseMs: number): Promise<void> {
    await this.redis.eval(LEASE, 3, ...this.keys(provider), owner, String(now), String(leaseMs), 'renew');
  }

  async adopt(provider: string, owner: string, now: number, leaseMs: number): Promise<StoredBatch[]> {
    const changed = (await this.redis.eval(
      LEASE,
      3,
      ...this.keys(provider),
      owner,
      String(now),
      String(leaseMs),
      'adopt',
    )) as string[];
    return this.withRequests(
      provider,
      changed.map((raw) => JSON.parse(raw) as IntentMeta),
    );
  }

  /** Joins each intent with its requests, oldest first. */
  private async withRequests(provider: string, metas: IntentMeta[]): Promise<StoredBatch[]> {
    const [, , requestsKey] = this.keys(provider);
    const ids = metas.flatMap((meta) => meta.customIds);
    const raws = ids.length === 0 ? [] : await this.redis.hmget(requestsKey, ...ids);
    const requests = new Map<string, BatchRequest['request']>();
    ids.forEach((id, i) => {
      const raw = raws[i];
      if (raw) requests.set(id, JSON.parse(raw) as BatchRequest['request']);
    });
    return metas
      .map(
        ({ customIds, ...meta }): StoredBatch => ({
          ...meta,
          requests: customIds.flatMap((customId) => {
            const request = requests.get(customId);
            return request ? [{ customId, request }] : [];
          }),
        }),
      )
      .sort(byAge);
  }
}
