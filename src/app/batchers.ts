/**
 * The batchers of the providers that run in batch mode (`PROVIDER_MODE=batch`, `<PROVIDER>_MODE=batch`):
 * one `ProviderBatcher` per such provider over its `BatchApi`, the batch store (Redis when there is one, so
 * another daemon can adopt the batches out) and the turn cache. Started here (they adopt the batches a
 * dead daemon left at once) and stopped, without cancelling anything, by `stopBatchers`.
 */
import type { Redis } from 'ioredis';
import type { InspectionEvent } from 'xstate';
import { type BatchBreaker, ProviderBatcher } from '../batch/provider-batcher.js';
import { type Config, PROVIDER_NAMES, type ProviderName } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { InMemoryBatchStore } from '../services/memory/batch-store.js';
import type { BatchApi, Clock, LlmProvider, TurnCache } from '../services/ports.js';
import { RedisBatchStore } from '../services/redis/batch-store.js';

export interface BatchersOptions {
  logger: Logger;
  clock: Clock;
  owner: string;
  redis?: Redis;
  turnCache: TurnCache;
  /** Replaces providers' batch API adapters (tests). */
  apis?: Partial<Record<ProviderName, BatchApi>>;
  /** Makes a provider's batch API adapter (its SDK's batch API, or the simulated one). */
  factory?: { batchApi(name: ProviderName): BatchApi };
  /** The online call paths, for `BATCH_FALLBACK=online`. */
  online: ReadonlyMap<string, LlmProvider>;
  /** The providers' breakers (those their online calls go through), which count whole batches too. */
  breakers?: ReadonlyMap<string, BatchBreaker>;
  inspect?: (event: InspectionEvent) => void;
}

export async function buildBatchers(
  config: Readonly<Config>,
  options: BatchersOptions,
): Promise<Map<string, ProviderBatcher>> {
  const batchers = new Map<string, ProviderBatcher>();
  // Only providers this process can call: `PROVIDER_MODE=batch` says nothing about one without credentials.
  const names = PROVIDER_NAMES.filter(
    (name) => config.batch.modes[name] === 'batch' && config.configuredProviders.includes(name),
  );
  if (names.length === 0) return batchers;
  const prefix = config.redis?.keyPrefix ?? 'chimera';
  const store = options.redis ? new RedisBatchStore(options.redis, prefix) : new InMemoryBatchStore();
  for (const name of names) {
    const api = options.apis?.[name] ?? options.factory?.batchApi(name);
    if (!api)
      throw new ConfigError(
        `${name.toUpperCase()}_MODE`,
        `batch mode needs the ${name} batch API, which is not available`,
      );
    const batcher = new ProviderBatcher({
      api,
      store,
      turnCache: options.turnCache,
      clock: options.clock,
      owner: options.owner,
      settings: {
        maxRequests: config.batch.maxRequests,
        collectMs: config.batch.collectMs,
        pollMinMs: config.batch.pollMinMs,
        fallback: config.batch.fallback,
        leaseMs: config.batch.leaseMs,
      },
      online: options.online.get(name),
      breaker: options.breakers?.get(name),
      logger: options.logger,
      inspect: options.inspect,
    });
    batchers.set(name, await batcher.start());
  }
  return batchers;
}

export function stopBatchers(batchers: ReadonlyMap<string, ProviderBatcher>): void {
  for (const batcher of batchers.values()) batcher.stop();
}
