import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { builtInPrices, costConfigFrom } from '../../src/cost/config.js';
import { BUILT_IN_PRICES } from '../../src/cost/price-table.js';
import { buildPriceTable, parsePriceFile, priceFileSchema, readPriceFile } from '../../src/cost/prices.js';
import { isConfigError } from '../../src/errors.js';

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isConfigError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const file = (models: Record<string, unknown>) => ({ version: 1, models });

describe('price table', () => {
  it('the shipped table passes the PRICES_FILE schema and dates and sources every entry', () => {
    expect(priceFileSchema.safeParse(BUILT_IN_PRICES).success).toBe(true);
    for (const [key, entry] of Object.entries(BUILT_IN_PRICES.models)) {
      expect(entry.source, key).toMatch(/^https:\/\//);
      expect(entry.checked, key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it("prices each provider's default model", () => {
    const keys = new Set(builtInPrices().map((p) => p.key));
    expect(keys).toContain(`anthropic/${DEFAULTS.ANTHROPIC_MODEL}`);
    expect(keys).toContain(`gemini/${DEFAULTS.GEMINI_MODEL}`);
    expect(keys).toContain(`openai/${DEFAULTS.OPENAI_MODEL}`);
  });

  it('parses dollars per million tokens into exact picodollars per token, defaulting cache rates to input', () => {
    const [price] = parsePriceFile(
      file({ 'openai/m': { input: 0.075, output: '4.5', batchDiscountPercent: 12.5 } }),
      'file',
    );
    expect(price!.rates).toEqual({
      input: 75_000n,
      output: 4_500_000n,
      cacheWrite: 75_000n,
      cacheRead: 75_000n,
    });
    expect(price!.batchDiscountBps).toBe(1_250n);
    expect(price!.origin).toBe('file');
  });

  it('expands aliases and sorts tiers by threshold', () => {
    const prices = parsePriceFile(
      file({
        'anthropic/m': {
          input: 1,
          output: 2,
          aliases: ['m-20260101'],
          tiers: [
            { abovePromptTokens: 500, input: 3, output: 4 },
            { abovePromptTokens: 100, input: 2, output: 3 },
          ],
        },
      }),
      'file',
    );
    expect(prices.map((p) => p.key)).toEqual(['anthropic/m', 'anthropic/m-20260101']);
    expect(prices[0]!.tiers.map((t) => t.abovePromptTokens)).toEqual([100, 500]);
  });

  it('a bad entry is one line naming PRICES_FILE, the entry and the field', () => {
    expect(message(() => parsePriceFile(file({ 'anthropic/x': { input: 1, output: -2 } }), 'file'))).toBe(
      'PRICES_FILE: entry "anthropic/x": output: expected a non-negative number of dollars per million tokens with at most 6 decimals',
    );
    expect(
      message(() => parsePriceFile(file({ 'anthropic/x': { input: '0.0000001', output: 1 } }), 'file')),
    ).toMatch(/^PRICES_FILE: entry "anthropic\/x": input: /);
    expect(message(() => parsePriceFile(file({ 'anthropic/x': { input: 1 } }), 'file'))).toMatch(
      /^PRICES_FILE: entry "anthropic\/x": output: /,
    );
    expect(
      message(() => parsePriceFile(file({ 'anthropic/x': { input: 1, output: 1, inptu: 2 } }), 'file')),
    ).toMatch(/^PRICES_FILE: entry "anthropic\/x": /);
    expect(message(() => parsePriceFile(file({ sonnet: { input: 1, output: 1 } }), 'file'))).toBe(
      'PRICES_FILE: entry "sonnet": expected a key of the form provider/model or provider/*',
    );
    expect(message(() => parsePriceFile({ version: 2, models: {} }, 'file'))).toBe(
      'PRICES_FILE: version: expected version 1',
    );
    expect(
      message(() =>
        parsePriceFile(file({ 'openai/m': { input: 1, output: 1, batchDiscountPercent: 150 } }), 'file'),
      ),
    ).toMatch(/batchDiscountPercent: expected a percentage from 0 to 100/);
  });

  it('reads PRICES_FILE from disk, and says when it is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chimera-prices-'));
    const good = join(dir, 'prices.json');
    writeFileSync(good, JSON.stringify(file({ 'anthropic/claude-sonnet-5-5': { input: 9, output: 9 } })));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version": 1,');
    expect(readPriceFile(good)[0]!.rates.input).toBe(9_000_000n);
    expect(message(() => readPriceFile(join(dir, 'nope.json')))).toBe(
      `PRICES_FILE: cannot read ${join(dir, 'nope.json')}: no such file`,
    );
    expect(message(() => readPriceFile(bad))).toMatch(/^PRICES_FILE: .*bad\.json is not JSON: /);
  });

  it("the user's file replaces a shipped entry and adds new ones", () => {
    const dir = mkdtempSync(join(tmpdir(), 'chimera-prices-'));
    const path = join(dir, 'prices.json');
    writeFileSync(
      path,
      JSON.stringify(
        file({
          'anthropic/claude-sonnet-5-5': { input: 9, output: 9 },
          'openai/llama-3': { input: 0, output: 0.1 },
        }),
      ),
    );
    const { prices } = costConfigFrom({ PRICES_FILE: path });
    expect(prices.entries.get('anthropic/claude-sonnet-5-5')!.rates.output).toBe(9_000_000n);
    expect(prices.entries.get('openai/llama-3')!.origin).toBe('file');
    expect(prices.entries.get('gemini/gemini-2.5-flash')!.origin).toBe('builtin');
    expect(buildPriceTable(builtInPrices()).entries.get('anthropic/claude-sonnet-5-5')!.rates.output).toBe(
      10_000_000n,
    );
  });

  it('MAX_SPEND_USD becomes micros; a negative or malformed one is one line naming it', () => {
    expect(costConfigFrom({ MAX_SPEND_USD: '10.25' }).maxSpendMicros).toBe(10_250_000);
    expect(costConfigFrom({ MAX_SPEND_USD: '0' }).maxSpendMicros).toBe(0);
    expect(costConfigFrom({}).maxSpendMicros).toBeNull();
    expect(message(() => costConfigFrom({ MAX_SPEND_USD: '-5' }))).toBe(
      'MAX_SPEND_USD: expected a non-negative amount of US dollars with at most 6 decimals, e.g. 25 or 12.50 (got "-5")',
    );
    expect(message(() => costConfigFrom({ MAX_SPEND_USD: 'ten' }))).toMatch(/^MAX_SPEND_USD: /);
  });
});
