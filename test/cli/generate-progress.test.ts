import { describe, expect, it } from 'vitest';
import { barLine, ProgressReporter, type ProgressStats, plainLine } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 200, write: (text: string) => writes.push(text) } };
}

function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const stats = (done: number, extra: Partial<ProgressStats> = {}): ProgressStats => ({
  done,
  total: 10,
  failed: 0,
  turns: done * 4,
  tokens: done * 1000,
  errors: 0,
  ...extra,
});

describe('generate progress', () => {
  it('the bar line shows done/total, turns per second, tokens, errors and elapsed time', () => {
    expect(barLine(stats(5, { failed: 1, errors: 2 }), 10_000)).toBe(
      'generate [############............] 5/10  1 failed  2.0 turns/s  5,000 tokens  2 errors  0:10',
    );
  });

  it('the plain line says the same in words', () => {
    expect(plainLine(stats(3), 65_000)).toBe(
      'generate: 3/10 conversations (30%), 0 failed, 12 turns (0.2/s), 3000 tokens, 0 provider errors, 1:05 elapsed',
    );
  });

  it('without a terminal, a line is printed at each tenth of the batch and not in between', async () => {
    const { writes, stream } = fakeStream(false);
    const clock = fakeClock();
    let current = stats(0);
    const progress = new ProgressReporter({ stream, clock, sample: () => current });
    await progress.tick();
    expect(writes).toHaveLength(1);
    clock.advance(1000);
    await progress.tick();
    expect(writes).toHaveLength(1);
    current = stats(1);
    clock.advance(1000);
    await progress.tick();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/^generate: 1\/10 conversations \(10%\)/);
    current = stats(3);
    await progress.tick();
    expect(writes).toHaveLength(3);
  });

  it('without a terminal, a long quiet stretch still prints a line every heartbeat', async () => {
    const { writes, stream } = fakeStream(false);
    const clock = fakeClock();
    const progress = new ProgressReporter({ stream, clock, heartbeatMs: 10_000, sample: () => stats(0) });
    await progress.tick();
    clock.advance(9_999);
    await progress.tick();
    expect(writes).toHaveLength(1);
    clock.advance(1);
    await progress.tick();
    expect(writes).toHaveLength(2);
  });

  it('on a terminal, the line is redrawn in place and the final figures end with a newline', async () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    let current = stats(0);
    const progress = new ProgressReporter({ stream, clock, sample: () => current });
    await progress.tick();
    current = stats(10);
    clock.advance(5000);
    await progress.finish();
    const redraw = '\r\x1b[K';
    expect(writes[0]!.startsWith(`${redraw}generate [${'.'.repeat(24)}] 0/10`)).toBe(true);
    expect(writes.at(-2)!.startsWith(`${redraw}generate [${'#'.repeat(24)}] 10/10`)).toBe(true);
    expect(writes.at(-2)).toContain(' 8.0 turns/s');
    expect(writes.at(-1)).toBe('\n');
    expect(writes.join('')).not.toMatch(/\n.*\n/);
  });
});
