/**
 * The fake server's bill: what it served, counted and priced on its own. Every answered model call adds
 * its tokens (as the server reported them in its reply) to its provider and model, and its cost: the
 * tokens times the server's own rates, in picodollars, rounded up once per request to a whole
 * micro-dollar (the rounding rule Chimera's ledger documents, so the two agree to the micro-dollar when
 * their prices agree). Requests carrying an `idempotency-key` are also counted per key, sent and answered,
 * so a test can assert that no (conversation, turn, generation) was sent twice.
 */
import type { Dialect } from './behaviours.js';
import { FAKE_PRICE_LIST, type FakePrice, type FakeRates } from './price-list.js';

export interface ServedUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface BillLine extends ServedUsage {
  provider: Dialect;
  model: string;
  requests: number;
  /** Null when the server has no price for this model. */
  micros: number | null;
  /** Present on the line of requests answered through the batch API (priced with its discount). */
  batch?: true;
}

export interface FakeBill {
  lines: BillLine[];
  /** Priced requests' total. */
  totalMicros: number;
  /** Requests for models without a price. */
  unpricedRequests: number;
}

export interface KeyCount {
  key: string;
  conversationId?: string;
  turnIndex?: number;
  generation?: number;
  /** Model calls that carried the key. */
  sent: number;
  /** Of those, answered with a reply (status 200 written). */
  answered: number;
}

function ratesFor(price: FakePrice, prompt: number): FakeRates {
  let rates: FakeRates = price;
  for (const tier of price.tiers ?? []) if (prompt > tier.abovePrompt) rates = tier;
  return rates;
}

/**
 * One request's cost in micro-dollars from the server's own list, or null when unpriced. A batch request
 * is priced at the list's batch discount, applied to the exact picodollars before the one rounding up.
 */
export function fakeRequestMicros(
  provider: string,
  model: string,
  usage: ServedUsage,
  options: { batch?: boolean } = {},
): number | null {
  const price = FAKE_PRICE_LIST[provider]?.[model];
  if (!price) return null;
  const rates = ratesFor(price, usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens);
  const picos =
    BigInt(usage.inputTokens) * BigInt(rates.input) +
    BigInt(usage.outputTokens) * BigInt(rates.output) +
    BigInt(usage.cacheReadTokens) * BigInt(rates.cacheRead) +
    BigInt(usage.cacheWriteTokens) * BigInt(rates.cacheWrite);
  const percentKept = BigInt(100 - (options.batch ? (price.batchDiscountPercent ?? 0) : 0));
  const divisor = 1_000_000n * 100n;
  return Number((picos * percentKept + divisor - 1n) / divisor);
}

/** `conversation:turn:generation`, as Chimera builds it; the conversation id may itself hold colons. */
function parseKey(key: string): Pick<KeyCount, 'conversationId' | 'turnIndex' | 'generation'> {
  const match = /^(.+):(\d+):(\d+)$/.exec(key);
  if (!match) return {};
  return { conversationId: match[1], turnIndex: Number(match[2]), generation: Number(match[3]) };
}

export class BillKeeper {
  private lines = new Map<string, BillLine>();
  private keys = new Map<string, KeyCount>();

  /** A model call arrived carrying `key`. */
  sent(key: string | undefined): void {
    if (!key) return;
    let count = this.keys.get(key);
    if (!count) {
      count = { key, ...parseKey(key), sent: 0, answered: 0 };
      this.keys.set(key, count);
    }
    count.sent += 1;
  }

  /** A reply was written for a model call (`batch`: an answer inside a batch, at the batch price). */
  served(
    provider: Dialect,
    model: string,
    usage: ServedUsage,
    key: string | undefined,
    options: { batch?: boolean } = {},
  ): void {
    const id = `${provider}\u0000${model}\u0000${options.batch ? 'batch' : 'online'}`;
    let line = this.lines.get(id);
    if (!line) {
      line = {
        provider,
        model,
        requests: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        micros: 0,
        ...(options.batch ? { batch: true as const } : {}),
      };
      this.lines.set(id, line);
    }
    line.requests += 1;
    line.inputTokens += usage.inputTokens;
    line.outputTokens += usage.outputTokens;
    line.cacheReadTokens += usage.cacheReadTokens;
    line.cacheWriteTokens += usage.cacheWriteTokens;
    const micros = fakeRequestMicros(provider, model, usage, options);
    line.micros = micros === null || line.micros === null ? null : line.micros + micros;
    if (key) {
      const count = this.keys.get(key);
      if (count) count.answered += 1;
    }
  }

  bill(): FakeBill {
    const lines = [...this.lines.values()]
      .map((line) => ({ ...line }))
      .sort(
        (a, b) =>
          a.provider.localeCompare(b.provider) ||
          a.model.localeCompare(b.model) ||
          Number(a.batch ?? false) - Number(b.batch ?? false),
      );
    return {
      lines,
      totalMicros: lines.reduce((sum, line) => sum + (line.micros ?? 0), 0),
      unpricedRequests: lines.filter((l) => l.micros === null).reduce((sum, l) => sum + l.requests, 0),
    };
  }

  /** Every key seen, in arrival order of its first request. */
  keyCounts(): KeyCount[] {
    return [...this.keys.values()].map((count) => ({ ...count }));
  }

  clear(): void {
    this.lines = new Map();
    this.keys = new Map();
  }
}
