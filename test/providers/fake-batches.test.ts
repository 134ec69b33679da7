import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeRequestMicros } from '../../tools/fake-provider/bill.js';
import { parseFakeProviderArgs } from '../../tools/fake-provider/main.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

/** The fake server's batch APIs driven by the official SDKs directly, as a user of each SDK would. */

const KEY = 'fake-batches-key';

function anthropicRequest(customId: string) {
  return {
    custom_id: customId,
    params: {
      model: 'claude-haiku-4-5',
      max_tokens: 200,
      messages: [{ role: 'user' as const, content: `Tell me about batch ${customId}.` }],
    },
  };
}

describe('the fake server batch APIs through the official SDKs', () => {
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

  it('Anthropic: create, list, retrieve and stream results; the log counts each custom id per submission', async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: fake.urls.anthropic, maxRetries: 0 });
    const first = await client.messages.batches.create({
      requests: [anthropicRequest('a-1'), anthropicRequest('a-2')],
    });
    // Like the API, a batch is in progress when created, however fast it ends.
    expect(first.processing_status).toBe('in_progress');
    expect((await client.messages.batches.retrieve(first.id)).processing_status).toBe('ended');
    const second = await client.messages.batches.create({ requests: [anthropicRequest('a-1')] });
    const listed: string[] = [];
    for await (const batch of client.messages.batches.list()) listed.push(batch.id);
    expect(listed.sort()).toEqual([first.id, second.id].sort());
    const lines = [];
    for await (const line of await client.messages.batches.results(first.id)) lines.push(line);
    expect(lines.map((l) => [l.custom_id, l.result.type])).toEqual([
      ['a-1', 'succeeded'],
      ['a-2', 'succeeded'],
    ]);
    expect(fake.batchCustomIds()).toEqual([
      { dialect: 'anthropic', customId: 'a-1', submitted: 2, succeeded: 2 },
      { dialect: 'anthropic', customId: 'a-2', submitted: 1, succeeded: 1 },
    ]);
    expect(await (await fetch(`${fake.url}/_fake/batch-ids`)).json()).toEqual(fake.batchCustomIds());
  });

  it('Anthropic: refuses custom ids outside the API rule and keeps a batch in progress for its delay', async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: fake.urls.anthropic, maxRetries: 0 });
    await expect(
      client.messages.batches.create({ requests: [anthropicRequest('conv:1:0')] }),
    ).rejects.toMatchObject({ status: 400 });
    fake.setBatchBehaviour({ delayMs: 60_000 });
    const batch = await client.messages.batches.create({ requests: [anthropicRequest('later')] });
    expect(batch).toMatchObject({ processing_status: 'in_progress', results_url: null });
    expect((await client.messages.batches.retrieve(batch.id)).request_counts.processing).toBe(1);
  });

  it('bills batch answers on their own line at half the list price', async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: fake.urls.anthropic, maxRetries: 0 });
    const batch = await client.messages.batches.create({ requests: [anthropicRequest('b-1')] });
    for await (const result of await client.messages.batches.results(batch.id)) {
      expect(result.result.type).toBe('succeeded');
    }
    const bill = fake.bill();
    expect(bill.lines).toHaveLength(1);
    const billed = bill.lines[0]!;
    expect(billed).toMatchObject({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      requests: 1,
      batch: true,
    });
    const usage = {
      inputTokens: billed.inputTokens,
      outputTokens: billed.outputTokens,
      cacheReadTokens: billed.cacheReadTokens,
      cacheWriteTokens: billed.cacheWriteTokens,
    };
    // claude-haiku-4-5 lists $1 and $5 per million tokens; the batch API takes half.
    const exactPicos = usage.inputTokens * 1_000_000 + usage.outputTokens * 5_000_000;
    expect(billed.micros).toBe(Math.ceil(exactPicos / 2 / 1_000_000));
    expect(fakeRequestMicros('anthropic', 'claude-haiku-4-5', usage)).toBe(Math.ceil(exactPicos / 1_000_000));
  });

  it('OpenAI: uploads the JSONL file, creates, lists and cancels batches, and serves the output file', async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: fake.urls.openai, maxRetries: 0 });
    const body = (id: string) =>
      JSON.stringify({
        custom_id: id,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-5.4-nano', messages: [{ role: 'user', content: `Say hello to ${id}` }] },
      });
    const file = await client.files.create({
      file: await toFile(Buffer.from(`${body('o-1')}\n${body('o-2')}\n`), 'in.jsonl'),
      purpose: 'batch',
    });
    expect(file).toMatchObject({ purpose: 'batch', status: 'processed' });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(created.status).toBe('in_progress');
    const done = await client.batches.retrieve(created.id);
    expect(done).toMatchObject({
      status: 'completed',
      request_counts: { total: 2, completed: 2, failed: 0 },
    });
    const output = await (await client.files.content(done.output_file_id!)).text();
    expect(
      output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).custom_id),
    ).toEqual(['o-1', 'o-2']);

    fake.setBatchBehaviour({ delayMs: 60_000 });
    const slow = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(slow.status).toBe('in_progress');
    expect((await client.batches.cancel(slow.id)).status).toBe('cancelling');
    expect((await client.batches.retrieve(slow.id)).status).toBe('cancelled');
    const listed: string[] = [];
    for await (const batch of client.batches.list()) listed.push(batch.id);
    expect(listed.sort()).toEqual([done.id, slow.id].sort());
  });

  it('OpenAI: a batch whose input file does not validate is created and then fails with the reason', async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: fake.urls.openai, maxRetries: 0 });
    const file = await client.files.create({
      file: await toFile(Buffer.from('{"custom_id":"x","method":"GET","url":"/v1/models"}\n'), 'bad.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data?.[0]?.message).toMatch(/only POST/);
  });

  it('Gemini: creates inline batches, lists them through the pager, cancels, and answers in request order', async () => {
    const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: fake.urls.gemini } });
    const job = await ai.batches.create({
      model: 'gemini-2.5-flash-lite',
      src: [
        { contents: [{ role: 'user', parts: [{ text: 'one' }] }], metadata: { key: 'g-1' } },
        { contents: [{ role: 'user', parts: [{ text: 'two' }] }], metadata: { key: 'g-2' } },
      ],
      config: { displayName: 'two requests' },
    });
    expect(job.state).toBe('JOB_STATE_PENDING');
    const done = await ai.batches.get({ name: job.name! });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    expect(done.displayName).toBe('two requests');
    expect(done.dest?.inlinedResponses?.map((r) => r.metadata?.key)).toEqual(['g-1', 'g-2']);
    const texts = done.dest?.inlinedResponses?.map(
      (r) => r.response?.candidates?.[0]?.content?.parts?.[0]?.text,
    );
    expect(texts?.every((text) => typeof text === 'string' && text.length > 0)).toBe(true);

    fake.setBatchBehaviour({ delayMs: 60_000 });
    const slow = await ai.batches.create({
      model: 'gemini-2.5-flash-lite',
      src: [{ contents: [{ role: 'user', parts: [{ text: 'three' }] }], metadata: { key: 'g-3' } }],
    });
    expect((await ai.batches.get({ name: slow.name! })).state).toBe('JOB_STATE_RUNNING');
    await ai.batches.cancel({ name: slow.name! });
    expect((await ai.batches.get({ name: slow.name! })).state).toBe('JOB_STATE_CANCELLED');
    const names: string[] = [];
    for await (const listed of await ai.batches.list()) names.push(listed.name!);
    expect(names.sort()).toEqual([job.name!, slow.name!].sort());
  });

  it('takes the batch behaviour from the command line', () => {
    expect(
      parseFakeProviderArgs([
        '--batch-delay-ms',
        '5000',
        '--batch-error-rate',
        '0.1',
        '--batch-expired-rate',
        '.05',
      ]),
    ).toMatchObject({ batch: { delayMs: 5000, errorRate: 0.1, expiredRate: 0.05 } });
    expect(() => parseFakeProviderArgs(['--batch-error-rate', '2'])).toThrow(/fraction from 0 to 1/);
  });
});
