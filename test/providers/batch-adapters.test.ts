import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../src/config.js';
import type { BatchItemResult } from '../../src/services/ports.js';
import {
  AnthropicBatchApi,
  decodeAnthropicCustomId,
  encodeAnthropicCustomId,
} from '../../src/services/providers/batch/anthropic.js';
import { GeminiBatchApi } from '../../src/services/providers/batch/gemini.js';
import { OpenAiBatchApi } from '../../src/services/providers/batch/openai.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { batchRequests } from '../contracts/batch-api.js';

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

function config(name: ProviderConfig['name'], model: string, baseUrl: string): ProviderConfig {
  return { name, model, apiKey: 'adapter-key', baseUrl, rpm: 60, tpm: 100_000, timeoutMs: 5_000 };
}

async function collect(results: AsyncIterable<BatchItemResult>): Promise<BatchItemResult[]> {
  const all: BatchItemResult[] = [];
  for await (const result of results) all.push(result);
  return all;
}

describe('batch adapters on the wire', () => {
  let fake: FakeProviderServer;

  beforeAll(async () => {
    fake = await startFakeProviderServer({ seed: 3 });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('encodes custom ids the Message Batches API would refuse, and decodes them back; valid ones pass as they are', () => {
    for (const id of ['topic:7#3:12:0', 'b64_looks-encoded', 'x'.repeat(44)]) {
      const sent = encodeAnthropicCustomId(id);
      expect(sent).toMatch(CUSTOM_ID);
      expect(decodeAnthropicCustomId(sent)).toBe(id);
    }
    expect(encodeAnthropicCustomId('plain_id-1')).toBe('plain_id-1');
    expect(() => encodeAnthropicCustomId(`${'c'.repeat(60)}:1:0`)).toThrow(/too long/);
  });

  it('keeps Anthropic prompt caching in batches: the system prompt carries a breakpoint and later requests read it', async () => {
    const api = new AnthropicBatchApi(config('anthropic', 'claude-sonnet-5-5', fake.urls.anthropic));
    const requests = batchRequests(4, 'cache:');
    const { id } = await api.submit(requests);
    const create = fake.requests().find((r) => r.method === 'POST' && r.path === '/v1/messages/batches')!;
    const sent = (create.body as { requests: Array<{ custom_id: string; params: { system: unknown } }> })
      .requests;
    for (const request of sent) {
      expect(request.custom_id).toMatch(CUSTOM_ID);
      expect(request.params.system).toEqual([
        { type: 'text', text: requests[0]!.request.system, cache_control: { type: 'ephemeral' } },
      ]);
    }
    const results = await collect(api.results(id));
    const reads = results.map((r) => (r.ok ? (r.result.usage.cacheReadTokens ?? 0) : -1));
    expect(reads.filter((tokens) => tokens > 0).length).toBeGreaterThanOrEqual(3);
    expect(results.map((r) => r.customId).sort()).toEqual(requests.map((r) => r.customId).sort());
  });

  it('sends OpenAI batches as a JSONL file of chat completion requests, one line per custom id', async () => {
    const api = new OpenAiBatchApi(config('openai', 'gpt-5.4-mini', fake.urls.openai));
    const requests = batchRequests(3, 'jsonl:');
    await api.submit(requests);
    const paths = fake.requests().map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual(['POST /v1/files', 'POST /v1/batches']);
    const batch = fake.requests()[1]!.body as Record<string, unknown>;
    expect(batch).toMatchObject({ endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(fake.batchCustomIds().map((c) => c.customId)).toEqual(requests.map((r) => r.customId));
  });

  it('sends Gemini batches as inline requests with the custom id in their metadata', async () => {
    const api = new GeminiBatchApi(config('gemini', 'gemini-2.5-flash', fake.urls.gemini));
    const requests = batchRequests(2, 'inline:');
    const { id } = await api.submit(requests);
    expect(id).toMatch(/^batches\//);
    const create = fake.requests()[0]!;
    expect(create.path).toBe('/v1beta/models/gemini-2.5-flash:batchGenerateContent');
    const inline = (create.body as { batch: { inputConfig: { requests: { requests: unknown[] } } } }).batch
      .inputConfig.requests.requests as Array<{
      metadata: Record<string, string>;
      request: Record<string, unknown>;
    }>;
    expect(inline.map((r) => r.metadata.key)).toEqual(requests.map((r) => r.customId));
    expect(inline[0]!.request.systemInstruction).toBeDefined();
  });

  it('maps a refused submission to a typed error without leaking the key', async () => {
    fake.respond((request) => (request.operation === 'batch' ? { type: 'unauthorized' } : undefined));
    const api = new AnthropicBatchApi(config('anthropic', 'claude-sonnet-5-5', fake.urls.anthropic));
    const error = await api.submit(batchRequests(1)).then(
      () => undefined,
      (e: unknown) => e as { code: string; retryable: boolean; message: string },
    );
    fake.respond(undefined);
    expect(error?.code).toBe('auth');
    expect(error?.retryable).toBe(false);
    expect(error?.message).not.toContain('adapter-key');
  });
});
