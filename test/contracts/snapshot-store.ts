import { describe, expect, it } from 'vitest';
import { isChimeraError, isStaleLeaseError } from '../../src/errors.js';
import type { OutboxEvent, SnapshotRecord, SnapshotStore } from '../../src/services/ports.js';

/** What a contract run needs from an adapter under test. */
export interface SnapshotStoreHarness {
  store: SnapshotStore;
  /** The time the store judges leases by (a fake clock in memory, the wall clock for Redis). */
  now(): number;
  /** Lets `ms` pass for the store: fake time in memory, a short real wait for Redis. */
  advance(ms: number): Promise<void>;
  /** A lease TTL short enough to let lapse inside a test. */
  shortTtlMs: number;
  /** The retention the store was opened with, short enough to let pass inside a test. */
  finishedTtlMs: number;
  cleanup(): Promise<void>;
}

/** A lease TTL no test waits out. */
const LONG_TTL_MS = 60_000;

let counter = 0;
function conversationId(label: string): string {
  counter += 1;
  return `conv-${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

function record(status: SnapshotRecord['status'], snapshot: unknown, updatedAt = 1_000): SnapshotRecord {
  return { schemaVersion: 1, machineVersion: 'conversation@1', status, snapshot, updatedAt };
}

function event(id: string, name: string): OutboxEvent {
  return {
    topic: 'events',
    key: id,
    value: { eventId: `${id}:${name}`, conversationId: id, nested: { list: [], n: 12345678901 } },
    headers: { 'chimera-event-id': `${id}:${name}` },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject');
}

/**
 * The behaviour every `SnapshotStore` adapter must share. Run it with a fresh, isolated store per test.
 */
export function snapshotStoreContract(name: string, makeStore: () => Promise<SnapshotStoreHarness>): void {
  async function withStore(run: (h: SnapshotStoreHarness) => Promise<void>): Promise<void> {
    const harness = await makeStore();
    try {
      await run(harness);
    } finally {
      await harness.cleanup();
    }
  }

  describe(`${name} snapshot store contract`, () => {
    describe('leases', () => {
      it('a free conversation is acquired with a positive token and an expiry one TTL ahead', () =>
        withStore(async ({ store, now }) => {
          const id = conversationId('acquire');
          const before = now();
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          expect(lease).toMatchObject({ conversationId: id, owner: 'daemon-a' });
          expect(lease!.token).toBeGreaterThan(0);
          expect(lease!.expiresAt).toBeGreaterThanOrEqual(before + LONG_TTL_MS);
        }));

      it('a second owner cannot acquire a live lease, and neither can the holder again', () =>
        withStore(async ({ store }) => {
          const id = conversationId('live');
          expect(await store.acquireLease(id, 'daemon-a', LONG_TTL_MS)).not.toBeNull();
          expect(await store.acquireLease(id, 'daemon-b', LONG_TTL_MS)).toBeNull();
          expect(await store.acquireLease(id, 'daemon-a', LONG_TTL_MS)).toBeNull();
        }));

      it('after expiry a second owner acquires with a larger token', () =>
        withStore(async ({ store, advance, shortTtlMs }) => {
          const id = conversationId('expiry');
          const first = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await advance(shortTtlMs + 50);
          const second = await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          expect(second?.owner).toBe('daemon-b');
          expect(second!.token).toBeGreaterThan(first!.token);
        }));

      it('renewing extends a held lease past its first expiry and keeps the token', () =>
        withStore(async ({ store, advance, shortTtlMs }) => {
          const id = conversationId('renew');
          const lease = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          const renewed = await store.renewLease(lease!, LONG_TTL_MS);
          expect(renewed).toMatchObject({ conversationId: id, owner: 'daemon-a', token: lease!.token });
          expect(renewed!.expiresAt).toBeGreaterThan(lease!.expiresAt);
          await advance(shortTtlMs + 50);
          expect(await store.acquireLease(id, 'daemon-b', LONG_TTL_MS)).toBeNull();
          expect(await store.renewLease(renewed!, LONG_TTL_MS)).not.toBeNull();
        }));

      it('a lease that lapsed cannot be renewed, whether or not someone took it', () =>
        withStore(async ({ store, advance, shortTtlMs }) => {
          const lapsed = conversationId('lapsed');
          const taken = conversationId('taken');
          const a = await store.acquireLease(lapsed, 'daemon-a', shortTtlMs);
          const b = await store.acquireLease(taken, 'daemon-a', shortTtlMs);
          await advance(shortTtlMs + 50);
          expect(await store.acquireLease(taken, 'daemon-b', LONG_TTL_MS)).not.toBeNull();
          expect(await store.renewLease(a!, LONG_TTL_MS)).toBeNull();
          expect(await store.renewLease(b!, LONG_TTL_MS)).toBeNull();
        }));

      it('releasing lets another owner acquire at once, with a larger token', () =>
        withStore(async ({ store }) => {
          const id = conversationId('release');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.releaseLease(lease!);
          const next = await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          expect(next!.token).toBeGreaterThan(lease!.token);
          expect(await store.renewLease(lease!, LONG_TTL_MS)).toBeNull();
        }));

      it('releasing a stale lease leaves the new owner in place', () =>
        withStore(async ({ store, advance, shortTtlMs }) => {
          const id = conversationId('stale-release');
          const old = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await advance(shortTtlMs + 50);
          const current = await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          await store.releaseLease(old!);
          expect(await store.acquireLease(id, 'daemon-c', LONG_TTL_MS)).toBeNull();
          expect(await store.renewLease(current!, LONG_TTL_MS)).not.toBeNull();
        }));

      it('a lease with the right token but another owner name is not the holder', () =>
        withStore(async ({ store }) => {
          const id = conversationId('impostor');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          const impostor = { ...lease!, owner: 'daemon-b' };
          expect(await store.renewLease(impostor, LONG_TTL_MS)).toBeNull();
          await store.releaseLease(impostor);
          expect(isStaleLeaseError(await rejection(store.save(impostor, record('active', {}), [])))).toBe(
            true,
          );
          expect(await store.renewLease(lease!, LONG_TTL_MS)).not.toBeNull();
        }));
    });

    describe('saving and loading', () => {
      it('a saved snapshot loads back with its conversation id and fencing token', () =>
        withStore(async ({ store }) => {
          const id = conversationId('roundtrip');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          const snapshot = {
            value: 'talking',
            context: { turns: [], big: 9007199254740991, text: 'héllo "q"' },
          };
          await store.save(lease!, record('active', snapshot, 42), []);
          expect(await store.load(id)).toEqual({
            conversationId: id,
            schemaVersion: 1,
            machineVersion: 'conversation@1',
            status: 'active',
            snapshot,
            updatedAt: 42,
            token: lease!.token,
          });
        }));

      it('an unknown conversation loads as null', () =>
        withStore(async ({ store }) => {
          expect(await store.load(conversationId('unknown'))).toBeNull();
        }));

      it('a later save replaces the earlier one', () =>
        withStore(async ({ store }) => {
          const id = conversationId('replace');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.save(lease!, record('active', { turn: 1 }), []);
          await store.save(lease!, record('active', { turn: 2 }), []);
          expect((await store.load(id))?.snapshot).toEqual({ turn: 2 });
        }));

      it('a save with the stale token is rejected and changes neither the snapshot nor the outbox', () =>
        withStore(async ({ store, advance, shortTtlMs }) => {
          const id = conversationId('stale');
          const old = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await store.save(old!, record('active', { by: 'a' }), [event(id, 'started')]);
          await advance(shortTtlMs + 50);
          const current = await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          await store.save(current!, record('active', { by: 'b' }), []);
          const sizeBefore = await store.outboxSize();

          const error = await rejection(
            store.save(old!, record('ended', { by: 'a-late' }), [event(id, 'late')]),
          );

          expect(isStaleLeaseError(error)).toBe(true);
          expect(isChimeraError(error) && error.retryable).toBe(false);
          expect(await store.load(id)).toMatchObject({
            snapshot: { by: 'b' },
            status: 'active',
            token: current!.token,
          });
          expect(await store.outboxSize()).toBe(sizeBefore);
          expect(await store.renewLease(current!, LONG_TTL_MS)).not.toBeNull();
        }));

      it('a save after the lease lapsed is rejected even when nobody took the conversation', () =>
        withStore(async ({ store, advance, shortTtlMs }) => {
          const id = conversationId('lapsed-save');
          const lease = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await store.save(lease!, record('active', { v: 1 }), []);
          await advance(shortTtlMs + 50);
          expect(isStaleLeaseError(await rejection(store.save(lease!, record('active', { v: 2 }), [])))).toBe(
            true,
          );
          expect((await store.load(id))?.snapshot).toEqual({ v: 1 });
        }));

      it('a released lease can no longer save', () =>
        withStore(async ({ store }) => {
          const id = conversationId('released-save');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.releaseLease(lease!);
          expect(isStaleLeaseError(await rejection(store.save(lease!, record('active', {}), [])))).toBe(true);
          expect(await store.load(id)).toBeNull();
        }));

      it('a record with an unknown schema version is refused before anything is written', () =>
        withStore(async ({ store }) => {
          const id = conversationId('bad-version');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          const error = await rejection(
            store.save(lease!, { ...record('active', {}), schemaVersion: 99 }, [event(id, 'x')]),
          );
          expect(isChimeraError(error) && error.code).toBe('invalid_snapshot');
          expect(await store.load(id)).toBeNull();
          expect(await store.outboxSize()).toBe(0);
        }));
    });

    describe('outbox', () => {
      it('a save appends its events in order and an ack removes exactly the acked ones', () =>
        withStore(async ({ store }) => {
          const id = conversationId('outbox');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.save(lease!, record('active', {}), [event(id, 'started'), event(id, 'turn-0')]);
          await store.save(lease!, record('active', {}), [event(id, 'turn-1')]);

          const entries = await store.readOutbox(10);
          expect(entries.map((e) => (e.value as { eventId: string }).eventId)).toEqual([
            `${id}:started`,
            `${id}:turn-0`,
            `${id}:turn-1`,
          ]);
          expect(entries[0]).toMatchObject(event(id, 'started'));
          expect(new Set(entries.map((e) => e.id)).size).toBe(3);
          expect(await store.outboxSize()).toBe(3);
          expect((await store.readOutbox(2)).map((e) => e.id)).toEqual(entries.slice(0, 2).map((e) => e.id));

          await store.ackOutbox([entries[0]!.id, entries[1]!.id]);
          expect(await store.outboxSize()).toBe(1);
          expect((await store.readOutbox(10)).map((e) => e.id)).toEqual([entries[2]!.id]);
          await store.ackOutbox([]);
          expect(await store.outboxSize()).toBe(1);
        }));

      it('the finishing save still appends its events', () =>
        withStore(async ({ store }) => {
          const id = conversationId('outbox-end');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.save(lease!, record('ended', {}), [event(id, 'ended')]);
          expect((await store.readOutbox(10)).map((e) => e.key)).toEqual([id]);
        }));
    });

    describe('indexes', () => {
      it('listOrphaned returns only expired, unfinished conversations, oldest first, up to the limit', () =>
        withStore(async ({ store, now, advance, shortTtlMs }) => {
          const older = conversationId('orphan-old');
          const newer = conversationId('orphan-new');
          const live = conversationId('live');
          const finished = conversationId('finished');
          const unsaved = conversationId('unsaved');

          const a = await store.acquireLease(older, 'daemon-a', shortTtlMs);
          await store.save(a!, record('active', {}), []);
          await advance(20);
          const b = await store.acquireLease(newer, 'daemon-a', shortTtlMs);
          await store.save(b!, record('active', {}), []);
          const c = await store.acquireLease(live, 'daemon-a', LONG_TTL_MS);
          await store.save(c!, record('active', {}), []);
          const d = await store.acquireLease(finished, 'daemon-a', shortTtlMs);
          await store.save(d!, record('active', {}), []);
          await store.save(d!, record('failed', {}), []);
          await store.acquireLease(unsaved, 'daemon-a', shortTtlMs);

          expect(await store.listOrphaned(now(), 10)).toEqual([]);
          await advance(shortTtlMs + 50);
          expect(await store.listOrphaned(now(), 10)).toEqual([older, newer]);
          expect(await store.listOrphaned(now(), 1)).toEqual([older]);
        }));

      it('adopting an orphan takes it off the orphan list until the new lease lapses', () =>
        withStore(async ({ store, now, advance, shortTtlMs }) => {
          const id = conversationId('adopt');
          const lease = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await store.save(lease!, record('active', {}), []);
          await advance(shortTtlMs + 50);
          expect(await store.listOrphaned(now(), 10)).toEqual([id]);
          await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          expect(await store.listOrphaned(now(), 10)).toEqual([]);
        }));

      it('a released unfinished conversation is an orphan at once', () =>
        withStore(async ({ store, now, advance }) => {
          const id = conversationId('handoff');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.save(lease!, record('active', {}), []);
          expect(await store.listOrphaned(now(), 10)).toEqual([]);
          await store.releaseLease(lease!);
          await advance(5);
          expect(await store.listOrphaned(now(), 10)).toEqual([id]);
        }));

      it('a finished conversation leaves the orphan list, frees its lease and stays readable', () =>
        withStore(async ({ store, now, advance, shortTtlMs }) => {
          const id = conversationId('finish');
          const lease = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await store.save(lease!, record('active', {}), []);
          await advance(shortTtlMs + 50);
          expect(await store.listOrphaned(now(), 10)).toEqual([id]);

          const adopter = await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          await store.save(adopter!, record('timedOut', { done: true }), []);

          expect(await store.listOrphaned(now() + LONG_TTL_MS * 2, 10)).toEqual([]);
          expect(await store.load(id)).toMatchObject({ status: 'timedOut', snapshot: { done: true } });
          expect(await store.renewLease(adopter!, LONG_TTL_MS)).toBeNull();
          await store.releaseLease(adopter!);
          const late = await store.acquireLease(id, 'daemon-c', LONG_TTL_MS);
          expect(late!.token).toBeGreaterThan(adopter!.token);
          expect(await store.listOrphaned(now() + LONG_TTL_MS * 2, 10)).toEqual([]);
        }));

      it('counts report saved conversations by status', () =>
        withStore(async ({ store }) => {
          expect(await store.counts()).toEqual({ active: 0, ended: 0, failed: 0, timedOut: 0 });
          const statuses = ['active', 'active', 'ended', 'failed', 'failed', 'timedOut'] as const;
          for (const status of statuses) {
            const id = conversationId('count');
            const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
            await store.save(lease!, record('active', {}), []);
            if (status !== 'active') await store.save(lease!, record(status, {}), []);
          }
          await store.acquireLease(conversationId('never-saved'), 'daemon-a', LONG_TTL_MS);
          expect(await store.counts()).toEqual({ active: 2, ended: 1, failed: 2, timedOut: 1 });
        }));

      it('a finished conversation is forgotten after the retention period', () =>
        withStore(async ({ store, advance, finishedTtlMs }) => {
          const id = conversationId('retention');
          const kept = conversationId('kept');
          const lease = await store.acquireLease(id, 'daemon-a', LONG_TTL_MS);
          await store.save(lease!, record('ended', {}), []);
          const keptLease = await store.acquireLease(kept, 'daemon-a', LONG_TTL_MS);
          await store.save(keptLease!, record('active', {}), []);
          expect((await store.counts()).ended).toBe(1);

          await advance(finishedTtlMs + 100);

          // Counts first: they must drop expired records on their own, without a load pruning them.
          expect(await store.counts()).toEqual({ active: 1, ended: 0, failed: 0, timedOut: 0 });
          expect(await store.load(id)).toBeNull();
          expect(await store.load(kept)).not.toBeNull();
        }));
    });

    describe('crash counts', () => {
      it('each crash of a conversation counts once more, across owners, and separately per conversation', () =>
        withStore(async ({ store, shortTtlMs, advance }) => {
          const id = conversationId('crashes');
          const other = conversationId('crashes-other');
          const lease = await store.acquireLease(id, 'daemon-a', shortTtlMs);
          await store.save(lease!, record('active', {}), []);
          expect(await store.countCrash(id)).toBe(1);
          await advance(shortTtlMs + 50);
          // Another owner adopts and it crashes again: the count goes on from where the first left it.
          await store.acquireLease(id, 'daemon-b', LONG_TTL_MS);
          expect(await store.countCrash(id)).toBe(2);
          expect(await store.countCrash(other)).toBe(1);
          expect(await store.countCrash(id)).toBe(3);
        }));
    });

    it('a closed store refuses further calls with the closed code', () =>
      withStore(async ({ store }) => {
        await store.close();
        const error = await rejection(store.load(conversationId('closed')));
        expect(isChimeraError(error) && error.code).toBe('closed');
      }));
  });
}
