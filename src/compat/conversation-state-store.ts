import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { DEFAULTS } from '../defaults.js';
import { ChimeraError, ConfigError, InvalidSnapshotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkWholeMs, DEFAULT_FINISHED_TTL_MS } from '../persistence/retention.js';
import { createRedis } from '../services/redis/client.js';
import { conversationStateKey } from '../services/redis/keys.js';

export interface ConversationStateStoreOptions {
  /** `redis://` or `rediss://` URL (`REDIS_URL`). */
  url: string;
  /** Start of every key (`REDIS_KEY_PREFIX`). @default DEFAULTS.REDIS_KEY_PREFIX ('chimera') */
  keyPrefix?: string;
  /** How long a saved state lives after its last save. @default DEFAULT_FINISHED_TTL_MS (a week) */
  ttlMs?: number;
  /** Where failed saves are reported (they also return `false`). @default none */
  logger?: Logger;
}

type Settings = ConversationStateStoreOptions | Pick<Config, 'redis' | 'finishedTtlMs'>;

/**
 * Compatibility: a plain JSON key-value store for one state object per conversation, for library users who want the
 * save/load shape of the service this replaces. It is separate from the fenced snapshot store: no leases,
 * no outbox, last write wins. Each save restarts the TTL.
 */
export class ConversationStateStore {
  private readonly redis: Redis;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;
  private readonly logger?: Logger;
  private closed = false;

  constructor(settings: Settings) {
    const options = toOptions(settings);
    this.keyPrefix = options.keyPrefix ?? DEFAULTS.REDIS_KEY_PREFIX;
    this.ttlMs = options.ttlMs ?? DEFAULT_FINISHED_TTL_MS;
    checkWholeMs('ttlMs', this.ttlMs);
    this.logger = options.logger;
    // Lazy, so constructing never touches the network; `start()` (or the first call) connects.
    this.redis = createRedis(options.url, { lazyConnect: true });
  }

  /** Connects, so a wrong address fails here rather than on the first save. Idempotent. */
  async start(): Promise<void> {
    this.assertOpen();
    if (this.redis.status === 'wait') await this.redis.connect();
    await this.redis.ping();
  }

  /**
   * Stores `state` as JSON under the conversation id.
   * @returns true when stored; false when it could not be (not JSON-serialisable, or Redis refused),
   *   with the error reported to the logger.
   */
  async saveConversationState(conversationId: string, state: object): Promise<boolean> {
    this.assertOpen();
    try {
      const text = JSON.stringify(state);
      if (text === undefined) throw new TypeError('state is not JSON-serialisable');
      await this.redis.set(this.key(conversationId), text, 'PX', this.ttlMs);
      return true;
    } catch (error) {
      this.logger?.error({ err: error, conversationId }, 'saving conversation state failed');
      return false;
    }
  }

  /**
   * The last saved state, or null when there is none (never saved, or expired).
   * @throws {InvalidSnapshotError} when the stored text is not a JSON object.
   */
  async loadConversationState(conversationId: string): Promise<Record<string, unknown> | null> {
    this.assertOpen();
    const text = await this.redis.get(this.key(conversationId));
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The parser's message would quote the stored text, which may hold conversation content.
      throw new InvalidSnapshotError(conversationId, 'stored state is not JSON');
    }
    if (value === null || typeof value !== 'object') {
      throw new ChimeraError(
        'invalid_snapshot',
        `state of conversation ${conversationId} is not a JSON object`,
      );
    }
    return value as Record<string, unknown>;
  }

  /** Removes the saved state; true when there was one. */
  async deleteConversationState(conversationId: string): Promise<boolean> {
    this.assertOpen();
    return (await this.redis.del(this.key(conversationId))) === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A client that never connected has nothing to say goodbye to; QUIT would connect first.
    if (this.redis.status === 'wait') this.redis.disconnect();
    else await this.redis.quit();
  }

  private key(conversationId: string): string {
    return conversationStateKey(this.keyPrefix, conversationId);
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'conversation state store is closed');
  }
}

function toOptions(settings: Settings): ConversationStateStoreOptions {
  if ('url' in settings) return settings;
  if (!settings.redis) throw new ConfigError('REDIS_URL', 'required for the conversation state store');
  return { url: settings.redis.url, keyPrefix: settings.redis.keyPrefix, ttlMs: settings.finishedTtlMs };
}
