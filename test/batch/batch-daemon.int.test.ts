import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/events.js';
import type { BatchRequest } from '../../src/services/ports.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { FakeBatchApi } from '../support/fake-batch-api.js';
import {
  collectEvents,
  configFor,
  deleteKeys,
  fakeProviderEnv,
  infraEnv,
  startChimera,
  uniqueNames,
  until,
} from '../support/infra.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const SYLLABLES = 'ka lo mi ne ru sa ti vo ze pa do fe gu hi ja ko lu ma no pe'.split(' ');

/** A varied answer per custom id (pseudo-words from a seeded generator), so the quality checks see distinct turns. */
function variedAnswer(request: BatchRequest): string {
  let seed = 2166136261;
  for (const char of request.customId) seed = Math.imul(seed ^ char.charCodeAt(0), 16777619) >>> 0;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  const word = () => Array.from({ length: 3 }, () => SYLLABLES[next() % SYLLABLES.length]).join('');
  return `${Array.from({ length: 14 }, word).join(' ')}?`;
}

describe('a daemon in batch mode on real Redis and Kafka', () => {
  it('runs 40 conversations of 6 turns, each turn made in batch mode, in about one batch per turn round', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server: FakeProviderServer = await startFakeProviderServer();
    cleanups.push(() => server.close());
    const apis = {
      anthropic: new FakeBatchApi({ provider: 'anthropic', delayMs: 200, answer: variedAnswer }),
      gemini: new FakeBatchApi({ provider: 'gemini', delayMs: 200, answer: variedAnswer }),
    };
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      CONVERSATION_PROVIDERS: 'anthropic,gemini',
      MAX_CONVERSATION_TURNS: '6',
      MIN_CONVERSATION_TURNS: '6',
      MAX_CONCURRENT_CONVERSATIONS: '100',
      PROVIDER_MODE: 'batch',
      BATCH_COLLECT_SECONDS: '1',
      BATCH_POLL_SECONDS: '1',
    });
    const chimera = await startChimera(configFor(env), { batchApis: apis });
    cleanups.push(() => chimera.stop());
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.push(() => reader.stop());
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        chimera.startNewConversation({ id: `batch-topic-${i}`, title: `Topic ${i}: tidal energy` }),
      ),
    );
    await until(() => reader.ended().length >= 40, 80_000, '40 final records');
    const ended = reader.ended() as Array<Extract<ConversationEvent, { type: 'conversation.ended' }>>;
    expect(ended.map((e) => e.type)).toEqual(Array(40).fill('conversation.ended'));
    expect(ended.map((e) => e.conversationId).sort()).toEqual([...ids].sort());
    for (const event of ended) {
      expect(event.record.turns.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(event.record.turns.every((t) => t.batch === true)).toBe(true);
      expect(event.record.turns.map((t) => t.provider)).toEqual([
        'anthropic',
        'gemini',
        'anthropic',
        'gemini',
        'anthropic',
        'gemini',
      ]);
    }
    // Six turn rounds, three per side. The bound: a round's requests reach the batcher within the collect
    // second of its first one, so a round is one batch; a straggler costs at most one more a round.
    const batches = apis.anthropic.submissions.length + apis.gemini.submissions.length;
    expect(batches).toBeGreaterThanOrEqual(6);
    expect(batches).toBeLessThanOrEqual(12);
    // No online call was made.
    expect(server.requests().filter((r) => r.operation === 'generate')).toHaveLength(0);
    for (const api of Object.values(apis))
      for (const id of api.allSubmittedIds()) expect(api.submittedCount(id)).toBe(1);
  }, 120_000);
});
