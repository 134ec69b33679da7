import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
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
