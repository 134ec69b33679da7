import type { Redis } from 'ioredis';
import { type Turn, turnSchema } from '../../events.js';
import type { TurnCache, TurnKey } from '../ports.js';
import { lua, runScript } from './snapshot-scripts.js';

/**
 * KEYS: the conversation's hash. ARGV: field, turn JSON, ttl ms. One command instead of a MULTI of four:
 * writes the turn unless the field exists, renews the hash's TTL either way, and returns nil when this
 * turn was kept or the turn kept before it (the first answer wins).
 */
const PUT_IF_ABSENT = lua(`
local created = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if created == 1 then return false end
return redis.call('HGET', KEYS[1], ARGV[1])
`);

/** Keeps a turn's result for as long as a crashed owner's conversation could still be resumed. */
export const DEFAULT_TURN_CACHE_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Turn results in Redis, one hash per conversation (field `turnIndex:generation`), written with HSETNX so
 * the first answer wins. The hash expires with the conversation's retention.
 */
export class RedisTurnCache implements TurnCache {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlMs = DEFAULT_TURN_CACHE_TTL_MS,
  ) {}

  private key(conversationId: string): string {
    return `${this.keyPrefix}:turns:{${conversationId}}`;
  }

  async get(key: TurnKey): Promise<Turn | null> {
    const raw = await this.redis.hget(this.key(key.conversationId), `${key.turnIndex}:${key.generation}`);
    return raw === null ? null : turnSchema.parse(JSON.parse(raw));
  }

  async putIfAbsent(key: TurnKey, turn: Turn): Promise<Turn> {
    const kept = await runScript(
      this.redis,
      PUT_IF_ABSENT,
      [this.key(key.conversationId)],
      [`${key.turnIndex}:${key.generation}`, JSON.stringify(turn), this.ttlMs],
    );
    return kept === null ? turn : turnSchema.parse(JSON.parse(String(kept)));
  }

  async forget(conversationId: string): Promise<void> {
    await this.redis.del(this.key(conversationId));
  }
}
