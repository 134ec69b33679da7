import type { Config, ProviderConfig, ProviderName } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { type BatchApi, type Clock, type HealthStatus, type LlmProvider, systemClock } from '../ports.js';
import { AnthropicProvider, type AnthropicProviderOptions } from './anthropic.js';
import { AnthropicBatchApi } from './batch/anthropic.js';
import { GeminiBatchApi } from './batch/gemini.js';
import { OpenAiBatchApi } from './batch/openai.js';
import { GeminiProvider, type GeminiProviderOptions } from './gemini.js';
import { OpenAiProvider } from './openai.js';
import { type ProviderAdapterOptions, unhealthy } from './options.js';
import { SimulatedBatchApi, type SimulatedBatchApiOptions } from './simulated/batch.js';
import { SimulatedProvider } from './simulated/provider.js';

export interface CreateProviderOptions extends ProviderAdapterOptions {
  /**
   * Fixed reply latency of the simulated provider (`SIMULATED_LATENCY_MS`).
   * @default 0
   */
  simulatedLatencyMs?: number;
  /**
   * Seed of the simulated provider's text generator.
   * @default 1
   */
  simulatedSeed?: number;
  /** Turns between which the simulated provider's conversations say goodbye. */
  simulatedClosingTurns?: { min: number; max: number };
  /** Options only the Anthropic adapter reads. */
  anthropic?: Pick<AnthropicProviderOptions, 'sendTemperature'>;
  /** Options only the Gemini adapter reads. */
  gemini?: Pick<GeminiProviderOptions, 'thinkingBudget'>;
}

/** The variable that configures each provider, named when one is asked for without it. */
const KEY_VARIABLE: Record<ProviderName, string> = {
  anthropic: 'ANTHROPIC_API_KEY',
  gemini: 'GOOGLE_API_KEY',
  openai: 'OPENAI_API_KEY',
  simulated: 'CONVERSATION_PROVIDERS',
};

/** Builds the adapter for one provider's config. Wrapping (retries, breaker, rate limit) is done elsewhere. */
export function createProvider(config: ProviderConfig, options: CreateProviderOptions = {}): LlmProvider {
  const common: ProviderAdapterOptions = { clock: options.clock, healthTimeoutMs: options.healthTimeoutMs };
  switch (config.name) {
    case 'anthropic':
      return new AnthropicProvider(config, { ...common, ...options.anthropic });
    case 'gemini':
      return new GeminiProvider(config, { ...common, ...options.gemini });
    case 'openai':
      return new OpenAiProvider(config, common);
    case 'simulated':
      return new SimulatedProvider({
        model: config.model,
        latencyMs: options.simulatedLatencyMs,
        seed: options.simulatedSeed,
        closingTurns: options.simulatedClosingTurns,
        clock: options.clock,
      });
  }
}

export interface CreateBatchApiOptions {
  /** @default systemClock */
  clock?: Clock;
  /**
   * Time a simulated batch takes to end (`SIMULATED_BATCH_DELAY_MS`).
   * @default 0
   */
  simulatedBatchDelayMs?: number;
  /**
   * Seed of the simulated provider's text generator.
   * @default 1
   */
  simulatedSeed?: number;
  /** Turns between which the simulated provider's conversations say goodbye. */
  simulatedClosingTurns?: { min: number; max: number };
  /** Failure rates of simulated batches, for tests and demos of the failure paths. */
  simulatedFailures?: Pick<SimulatedBatchApiOptions, 'errorRate' | 'expiredRate' | 'outcome'>;
  /** Options only the Anthropic adapter reads. */
  anthropic?: Pick<AnthropicProviderOptions, 'sendTemperature'>;
  /** Options only the Gemini adapter reads. */
  gemini?: Pick<GeminiProviderOptions, 'thinkingBudget'>;
}

/**
 * Builds the batch API adapter for one provider's config: the provider's batch API through its official
 * SDK, or the in-process simulated one. Polling, limits per flush and retries are the batcher's.
 * @throws {ConfigError} naming the key variable when the provider has no API key.
 */
export function createBatchApi(config: ProviderConfig, options: CreateBatchApiOptions = {}): BatchApi {
  switch (config.name) {
    case 'anthropic':
      return new AnthropicBatchApi(config, { clock: options.clock, ...options.anthropic });
    case 'gemini':
      return new GeminiBatchApi(config, { clock: options.clock, ...options.gemini });
    case 'openai':
      return new OpenAiBatchApi(config, { clock: options.clock });
    case 'simulated':
      return new SimulatedBatchApi({
        model: config.model,
        delayMs: options.simulatedBatchDelayMs,
        seed: options.simulatedSeed,
        closingTurns: options.simulatedClosingTurns,
        clock: options.clock,
        ...options.simulatedFailures,
      });
  }
}

export interface HealthCheckAllOptions {
  /**
   * Health checks in flight at once.
   * @default 4
   */
  concurrency?: number;
  /** Which providers to check; the configured ones by default. */
  names?: ProviderName[];
}

/**
 * One adapter per configured provider, built on first use and then shared, from the whole `Config`.
 * Health checks run in parallel, a few at a time, and never reject.
 */
export class ProviderFactory {
  private readonly providers = new Map<ProviderName, LlmProvider>();
  private readonly batchApis = new Map<ProviderName, BatchApi>();
  private readonly options: CreateProviderOptions;

  constructor(
    private readonly config: Readonly<Config>,
    options: CreateProviderOptions & { clock?: Clock } = {},
  ) {
    this.options = {
      simulatedLatencyMs: config.simulatedLatencyMs,
      simulatedClosingTurns: { min: config.conversation.minTurns, max: config.conversation.maxTurns },
      ...options,
    };
  }

  /** Providers with credentials, plus `simulated`. */
  configured(): ProviderName[] {
    return [...this.config.configuredProviders];
  }

  /**
   * The adapter for `name`, created once.
   * @throws {ConfigError} when the provider is not configured.
   */
  get(name: ProviderName): LlmProvider {
    const existing = this.providers.get(name);
    if (existing) return existing;
    if (!this.config.configuredProviders.includes(name)) {
      throw new ConfigError(
        KEY_VARIABLE[name],
        `provider ${name} is not configured (configured: ${this.config.configuredProviders.join(', ')})`,
      );
    }
    const provider = createProvider(this.config.providers[name], this.options);
    this.providers.set(name, provider);
    return provider;
  }

  /**
   * The batch API adapter for `name`, created once, with the same credentials and base URL as its online
   * adapter (and `SIMULATED_BATCH_DELAY_MS` for the simulated provider).
   * @throws {ConfigError} when the provider is not configured.
   */
  batchApi(name: ProviderName): BatchApi {
    const existing = this.batchApis.get(name);
    if (existing) return existing;
    if (!this.config.configuredProviders.includes(name)) {
      throw new ConfigError(
        KEY_VARIABLE[name],
        `provider ${name} is not configured (configured: ${this.config.configuredProviders.join(', ')})`,
      );
    }
    const api = createBatchApi(this.config.providers[name], {
      clock: this.options.clock,
      simulatedBatchDelayMs: this.config.simulatedBatchDelayMs,
      simulatedSeed: this.options.simulatedSeed,
      simulatedClosingTurns: this.options.simulatedClosingTurns,
      anthropic: this.options.anthropic,
      gemini: this.options.gemini,
    });
    this.batchApis.set(name, api);
    return api;
  }

  async healthCheckAll(options: HealthCheckAllOptions = {}): Promise<Record<string, HealthStatus>> {
    const names = options.names ?? this.configured();
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const results: Record<string, HealthStatus> = {};
    const clock = this.options.clock ?? systemClock;
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const startedAt = clock.now();
        try {
          results[name] = await this.get(name).healthCheck();
        } catch (error) {
          // healthCheck never rejects; building an unconfigured adapter can.
          results[name] = unhealthy(error, clock.now() - startedAt);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
    return results;
  }
}
