import type { Redis } from 'ioredis';
import type { TopicClaims } from '../ports.js';

/** Ids are remembered this long: far beyond any redelivery or a producer re-sending last month's feed. */
export const DEFAULT_CLAIM_TTL_MS = 30 * 86_400_000;

const COMPLETED = 'done';

export interface RedisTopicClaimsOptions {
  redis: Redis;
  /** Prefix of every key, e.g. `config.redis.keyPrefix`; claims live at `<prefix>:topic:<id>`. */
  keyPrefix: string;
  /**
   * How long a claim lasts.
   * @default DEFAULT_CLAIM_TTL_MS (30 days)
   */
  ttlMs?: number;
}

/**
 * Claims shared by every daemon on the same Redis: `SET NX` with a long TTL. The value is `pending:<origin>`
 * until the conversation is persisted, then `done`.
 */
export class RedisTopicClaims implements TopicClaims {
  private readonly redis: Redis;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;

  constructor(options: RedisTopicClaimsOptions) {
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix;
    this.ttlMs = options.ttlMs ?? DEFAULT_CLAIM_TTL_MS;
  }

  key(id: string): string {
    return `${this.keyPrefix}:topic:${id}`;
  }

  async claim(id: string, origin: string): Promise<boolean> {
    const pending = `pending:${origin}`;
    const set = await this.redis.set(this.key(id), pending, 'PX', this.ttlMs, 'NX');
    if (set === 'OK') return true;
    // A value only ever moves from pending to done, so reading it after the failed SET NX is race-free.
    return (await this.redis.get(this.key(id))) === pending;
  }

  async complete(id: string): Promise<void> {
    await this.redis.set(this.key(id), COMPLETED, 'PX', this.ttlMs);
  }
}
