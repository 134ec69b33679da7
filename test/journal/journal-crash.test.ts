import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { openJournalStores } from '../../src/services/journal/index.js';
import { repoRoot } from '../support/cli.js';
import { journalDir } from './support.js';

const removals: Array<() => void> = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

/** Runs the writer until it has acknowledged at least `minAcks` writes, waits `extraMs`, then SIGKILLs it. */
function writeUntilKilled(dir: string, minAcks: number, extraMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/journal/support/journal-writer.ts', dir],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const acked: number[] = [];
    let buffered = '';
    let stderr = '';
    let killing = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const match = /^ack (\d+)$/.exec(line);
        if (match) acked.push(Number(match[1]));
      }
      if (!killing && acked.length >= minAcks) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`writer exited without being killed: ${stderr}`));
    });
  });
}

describe('journal under SIGKILL', () => {
  it('everything acknowledged as written is read back after the writer is killed at random moments, three times', async () => {
    const { dir, remove } = journalDir('crash');
    removals.push(remove);
    const acked: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const minAcks = 5 + Math.floor(Math.random() * 40);
      const extraMs = Math.floor(Math.random() * 150);
      acked.push(...(await writeUntilKilled(dir, minAcks, extraMs)));

      const stores = await openJournalStores(dir);
      try {
        const turns = stores.journal.state.turns.get('crash')!;
        for (const i of acked) {
          expect(
            await stores.turns.get({ conversationId: 'crash', turnIndex: i, generation: 0 }),
            `turn ${i}`,
          ).not.toBeNull();
        }
        // Written in order: what is there is turns 0..n-1 and settles of 0..n-1 or 0..n-2, nothing else.
        const n = turns.size;
        expect([...turns.keys()].sort()).toEqual(Array.from({ length: n }, (_, i) => `${i}:0`).sort());
        const spent = (await stores.budget.snapshot()).spentMicros;
        const sum = (count: number) => (count * (count + 1)) / 2; // settles of calls 0..count-1 at i + 1
        expect([sum(n), sum(n - 1)]).toContain(spent);
        expect(spent).toBeGreaterThanOrEqual(sum(Math.max(...acked) + 1));
      } finally {
        await stores.close();
      }
    }
    expect(new Set(acked).size).toBe(acked.length); // each resumed run continued; none rewrote an index
  }, 60_000);
});
