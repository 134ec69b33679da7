import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import type { CircuitBreakerState } from './machines/circuit-breaker.js';

/**
 * The service's one Prometheus registry, and get-or-create helpers so each part of the service adds its
 * metrics to it without knowing who else did (creating the same metric twice returns the first one
 * instead of throwing "already registered"). Tests pass a fresh `Registry` to stay isolated.
 */
export const registry = new Registry();

type Config<T extends string> = { name: string; help: string; labelNames?: readonly T[] };

function existing<M>(
  target: Registry,
  name: string,
  kind: abstract new (...args: never[]) => M,
): M | undefined {
  const metric: Metric | undefined = target.getSingleMetric(name);
  if (metric === undefined) return undefined;
  if (!(metric instanceof kind)) throw new TypeError(`metric ${name} is already registered as another type`);
  return metric;
}

export function counter<T extends string>(config: Config<T>, target: Registry = registry): Counter<T> {
  return (
    existing<Counter<T>>(target, config.name, Counter) ??
    new Counter<T>({ ...config, labelNames: config.labelNames ?? [], registers: [target] })
  );
}

export function gauge<T extends string>(config: Config<T>, target: Registry = registry): Gauge<T> {
  return (
    existing<Gauge<T>>(target, config.name, Gauge) ??
    new Gauge<T>({ ...config, labelNames: config.labelNames ?? [], registers: [target] })
  );
}

export function histogram<T extends string>(
  config: Config<T> & { buckets?: number[] },
  target: Registry = registry,
): Histogram<T> {
  return (
    existing<Histogram<T>>(target, config.name, Histogram) ??
    new Histogram<T>({ ...config, labelNames: config.labelNames ?? [], registers: [target] })
  );
}

/** Gauge values of the breaker states, ordered by severity so a max() over providers reads naturally. */
export const BREAKER_STATE_VALUE: Record<CircuitBreakerState, number> = { closed: 0, halfOpen: 1, open: 2 };

/** What the provider wrapper records. Labels: `provider` everywhere; `outcome` is `success` or an error code. */
export interface ProviderMetrics {
  requests: Counter<'provider' | 'outcome'>;
  /** `kind`: input, output, cache_read, cache_write. */
  tokens: Counter<'provider' | 'kind'>;
  /** Seconds per call that reached the provider. */
  latency: Histogram<'provider' | 'outcome'>;
  /** `code`: the error code that was retried. */
  retries: Counter<'provider' | 'code'>;
  /** 0 closed, 1 half-open, 2 open. */
  breakerState: Gauge<'provider'>;
  /** Seconds a call waited for a rate-limit slot. */
  rateLimitWait: Histogram<'provider'>;
}

/** The provider metrics on `target` (the service registry by default), created once per registry. */
export function createMetrics(target: Registry = registry): ProviderMetrics {
  return {
    requests: counter(
      {
        name: 'chimera_provider_requests_total',
        help: 'Model calls by provider and outcome (success or error code)',
        labelNames: ['provider', 'outcome'],
      },
      target,
    ),
    tokens: counter(
      {
        name: 'chimera_provider_tokens_total',
        help: 'Tokens reported by providers, by kind (input, output, cache_read, cache_write)',
        labelNames: ['provider', 'kind'],
      },
      target,
    ),
    latency: histogram(
      {
        name: 'chimera_provider_latency_seconds',
        help: 'Duration of model calls that reached the provider',
        labelNames: ['provider', 'outcome'],
        // Model calls take from a fraction of a second to a minute.
        buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      },
      target,
    ),
    retries: counter(
      {
        name: 'chimera_provider_retries_total',
        help: 'Retries of model calls, by the error code that caused them',
        labelNames: ['provider', 'code'],
      },
      target,
    ),
    breakerState: gauge(
      {
        name: 'chimera_provider_circuit_state',
        help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open',
        labelNames: ['provider'],
      },
      target,
    ),
    rateLimitWait: histogram(
      {
        name: 'chimera_provider_rate_limit_wait_seconds',
        help: 'Time calls waited for a rate-limit slot',
        labelNames: ['provider'],
        buckets: [0, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120],
      },
      target,
    ),
  };
}

/** Snapshot store operations whose duration is measured: `save` (snapshot, indexes and outbox in one script), `load`. */
export type StoreOperation = 'save' | 'load';

/**
 * `chimera_store_operation_seconds{operation}` on `target`: how long each Redis snapshot save and load took,
 * failed ones included (a slow or failing Redis shows here before conversations time out).
 */
export function storeOperationSeconds(target: Registry = registry): Histogram<'operation'> {
  return histogram(
    {
      name: 'chimera_store_operation_seconds',
      help: 'Duration of snapshot store operations in Redis (save, load)',
      labelNames: ['operation'],
      // A local Redis answers in well under a millisecond; a remote or overloaded one in tens to hundreds.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    },
    target,
  );
}

/** What the cost ledger and the spending cap record. */
export interface CostMetrics {
  /** Dollars spent, by provider and the model that answered (priced and free calls; exact figures are in micros). */
  cost: Counter<'provider' | 'model'>;
  /** Calls whose model had no price: their cost is not in `cost`. */
  unpricedCalls: Counter<'provider' | 'model'>;
  /** 1 while the spending cap is reached (intake stopped, conversations paused), else 0. */
  capReached: Gauge;
  /** Conversations of this process paused until the cap is raised. */
  paused: Gauge;
}

export function createCostMetrics(target: Registry = registry): CostMetrics {
  return {
    cost: counter(
      {
        name: 'chimera_cost_usd_total',
        help: 'US dollars spent on model calls, by provider and model (from the usage each provider reported)',
        labelNames: ['provider', 'model'],
      },
      target,
    ),
    unpricedCalls: counter(
      {
        name: 'chimera_cost_unpriced_calls_total',
        help: 'Model calls whose model has no price (not counted in chimera_cost_usd_total)',
        labelNames: ['provider', 'model'],
      },
      target,
    ),
    capReached: gauge(
      { name: 'chimera_budget_cap_reached', help: '1 while the spending cap is reached, else 0' },
      target,
    ),
    paused: gauge(
      {
        name: 'chimera_conversations_paused_budget',
        help: 'Conversations of this process paused at their last turn until the spending cap is raised',
      },
      target,
    ),
  };
}
