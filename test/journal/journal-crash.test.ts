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
        // Written in order: the answers are turns 0..n-1, with no gap.
        const n = turns.size;
        expect([...turns.keys()].sort()).toEqual(Array.from({ length: n }, (_, i) => `${i}:0`).sort());
        // Every acknowledged call is settled, the spend is exactly the settled calls' costs (i + 1 each),
        // and a stored answer lacks its settle only where a kill fell between the two: once per round.
        const settled = [...stores.journal.state.budget.settled.keys()].map((id) =>
          Number(id.replace('call-', '')),
        );
        for (const i of acked) expect(settled, `call ${i}`).toContain(i);
        expect((await stores.budget.snapshot()).spentMicros).toBe(settled.reduce((sum, i) => sum + i + 1, 0));
        expect(settled.every((i) => i < n)).toBe(true);
        expect(n - settled.length).toBeLessThanOrEqual(round + 1);
      } finally {
        await stores.close();
      }
    }
    expect(new Set(acked).size).toBe(acked.length); // each resumed run continued; none rewrote an index
  }, 60_000);
});
