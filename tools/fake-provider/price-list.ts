/**
 * The fake server's own price list, kept apart from Chimera's (`src/cost`) on purpose: the server is the
 * independent witness of what a run cost, so a wrong price on either side makes the ledger and the bill
 * disagree. Rates are whole picodollars per token (a dollar per million tokens is 1,000,000), copied by
 * hand from the providers' pricing pages; `tiers` apply to the whole request when the prompt (input +
 * cache read + cache write tokens) is above `abovePrompt`.
 */

export interface FakeRates {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface FakePrice extends FakeRates {
  tiers?: Array<{ abovePrompt: number } & FakeRates>;
  /** Discount of the provider's batch API on every rate, in percent (all three list 50% today). */
  batchDiscountPercent?: number;
}

/** By dialect, then model name as the request names it. */
export const FAKE_PRICE_LIST: Record<string, Record<string, FakePrice>> = {
  anthropic: {
    'claude-sonnet-5-5': {
      input: 2_000_000,
      output: 10_000_000,
      cacheRead: 100_000,
      cacheWrite: 2_500_000,
      batchDiscountPercent: 50,
    },
    'claude-sonnet-5': {
      input: 2_000_000,
      output: 10_000_000,
      cacheRead: 200_000,
      cacheWrite: 2_500_000,
      batchDiscountPercent: 50,
    },
    'claude-opus-5-5': {
      input: 4_000_000,
      output: 20_000_000,
      cacheRead: 200_000,
      cacheWrite: 5_000_000,
      batchDiscountPercent: 50,
    },
    'claude-haiku-4-5': {
      input: 1_000_000,
      output: 5_000_000,
      cacheRead: 100_000,
      cacheWrite: 1_250_000,
      batchDiscountPercent: 50,
    },
    'claude-haiku-5-5': {
      input: 100_000,
      output: 500_000,
      cacheRead: 10_000,
      cacheWrite: 125_000,
      batchDiscountPercent: 50,
      tiers: [
        { abovePrompt: 100_000, input: 500_000, output: 2_500_000, cacheRead: 50_000, cacheWrite: 625_000 },
      ],
    },
  },
  openai: {
    'gpt-5.4-mini': {
      input: 750_000,
      output: 4_500_000,
      cacheRead: 75_000,
      cacheWrite: 750_000,
      batchDiscountPercent: 50,
    },
    'gpt-5.4-nano': {
      input: 200_000,
      output: 1_250_000,
      cacheRead: 20_000,
      cacheWrite: 200_000,
      batchDiscountPercent: 50,
    },
    'gpt-5.4': {
      input: 2_500_000,
      output: 15_000_000,
      cacheRead: 250_000,
      cacheWrite: 2_500_000,
      batchDiscountPercent: 50,
      tiers: [
        {
          abovePrompt: 272_000,
          input: 5_000_000,
          output: 22_500_000,
          cacheRead: 500_000,
          cacheWrite: 5_000_000,
        },
      ],
    },
  },
  gemini: {
    'gemini-2.5-flash': {
      input: 300_000,
      output: 2_500_000,
      cacheRead: 30_000,
      cacheWrite: 300_000,
      batchDiscountPercent: 50,
    },
    'gemini-2.5-flash-lite': {
      input: 100_000,
      output: 400_000,
      cacheRead: 10_000,
      cacheWrite: 100_000,
      batchDiscountPercent: 50,
    },
    'gemini-2.5-pro': {
      input: 1_250_000,
      output: 10_000_000,
      cacheRead: 125_000,
      cacheWrite: 1_250_000,
      batchDiscountPercent: 50,
      tiers: [
        {
          abovePrompt: 200_000,
          input: 2_500_000,
          output: 15_000_000,
          cacheRead: 250_000,
          cacheWrite: 2_500_000,
        },
      ],
    },
  },
};
