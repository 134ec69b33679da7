import { isProviderError } from '../../errors.js';
import type { Clock, HealthStatus } from '../ports.js';
import { safeMessage } from './map-error.js';

/** Options every SDK adapter takes beside its `ProviderConfig`. */
export interface ProviderAdapterOptions {
  /**
   * Reads time for latencies and HTTP-date retry-after values.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Bound of one health check, in milliseconds (never more than the provider's own timeout).
   * @default DEFAULT_HEALTH_TIMEOUT_MS
   */
  healthTimeoutMs?: number;
}

/** A health probe that takes longer than this is as good as down for a status page. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 5_000;

export function healthTimeout(options: ProviderAdapterOptions, timeoutMs: number): number {
  return Math.min(options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS, timeoutMs);
}

/** Turns whatever a failed probe threw into an unhealthy status with scrubbed text; never throws. */
export function unhealthy(error: unknown, latencyMs: number, apiKey?: string): HealthStatus {
  const text = isProviderError(error)
    ? error.message
    : error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
  return { healthy: false, latencyMs, error: safeMessage(text, apiKey) };
}

// The vocabulary is part of each record's provenance; the adapters normalise to it.
export { normalizeStopReason } from '../../provenance/stop-reason.js';

/**
 * The `Idempotency-Key` header of a model call: one key per (conversation, turn, generation), the same on
 * every retry and resume, so the provider (and the fake server's request log) can tell a repeat.
 */
export function idempotencyHeaders(key: string | undefined): Record<string, string> | undefined {
  return key ? { 'Idempotency-Key': key } : undefined;
}
