/**
 * `BatchApi.list` of each adapter, through its real SDK against the fake server: every batch, with the tag
 * the submission carried where the API keeps one (OpenAI's metadata, Gemini's display name) and the
 * request count where the listing gives it, across pages.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../src/config.js';
import type { BatchApi, ListedBatch } from '../../src/services/ports.js';
import { AnthropicBatchApi } from '../../src/services/providers/batch/anthropic.js';
import { GeminiBatchApi } from '../../src/services/providers/batch/gemini.js';
import { OpenAiBatchApi } from '../../src/services/providers/batch/openai.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { batchRequests } from '../contracts/batch-api.js';

function config(name: ProviderConfig['name'], model: string, baseUrl: string): ProviderConfig {
  return { name, model, apiKey: 'adapter-key', baseUrl, rpm: 60, tpm: 100_000, timeoutMs: 5_000 };
}

async function all(api: BatchApi, since = 0): Promise<ListedBatch[]> {
  const listed: ListedBatch[] = [];
  for await (const batch of api.list!(since)) listed.push(batch);
  return listed;
}

describe('listing batches through the SDKs', () => {
  let fake: FakeProviderServer;
  beforeAll(async () => {
    fake = await startFakeProviderServer({ seed: 5 });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  const adapters: Array<[string, () => BatchApi, boolean]> = [
    [
      'anthropic',
      () => new AnthropicBatchApi(config('anthropic', 'claude-test', fake.urls.anthropic)),
      false,
    ],
    ['gemini', () => new GeminiBatchApi(config('gemini', 'gemini-test', fake.urls.gemini)), true],
    ['openai', () => new OpenAiBatchApi(config('openai', 'gpt-test', fake.urls.openai)), true],
  ];

  it.each(adapters)('%s: every batch, with its tag where the API keeps one', async (_name, make, tagged) => {
    const api = make();
    expect(api.keepsTags ?? false).toBe(tagged);
    const made = [];
    for (const [i, size] of [2, 3, 1].entries())
      made.push(await api.submit(batchRequests(size, `list${i}`), { tag: `chimera-tag-${i}` }));
    const listed = await all(api);
    expect(new Set(listed.map((batch) => batch.id))).toEqual(new Set(made.map((batch) => batch.id)));
    for (const [i, batch] of made.entries()) {
      const found = listed.find((candidate) => candidate.id === batch.id)!;
      if (tagged) expect(found.tag).toBe(`chimera-tag-${i}`);
      else expect(found.tag).toBeUndefined();
      if (found.requests !== undefined) expect(found.requests).toBe([2, 3, 1][i]);
    }
  });

  it('anthropic: pages through more batches than one page holds, newest first, and stops before `since`', async () => {
    const api = adapters[0]![1]();
    const made: string[] = [];
    for (let i = 0; i < 105; i++) made.push((await api.submit(batchRequests(1, `page${i}`))).id);
    const listed = await all(api);
    expect(listed.map((batch) => batch.id)).toEqual([...made].reverse());
    expect(listed.every((batch) => batch.requests === 1)).toBe(true);
    expect(await all(api, Date.now() + 60_000)).toEqual([]);
  });
});
