import { afterEach, describe, expect, it } from 'vitest';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { CONVERSATION_MACHINE_VERSION } from '../../src/machines/conversation.js';
import { MemorySnapshotStore } from '../../src/services/memory/snapshot-store.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import {
  activeContext,
  conversationInput,
  persistedConversation,
  turnFor,
} from '../support/conversation-fixtures.js';

const logger = createLogger({ level: 'silent' });
let running: Chimera | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** A provider that takes a minute per answer: only the deadline can end a conversation with it. */
const stalling = () => new SimulatedProvider({ latencyMs: 60_000 });

describe('conversation deadlines through the service', () => {
  it('a conversation whose provider never answers in time ends as timedOut with reason timeout', async () => {
    const config = loadConfig({ CONVERSATION_TIMEOUT_SECONDS: '1' });
    running = (
      await Chimera.create(config, {
        logger,
        intake: 'none',
        providerOverrides: { simulated: stalling() },
        pollMs: 20,
      })
    ).start();
    const id = await running.startNewConversation({ id: 'slow-1', title: 'Deep-sea mining' });
    const record = await running.waitFor(id, 20_000);
    expect(record).toMatchObject({ status: 'timedOut', terminationReason: 'timeout', turns: [] });
    expect(record.endedAt - record.startedAt).toBeGreaterThanOrEqual(1_000);
    expect((await running.parts.store.load(id))?.status).toBe('timedOut');
  });

  it('an adopted conversation times out at its stored start plus its timeout, not a full timeout after adoption', async () => {
    const store = new MemorySnapshotStore();
    const timeoutMs = 300_000;
    // A dead daemon's conversation: started almost five minutes ago, two turns saved, lease lapsed.
    const context = activeContext({
      conversationId: 'c-adopted-late',
      providers: { questioner: 'simulated', answerer: 'simulated' },
      settings: { ...conversationInput().settings, maxTurns: 10, timeoutMs },
      startedAt: Date.now() - timeoutMs + 1_500,
      turns: [turnFor(0, { provider: 'simulated' }), turnFor(1, { provider: 'simulated' })],
    });
    // The dead daemon's lease is short enough to lapse before the new daemon looks, long enough to save under load.
    const leaseTtlMs = 200;
    const lease = (await store.acquireLease(context.conversationId, 'dead-daemon', leaseTtlMs))!;
    await store.save(
      lease,
      {
        schemaVersion: 1,
        machineVersion: CONVERSATION_MACHINE_VERSION,
        status: 'active',
        snapshot: persistedConversation(context),
        updatedAt: Date.now(),
      },
      [],
    );
    await new Promise((resolve) => setTimeout(resolve, leaseTtlMs + 20));

    running = (
      await Chimera.create(loadConfig({}), {
        logger,
        intake: 'none',
        portOverrides: { store },
        providerOverrides: { simulated: stalling() },
        pollMs: 20,
        adoptEveryMs: 20,
      })
    ).start();
    // Re-armed from adoption, the deadline would be five minutes away and this wait would fail.
    const record = await running.waitFor(context.conversationId, 20_000);
    expect(record).toMatchObject({ status: 'timedOut', terminationReason: 'timeout' });
    expect(record.startedAt).toBe(context.startedAt);
    expect(record.endedAt).toBeGreaterThanOrEqual(context.startedAt + timeoutMs);
    // The turns saved before the crash are in the record; the lost call added none.
    expect(record.turns.map((t) => t.text)).toEqual(['turn 0', 'turn 1']);
  });
});
