import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { nextWorkActor } from '../../../src/actors/next-work.js';
import { createLogger } from '../../../src/logger.js';
import { CONVERSATION_MACHINE_VERSION, type ConversationInput } from '../../../src/machines/conversation.js';
import { LeaseKeeper } from '../../../src/persistence/lease-keeper.js';
import { MemorySnapshotStore } from '../../../src/services/memory/snapshot-store.js';
import { activeContext, persistedConversation } from '../../support/conversation-fixtures.js';

/**
 * Found reading the daemons' logs in the fault scenarios: the adoption line carried the fencing token in a
 * field named `token`, which log scrubbing takes for a secret, so every adoption logged "[REDACTED]".
 */
describe('the log line of an adoption', () => {
  it('shows the new fencing token', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const store = new MemorySnapshotStore({ clock });
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const dead = (await store.acquireLease('c-orphan', 'dead-daemon', 3_000))!;
    await store.save(
      dead,
      {
        schemaVersion: 1,
        machineVersion: CONVERSATION_MACHINE_VERSION,
        status: 'active',
        snapshot: persistedConversation(activeContext({ conversationId: 'c-orphan' })),
        updatedAt: 0,
      },
      [],
    );
    now += 5_000;
    const logic = nextWorkActor({
      store,
      source: { next: async () => null, close: async () => {} },
      leases: new LeaseKeeper({ store, logger, leaseTtlMs: 3_000 }),
      clock,
      logger,
      owner: 'adopter',
      leaseTtlMs: 3_000,
      pollMs: 0,
      buildInput: () => ({}) as ConversationInput,
    });
    const work = await toPromise(createActor(logic, { input: { active: 0 } }).start());
    expect(work).toMatchObject({ kind: 'resume', conversationId: 'c-orphan' });
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const line = lines
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((l) => l.msg === 'adopting orphaned conversation');
    expect(line).toMatchObject({ conversationId: 'c-orphan', fencingToken: dead.token + 1 });
  });
});
