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

/** One request's cost in micro-dollars from the server's own list, or null when unpriced. */
export function fakeRequestMicros(provider: string, model: string, usage: ServedUsage): number | null {
  const price = FAKE_PRICE_LIST[provider]?.[model];
  if (!price) return null;
  const rates = ratesFor(price, usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens);
  const picos =
    BigInt(usage.inputTokens) * BigInt(rates.input) +
    BigInt(usage.outputTokens) * BigInt(rates.output) +
    BigInt(usage.cacheReadTokens) * BigInt(rates.cacheRead) +
    BigInt(usage.cacheWriteTokens) * BigInt(rates.cacheWrite);
  const micro = 1_000_000n;
  return Number((picos + micro - 1n) / micro);
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

  /** A reply was written for a model call. */
  served(provider: Dialect, model: string, usage: ServedUsage, key: string | undefined): void {
    const id = `${provider}\u0000${model}`;
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
      };
      this.lines.set(id, line);
    }
    line.requests += 1;
    line.inputTokens += usage.inputTokens;
    line.outputTokens += usage.outputTokens;
    line.cacheReadTokens += usage.cacheReadTokens;
    line.cacheWriteTokens += usage.cacheWriteTokens;
    const micros = fakeRequestMicros(provider, model, usage);
    line.micros = micros === null || line.micros === null ? null : line.micros + micros;
    if (key) {
      const count = this.keys.get(key);
      if (count) count.answered += 1;
    }
  }

  bill(): FakeBill {
    const lines = [...this.lines.values()]
      .map((line) => ({ ...line }))
      .sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
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
