import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isChimeraError } from '../../src/errors.js';
import { Journal, openJournalStores } from '../../src/services/journal/index.js';
import type { SnapshotRecord } from '../../src/services/ports.js';
import { sampleTurn } from '../contracts/turn-cache.js';
import { journalDir, manualClock } from './support.js';

const removals: Array<() => void> = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

function dir(label: string): string {
  const made = journalDir(label);
  removals.push(made.remove);
  return made.dir;
}

const record = (status: SnapshotRecord['status'], snapshot: unknown): SnapshotRecord => ({
  schemaVersion: 1,
  machineVersion: 'conversation@1',
  status,
  snapshot,
  updatedAt: 1,
});

const segments = (path: string) => readdirSync(path).filter((n) => n.endsWith('.log'));
const onlySegment = (path: string) => join(path, segments(path)[0]!);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('journal', () => {
  it('a reopened journal has every snapshot, outbox entry, answer and settled cost the last process wrote', async () => {
    const path = dir('reopen');
    const clock = manualClock();
    const first = await openJournalStores(path, { clock });
    const lease = await first.snapshots.acquireLease('c1', 'run-1', 60_000);
    await first.snapshots.save(lease!, record('active', { turn: 3 }), [
      { topic: 'events', key: 'c1', value: { n: 1 }, headers: { h: 'v' } },
    ]);
    await first.turns.putIfAbsent(
      { conversationId: 'c1', turnIndex: 3, generation: 0 },
      sampleTurn('answered', 3),
    );
    await first.budget.setCap(5_000);
    await first.budget.reserve('c1:3:0:1', 900);
    await first.budget.settle('c1:3:0:1', 420, { provider: 'anthropic', model: 'claude-sonnet-5-5' });
    await first.close();

    const second = await openJournalStores(path, { clock });
    expect(await second.snapshots.load('c1')).toMatchObject({
      snapshot: { turn: 3 },
      status: 'active',
      token: lease!.token,
    });
    expect((await second.snapshots.readOutbox(10)).map((e) => e.value)).toEqual([{ n: 1 }]);
    expect(await second.turns.get({ conversationId: 'c1', turnIndex: 3, generation: 0 })).toEqual(
      sampleTurn('answered', 3),
    );
    expect(await second.budget.snapshot()).toMatchObject({
      capMicros: 5_000,
      spentMicros: 420,
      reservedMicros: 0,
    });
    await second.close();
  });

  it("ends the dead process's leases and reservations when it is reopened, so its work is adopted at once", async () => {
    const path = dir('dead');
    const clock = manualClock();
    const first = await openJournalStores(path, { clock });
    const lease = await first.snapshots.acquireLease('c1', 'run-1', 60_000);
    await first.snapshots.save(lease!, record('active', {}), []);
    await first.budget.setCap(1_000);
    await first.budget.reserve('in-flight', 800);
    await first.journal.close(); // as if killed: nothing released

    const second = await openJournalStores(path, { clock });
    expect(await second.snapshots.listOrphaned(clock.now() + 1, 10)).toEqual(['c1']);
    const adopted = await second.snapshots.acquireLease('c1', 'run-2', 60_000);
    expect(adopted!.token).toBeGreaterThan(lease!.token);
    expect(await second.budget.snapshot()).toMatchObject({ reservedMicros: 0, expiredMicros: 800 });
    expect(await second.budget.reserve('next', 1_000)).toMatchObject({ ok: true });
    await second.close();

    // A third process replays the same history, the recovery included, to the same figures.
    const third = await openJournalStores(path, { clock });
    expect(await third.budget.snapshot()).toMatchObject({ reservedMicros: 0, expiredMicros: 1_800 });
    await third.close();
  });

  it('a second process cannot open a journal in use, and can once it is closed', async () => {
    const path = dir('lock');
    const first = await Journal.open(path);
    const error = await rejection(Journal.open(path));
    expect(isChimeraError(error) && error.code).toBe('closed');
    expect((error as Error).message).toMatch(`in use by process ${process.pid}`);
    await first.close();
    await (await Journal.open(path)).close();
  });

  it('takes over the lock of a process that is gone', async () => {
    const path = dir('stale');
    await (await Journal.open(path)).close();
    writeFileSync(
      join(path, 'LOCK'),
      JSON.stringify({ pid: 2 ** 22 + 12_345, host: (await import('node:os')).hostname(), bootId: 'x' }),
    );
    await (await Journal.open(path)).close();
  });

  it('ignores a torn last record cut at any byte, keeps everything before it, and appends after it', async () => {
    const path = dir('torn');
    const stores = await openJournalStores(path);
    for (let i = 0; i < 3; i += 1) {
      await stores.turns.putIfAbsent(
        { conversationId: 'c', turnIndex: i, generation: 0 },
        sampleTurn(`t${i}`, i),
      );
    }
    const before = statSync(onlySegment(path)).size;
    await stores.turns.putIfAbsent(
      { conversationId: 'c', turnIndex: 3, generation: 0 },
      sampleTurn('last', 3),
    );
    await stores.close();
    const segment = onlySegment(path);
    const whole = readFileSync(segment);
    expect(whole.length).toBeGreaterThan(before);

    for (let cut = before; cut < whole.length; cut += 1) {
      writeFileSync(segment, whole.subarray(0, cut));
      const reopened = await openJournalStores(path);
      expect(reopened.journal.recovery.tornBytes, `cut at ${cut}`).toBe(cut - before);
      expect(
        await reopened.turns.get({ conversationId: 'c', turnIndex: 2, generation: 0 }),
        `cut at ${cut}`,
      ).toEqual(sampleTurn('t2', 2));
      expect(
        await reopened.turns.get({ conversationId: 'c', turnIndex: 3, generation: 0 }),
        `cut at ${cut}`,
      ).toBeNull();
      await reopened.turns.putIfAbsent(
        { conversationId: 'c', turnIndex: 9, generation: 0 },
        sampleTurn('after', 9),
      );
      await reopened.close();
      const again = await openJournalStores(path);
      expect(again.journal.recovery.tornBytes).toBe(0);
      expect(await again.turns.get({ conversationId: 'c', turnIndex: 9, generation: 0 })).toEqual(
        sampleTurn('after', 9),
      );
      await again.close();
    }
  });

  it('refuses a journal damaged in the middle instead of dropping what follows', async () => {
    const path = dir('damaged');
    const stores = await openJournalStores(path);
    for (let i = 0; i < 4; i += 1) {
      await stores.turns.putIfAbsent(
        { conversationId: 'c', turnIndex: i, generation: 0 },
        sampleTurn(`t${i}`, i),
      );
    }
    await stores.close();
    const segment = onlySegment(path);
    const bytes = readFileSync(segment);
    const middle = bytes.indexOf(Buffer.from('"t1"'));
    bytes[middle + 1] = 'X'.charCodeAt(0);
    writeFileSync(segment, bytes);
    const error = await rejection(Journal.open(path));
    expect(isChimeraError(error) && error.code).toBe('journal_corrupt');
    expect((error as Error).message).toMatch(/damaged record at byte \d+ with intact records after it/);
  });

  it('compacts: the live state moves to a new segment, the old one goes, and nothing is lost', async () => {
    const path = dir('compact');
    const clock = manualClock();
    const stores = await openJournalStores(path, {
      clock,
      maxSegmentBytes: 16 * 1024,
      finishedTtlMs: 60_000,
    });
    // Many saves of a few conversations: the log grows, the live state does not.
    const leases = await Promise.all(
      ['a', 'b', 'c'].map((id) => stores.snapshots.acquireLease(id, 'run', 600_000)),
    );
    for (let step = 0; step < 200; step += 1) {
      for (const lease of leases) {
        await stores.snapshots.save(lease!, record('active', { step, pad: 'x'.repeat(200) }), []);
      }
    }
    await stores.snapshots.save(leases[2]!, record('ended', { step: 'done' }), []);
    await stores.budget.reserve('r', 10);
    await stores.budget.settle('r', 7, { provider: 'p', model: 'm' });
    expect(stores.journal.stats().segment).toBeGreaterThan(1);
    expect(segments(path)).toHaveLength(1);
    expect(statSync(onlySegment(path)).size).toBeLessThanOrEqual(16 * 1024 + 4 * 1024);
    await stores.close();

    const reopened = await openJournalStores(path, { clock, finishedTtlMs: 60_000 });
    expect((await reopened.snapshots.load('a'))?.snapshot).toEqual({ step: 199, pad: 'x'.repeat(200) });
    expect(await reopened.snapshots.load('c')).toMatchObject({ status: 'ended', snapshot: { step: 'done' } });
    expect(await reopened.budget.snapshot()).toMatchObject({ spentMicros: 7 });
    await reopened.close();
  });

  it('a record larger than the cap is refused before anything is written', async () => {
    const path = dir('large');
    const stores = await openJournalStores(path);
    const lease = await stores.snapshots.acquireLease('big', 'run', 60_000);
    const size = statSync(onlySegment(path)).size;
    await expect(
      stores.snapshots.save(lease!, record('active', { text: 'x'.repeat(65 * 1024 * 1024) }), []),
    ).rejects.toThrow(/exceeds the \d+-byte limit/);
    expect(statSync(onlySegment(path)).size).toBe(size);
    expect(await stores.snapshots.load('big')).toBeNull();
    await stores.close();
  });

  it('truncating a segment to nothing but its base still opens', async () => {
    const path = dir('base');
    await (await Journal.open(path)).close();
    const segment = onlySegment(path);
    const size = statSync(segment).size;
    truncateSync(segment, size - 3);
    await (await Journal.open(path)).close();
  });
});
