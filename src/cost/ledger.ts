/**
 * The cost ledger: charges of model calls summed per provider and model, in whole micro-dollars. A run, a
 * conversation and a daemon each keep one; the same charges summed in any grouping give the same total,
 * because each call is rounded once, when it is charged, and sums are of integers.
 */
import type { z } from 'zod';
import { costSummarySchema, type TurnCost, type Usage } from '../events.js';
import { assertNonNegativeMicros, microsToUsd } from './money.js';
import type { PriceTable } from './prices.js';
import { type CallOptions, callCostMicros, type PricedEndpoint, resolvePrice } from './pricing.js';

/** What one call cost, and on what grounds. */
export type CallCharge = {
  provider: string;
  model: string;
  usage: Usage;
} & (
  | { status: 'priced'; micros: number; priceKey: string }
  | { status: 'free'; micros: 0; reason: 'simulated' | 'self_hosted' }
  /** No price is known: nothing is added to the total, and the model is listed as unpriced. */
  | { status: 'unpriced'; micros: null }
);

/** Prices one call from the usage the provider reported. */
export function chargeCall(
  table: PriceTable,
  endpoint: PricedEndpoint,
  model: string,
  usage: Usage,
  options: CallOptions = {},
): CallCharge {
  const base = { provider: endpoint.provider, model, usage };
  const resolution = resolvePrice(table, endpoint, model);
  switch (resolution.kind) {
    case 'priced':
      return {
        ...base,
        status: 'priced',
        micros: callCostMicros(resolution.price, usage, options),
        priceKey: resolution.price.key,
      };
    case 'free':
      return { ...base, status: 'free', micros: 0, reason: resolution.reason };
    default:
      return { ...base, status: 'unpriced', micros: null };
  }
}

export interface LedgerLine {
  provider: string;
  model: string;
  status: CallCharge['status'];
  calls: number;
  micros: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** The cost block of a record or an event, defined beside the record's schema. */
export { costSummarySchema };
export type CostSummary = z.infer<typeof costSummarySchema>;

const keyOf = (provider: string, model: string) => `${provider}\u0000${model}`;

export class CostLedger {
  private readonly lines = new Map<string, LedgerLine>();
  private total = 0;

  /** Adds one call's charge. */
  add(charge: CallCharge): void {
    if (charge.micros !== null) assertNonNegativeMicros(charge.micros, 'charge');
    const key = keyOf(charge.provider, charge.model);
    let line = this.lines.get(key);
    if (!line) {
      line = {
        provider: charge.provider,
        model: charge.model,
        status: charge.status,
        calls: 0,
        micros: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      };
      this.lines.set(key, line);
    }
    // A model priced for some calls and not others (a price added mid-run) stays flagged as unpriced.
    if (charge.status === 'unpriced') line.status = 'unpriced';
    line.calls += 1;
    line.micros += charge.micros ?? 0;
    line.inputTokens += charge.usage.inputTokens;
    line.outputTokens += charge.usage.outputTokens;
    line.cacheReadTokens += charge.usage.cacheReadTokens ?? 0;
    line.cacheWriteTokens += charge.usage.cacheWriteTokens ?? 0;
    this.total += charge.micros ?? 0;
    if (!Number.isSafeInteger(this.total))
      throw new RangeError('ledger total exceeds the exact integer range');
  }

  /** Adds every line of another ledger (a conversation's into a run's). */
  merge(other: CostLedger): void {
    for (const line of other.lines.values()) {
      const key = keyOf(line.provider, line.model);
      const mine = this.lines.get(key);
      if (!mine) {
        this.lines.set(key, { ...line });
      } else {
        if (line.status === 'unpriced') mine.status = 'unpriced';
        mine.calls += line.calls;
        mine.micros += line.micros;
        mine.inputTokens += line.inputTokens;
        mine.outputTokens += line.outputTokens;
        mine.cacheReadTokens += line.cacheReadTokens;
        mine.cacheWriteTokens += line.cacheWriteTokens;
      }
      this.total += line.micros;
    }
  }

  /** Priced calls' total in micro-dollars (free calls add 0; unpriced ones nothing). */
  get totalMicros(): number {
    return this.total;
  }

  /** One line per provider and model, sorted by provider then model. */
  lineItems(): LedgerLine[] {
    return [...this.lines.values()]
      .map((line) => ({ ...line }))
      .sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
  }

  /** Micros per provider. */
  byProvider(): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const line of this.lines.values()) sums[line.provider] = (sums[line.provider] ?? 0) + line.micros;
    return sums;
  }

  /** `provider/model` of models that had at least one unpriced call. */
  unpriced(): string[] {
    return this.lineItems()
      .filter((line) => line.status === 'unpriced')
      .map((line) => `${line.provider}/${line.model}`);
  }

  /** The block for a record or an event. */
  summary(): CostSummary {
    const byProvider: CostSummary['byProvider'] = {};
    for (const [provider, micros] of Object.entries(this.byProvider())) {
      byProvider[provider] = { usd: microsToUsd(micros), micros };
    }
    return { usd: microsToUsd(this.total), micros: this.total, byProvider, unpriced: this.unpriced() };
  }
}

/** A call's charge as the turn records it. */
export function turnCostOf(charge: CallCharge): TurnCost {
  return { micros: charge.micros ?? 0, status: charge.status };
}
