import { ChimeraError } from '../../errors.js';
import type { EventTopics, RawTopic } from '../../events.js';
import { deliverStoredEvent, encodeEvent } from '../../intake/event-codec.js';
import { createLogger, type Logger } from '../../logger.js';
import type { BusMessage, EventBus, SubscribeOptions, Subscription } from '../ports.js';

/** Enough partitions that per-key ordering and group sharing behave as they do on Kafka. */
export const DEFAULT_MEMORY_PARTITIONS = 3;
/** A failing handler is called again after this long; the partition waits, so per-key order holds. */
export const DEFAULT_HANDLER_RETRY_DELAY_MS = 1000;

export interface InMemoryEventBusOptions {
  /** @default DEFAULT_MEMORY_PARTITIONS (3) */
  partitions?: number;
  /** @default DEFAULT_HANDLER_RETRY_DELAY_MS (1000) */
  handlerRetryDelayMs?: number;
  /** @default a silent logger */
  logger?: Logger;
}

/** One stored message, as bytes: consumers decode it exactly as they would from Kafka. */
export interface StoredMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  partition: number;
  offset: number;
}

type AnyTopic = keyof EventTopics | RawTopic;

/** FNV-1a: stable across runs, so a key always lands in the same partition. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

class Member {
  active = true;
  readonly inFlight = new Set<Promise<unknown>>();

  constructor(readonly deliver: (record: StoredMessage, stillOwner: () => boolean) => Promise<boolean>) {}
}

/** Committed positions and partition ownership of one consumer group on one topic. */
class Group {
  readonly members: Member[] = [];
  private readonly owners: Array<Member | undefined>;
  private readonly pumping: boolean[];

  constructor(
    private readonly log: StoredMessage[][],
    readonly committed: number[],
  ) {
    this.owners = log.map(() => undefined);
    this.pumping = log.map(() => false);
  }

  join(member: Member): void {
    this.members.push(member);
    this.rebalance();
  }

  leave(member: Member): void {
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    this.rebalance();
  }

  /** Round-robin assignment, like Kafka's: every partition has exactly one owner while any member exists. */
  private rebalance(): void {
    this.owners.forEach((_, partition) => {
      this.owners[partition] =
        this.members.length > 0 ? this.members[partition % this.members.length] : undefined;
    });
    this.kickAll();
  }

  kickAll(): void {
    for (let partition = 0; partition < this.log.length; partition += 1) this.kick(partition);
  }

  kick(partition: number): void {
    if (this.pumping[partition]) return;
    this.pumping[partition] = true;
    // Deliver on a later tick: a handler must never run inside the publish call that fed it.
    queueMicrotask(() => void this.pump(partition));
  }

  /**
   * Delivers a partition's messages one at a time to its current owner, committing each only after the
   * handler resolved. When ownership moves mid-delivery, the uncommitted message goes to the new owner.
   */
  private async pump(partition: number): Promise<void> {
    for (;;) {
      const owner = this.owners[partition];
      const record = this.log[partition]![this.committed[partition]!];
      if (!owner || !record) {
        // Cleared synchronously after the check, so a publish racing with the end of the loop re-kicks.
        this.pumping[partition] = false;
        return;
      }
      const delivered = await owner.deliver(record, () => owner.active && this.owners[partition] === owner);
      if (delivered && this.committed[partition] === record.offset) {
        this.committed[partition] = record.offset + 1;
      }
    }
  }
}

class TopicLog {
  readonly partitions: StoredMessage[][];
  readonly groups = new Map<string, Group>();
  private roundRobin = 0;

  constructor(count: number) {
    this.partitions = Array.from({ length: count }, () => []);
  }

  append(key: string | null, value: Buffer, headers: Record<string, string>): void {
    const partition =
      key === null ? this.roundRobin++ % this.partitions.length : hashKey(key) % this.partitions.length;
    const messages = this.partitions[partition]!;
    messages.push({ key, value, headers: { ...headers }, partition, offset: messages.length });
    for (const group of this.groups.values()) group.kick(partition);
  }

  group(groupId: string, fromBeginning: boolean): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      // Like a new Kafka group: no committed offsets, so it starts at the beginning or at the end.
      const committed = this.partitions.map((messages) => (fromBeginning ? 0 : messages.length));
      group = new Group(this.partitions, committed);
      this.groups.set(groupId, group);
    }
    return group;
  }
}

/**
 * The embedded event bus, with Kafka's semantics: messages are stored as validated bytes in partitions
 * chosen by key hash (per-key order holds), every consumer group gets every message, within a group each
 * partition belongs to one member, and offsets are committed only after the handler resolved
 * (at-least-once). A handler that throws is logged and called again with the same message after
 * `handlerRetryDelayMs`; its partition waits meanwhile. Do not call a subscription's `stop` from its own
 * handler: `stop` waits for the handler to finish.
 */
export class InMemoryEventBus implements EventBus {
  private readonly topics = new Map<AnyTopic, TopicLog>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly partitionCount: number;
  private readonly retryDelayMs: number;
  private readonly logger: Logger;
  private closed = false;

  constructor(options: InMemoryEventBusOptions = {}) {
    this.partitionCount = options.partitions ?? DEFAULT_MEMORY_PARTITIONS;
    this.retryDelayMs = options.handlerRetryDelayMs ?? DEFAULT_HANDLER_RETRY_DELAY_MS;
    this.logger = options.logger ?? createLogger({ level: 'silent' });
  }

  private log(topic: AnyTopic): TopicLog {
    let log = this.topics.get(topic);
    if (!log) {
      log = new TopicLog(this.partitionCount);
      this.topics.set(topic, log);
    }
    return log;
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'event bus is closed');
  }

  async publish<K extends keyof EventTopics>(
    topic: K,
    messages: BusMessage<EventTopics[K]>[],
  ): Promise<void> {
    this.assertOpen();
    // Encode everything first: one bad payload means nothing of the batch is stored.
    const encoded = messages.map((message) => ({ ...message, bytes: encodeEvent(topic, message.value) }));
    const log = this.log(topic);
    for (const message of encoded) log.append(message.key, message.bytes, message.headers ?? {});
  }

  async publishRaw(
    topic: AnyTopic,
    messages: { key: string | null; value: Buffer; headers: Record<string, string> }[],
  ): Promise<void> {
    this.assertOpen();
    const log = this.log(topic);
    for (const message of messages) log.append(message.key, Buffer.from(message.value), message.headers);
  }

  /** Everything stored on a topic, in partition then offset order: for the CLI, exports and tests. */
  read(topic: AnyTopic): StoredMessage[] {
    return (this.topics.get(topic)?.partitions ?? []).flat();
  }

  async subscribe<K extends keyof EventTopics>(
    topic: K,
    options: SubscribeOptions<EventTopics[K]>,
  ): Promise<Subscription> {
    this.assertOpen();
    const group = this.log(topic).group(options.groupId, options.fromBeginning ?? false);
    const logger = this.logger.child({ topic, groupId: options.groupId });

    const handle = async (record: StoredMessage): Promise<void> => {
      await deliverStoredEvent(topic, { ...record, offset: String(record.offset) }, options);
    };

    const member = new Member(async (record, stillOwner) => {
      for (;;) {
        if (!stillOwner()) return false;
        const attempt = handle(record);
        member.inFlight.add(attempt);
        try {
          await attempt;
          return true;
        } catch (error) {
          logger.error(
            { err: error, partition: record.partition, offset: record.offset },
            'event handler failed; the message will be delivered again',
          );
        } finally {
          member.inFlight.delete(attempt);
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      }
    });
    group.join(member);

    const subscription: Subscription = {
      stop: async () => {
        if (!member.active) return;
        member.active = false;
        group.leave(member);
        this.subscriptions.delete(subscription);
        await Promise.allSettled([...member.inFlight]);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
  }
}
