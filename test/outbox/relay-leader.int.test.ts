import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { CONVERSATION_MACHINE_VERSION } from '../../src/machines/conversation.js';
import { OutboxRelay } from '../../src/outbox/relay.js';
import { startedEvent } from '../../src/records.js';
import { InMemoryEventBus } from '../../src/services/memory/event-bus.js';
import type { LeaderLock } from '../../src/services/ports.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisLeaderLock } from '../../src/services/redis/leader-lock.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { activeContext, persistedConversation } from '../support/conversation-fixtures.js';

const redisUrl = inject('redisUrl');
const logger = createLogger({ level: 'silent' });
const LOCK_TTL_MS = 2_000;

const cleanups = cleanupsAfterEach();

/** A lock that remembers each answer it gave, so the test knows when a relay has looked. */
class WatchedLock implements LeaderLock {
  readonly answers: boolean[] = [];
  constructor(private readonly lock: LeaderLock) {}
  async tryHold(): Promise<boolean> {
    const held = await this.lock.tryHold();
    this.answers.push(held);
    return held;
  }
  release(): Promise<void> {
    return this.lock.release();
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('outbox relays of two daemons on one Redis', () => {
  it('only the lock holder publishes; a holder that loses the lock stops, and the next holder delivers the rest once', async () => {
    const keyPrefix = uniquePrefix('relay');
    const admin = createRedis(redisUrl);
    cleanups.add(
      () => admin.quit(),
      () => deleteKeys(admin, keyPrefix),
    );
    const store = new RedisSnapshotStore({ redis: admin, keyPrefix, finishedTtlMs: 60_000 });
    const lockKey = `${keyPrefix}:outbox:relay`;

    /** One daemon's relay: its own Redis connection for the lock, its own event bus to see what it sent. */
    function daemon(owner: string) {
      const redis = createRedis(redisUrl);
      const lock = new WatchedLock(new RedisLeaderLock(redis, lockKey, owner, LOCK_TTL_MS));
      const bus = new InMemoryEventBus({ logger });
      const relay = new OutboxRelay({ store, bus, logger, lock, idleMs: 10 });
      relay.start();
      cleanups.add(
        () => redis.quit(),
        () => relay.stop(0),
      );
      return { lock, bus, relay, published: () => bus.read('events').length };
    }

    let serial = 0;
    /** Writes `count` conversations' start events to the outbox, as their first saves do. */
    async function write(count: number): Promise<void> {
      for (let i = 0; i < count; i++) {
        const context = activeContext({ conversationId: `c-relay-${serial++}` });
        const lease = (await store.acquireLease(context.conversationId, 'writer', 60_000))!;
        await store.save(
          lease,
          {
            schemaVersion: 1,
            machineVersion: CONVERSATION_MACHINE_VERSION,
            status: 'active',
            snapshot: persistedConversation(context),
            updatedAt: Date.now(),
          },
          [startedEvent(context, lease.token, Date.now())],
        );
      }
    }

    const a = daemon('daemon-a');
    const b = daemon('daemon-b');
    await write(5);
    await until(
      () => a.published() + b.published() === 5 && a.lock.answers.length > 0,
      'five events published',
    );
    await until(async () => (await store.outboxSize()) === 0, 'an empty outbox');
    const [holder, other] = a.published() === 5 ? [a, b] : [b, a];
    expect(holder.published()).toBe(5);
    expect(other.published()).toBe(0);
    expect(await admin.get(lockKey)).toBe(holder === a ? 'daemon-a' : 'daemon-b');

    // Another process takes the lock (as one does after the holder froze past its TTL).
    await admin.set(lockKey, 'daemon-c', 'PX', 60_000);
    const lookedBefore = { holder: holder.lock.answers.length, other: other.lock.answers.length };
    await write(5);
    // Both relays have looked at the lock twice since, and were refused each time.
    await until(
      () =>
        holder.lock.answers.length >= lookedBefore.holder + 2 &&
        other.lock.answers.length >= lookedBefore.other + 2,
      'both relays to look at the lock again',
    );
    expect(holder.lock.answers.slice(lookedBefore.holder)).not.toContain(true);
    expect(other.lock.answers.slice(lookedBefore.other)).not.toContain(true);
    expect(holder.published()).toBe(5);
    expect(other.published()).toBe(0);
    expect(await store.outboxSize()).toBe(5);

    // The other process goes away: one of the two takes over and delivers what waited, each event once.
    await admin.del(lockKey);
    await until(() => a.published() + b.published() === 10, 'the waiting events published');
    const ids = [...a.bus.read('events'), ...b.bus.read('events')].map((m) => m.headers['chimera-event-id']);
    expect(new Set(ids).size).toBe(10);
    expect(await store.outboxSize()).toBe(0);
  });
});
