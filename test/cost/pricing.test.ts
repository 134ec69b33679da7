import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { checkPricing, modelsInUse } from '../../src/cost/checks.js';
import { builtInPrices } from '../../src/cost/config.js';
import { type CallCharge, CostLedger, chargeCall, costSummarySchema } from '../../src/cost/ledger.js';
import { buildPriceTable, parsePriceFile } from '../../src/cost/prices.js';
import {
  callCostMicros,
  promptTokensUpperBound,
  resolvePrice,
  worstCaseMicros,
} from '../../src/cost/pricing.js';
import { microsPerMinute, projectRunMicros } from '../../src/cost/projection.js';
import { isConfigError } from '../../src/errors.js';

const table = buildPriceTable(builtInPrices());
const price = (key: string) => table.entries.get(key)!;

describe('the cost of a call', () => {
  it('prices input, output, cache reads and cache writes each at their own rate', () => {
    // claude-sonnet-5-5: $2 in, $10 out, $0.10 cache read, $2.50 cache write per million tokens, i.e.
    // 2, 10, 0.1 and 2.5 micro-dollars per token: 1000*2 + 500*10 + 2000*0.1 + 300*2.5 = 7950.
    const usage = { inputTokens: 1000, outputTokens: 500, cacheReadTokens: 2000, cacheWriteTokens: 300 };
    expect(callCostMicros(price('anthropic/claude-sonnet-5-5'), usage)).toBe(7_950);
  });

  it('rounds once, up, to a whole micro-dollar', () => {
    const mini = price('openai/gpt-5.4-mini'); // 0.75 in, 0.075 cached, 4.5 out (micros per token)
    expect(callCostMicros(mini, { inputTokens: 1, outputTokens: 0 })).toBe(1); // 0.75
    // 7*0.75 + 3*0.075 + 1*4.5 = 5.25 + 0.225 + 4.5 = 9.975, rounded up once (not 6 + 1 + 5 = 12)
    expect(callCostMicros(mini, { inputTokens: 7, outputTokens: 1, cacheReadTokens: 3 })).toBe(10);
    expect(callCostMicros(mini, { inputTokens: 0, outputTokens: 0 })).toBe(0);
  });

  it('applies the batch discount to every token price before the rounding', () => {
    const mini = price('openai/gpt-5.4-mini');
    expect(callCostMicros(mini, { inputTokens: 1000, outputTokens: 0 }, { batch: true })).toBe(375);
    // (0.75 + 3*0.075) / 2 = 0.4875 -> 1
    expect(
      callCostMicros(mini, { inputTokens: 1, outputTokens: 0, cacheReadTokens: 3 }, { batch: true }),
    ).toBe(1);
    // sonnet: (1000*2 + 500*10 + 2000*0.1 + 300*2.5) / 2 = 3975
    const usage = { inputTokens: 1000, outputTokens: 500, cacheReadTokens: 2000, cacheWriteTokens: 300 };
    expect(callCostMicros(price('anthropic/claude-sonnet-5-5'), usage, { batch: true })).toBe(3_975);
  });

  it('prices the whole request at the tier its prompt (input and cache tokens) is above', () => {
    const haiku = price('anthropic/claude-haiku-5-5'); // 0.1/0.5 up to 100k prompt tokens, 0.5/2.5 above
    expect(callCostMicros(haiku, { inputTokens: 100_000, outputTokens: 1_000 })).toBe(10_500);
    // 100,001 * 0.5 + 1000 * 2.5 = 52,500.5 -> 52,501
    expect(callCostMicros(haiku, { inputTokens: 100_001, outputTokens: 1_000 })).toBe(52_501);
    // cache reads count towards the prompt: 60k + 50k = 110k > 100k: 60000*0.5 + 50000*0.05 = 32,500
    expect(callCostMicros(haiku, { inputTokens: 60_000, outputTokens: 0, cacheReadTokens: 50_000 })).toBe(
      32_500,
    );
  });

  it('the worst case takes the dearest input rate and maxTokens of output', () => {
    // sonnet-5-5: dearest input rate is the cache write, 2.5: 10,000*2.5 + 1024*10 = 35,240
    expect(
      worstCaseMicros(price('anthropic/claude-sonnet-5-5'), { promptTokens: 10_000, maxOutputTokens: 1024 }),
    ).toBe(35_240);
    // haiku-5-5 with a bound above its tier: 150,000*0.625 + 1000*2.5 = 96,250
    expect(
      worstCaseMicros(price('anthropic/claude-haiku-5-5'), { promptTokens: 150_000, maxOutputTokens: 1000 }),
    ).toBe(96_250);
    expect(
      worstCaseMicros(price('openai/gpt-5.4-mini'), { promptTokens: 1, maxOutputTokens: 1 }, { batch: true }),
    ).toBe(3); // (0.75 + 4.5) / 2 = 2.625 -> 3
  });

  it('no usage within the bounds costs more than the worst case', () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % (n + 1);
    };
    for (const key of [
      'anthropic/claude-sonnet-5-5',
      'anthropic/claude-haiku-5-5',
      'openai/gpt-5.4',
      'gemini/gemini-2.5-pro',
    ]) {
      for (let i = 0; i < 300; i += 1) {
        const promptTokens = random(400_000);
        const maxOutputTokens = random(8_192);
        const cacheRead = random(promptTokens);
        const cacheWrite = random(promptTokens - cacheRead);
        const usage = {
          inputTokens: random(promptTokens - cacheRead - cacheWrite),
          outputTokens: random(maxOutputTokens),
          cacheReadTokens: cacheRead,
          cacheWriteTokens: cacheWrite,
        };
        for (const batch of [false, true]) {
          expect(callCostMicros(price(key), usage, { batch })).toBeLessThanOrEqual(
            worstCaseMicros(price(key), { promptTokens, maxOutputTokens }, { batch }),
          );
        }
      }
    }
  });

  it('bounds prompt tokens by UTF-8 bytes plus framing', () => {
    // 3 + 6 + 6 bytes, 16 per message and the system prompt, 64 per request
    expect(
      promptTokensUpperBound({ system: 'abc', messages: [{ content: 'héllo' }, { content: '日本' }] }),
    ).toBe(127);
  });
});

describe('resolving a price', () => {
  const withFile = buildPriceTable(
    builtInPrices(),
    parsePriceFile({ version: 1, models: { 'openai/llama-3': { input: 0.1, output: 0.2 } } }, 'file'),
  );

  it('the simulated provider is free and says so', () => {
    expect(resolvePrice(table, { provider: 'simulated' }, 'chimera-simulated-1')).toEqual({
      kind: 'free',
      reason: 'simulated',
    });
  });

  it('finds dated snapshots, a models/ prefix and aliases', () => {
    const key = (r: ReturnType<typeof resolvePrice>) => (r.kind === 'priced' ? r.price.key : r.kind);
    expect(key(resolvePrice(table, { provider: 'openai' }, 'gpt-5.4-mini-2026-03-17'))).toBe(
      'openai/gpt-5.4-mini',
    );
    expect(key(resolvePrice(table, { provider: 'gemini' }, 'models/gemini-2.5-flash'))).toBe(
      'gemini/gemini-2.5-flash',
    );
    expect(key(resolvePrice(table, { provider: 'anthropic' }, 'claude-haiku-4-5-20251001'))).toBe(
      'anthropic/claude-haiku-4-5-20251001',
    );
  });

  it('an unknown model is unpriced, not free', () => {
    expect(resolvePrice(table, { provider: 'anthropic' }, 'claude-nonexistent-9')).toEqual({
      kind: 'unpriced',
    });
  });

  it("an OpenAI-compatible server is free unless priced in PRICES_FILE, and never at OpenAI's prices", () => {
    const local = { provider: 'openai', baseUrl: 'http://127.0.0.1:8000/v1' };
    expect(resolvePrice(table, local, 'gpt-5.4-mini')).toEqual({ kind: 'free', reason: 'self_hosted' });
    expect(resolvePrice(withFile, local, 'llama-3')).toMatchObject({
      kind: 'priced',
      price: { key: 'openai/llama-3' },
    });
    const wildcard = buildPriceTable(
      builtInPrices(),
      parsePriceFile({ version: 1, models: { 'openai/*': { input: 1, output: 1 } } }, 'file'),
    );
    expect(resolvePrice(wildcard, local, 'qwen')).toMatchObject({
      kind: 'priced',
      price: { key: 'openai/*' },
    });
    expect(
      resolvePrice(table, { provider: 'openai', baseUrl: 'https://api.openai.com/v1' }, 'gpt-5.4-mini'),
    ).toMatchObject({
      kind: 'priced',
    });
  });
});

describe('the ledger', () => {
  const usage = { inputTokens: 1000, outputTokens: 500, cacheReadTokens: 2000, cacheWriteTokens: 300 };

  it('sums charges per provider and model and lists unpriced models apart', () => {
    const ledger = new CostLedger();
    ledger.add(chargeCall(table, { provider: 'anthropic' }, 'claude-sonnet-5-5', usage)); // 7950
    ledger.add(chargeCall(table, { provider: 'anthropic' }, 'claude-sonnet-5-5', usage)); // 7950
    ledger.add(
      chargeCall(table, { provider: 'gemini' }, 'gemini-2.5-flash', { inputTokens: 1000, outputTokens: 100 }),
    ); // 300 + 250
    ledger.add(chargeCall(table, { provider: 'anthropic' }, 'claude-mystery', usage));
    ledger.add(chargeCall(table, { provider: 'simulated' }, 'chimera-simulated-1', usage));
    expect(ledger.totalMicros).toBe(16_450);
    expect(ledger.byProvider()).toEqual({ anthropic: 15_900, gemini: 550, simulated: 0 });
    expect(ledger.unpriced()).toEqual(['anthropic/claude-mystery']);
    const sonnet = ledger.lineItems().find((l) => l.model === 'claude-sonnet-5-5')!;
    expect(sonnet).toMatchObject({
      calls: 2,
      micros: 15_900,
      inputTokens: 2000,
      cacheReadTokens: 4000,
      cacheWriteTokens: 600,
    });
    const summary = ledger.summary();
    expect(costSummarySchema.parse(summary)).toEqual({
      usd: 0.01645,
      micros: 16_450,
      byProvider: {
        anthropic: { usd: 0.0159, micros: 15_900 },
        gemini: { usd: 0.00055, micros: 550 },
        simulated: { usd: 0, micros: 0 },
      },
      unpriced: ['anthropic/claude-mystery'],
    });
  });

  it("merging conversations' ledgers gives the same totals as one ledger of every call", () => {
    const charges: CallCharge[] = [];
    for (let i = 1; i <= 30; i += 1) {
      charges.push(
        chargeCall(table, { provider: 'openai' }, 'gpt-5.4-mini', {
          inputTokens: i * 7,
          outputTokens: i * 3,
          cacheReadTokens: i,
        }),
      );
    }
    const whole = new CostLedger();
    const run = new CostLedger();
    for (let c = 0; c < 3; c += 1) {
      const conversation = new CostLedger();
      for (const charge of charges.slice(c * 10, c * 10 + 10)) {
        conversation.add(charge);
        whole.add(charge);
      }
      run.merge(conversation);
    }
    expect(run.lineItems()).toEqual(whole.lineItems());
    expect(run.totalMicros).toBe(charges.reduce((sum, c) => sum + (c.micros ?? 0), 0));
  });
});

describe('projection', () => {
  it('projects from the mean of finished conversations, with in-flight spend as a floor', () => {
    // mean ceil(3001/2) = 1501; in flight max(1000, 3*1501) = 4503; 5 not started: 7505
    expect(
      projectRunMicros({ total: 10, finished: 2, inFlight: 3, finishedMicros: 3_001, inFlightMicros: 1_000 }),
    ).toBe(15_009);
    expect(
      projectRunMicros({ total: 4, finished: 1, inFlight: 1, finishedMicros: 100, inFlightMicros: 250 }),
    ).toBe(550);
    expect(
      projectRunMicros({ total: 4, finished: 0, inFlight: 4, finishedMicros: 0, inFlightMicros: 250 }),
    ).toBeNull();
    expect(microsPerMinute(1_000, 30_000)).toBe(2_000);
    expect(microsPerMinute(1_000, 500)).toBe(0);
  });
});

describe('pricing checks at start-up', () => {
  const env = { ANTHROPIC_API_KEY: 'k', GOOGLE_API_KEY: 'g' };

  it('the default models are all priced: no warning', () => {
    const config = loadConfig(env);
    expect(checkPricing(table, modelsInUse(config), 5_000_000).warnings).toEqual([]);
  });

  it('an unpriced model is a warning without a cap and a one-line error naming its variable with one', () => {
    const config = loadConfig({ ...env, ANTHROPIC_MODEL: 'claude-mystery' });
    const { warnings } = checkPricing(table, modelsInUse(config), null);
    expect(warnings).toEqual([
      'anthropic/claude-mystery: unpriced; its calls are reported as unpriced and not in the spend (add it to PRICES_FILE)',
    ]);
    let error: unknown;
    try {
      checkPricing(table, modelsInUse(config), 1_000_000);
    } catch (caught) {
      error = caught;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toBe(
      'ANTHROPIC_MODEL: anthropic model claude-mystery has no price, so MAX_SPEND_USD cannot be enforced (add "anthropic/claude-mystery" to PRICES_FILE)',
    );
  });

  it('a self-hosted OpenAI-compatible server is counted as free with a warning that says so', () => {
    const config = loadConfig({
      OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1',
      OPENAI_MODEL: 'llama-3',
      CONVERSATION_PROVIDERS: 'openai,openai',
    });
    expect(checkPricing(table, modelsInUse(config), 1_000).warnings).toEqual([
      'openai/llama-3: counted as free (self-hosted server http://127.0.0.1:8000/v1); price it in PRICES_FILE if it bills you',
    ]);
  });
});
