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

/**
 * One stop-reason vocabulary across providers, so quality checks need not know each SDK:
 * `end_turn`, `max_tokens`, `stop_sequence`, `refusal`, or the provider's own value in lower case.
 */
export function normalizeStopReason(reason: string | null | undefined): string {
  if (!reason) return 'unknown';
  switch (reason.toLowerCase()) {
    case 'end_turn':
    case 'stop':
      return 'end_turn';
    case 'max_tokens':
    case 'length':
      return 'max_tokens';
    case 'stop_sequence':
      return 'stop_sequence';
    case 'refusal':
    case 'content_filter':
    case 'safety':
    case 'recitation':
    case 'prohibited_content':
    case 'blocklist':
    case 'spii':
      return 'refusal';
    default:
      return reason.toLowerCase();
  }
}
