import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PullBuffer } from '../../src/intake/pull-buffer.js';

describe('pull buffer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('take waits for a push up to its wait, then gives null', async () => {
    const buffer = new PullBuffer<number>();
    const first = buffer.take(1000);
    buffer.push(1);
    expect(await first).toBe(1);

    const second = buffer.take(1000);
    await vi.advanceTimersByTimeAsync(999);
    buffer.push(2);
    expect(await second).toBe(2);

    const third = buffer.take(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await third).toBeNull();
    expect(buffer.size).toBe(0);
  });

  it('an item put back comes out first', async () => {
    const buffer = new PullBuffer<string>();
    buffer.push('b');
    buffer.unshift('a');
    expect(await buffer.take(0)).toBe('a');
    expect(await buffer.take(0)).toBe('b');
  });

  it('close wakes waiters with null', async () => {
    const buffer = new PullBuffer<string>();
    const waiting = buffer.take(60_000);
    buffer.close();
    expect(await waiting).toBeNull();
    expect(await buffer.take(60_000)).toBeNull();
  });
});
