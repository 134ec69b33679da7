import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ChimeraError } from '../../errors.js';
import type { EventTopics, RawTopic } from '../../events.js';
import { deliverStoredEvent, encodeEvent } from '../../intake/event-codec.js';
import { createLogger, type Logger } from '../../logger.js';
import type { BusMessage, EventBus, SubscribeOptions, Subscription } from '../ports.js';
import { eventStreamKey } from './keys.js';

/** A failing handler is called again after this long; its consumer waits, so per-key order holds. */
export const DEFAULT_REDIS_HANDLER_RETRY_DELAY_MS = 1000;
/** How long one blocking read waits before the loop looks again (stop interrupts it sooner). */
const BLOCK_MS = 2000;
/** A message another member of the group took and did not acknowledge for this long is taken over. */
const ABANDONED_AFTER_MS = 30_000;

type AnyTopic = keyof EventTopics | RawTopic;

export interface RedisEventBusOptions {
  redis: Redis;
  keyPrefix: string;
  /** Each topic's stream is trimmed with `XADD MAXLEN ~ maxLength` (`REDIS_STREAM_MAX_LENGTH`). */
  maxLength: number;
  /** @default DEFAULT_REDIS_HANDLER_RETRY_DELAY_MS (1000) */
  handlerRetryDelayMs?: number;
  /** @default a silent logger */
  logger?: Logger;
}

/** One entry of a topic's stream, as bytes: consumers decode it exactly as they would from Kafka. */
export interface StreamMessage {
  /** The stream id (`<ms>-<seq>`). */
  id: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** ioredis' Buffer-reply stream reads, whose overloads are too many for TypeScript to pick one. */
interface BufferStreamCommands {
  xautoclaimBuffer(...args: Array<string | number>): Promise<unknown>;
  xreadgroupBuffer(...args: Array<string | number>): Promise<unknown>;
}

type RawEntry = [id: Buffer, fields: Buffer[] | null];

function parseEntry([id, fields]: RawEntry): StreamMessage {
  const map = new Map<string, Buffer>();
  const list = fields ?? [];
  for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i]!.toString(), list[i + 1]!);
  const text = (name: string) => map.get(name)?.toString('utf8') ?? '';
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(text('headers') || '{}') as Record<string, string>;
  } catch {
    headers = {};
  }
  return {
    id: id.toString(),
    key: text('hasKey') === '1' ? text('key') : null,
    value: map.get('value') ?? Buffer.alloc(0),
    headers,
  };
}

/** A stream id (`<ms>-<seq>`) as the decimal offset a `ReceivedMessage` carries: order-preserving. */
function offsetOf(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return (BigInt(ms) * 1_000_000n + BigInt(seq)).toString();
}

/**
 * The event bus when Redis is configured without Kafka: each topic is a Redis stream
 * (`<prefix>:stream:<topic>`), trimmed on every publish with `XADD ... MAXLEN ~ maxLength`, so events and
 * dead letters survive a restart and never grow past about `maxLength` entries per topic (the oldest go
 * first). Values are stored as the validated bytes, with `key`, `hasKey` and `headers` (JSON) fields.
 *
 * Consumer groups are Redis consumer groups: every group gets every message, the members of one group
 * share them, and a message is acknowledged (`XACK`) only after the handler resolved (at-least-once).
 * Each member reads one message at a time on its own connection (`XREADGROUP BLOCK`); a handler that
 * throws is logged and called again with the same message after `handlerRetryDelayMs`, and that member
 * waits meanwhile. A new member takes over messages another member left unacknowledged for 30 s.
 * Do not call a subscription's `stop` from its own handler: `stop` waits for the handler to finish.
 */
export class RedisEventBus implements EventBus {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly maxLength: number;
  private readonly retryDelayMs: number;
  private readonly logger: Logger;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(options: RedisEventBusOptions) {
    this.redis = options.redis;
    this.prefix = options.keyPrefix;
    this.maxLength = options.maxLength;
    this.retryDelayMs = options.handlerRetryDelayMs ?? DEFAULT_REDIS_HANDLER_RETRY_DELAY_MS;
    this.logger = options.logger ?? createLogger({ level: 'silent' });
  }

  /** The stream key of a logical topic. */
  streamKey(topic: AnyTopic): string {
    return eventStreamKey(this.prefix, topic);
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'event bus is closed');
  }

  private async append(
    topic: AnyTopic,
    messages: { key: string | null; value: Buffer; headers: Record<string, string> }[],
  ): Promise<void> {
    if (messages.length === 0) return;
    const key = this.streamKey(topic);
    const multi = this.redis.multi();
    for (const message of messages) {
      multi.xadd(
        key,
        'MAXLEN',
        '~',
        this.maxLength,
        '*',
        'key',
        message.key ?? '',
        'hasKey',
        message.key === null ? '0' : '1',
        'value',
        message.value,
        'headers',
        JSON.stringify(message.headers),
      );
    }
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    if (!results) throw new Error(`appending to ${key} was aborted`);
  }

  async publish<K extends keyof EventTopics>(
    topic: K,
    messages: BusMessage<EventTopics[K]>[],
  ): Promise<void> {
    this.assertOpen();
    // Encode everything first: one bad payload means nothing of the batch is stored.
    const encoded = messages.map((message) => ({
      key: message.key,
      value: encodeEvent(topic, message.value),
      headers: message.headers ?? {},
    }));
    await this.append(topic, encoded);
  }

  async publishRaw(
    topic: AnyTopic,
    messages: { key: string | null; value: Buffer; headers: Record<string, string> }[],
  ): Promise<void> {
    this.assertOpen();
    await this.append(
      topic,
      messages.map((m) => ({ key: m.key, value: Buffer.from(m.value), headers: { ...m.headers } })),
    );
  }

  /** The oldest entries of a topic's stream, from after `afterId` (exclusive) when given. */
  async read(topic: AnyTopic, limit: number, afterId?: string): Promise<StreamMessage[]> {
    const start = afterId === undefined ? '-' : `(${afterId}`;
    const entries = await this.redis.xrangeBuffer(
      this.streamKey(topic),
      start,
      '+',
      'COUNT',
      Math.max(1, limit),
    );
    return entries.map((entry) => parseEntry(entry));
  }

  /** How many entries a topic's stream holds now. */
  async length(topic: AnyTopic): Promise<number> {
    return this.redis.xlen(this.streamKey(topic));
  }

  async subscribe<K extends keyof EventTopics>(
    topic: K,
    options: SubscribeOptions<EventTopics[K]>,
  ): Promise<Subscription> {
    this.assertOpen();
    const key = this.streamKey(topic);
    const group = options.groupId;
    const consumer = `${group}:${randomUUID()}`;
    const logger = this.logger.child({ topic, groupId: group });
    try {
      await this.redis.xgroup('CREATE', key, group, options.fromBeginning ? '0' : '$', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
    }

    const reader = this.redis.duplicate();
    let active = true;

    const handle = async (entry: StreamMessage): Promise<void> => {
      await deliverStoredEvent(topic, { ...entry, partition: 0, offset: offsetOf(entry.id) }, options);
    };

    /** Handles one entry until it succeeds (then acknowledges it) or the member stops. */
    const deliver = async (entry: StreamMessage): Promise<void> => {
      while (active) {
        try {
          await handle(entry);
          await this.redis.xack(key, group, entry.id);
          return;
        } catch (error) {
          logger.error(
            { err: error, id: entry.id },
            'event handler failed; the message will be delivered again',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      }
    };

    const loop = async (): Promise<void> => {
      // Messages a member that went away left unacknowledged come first.
      const claimed = (await (this.redis as unknown as BufferStreamCommands).xautoclaimBuffer(
        key,
        group,
        consumer,
        ABANDONED_AFTER_MS,
        '0-0',
        'COUNT',
        100,
      )) as [Buffer, RawEntry[]];
      for (const raw of claimed[1] ?? []) {
        if (!active) return;
        if (raw[1]) await deliver(parseEntry(raw));
      }
      while (active) {
        let reply: Array<[Buffer, RawEntry[]]> | null;
        try {
          reply = (await (reader as unknown as BufferStreamCommands).xreadgroupBuffer(
            'GROUP',
            group,
            consumer,
            'COUNT',
            1,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            key,
            '>',
          )) as Array<[Buffer, RawEntry[]]> | null;
        } catch (error) {
          if (!active) return;
          logger.warn({ err: error }, 'reading the event stream failed; trying again');
          await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
          continue;
        }
        for (const [, entries] of reply ?? []) {
          for (const raw of entries) await deliver(parseEntry(raw));
        }
      }
    };
    const running = loop().catch((err: unknown) => logger.error({ err }, 'event stream consumer stopped'));

    const subscription: Subscription = {
      stop: async () => {
        if (!active) return;
        active = false;
        this.subscriptions.delete(subscription);
        // Interrupts a blocking read; a handler in flight still finishes and acknowledges.
        reader.disconnect();
        await running;
        // A consumer with nothing pending is forgotten; one holding a message keeps it for a later member.
        const pending = (await this.redis
          .xpending(key, group, '-', '+', 1, consumer)
          .catch(() => [1])) as unknown[];
        if (pending.length === 0) await this.redis.xgroup('DELCONSUMER', key, group, consumer).catch(() => 0);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stops every subscription; the Redis connection belongs to whoever opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
  }
}
