import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig, ProviderName } from '../../src/config.js';
import { JUDGE_CRITERIA } from '../../src/events.js';
import { JUDGE_SYSTEM_PROMPT } from '../../src/judge/prompt.js';
import { JUDGEMENT_OUTPUT } from '../../src/judge/rubric.js';
import { isJudgeFailedError, judgeConversation } from '../../src/judge/run.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';
import { withResilience } from '../../src/resilience/resilient-provider.js';
import { MemoryRateLimiter } from '../../src/services/memory/rate-limiter.js';
import { systemClock } from '../../src/services/ports.js';
import { createProvider } from '../../src/services/providers/factory.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

/**
 * The judge over each real SDK, against the wire-level fake server: the structured-output request each
 * provider's API defines goes out (the fake server refuses a malformed one), the JSON that comes back is
 * validated, a malformed answer is asked again and, when it stays malformed, the conversation is unjudged.
 */
let server: FakeProviderServer;
beforeAll(async () => {
  server = await startFakeProviderServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const KEYS: Record<string, string> = {
  anthropic: 'sk-ant-judge-canary-0000000000',
  gemini: 'AIza-judge-canary-000000000000000000',
  openai: 'sk-judge-canary-0000000000000000',
};

function judgeProvider(dialect: 'anthropic' | 'gemini' | 'openai') {
  const config: ProviderConfig = {
    name: dialect as ProviderName,
    apiKey: KEYS[dialect],
    baseUrl: server.urls[dialect],
    model: `${dialect}-conversation-model`,
    rpm: 100_000,
    tpm: 100_000_000,
    timeoutMs: 2_000,
  };
  return withResilience(createProvider(config), {
    limiter: new MemoryRateLimiter({
      key: dialect,
      settings: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000 },
    }),
    breaker: new ProviderBreaker({ name: dialect, threshold: 3, cooldownMs: 400 }),
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, maxTotalDelayMs: 10_000 },
    metrics: createMetrics(new Registry()),
    logger: createLogger({ level: 'silent' }),
  });
}

const CONVERSATION = {
  conversationId: 'c-judge-sdk',
  topicTitle: 'Heat pumps in cold climates',
  turns: [
    { speaker: 'questioner' as const, text: 'Do heat pumps still work at minus twenty?' },
    {
      speaker: 'answerer' as const,
      text: 'Cold-climate models keep most of their output down to about -25 C.',
    },
  ],
};

const generates = () => server.requests().filter((r) => r.operation === 'generate');

/** The structured-output part of a request body, as each API defines it. */
function structuredPart(dialect: string, body: Record<string, unknown>) {
  if (dialect === 'anthropic') return { tools: body.tools, tool_choice: body.tool_choice };
  if (dialect === 'openai') return body.response_format;
  return body.generationConfig;
}

describe.each(['anthropic', 'gemini', 'openai'] as const)('the judge over the %s SDK', (dialect) => {
  it('asks for structured output the provider way and records validated scores with the usage', async () => {
    const verdict = await judgeConversation(CONVERSATION, {
      provider: judgeProvider(dialect),
      providerName: dialect,
      model: `${dialect}-judge-model`,
      clock: systemClock,
    });
    const [request] = generates();
    const body = request!.body as Record<string, unknown>;
    const part = structuredPart(dialect, body) as Record<string, unknown>;
    if (dialect === 'anthropic') {
      expect(part.tool_choice).toEqual({ type: 'tool', name: JUDGEMENT_OUTPUT.name });
      expect(
        (part.tools as Array<{ input_schema: { required: string[] } }>)[0]!.input_schema.required,
      ).toEqual(expect.arrayContaining([...JUDGE_CRITERIA, 'rationale']));
    } else if (dialect === 'openai') {
      expect(part).toMatchObject({
        type: 'json_schema',
        json_schema: { name: JUDGEMENT_OUTPUT.name, strict: true },
      });
    } else {
      expect(part.responseMimeType).toBe('application/json');
      expect((part.responseSchema as { type: string }).type).toBe('OBJECT');
    }
    // JUDGE_MODEL is the model asked, whatever the provider's conversation model is.
    expect(request!.model ?? (body.model as string)).toBe(`${dialect}-judge-model`);

    expect(verdict.status).toBe('judged');
    expect(verdict.provider).toBe(dialect);
    for (const criterion of JUDGE_CRITERIA) {
      expect(verdict.scores![criterion].score).toBeGreaterThanOrEqual(1);
      expect(verdict.scores![criterion].score).toBeLessThanOrEqual(5);
      expect(verdict.scores![criterion].rationale.length).toBeGreaterThan(0);
    }
    const mean = JUDGE_CRITERIA.reduce((s, c) => s + verdict.scores![c].score, 0) / JUDGE_CRITERIA.length;
    expect(verdict.overall).toBeCloseTo(mean, 2);
    // The usage is what the fake server billed for the call, in a turn's shape.
    const served = request!.served!;
    expect(verdict.usage.outputTokens).toBe(served.outputTokens);
    expect(verdict.usage.inputTokens + (verdict.usage.cacheReadTokens ?? 0)).toBe(
      served.inputTokens + served.cacheReadTokens,
    );
    expect(verdict.attempts).toBe(1);
  });

  it('a malformed answer is asked again, and a valid one after it is recorded', async () => {
    server.script({ type: 'malformed_json' });
    const verdict = await judgeConversation(CONVERSATION, {
      provider: judgeProvider(dialect),
      providerName: dialect,
      clock: systemClock,
    });
    expect(verdict.status).toBe('judged');
    expect(generates()).toHaveLength(2);
    expect(verdict.attempts).toBe(2);
  });

  it('an answer malformed every time leaves the conversation unjudged with the reason and the usage spent', async () => {
    server.script({ type: 'malformed_json' }, { type: 'malformed_json' });
    const error = await judgeConversation(CONVERSATION, {
      provider: judgeProvider(dialect),
      providerName: dialect,
      maxAttempts: 2,
      clock: systemClock,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isJudgeFailedError(error)).toBe(true);
    if (!isJudgeFailedError(error)) return;
    expect(error.verdict).toMatchObject({ status: 'unjudged', provider: dialect, attempts: 2 });
    expect(error.verdict.reason).toMatch(/malformed answer 2 times.*not a valid judgement/);
    expect(error.verdict.scores).toBeUndefined();
    const billed = generates().reduce((sum, r) => sum + (r.served?.outputTokens ?? 0), 0);
    expect(error.verdict.usage.outputTokens).toBe(billed);
  });

  it('the prompt carries the conversation and the rubric, never the API key', async () => {
    await judgeConversation(CONVERSATION, {
      provider: judgeProvider(dialect),
      providerName: dialect,
      clock: systemClock,
    });
    const body = JSON.stringify(generates()[0]!.body);
    expect(body).not.toContain(KEYS[dialect]);
    expect(body).toContain('minus twenty');
    expect(body).toContain(JSON.stringify(JUDGE_SYSTEM_PROMPT).slice(1, 60));
  });
});
