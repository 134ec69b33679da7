import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { LeaseKeeper, MIN_ADMISSIONS_PER_PROBE } from '../../src/persistence/lease-keeper.js';
import { MemorySnapshotStore } from '../../src/services/memory/snapshot-store.js';
import type { Ownership } from '../../src/services/ports.js';

const TTL_MS = 60_000;
const logger = createLogger({ level: 'silent' });

async function takeLease(store: MemorySnapshotStore, id: string): Promise<Ownership> {
  const lease = await store.acquireLease(id, 'owner-a', TTL_MS);
  if (!lease) throw new Error(`no lease on ${id}`);
  return { conversationId: id, lease };
}

describe('LeaseKeeper admissions', () => {
  let keeper: LeaseKeeper | undefined;
  afterEach(() => keeper?.stopRenewal());

  it('between two probes, at most MIN_ADMISSIONS_PER_PROBE new leases on a small process', async () => {
    const store = new MemorySnapshotStore();
    keeper = new LeaseKeeper({ store, leaseTtlMs: TTL_MS, logger });
    keeper.startRenewal();
    for (let i = 0; i < MIN_ADMISSIONS_PER_PROBE - 1; i++) keeper.hold(await takeLease(store, `grow-${i}`));
    expect(keeper.overloaded).toBe(false);
    keeper.hold(await takeLease(store, 'grow-last'));
    expect(keeper.overloaded).toBe(true);
  });

  it('conversations that end make room at once: short conversations are replaced without waiting for a probe', async () => {
    const store = new MemorySnapshotStore();
    keeper = new LeaseKeeper({ store, leaseTtlMs: TTL_MS, logger });
    keeper.startRenewal();
    // Five times the per-probe allowance starts and ends within one probe period: in flight never grows
    // past one, so nothing holds intake back.
    for (let i = 0; i < MIN_ADMISSIONS_PER_PROBE * 5; i++) {
      expect(keeper.overloaded).toBe(false);
      const ownership = await takeLease(store, `short-${i}`);
      keeper.hold(ownership);
      keeper.drop(ownership);
    }
    expect(keeper.overloaded).toBe(false);
    // Dropping a lease twice (settled, then a late loss report) does not make room twice.
    const ownership = await takeLease(store, 'twice');
    keeper.hold(ownership);
    keeper.drop(ownership);
    keeper.drop(ownership);
    for (let i = 0; i < MIN_ADMISSIONS_PER_PROBE - 1; i++) keeper.hold(await takeLease(store, `after-${i}`));
    expect(keeper.overloaded).toBe(false);
    keeper.hold(await takeLease(store, 'after-last'));
    expect(keeper.overloaded).toBe(true);
  });

  it('intake waiting for capacity goes on as soon as a conversation ends, not at the next probe', async () => {
    const store = new MemorySnapshotStore();
    keeper = new LeaseKeeper({ store, leaseTtlMs: TTL_MS, logger });
    keeper.startRenewal();
    const held: Ownership[] = [];
    for (let i = 0; i < MIN_ADMISSIONS_PER_PROBE; i++) {
      held.push(await takeLease(store, `full-${i}`));
      keeper.hold(held.at(-1)!);
    }
    expect(keeper.overloaded).toBe(true);
    let resumed = false;
    const waiting = keeper.untilCapacity(new AbortController().signal).then(() => {
      resumed = true;
    });
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(resumed).toBe(false);
    keeper.drop(held[0]!);
    // Microtasks only: the probe (a 50 ms timer) has not run.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(resumed).toBe(true);
    await waiting;
  });

  it('room: what is left of the allowance before the next probe, and none while timers run late', async () => {
    const store = new MemorySnapshotStore();
    keeper = new LeaseKeeper({ store, leaseTtlMs: TTL_MS, logger, maxLoopDelayMs: 20 });
    keeper.startRenewal();
    expect(keeper.room).toBe(MIN_ADMISSIONS_PER_PROBE);
    for (let i = 0; i < 3; i++) keeper.hold(await takeLease(store, `room-${i}`));
    expect(keeper.room).toBe(MIN_ADMISSIONS_PER_PROBE - 3);
    // The event loop held well past the allowed delay: the probe is overdue, so no room at all.
    const busyUntil = performance.now() + 200;
    while (performance.now() < busyUntil) {}
    expect(keeper.room).toBe(0);
    expect(keeper.overloaded).toBe(true);
  });
});
