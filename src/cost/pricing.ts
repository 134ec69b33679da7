/**
 * What one model call costs, from the usage the provider reported, and what it can cost at most before it
 * is sent (the amount a budget reserves). Both round once, up, to a whole micro-dollar: the exact cost is
 * a whole number of picodollars (tokens x rates), times the batch discount as a fraction, divided by
 * 10^6 and rounded up. Up, so the ledger never shows less than the provider's exact figure and a cap that
 * holds for the ledger holds for the bill.
 */
import type { Usage } from '../events.js';
import { ceilDiv, PICOS_PER_MICRO } from './money.js';
import type { ModelPrice, PriceTable, Rates } from './prices.js';

/** Where a provider's calls are sent, as far as pricing is concerned. */
export interface PricedEndpoint {
  provider: string;
  /**
   * The provider's base URL when it is not the provider's own API. For `openai` this means an
   * OpenAI-compatible server (vLLM, Ollama, llama.cpp, a gateway): OpenAI's prices do not apply there.
   */
  baseUrl?: string;
}

export type PriceResolution =
  | { kind: 'priced'; price: ModelPrice }
  /** Costs nothing, and the record says why. */
  | { kind: 'free'; reason: 'simulated' | 'self_hosted' }
  /** No price known: reported as unpriced, never counted as free. */
  | { kind: 'unpriced' };

const OPENAI_HOSTS = new Set(['api.openai.com']);

/** True when `openai` calls go to a server other than OpenAI's own API. */
export function isSelfHostedOpenAi(endpoint: PricedEndpoint): boolean {
  if (endpoint.provider !== 'openai' || !endpoint.baseUrl) return false;
  try {
    return !OPENAI_HOSTS.has(new URL(endpoint.baseUrl).hostname.toLowerCase());
  } catch {
    return true;
  }
}

/** Names providers report for a model beyond the configured one: a `models/` prefix, a date suffix. */
function candidateNames(model: string): string[] {
  const names = [model];
  const bare = model.replace(/^models\//, '');
  if (bare !== model) names.push(bare);
  const undated = bare.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '');
  if (undated !== bare) names.push(undated);
  return names;
}

/**
 * The price of `model` on `endpoint`. The simulated provider is free; an OpenAI-compatible server that is
 * not OpenAI is free unless `PRICES_FILE` prices its model (or `openai/*`); otherwise the table decides,
 * exact name first, then without a `models/` prefix or a date suffix, then `provider/*`.
 */
export function resolvePrice(table: PriceTable, endpoint: PricedEndpoint, model: string): PriceResolution {
  if (endpoint.provider === 'simulated') return { kind: 'free', reason: 'simulated' };
  const selfHosted = isSelfHostedOpenAi(endpoint);
  const usable = (price: ModelPrice | undefined) =>
    price !== undefined && (!selfHosted || price.origin === 'file') ? price : undefined;
  for (const name of candidateNames(model)) {
    const price = usable(table.entries.get(`${endpoint.provider}/${name}`));
    if (price) return { kind: 'priced', price };
  }
  const wildcard = usable(table.entries.get(`${endpoint.provider}/*`));
  if (wildcard) return { kind: 'priced', price: wildcard };
  return selfHosted ? { kind: 'free', reason: 'self_hosted' } : { kind: 'unpriced' };
}

/** The rates that apply to a request with a prompt of `promptTokens`: the highest tier it is above. */
export function ratesFor(price: ModelPrice, promptTokens: number): Rates {
  let rates = price.rates;
  for (const tier of price.tiers) if (promptTokens > tier.abovePromptTokens) rates = tier.rates;
  return rates;
}

function discounted(picos: bigint, price: ModelPrice, batch: boolean): bigint {
  const scale = 10_000n;
  const keep = batch ? scale - price.batchDiscountBps : scale;
  return ceilDiv(picos * keep, BigInt(PICOS_PER_MICRO) * scale);
}

function count(tokens: number | undefined, name: string): bigint {
  const value = tokens ?? 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a whole, non-negative number of tokens (got ${tokens})`);
  }
  return BigInt(value);
}

export interface CallOptions {
  /** Sent through the provider's batch API (its batch discount applies). @default false */
  batch?: boolean;
}

/**
 * The cost of one call in whole micro-dollars, rounded up once.
 * `usage.inputTokens` is uncached input only, as every Chimera adapter reports it.
 */
export function callCostMicros(price: ModelPrice, usage: Usage, options: CallOptions = {}): number {
  const input = count(usage.inputTokens, 'inputTokens');
  const output = count(usage.outputTokens, 'outputTokens');
  const cacheRead = count(usage.cacheReadTokens, 'cacheReadTokens');
  const cacheWrite = count(usage.cacheWriteTokens, 'cacheWriteTokens');
  const rates = ratesFor(price, Number(input + cacheRead + cacheWrite));
  const picos =
    input * rates.input + output * rates.output + cacheRead * rates.cacheRead + cacheWrite * rates.cacheWrite;
  return Number(discounted(picos, price, options.batch ?? false));
}

export interface WorstCase {
  /** An upper bound of the prompt's tokens, e.g. from {@link promptTokensUpperBound}. */
  promptTokens: number;
  /** The call's `maxTokens`: output (thinking included) cannot exceed it. */
  maxOutputTokens: number;
}

/** The largest of big integers (Math.max takes only numbers). */
function max(...values: bigint[]): bigint {
  let largest = values[0]!;
  for (const value of values) if (value > largest) largest = value;
  return largest;
}

/**
 * The most a call can cost: every prompt token at the dearest input rate (uncached, cache write or cache
 * read) and `maxOutputTokens` at the output rate, at the dearest tier the prompt could fall in. The actual
 * cost of the call is never more than this when `promptTokens` is a true upper bound.
 */
export function worstCaseMicros(price: ModelPrice, call: WorstCase, options: CallOptions = {}): number {
  const prompt = count(call.promptTokens, 'promptTokens');
  const output = count(call.maxOutputTokens, 'maxOutputTokens');
  const applicable = [
    price.rates,
    ...price.tiers.filter((t) => call.promptTokens > t.abovePromptTokens).map((t) => t.rates),
  ];
  const inputRate = max(...applicable.flatMap((r) => [r.input, r.cacheWrite, r.cacheRead]));
  const outputRate = max(...applicable.map((r) => r.output));
  return Number(discounted(prompt * inputRate + output * outputRate, price, options.batch ?? false));
}

/** Tokens a message's framing can add (role markers, separators), more than any provider uses. */
export const MESSAGE_OVERHEAD_TOKENS = 16;
/** Tokens a request's framing can add beyond its messages. */
export const REQUEST_OVERHEAD_TOKENS = 64;

/**
 * An upper bound of a prompt's tokens without a tokenizer: its UTF-8 bytes. Every provider's tokenizer
 * (byte-level BPE, or SentencePiece with byte fallback) makes each token out of at least one byte, so a
 * text never has more tokens than bytes; framing adds at most the overheads above. About four times the
 * real count for English, which only matters near the cap, where it keeps the cap a cap.
 */
export function promptTokensUpperBound(request: {
  system: string;
  messages: ReadonlyArray<{ content: string }>;
}): number {
  let bytes = Buffer.byteLength(request.system, 'utf8');
  for (const message of request.messages) bytes += Buffer.byteLength(message.content, 'utf8');
  return bytes + MESSAGE_OVERHEAD_TOKENS * (request.messages.length + 1) + REQUEST_OVERHEAD_TOKENS;
}
