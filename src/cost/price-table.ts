/**
 * The price table shipped with Chimera: the default and current models of each provider, in the
 * `PRICES_FILE` format (US dollars per million tokens), read from the providers' public pricing pages.
 * Prices change: check the `source` of an entry, and override or extend it with `PRICES_FILE`.
 *
 * What each column means per provider:
 * - Anthropic: `cacheWrite` is the 5-minute cache write (Chimera's adapter marks `ephemeral` breakpoints,
 *   the 5-minute cache), `cacheRead` the cache hit price; usage reports input, cache writes and cache reads
 *   apart. Batch: 50% off every token price.
 * - OpenAI: caching is automatic and has no write surcharge (`cacheWrite` = input); `cacheRead` is the
 *   "cached input" price. Batch: 50%.
 * - Gemini: implicit caching has no write surcharge; `cacheRead` is the "context caching" price (explicit
 *   caches also bill storage per hour, which Chimera does not use). Thinking tokens are output. Batch: 50%.
 *
 * Bump `version` only when the format changes; `checked` says when the figures were last read.
 */
import type { PriceFile } from './prices.js';

const ANTHROPIC_PRICING = 'https://platform.claude.com/docs/en/about-claude/pricing';
const OPENAI_PRICING = 'https://developers.openai.com/api/docs/pricing';
const GEMINI_PRICING = 'https://ai.google.dev/gemini-api/docs/pricing';

export const BUILT_IN_PRICES = {
  version: 1,
  checked: '2026-11-30',
  sources: [ANTHROPIC_PRICING, OPENAI_PRICING, GEMINI_PRICING],
  models: {
    // ---------------------------------------------------------------------------------------------
    // Anthropic
    'anthropic/claude-sonnet-5-5': {
      input: 2,
      output: 10,
      cacheWrite: 2.5,
      cacheRead: 0.1,
      batchDiscountPercent: 50,
      source: 'https://platform.claude.com/docs/en/models/sonnet-5-5/overview',
      checked: '2026-11-30',
      note: 'Chimera default. Cache hits cut from $0.20 to $0.10 (0.05x input) on 2026-10-07; 1M context at the same rates.',
    },
    'anthropic/claude-sonnet-5': {
      input: 2,
      output: 10,
      cacheWrite: 2.5,
      cacheRead: 0.2,
      batchDiscountPercent: 50,
      source: 'https://platform.claude.com/docs/en/models/sonnet-5/overview',
      checked: '2026-11-30',
    },
    'anthropic/claude-opus-5-5': {
      input: 4,
      output: 20,
      cacheWrite: 5,
      cacheRead: 0.2,
      batchDiscountPercent: 50,
      source: 'https://platform.claude.com/docs/en/models/opus-5-5/overview',
      checked: '2026-11-30',
    },
    'anthropic/claude-opus-5': {
      input: 5,
      output: 25,
      cacheWrite: 6.25,
      cacheRead: 0.5,
      batchDiscountPercent: 50,
      source: 'https://platform.claude.com/docs/en/models/opus-5/overview',
      checked: '2026-11-30',
    },
    'anthropic/claude-fable-5-1': {
      input: 10,
      output: 50,
      cacheWrite: 12.5,
      cacheRead: 0.25,
      batchDiscountPercent: 50,
      source: ANTHROPIC_PRICING,
      checked: '2026-11-30',
    },
    'anthropic/claude-haiku-5-5': {
      input: 0.1,
      output: 0.5,
      cacheWrite: 0.125,
      cacheRead: 0.01,
      batchDiscountPercent: 50,
      tiers: [{ abovePromptTokens: 100_000, input: 0.5, output: 2.5, cacheWrite: 0.625, cacheRead: 0.05 }],
      source: 'https://platform.claude.com/docs/en/models/haiku-5-5/overview',
      checked: '2026-11-30',
      note: 'A prompt over 100,000 tokens (input + cache reads + cache writes) pays the tier rates on every token of the request, output included.',
    },
    'anthropic/claude-haiku-4-5': {
      input: 1,
      output: 5,
      cacheWrite: 1.25,
      cacheRead: 0.1,
      batchDiscountPercent: 50,
      aliases: ['claude-haiku-4-5-20251001'],
      source: ANTHROPIC_PRICING,
      checked: '2026-11-30',
    },
    'anthropic/claude-sonnet-4-6': {
      input: 3,
      output: 15,
      cacheWrite: 3.75,
      cacheRead: 0.3,
      batchDiscountPercent: 50,
      source: ANTHROPIC_PRICING,
      checked: '2026-11-30',
    },
    'anthropic/claude-sonnet-4-5': {
      input: 3,
      output: 15,
      cacheWrite: 3.75,
      cacheRead: 0.3,
      batchDiscountPercent: 50,
      tiers: [{ abovePromptTokens: 200_000, input: 6, output: 22.5, cacheWrite: 7.5, cacheRead: 0.6 }],
      aliases: ['claude-sonnet-4-5-20250929'],
      source: ANTHROPIC_PRICING,
      checked: '2026-11-30',
      note: 'Long-context pricing above 200K input tokens (1M context window).',
    },

    // ---------------------------------------------------------------------------------------------
    // OpenAI (standard processing; Batch and Flex are 50% of it)
    'openai/gpt-5.4-mini': {
      input: 0.75,
      output: 4.5,
      cacheRead: 0.075,
      batchDiscountPercent: 50,
      source: OPENAI_PRICING,
      checked: '2026-11-30',
      note: 'Chimera default.',
    },
    'openai/gpt-5.4-nano': {
      input: 0.2,
      output: 1.25,
      cacheRead: 0.02,
      batchDiscountPercent: 50,
      source: OPENAI_PRICING,
      checked: '2026-11-30',
    },
    'openai/gpt-5.4': {
      input: 2.5,
      output: 15,
      cacheRead: 0.25,
      batchDiscountPercent: 50,
      tiers: [{ abovePromptTokens: 272_000, input: 5, output: 22.5, cacheRead: 0.5 }],
      source: OPENAI_PRICING,
      checked: '2026-11-30',
      note: 'Prompts over 272K tokens: 2x input, 1.5x output for the whole request.',
    },
    'openai/gpt-5.5': {
      input: 5,
      output: 30,
      cacheRead: 0.5,
      batchDiscountPercent: 50,
      source: OPENAI_PRICING,
      checked: '2026-11-30',
      note: 'Short-context rates.',
    },
    'openai/gpt-5.2': {
      input: 1.75,
      output: 14,
      cacheRead: 0.175,
      batchDiscountPercent: 50,
      source: OPENAI_PRICING,
      checked: '2026-11-30',
    },
    'openai/gpt-5.1': {
      input: 1.25,
      output: 10,
      cacheRead: 0.125,
      batchDiscountPercent: 50,
      source: OPENAI_PRICING,
      checked: '2026-11-30',
    },

    // ---------------------------------------------------------------------------------------------
    // Gemini (paid tier, text input)
    'gemini/gemini-2.5-flash': {
      input: 0.3,
      output: 2.5,
      cacheRead: 0.03,
      batchDiscountPercent: 50,
      source: GEMINI_PRICING,
      checked: '2026-11-30',
      note: 'Chimera default. Audio input is $1.00; Chimera sends text only.',
    },
    'gemini/gemini-2.5-flash-lite': {
      input: 0.1,
      output: 0.4,
      cacheRead: 0.01,
      batchDiscountPercent: 50,
      source: GEMINI_PRICING,
      checked: '2026-11-30',
    },
    'gemini/gemini-2.5-pro': {
      input: 1.25,
      output: 10,
      cacheRead: 0.125,
      batchDiscountPercent: 50,
      tiers: [{ abovePromptTokens: 200_000, input: 2.5, output: 15, cacheRead: 0.25 }],
      source: GEMINI_PRICING,
      checked: '2026-11-30',
    },
    'gemini/gemini-3-flash-preview': {
      input: 0.5,
      output: 3,
      cacheRead: 0.05,
      batchDiscountPercent: 50,
      aliases: ['gemini-3-flash'],
      source: GEMINI_PRICING,
      checked: '2026-11-30',
    },
    'gemini/gemini-3.1-pro-preview': {
      input: 2,
      output: 12,
      cacheRead: 0.2,
      batchDiscountPercent: 50,
      tiers: [{ abovePromptTokens: 200_000, input: 4, output: 18, cacheRead: 0.4 }],
      aliases: ['gemini-3.1-pro'],
      source: GEMINI_PRICING,
      checked: '2026-11-30',
    },
    'gemini/gemini-3.1-flash-lite-preview': {
      input: 0.25,
      output: 1.5,
      cacheRead: 0.025,
      batchDiscountPercent: 50,
      aliases: ['gemini-3.1-flash-lite'],
      source: GEMINI_PRICING,
      checked: '2026-11-30',
    },
  },
} satisfies PriceFile;
