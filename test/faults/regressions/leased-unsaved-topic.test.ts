import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { nextWorkActor } from '../../../src/actors/next-work.js';
import type { Topic } from '../../../src/events.js';
import { conversationIdFor } from '../../../src/events.js';
import { createLogger } from '../../../src/logger.js';
import type { ConversationInput } from '../../../src/machines/conversation.js';
import type { Work } from '../../../src/machines/supervision.js';
import { LeaseKeeper } from '../../../src/persistence/lease-keeper.js';
import { MemorySnapshotStore } from '../../../src/services/memory/snapshot-store.js';
import type { TopicDelivery, TopicSource } from '../../../src/services/ports.js';

/**
 * Found by the crash-resume fault scenario ("a dead daemon's lease without a first save"): a topic whose
 * conversation was leased by a daemon that died before saving anything used to be acknowledged as
 * "someone else runs it", and was lost for good.
 */

const LEASE_TTL_MS = 15_000;
const logger = createLogger({ level: 'silent' });

/** One topic, handed out again after each release, with its acknowledgements counted. */
function oneTopic(topic: Topic) {
  const state = { acks: 0, releases: 0, out: false };
  const delivery: TopicDelivery = {
    topic,
    ack: async () => {
      state.acks += 1;
    },
    release: async () => {
      state.releases += 1;
      state.out = false;
    },
  };
  const source: TopicSource = {
    next: async () => {
      if (state.out || state.acks > 0) return null;
      state.out = true;
      return delivery;
    },
    close: async () => {},
  };
  return { source, state };
}

function setup() {
  let now = 1_000_000;
  const clock = { now: () => now };
  const store = new MemorySnapshotStore({ clock });
  const topic = { id: 'topic-1', title: 'Tidal power' };
  const { source, state } = oneTopic(topic);
  const leases = new LeaseKeeper({ store, logger, leaseTtlMs: LEASE_TTL_MS });
  const logic = nextWorkActor({
    store,
    source,
    leases,
    clock,
    logger,
    owner: 'live-daemon',
    leaseTtlMs: LEASE_TTL_MS,
    pollMs: 0,
    buildInput: (t, conversationId, startedAt) =>
      ({ conversationId, topic: t, startedAt }) as unknown as ConversationInput,
  });
  const pull = (): Promise<Work | null> => toPromise(createActor(logic, { input: { active: 0 } }).start());
  return {
    store,
    state,
    pull,
    conversationId: conversationIdFor(topic.id),
    advance: (ms: number) => (now += ms),
  };
}

describe('a topic whose conversation is leased elsewhere but was never saved', () => {
  it('is held, not acknowledged, and starts once the lease lapses', async () => {
    const { store, state, pull, conversationId, advance } = setup();
    await store.acquireLease(conversationId, 'dead-daemon', LEASE_TTL_MS);

    expect(await pull()).toBeNull();
    expect(state.acks).toBe(0);
    // Tried again while the lease is still live: still held.
    advance(1_000);
    expect(await pull()).toBeNull();
    expect(state.acks).toBe(0);

    advance(LEASE_TTL_MS);
    expect(await pull()).toMatchObject({ kind: 'new', conversationId });
  });

  it('is acknowledged as theirs once the holder has saved it', async () => {
    const { store, state, pull, conversationId, advance } = setup();
    const lease = (await store.acquireLease(conversationId, 'live-elsewhere', LEASE_TTL_MS))!;
    expect(await pull()).toBeNull();

    await store.save(
      lease,
      { schemaVersion: 1, machineVersion: 'm', status: 'active', snapshot: {}, updatedAt: 0 },
      [],
    );
    advance(1_000);
    expect(await pull()).toBeNull();
    expect(state.acks).toBe(1);
  });
});
