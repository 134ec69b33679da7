import { afterEach, describe, expect, it } from 'vitest';
import { fakeRequestMicros } from '../../tools/fake-provider/bill.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

describe("the fake server's own prices", () => {
  it('prices a request once, rounded up to a whole micro-dollar, with cache tokens and tiers', () => {
    // claude-sonnet-5-5: 1000*2 + 500*10 + 2000*0.1 + 300*2.5 micros
    expect(
      fakeRequestMicros('anthropic', 'claude-sonnet-5-5', {
        inputTokens: 1000,
        outputTokens: 500,
        cacheReadTokens: 2000,
        cacheWriteTokens: 300,
      }),
    ).toBe(7_950);
    // gpt-5.4-mini: 7*0.75 + 1*4.5 + 3*0.075 = 9.975 -> 10
    expect(
      fakeRequestMicros('openai', 'gpt-5.4-mini', {
        inputTokens: 7,
        outputTokens: 1,
        cacheReadTokens: 3,
        cacheWriteTokens: 0,
      }),
    ).toBe(10);
    // claude-haiku-5-5 above its 100k-token tier: 100,001*0.5 + 1000*2.5 = 52,500.5 -> 52,501
    expect(
      fakeRequestMicros('anthropic', 'claude-haiku-5-5', {
        inputTokens: 100_001,
        outputTokens: 1000,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      }),
    ).toBe(52_501);
    expect(
      fakeRequestMicros('anthropic', 'claude-unknown', {
        inputTokens: 1,
        outputTokens: 1,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      }),
    ).toBeNull();
  });
});

interface AnthropicReply {
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_read_input_tokens: number;
    cache_creation_input_tokens: number;
  };
}

describe("the fake server's bill", () => {
  let fake: FakeProviderServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const anthropic = (
    server: FakeProviderServer,
    content: unknown[],
    key?: string,
    model = 'claude-sonnet-5-5',
  ) =>
    fetch(`${server.urls.anthropic}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': 'k',
        'anthropic-version': '2023-06-01',
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: JSON.stringify({
        model,
        max_tokens: 200,
        system: [
          {
            type: 'text',
            text: 'You are a careful historian of tides and harbours.',
            cache_control: { type: 'ephemeral' },
          },
        ],
        messages: content,
      }),
    });

  const turn = (text: string) => ({
    role: 'user',
    content: [{ type: 'text', text, cache_control: { type: 'ephemeral' } }],
  });

  it('adds up the tokens it replied with, cache reads and writes included, and prices them itself', async () => {
    fake = await startFakeProviderServer();
    const replies: AnthropicReply[] = [];
    const history = [turn('Why are there two tides a day?')];
    for (let i = 0; i < 3; i += 1) {
      const response = await anthropic(fake, history);
      expect(response.status).toBe(200);
      replies.push((await response.json()) as AnthropicReply);
      history.push(
        { role: 'assistant', content: [{ type: 'text', text: `answer ${i}` }] } as never,
        turn(`and then ${i}?`),
      );
    }
    const usage = replies.map((r) => r.usage);
    expect(usage.some((u) => u.cache_read_input_tokens > 0)).toBe(true);
    expect(usage.some((u) => u.cache_creation_input_tokens > 0)).toBe(true);
    const sum = (pick: (u: AnthropicReply['usage']) => number) => usage.reduce((s, u) => s + pick(u), 0);
    // Per request: input*2 + output*10 + cacheRead*0.1 + cacheWrite*2.5 micros, each rounded up once.
    const expected = usage.reduce(
      (s, u) =>
        s +
        Math.ceil(
          (u.input_tokens * 20 +
            u.output_tokens * 100 +
            u.cache_read_input_tokens * 1 +
            u.cache_creation_input_tokens * 25) /
            10,
        ),
      0,
    );
    expect(fake.bill()).toEqual({
      lines: [
        {
          provider: 'anthropic',
          model: 'claude-sonnet-5-5',
          requests: 3,
          inputTokens: sum((u) => u.input_tokens),
          outputTokens: sum((u) => u.output_tokens),
          cacheReadTokens: sum((u) => u.cache_read_input_tokens),
          cacheWriteTokens: sum((u) => u.cache_creation_input_tokens),
          micros: expected,
        },
      ],
      totalMicros: expected,
      unpricedRequests: 0,
    });
  });

  it('bills only what it answered, and lists models it has no price for', async () => {
    fake = await startFakeProviderServer();
    fake.script({ type: 'overloaded' }, { type: 'rate_limited' });
    expect((await anthropic(fake, [turn('a')])).status).toBe(529);
    expect((await anthropic(fake, [turn('a')])).status).toBe(429);
    expect((await anthropic(fake, [turn('a')], undefined, 'claude-unknown')).status).toBe(200);
    const bill = fake.bill();
    expect(bill.lines.map((l) => [l.model, l.requests, l.micros])).toEqual([['claude-unknown', 1, null]]);
    expect(bill).toMatchObject({ totalMicros: 0, unpricedRequests: 1 });
  });

  it('counts model calls per idempotency key, sent and answered, and serves its accounts over HTTP', async () => {
    fake = await startFakeProviderServer();
    fake.script({ type: 'server_error' });
    await anthropic(fake, [turn('a')], 'topic:42#1:3:0'); // 500, then the retry
    await anthropic(fake, [turn('a')], 'topic:42#1:3:0');
    await anthropic(fake, [turn('b')], 'topic:42#1:4:1');
    await anthropic(fake, [turn('c')]);
    const keys = fake.requestKeys();
    expect(keys).toEqual([
      {
        key: 'topic:42#1:3:0',
        conversationId: 'topic:42#1',
        turnIndex: 3,
        generation: 0,
        sent: 2,
        answered: 1,
      },
      {
        key: 'topic:42#1:4:1',
        conversationId: 'topic:42#1',
        turnIndex: 4,
        generation: 1,
        sent: 1,
        answered: 1,
      },
    ]);
    const overHttp = (await (await fetch(`${fake.url}/_fake/bill`)).json()) as Record<string, unknown>;
    expect(overHttp).toEqual({ ...fake.bill(), keys });
    const stats = (await (await fetch(`${fake.url}/_fake/stats`)).json()) as { total: number };
    expect(stats.total).toBe(4);
    fake.reset();
    expect(fake.bill().lines).toEqual([]);
    expect(fake.requestKeys()).toEqual([]);
  });
});
