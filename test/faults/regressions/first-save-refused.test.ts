import { afterEach, describe, expect, it } from 'vitest';
import { Chimera } from '../../../src/chimera.js';
import { loadConfig } from '../../../src/config.js';
import { StaleLeaseError } from '../../../src/errors.js';
import { conversationEventSchema } from '../../../src/events.js';
import { createLogger } from '../../../src/logger.js';
import type { InMemoryEventBus } from '../../../src/services/memory/event-bus.js';
import { MemorySnapshotStore } from '../../../src/services/memory/snapshot-store.js';
import type { Lease, OutboxEvent, SnapshotRecord } from '../../../src/services/ports.js';
import { SimulatedProvider } from '../../../src/services/providers/simulated/provider.js';

/**
 * Found by the stale-owner fault scenario: a daemon frozen right after taking a new topic's lease woke up
 * to find the lease lapsed; its first write was refused and its copy stopped, but the topic it came from
 * was neither acknowledged nor given back, so it was never started: one topic in 120 lost.
 */

/** Refuses the first write of every conversation, as the fence does once the lease lapsed unnoticed. */
class LapsedBeforeFirstSave extends MemorySnapshotStore {
  readonly refused = new Set<string>();

  override async save(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void> {
    if (!this.refused.has(lease.conversationId)) {
      this.refused.add(lease.conversationId);
      await this.releaseLease(lease);
      throw new StaleLeaseError(lease.conversationId, lease.token);
    }
    return super.save(lease, record, events);
  }
}

const logger = createLogger({ level: 'silent' });
let running: Chimera | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('a new conversation whose first write is refused', () => {
  it('gives its topic back, and the topic is started again and ends', async () => {
    const config = loadConfig({ MAX_CONVERSATION_TURNS: '4', MIN_CONVERSATION_TURNS: '2' });
    const store = new LapsedBeforeFirstSave();
    const chimera = await Chimera.create(config, {
      logger,
      owner: 'frozen-daemon',
      intake: 'none',
      portOverrides: { store },
      providerOverrides: { simulated: new SimulatedProvider({ latencyMs: 1 }) },
      pollMs: 10,
    });
    running = chimera.start();
    const bus = chimera.parts.bus as InMemoryEventBus;
    const source = chimera.parts.local;
    source.push({ id: 'topic-1', title: 'Offshore wind' });
    source.push({ id: 'topic-2', title: 'Heat pumps' });

    const ended = () =>
      bus
        .read('events')
        .map((m) => conversationEventSchema.parse(JSON.parse(m.value.toString('utf8'))))
        .filter((e) => e.type === 'conversation.ended');
    const deadline = Date.now() + 10_000;
    while (ended().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

    expect(store.refused.size).toBe(2);
    expect(
      ended()
        .map((e) => (e.type === 'conversation.ended' ? e.record.topic.id : ''))
        .sort(),
    ).toEqual(['topic-1', 'topic-2']);
  });
});
