import type { Redis } from 'ioredis';
import { type Turn, turnSchema } from '../../events.js';
import type { TurnCache, TurnKey } from '../ports.js';

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
    const hashKey = this.key(key.conversationId);
    const field = `${key.turnIndex}:${key.generation}`;
    const [[, created], , [, current]] = (await this.redis
      .multi()
      .hsetnx(hashKey, field, JSON.stringify(turn))
      .pexpire(hashKey, this.ttlMs)
      .hget(hashKey, field)
      .exec()) as [[null, number], [null, number], [null, string]];
    return created === 1 ? turn : turnSchema.parse(JSON.parse(current));
  }

  async forget(conversationId: string): Promise<void> {
    await this.redis.del(this.key(conversationId));
  }
}
