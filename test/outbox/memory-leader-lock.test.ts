import { describe, expect, it } from 'vitest';
import { MemoryLeaderLock, type MemoryLockTable } from '../../src/services/memory/leader-lock.js';
import { leaderLockContract } from '../contracts/leader-lock.js';

leaderLockContract('memory', async () => {
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  const table: MemoryLockTable = new Map();
  const ttlMs = 1_000;
  return {
    lock: (owner) => new MemoryLeaderLock({ key: 'outbox:relay', owner, ttlMs, table, clock }),
    ttlMs,
    advance: async (ms) => {
      now += ms;
    },
    cleanup: async () => {},
  };
});

describe('memory leader lock', () => {
  it('a lock with a table of its own always leads, as the one process of the embedded mode', async () => {
    const lock = new MemoryLeaderLock({ key: 'outbox:relay', owner: 'only', ttlMs: 1_000 });
    expect(await lock.tryHold()).toBe(true);
    expect(await lock.tryHold()).toBe(true);
  });
});
