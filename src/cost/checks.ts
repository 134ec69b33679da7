/**
 * What start-up (and `status`, and metrics) say about pricing: which models in use are unpriced, free, or
 * priced from which source. An unpriced model is never counted as free: without a cap it is a warning (its
 * calls are reported as unpriced); with a cap it is a configuration error, because a cap cannot hold over
 * calls whose cost is unknown.
 */
import { ConfigError } from '../errors.js';
import { formatUsd } from './money.js';
import type { PriceTable } from './prices.js';
import { type PriceResolution, resolvePrice } from './pricing.js';

/** One side's provider and model, and the variable that chose the model (for messages). */
export interface ModelInUse {
  provider: string;
  model: string;
  baseUrl?: string;
  /** e.g. `ANTHROPIC_MODEL`. */
  variable: string;
}

export interface PricingStatus extends ModelInUse {
  resolution: PriceResolution;
}

const MODEL_VARIABLES: Record<string, string> = {
  anthropic: 'ANTHROPIC_MODEL',
  gemini: 'GEMINI_MODEL',
  openai: 'OPENAI_MODEL',
  simulated: '--provider simulated',
};

/** The models a configuration will call: its conversation providers, or every configured one. */
export function modelsInUse(config: {
  providers: Record<string, { name: string; model: string; baseUrl?: string }>;
  configuredProviders: readonly string[];
  conversation: { providers?: readonly string[] };
}): ModelInUse[] {
  const names = [...new Set(config.conversation.providers ?? config.configuredProviders)];
  return names.map((name) => {
    const provider = config.providers[name]!;
    return {
      provider: name,
      model: provider.model,
      baseUrl: provider.baseUrl,
      variable: MODEL_VARIABLES[name] ?? `${name.toUpperCase()}_MODEL`,
    };
  });
}

/** How each model in use is priced (for `status` and metrics: `unpriced` is a state to show). */
export function pricingStatus(table: PriceTable, models: readonly ModelInUse[]): PricingStatus[] {
  return models.map((m) => ({
    ...m,
    resolution: resolvePrice(table, { provider: m.provider, baseUrl: m.baseUrl }, m.model),
  }));
}

/** One line per model in use, for a person reading the start-up log. */
export function describePricing(status: PricingStatus): string {
  const { provider, model, resolution } = status;
  switch (resolution.kind) {
    case 'priced': {
      const r = resolution.price.rates;
      const usd = (picos: bigint) => formatUsd(Number(picos), { decimals: 2 }).replace(/\.00$/, '');
      return `${provider}/${model}: ${usd(r.input)} in, ${usd(r.output)} out per million tokens (${resolution.price.origin === 'file' ? 'PRICES_FILE' : `price table, checked ${resolution.price.checked ?? 'n/a'}`})`;
    }
    case 'free':
      return resolution.reason === 'simulated'
        ? `${provider}/${model}: free (simulated provider, no model is called)`
        : `${provider}/${model}: counted as free (self-hosted server ${status.baseUrl}); price it in PRICES_FILE if it bills you`;
    default:
      return `${provider}/${model}: unpriced; its calls are reported as unpriced and not in the spend (add it to PRICES_FILE)`;
  }
}

/**
 * Warnings for start-up; an error when a cap is set and a model in use has no price.
 * @throws {ConfigError} naming the model's variable when `capMicros` is set and that model is unpriced.
 */
export function checkPricing(
  table: PriceTable,
  models: readonly ModelInUse[],
  capMicros: number | null,
): { warnings: string[]; statuses: PricingStatus[] } {
  const statuses = pricingStatus(table, models);
  const warnings: string[] = [];
  for (const status of statuses) {
    const { resolution } = status;
    if (resolution.kind === 'unpriced') {
      if (capMicros !== null) {
        throw new ConfigError(
          status.variable,
          `${status.provider} model ${status.model} has no price, so MAX_SPEND_USD cannot be enforced (add "${status.provider}/${status.model}" to PRICES_FILE)`,
        );
      }
      warnings.push(describePricing(status));
    } else if (resolution.kind === 'free' && resolution.reason === 'self_hosted') {
      warnings.push(describePricing(status));
    }
  }
  return { warnings, statuses };
}
