import { describe, expect, it } from 'vitest';
import { CallIntents } from '../../src/persistence/call-intents.js';

const settledWithin = async (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise((r) => setTimeout(() => r('pending'), 20)),
  ]);

describe('call intents: a call waits for the step recording it in flight', () => {
  it('resolves once a durable step records that call, not another call nor another conversation', async () => {
    const intents = new CallIntents();
    const waiting = intents.whenDurable('c-1', { turnIndex: 2, generation: 0 }, new AbortController().signal);
    intents.saved('c-2', { turnIndex: 2, generation: 0 });
    intents.saved('c-1', { turnIndex: 1, generation: 0 });
    intents.saved('c-1', { turnIndex: 2, generation: 1 });
    intents.saved('c-1', undefined);
    expect(await settledWithin(waiting)).toBe('pending');
    intents.saved('c-1', { turnIndex: 2, generation: 0 });
    expect(await settledWithin(waiting)).toBe('resolved');
  });

  it('resolves at once when the step is durable already', async () => {
    const intents = new CallIntents();
    intents.saved('c-1', { turnIndex: 0, generation: 0 });
    expect(
      await settledWithin(
        intents.whenDurable('c-1', { turnIndex: 0, generation: 0 }, new AbortController().signal),
      ),
    ).toBe('resolved');
  });

  it('rejects when the call is abandoned (its conversation stopped), and forgets released conversations', async () => {
    const intents = new CallIntents();
    const abort = new AbortController();
    const waiting = intents.whenDurable('c-1', { turnIndex: 0, generation: 0 }, abort.signal);
    abort.abort(new Error('stopped'));
    expect(await settledWithin(waiting)).toBe('rejected');
    intents.saved('c-1', { turnIndex: 1, generation: 0 });
    expect(intents.size).toBe(1);
    intents.forget('c-1');
    expect(intents.size).toBe(0);
  });
});

describe('call intents: only the latest step counts', () => {
  it('a step waiting to be written (e.g. a pause after the call was recorded) makes the older record not count', async () => {
    const intents = new CallIntents();
    intents.saved('c-1', { turnIndex: 3, generation: 0 });
    // Refused and paused, then resumed for the same call before the paused step was written.
    intents.stepped('c-1');
    const waiting = intents.whenDurable('c-1', { turnIndex: 3, generation: 0 }, new AbortController().signal);
    expect(await settledWithin(waiting)).toBe('pending');
    intents.saved('c-1', { turnIndex: 3, generation: 0 });
    expect(await settledWithin(waiting)).toBe('resolved');
  });
});
