import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { systemClock, type TurnCache } from '../../src/services/ports.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { until } from '../support/infra.js';
import { callInput, generateRequests, modelCaller } from './support.js';

describe('the model call of a turn', () => {
  let server: FakeProviderServer;
  beforeAll(async () => {
    server = await startFakeProviderServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  it('asked twice for the same (conversation, turn, generation), reaches the provider once and answers the same text', async () => {
    server.script(
      { type: 'reply', text: 'What powers the tides?' },
      { type: 'reply', text: 'a second answer' },
    );
    const call = modelCaller(server, new InMemoryTurnCache());
    const first = await call(callInput());
    const again = await call(callInput());
    expect(first.text).toBe('What powers the tides?');
    expect(again).toEqual(first);
    expect(generateRequests(server)).toBe(1);
  });

  it('a regeneration (next generation) or the next turn index is a new call', async () => {
    server.script(
      { type: 'reply', text: 'first try' },
      { type: 'reply', text: 'nudged try' },
      { type: 'reply', text: 'next turn' },
    );
    const call = modelCaller(server, new InMemoryTurnCache());
    expect((await call(callInput())).text).toBe('first try');
    expect((await call(callInput({ generation: 1, nudge: true }))).text).toBe('nudged try');
    expect((await call(callInput({ turnIndex: 3, speaker: 'answerer' }))).text).toBe('next turn');
    expect(generateRequests(server)).toBe(3);
  });
});

describe('the model call of a turn, around a crash', () => {
  let server: FakeProviderServer;
  beforeAll(async () => {
    server = await startFakeProviderServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => server.reset());

  it('is sent only once the step recording it in flight is durable', async () => {
    server.script({ type: 'reply', text: 'What powers the tides?' });
    let durable: (() => void) | undefined;
    const waited: string[] = [];
    const call = modelCaller(server, new InMemoryTurnCache(), undefined, {
      intentDurable: (conversationId, key) => {
        waited.push(`${conversationId}:${key.turnIndex}:${key.generation}`);
        return new Promise<void>((resolve) => {
          durable = resolve;
        });
      },
    });
    const answered = call(callInput());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(waited).toEqual(['c-idempotent:2:0']);
    expect(generateRequests(server)).toBe(0);
    durable!();
    expect((await answered).text).toBe('What powers the tides?');
    expect(generateRequests(server)).toBe(1);
  });

  it('a call recorded in flight by its own durable step is not looked up in the turn cache; one restored in flight is', async () => {
    server.script({ type: 'reply', text: 'What powers the tides?' });
    const cache = new InMemoryTurnCache();
    const lookedUp: string[] = [];
    const watched: TurnCache = {
      get: (key) => {
        lookedUp.push(`${key.turnIndex}:${key.generation}`);
        return cache.get(key);
      },
      putIfAbsent: (key, turn) => cache.putIfAbsent(key, turn),
      forget: (id) => cache.forget(id),
    };
    const call = modelCaller(server, watched, undefined, { intentDurable: async () => {} });
    const first = await call(callInput());
    expect(lookedUp).toEqual([]);
    expect(await call(callInput({ mayHaveBeenSent: true }))).toEqual(first);
    expect(lookedUp).toEqual(['2:0']);
    expect(generateRequests(server)).toBe(1);
  });

  it('restored in flight with its answer recorded, returns the answer and sends nothing', async () => {
    server.script({ type: 'reply', text: 'What powers the tides?' });
    const cache = new InMemoryTurnCache();
    const call = modelCaller(server, cache);
    const first = await call(callInput());
    const again = await call(callInput({ mayHaveBeenSent: true }));
    expect(again).toEqual(first);
    expect(generateRequests(server)).toBe(1);
  });

  it('restored in flight with no answer recorded, is not sent again: it fails as lost, with the worst case its reservation held', async () => {
    // The dead process's call: reserved, sent, never answered (the test reads what it reserved).
    server.script({ type: 'reply', latencyMs: 2_000 });
    const budget = new MemoryBudgetStore({ clock: systemClock });
    const dead = modelCaller(server, new InMemoryTurnCache(), undefined, {
      model: 'claude-sonnet-5-5',
      budget,
    });
    void dead(callInput()).catch(() => {});
    await until(async () => generateRequests(server) === 1, 5_000, 'the first call sent');
    const reserved = (await budget.snapshot()).reservedMicros;
    expect(reserved).toBeGreaterThan(0);

    const call = modelCaller(server, new InMemoryTurnCache(), undefined, { model: 'claude-sonnet-5-5' });
    const error = await call(callInput({ mayHaveBeenSent: true })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'call_lost', key: 'c-idempotent:2:0', worstCaseMicros: reserved });
    expect(generateRequests(server)).toBe(1);
  });
});
