import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompressionTypes,
  type Consumer,
  type ConsumerConfig,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import type { KafkaConfig } from '../../config.js';
import { ChimeraError } from '../../errors.js';
import type { EventTopics, RawTopic } from '../../events.js';
import { decodeEvent, encodeEvent } from '../../intake/event-codec.js';
import type { Logger } from '../../logger.js';
import type { BusMessage, EventBus, SubscribeOptions, Subscription } from '../ports.js';
import { createIdempotentProducer } from './client.js';

/** First wait before a failed handler is called again with the same message. */
export const DEFAULT_HANDLER_RETRY_BASE_MS = 200;
/** Cap of the doubling wait: a handler that fails for minutes is retried every 10 s, not hammered. */
export const DEFAULT_HANDLER_RETRY_MAX_MS = 10_000;

export interface KafkaEventBusOptions {
  kafka: Kafka;
  /** Physical topic names: `events` -> events, `topics` -> input, `deadLetter` -> dead letter. */
  topics: KafkaConfig['topics'];
  logger: Logger;
  /** @default DEFAULT_HANDLER_RETRY_BASE_MS (200) */
  handlerRetryBaseMs?: number;
  /** @default DEFAULT_HANDLER_RETRY_MAX_MS (10 000) */
  handlerRetryMaxMs?: number;
  /** Extra consumer settings (session timeout, fetch sizes); the group id comes from `subscribe`. */
  consumer?: Omit<ConsumerConfig, 'groupId'>;
}

type AnyTopic = keyof EventTopics | RawTopic;

/** kafkajs hands header values as Buffers (or arrays of them); the port speaks strings. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

/**
 * The event bus on Kafka. `publish` validates every payload with its topic's schema before anything is
 * sent (one bad payload refuses the whole call), then sends the batch in one request through the
 * idempotent producer with acks=all and resolves when the broker acknowledged it. The key picks the
 * partition, so one conversation's events (keyed by conversation id) stay in order.
 *
 * `subscribe` joins a consumer group. Each message is decoded and validated; valid ones go to
 * `onMessage`, unparsable or invalid ones to `onInvalid` with the reason and the original bytes. The
 * offset is resolved, and later committed, only after the handler resolved: at-least-once. A handler
 * that throws is logged and called again with the same message, with a doubling wait, while its
 * partition waits (the next event of a conversation never overtakes a failed one). Retrying stops when
 * the subscription stops or the group rebalances; the message is then delivered again to whoever owns
 * the partition. Do not call a subscription's `stop` from its own handler: `stop` waits for the handler.
 */
export class KafkaEventBus implements EventBus {
  private readonly producer: Producer;
  private producerReady: Promise<void> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly options: KafkaEventBusOptions) {
    this.producer = createIdempotentProducer(options.kafka);
  }

  /** The physical name of a logical topic. */
  physical(topic: AnyTopic): string {
    const { topics } = this.options;
    if (topic === 'events') return topics.events;
    if (topic === 'topics') return topics.input;
    return topics.deadLetter;
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'event bus is closed');
  }

  /** Connects once; a failed connect is retried by the next send instead of being cached. */
  private connectProducer(): Promise<void> {
    if (!this.producerReady) {
      this.producerReady = this.producer.connect().catch((error: unknown) => {
        this.producerReady = undefined;
        throw error;
      });
    }
    return this.producerReady;
  }

  private async send(
    topic: AnyTopic,
    messages: { key: string | null; value: Buffer; headers?: Record<string, string> }[],
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.connectProducer();
    try {
      await this.producer.send({
        topic: this.physical(topic),
        acks: -1,
        // Conversation text compresses about threefold, and the broker's size limit applies to the
        // compressed batch: a record several times the default 1 MB limit still goes through.
        compression: CompressionTypes.GZIP,
        messages: messages.map(({ key, value, headers }) => ({ key, value, headers: { ...headers } })),
      });
    } catch (error) {
      if (refusedAsTooLarge(error)) {
        const bytes = messages.reduce((sum, m) => sum + m.value.length, 0);
        throw new ChimeraError(
          'event_too_large',
          `${this.physical(topic)} refused ${messages.length} message(s) of ${bytes} bytes as too large`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async publish<K extends keyof EventTopics>(
    topic: K,
    messages: BusMessage<EventTopics[K]>[],
  ): Promise<void> {
    this.assertOpen();
    const encoded = messages.map(({ key, value, headers }) => ({
      key,
      value: encodeEvent(topic, value),
      headers,
    }));
    await this.send(topic, encoded);
  }

  async publishRaw(
    topic: AnyTopic,
    messages: { key: string | null; value: Buffer; headers: Record<string, string> }[],
  ): Promise<void> {
    this.assertOpen();
    await this.send(topic, messages);
  }

  async subscribe<K extends keyof EventTopics>(
    topic: K,
    options: SubscribeOptions<EventTopics[K]>,
  ): Promise<Subscription> {
    this.assertOpen();
    const physical = this.physical(topic);
    const logger = this.options.logger.child({ topic: physical, groupId: options.groupId });
    const consumer = this.options.kafka.consumer({ ...this.options.consumer, groupId: options.groupId });
    const stopping = new AbortController();

    const handle = async (partition: number, message: KafkaMessage): Promise<void> => {
      const raw = message.value;
      const common = { topic: physical, partition, offset: message.offset };
      const decoded = decodeEvent(topic, raw);
      if (decoded.ok) {
        await options.onMessage({
          ...common,
          key: message.key?.toString() ?? '',
          value: decoded.value,
          headers: headersToStrings(message.headers),
        });
      } else {
        await options.onInvalid({
          ...common,
          key: message.key?.toString() ?? null,
          raw: raw ?? Buffer.alloc(0),
          reason: decoded.reason,
        });
      }
    };

    const base = this.options.handlerRetryBaseMs ?? DEFAULT_HANDLER_RETRY_BASE_MS;
    const max = this.options.handlerRetryMaxMs ?? DEFAULT_HANDLER_RETRY_MAX_MS;

    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [physical], fromBeginning: options.fromBeginning ?? false });
      await consumer.run({
        eachMessage: async ({ partition, message, heartbeat }) => {
          for (let attempt = 0; ; attempt += 1) {
            try {
              await handle(partition, message);
              return;
            } catch (error) {
              logger.error(
                { err: error, partition, offset: message.offset, attempt },
                'event handler failed; the message will be delivered again',
              );
            }
            await sleep(Math.min(max, base * 2 ** attempt), undefined, { signal: stopping.signal }).catch(
              () => undefined,
            );
            // Throwing leaves the offset unresolved: the message is fetched again by the partition's owner.
            if (stopping.signal.aborted) throw new ChimeraError('closed', 'subscription stopped');
            // Keeps the membership alive during long retries; throws when the group rebalances.
            await heartbeat();
          }
        },
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ err: payload.error, restart: payload.restart }, 'event consumer crashed');
    });

    const subscription = this.subscriptionFor(consumer, stopping);
    this.subscriptions.add(subscription);
    return subscription;
  }

  private subscriptionFor(consumer: Consumer, stopping: AbortController): Subscription {
    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () => {
        if (!stopped) {
          stopping.abort();
          this.subscriptions.delete(subscription);
          stopped = consumer.disconnect();
        }
        return stopped;
      },
    };
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.producer.disconnect();
  }
}

/** Kafka's refusals of a message or batch larger than the broker or topic accepts. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Whether a send failed because Kafka refused the size, looking through kafkajs' wrapping errors. */
export function refusedAsTooLarge(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const { type, name, originalError, cause } = current as {
      type?: unknown;
      name?: unknown;
      originalError?: unknown;
      cause?: unknown;
    };
    if (typeof type === 'string' && TOO_LARGE.has(type)) return true;
    if (typeof name === 'string' && /RecordTooLarge|MessageTooLarge/.test(name)) return true;
    current = originalError ?? cause;
  }
  return false;
}
